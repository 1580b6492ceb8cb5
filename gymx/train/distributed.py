"""Training beyond one device: an agent's envs sharded over devices, and one program over several processes.

Data parallelism over envs. An agent built with `devices=[d0, ..., dN-1]` gives its `VecEnv`
those devices: the env batch (env states, observations, the rollout) is split into N equal
blocks, block k on device k, through sharding constraints on the one jitted training program
(`jax.sharding`, no per-device code). The networks' parameters and optimiser state are
replicated. Each update's minibatch is constrained to the same split (`constrain_samples`), so
every device computes the loss and its gradient on its block of the minibatch and XLA's
partitioner sums the blocks' gradients with all-reduces in every update: the mean gradient over
the whole minibatch, as on one device. The algorithm is the one-device algorithm (same keys,
same global shuffles and samples), so N devices give one device's results up to the rounding of
the reductions that the all-reduces split.

What the split costs: PPO's minibatches are drawn from the whole rollout with one global
permutation, so each epoch gathers the rollout across devices once (its observations, actions,
log-probs, advantages and targets); a shuffle within each device's block would save that copy
but make the result depend on the device count. DQN's replay buffer is replicated: each step's
transitions are gathered into every copy, and each update's sampled minibatch is split.

Several processes (`initialize`): the same program runs in every process (one per host, as a
SLURM task or an MPI rank), each with its local devices; `jax.distributed.initialize` connects
them, and the mesh of `select_devices` spans every process's devices, so one `jit` is one
program over all of them. On CPUs the processes exchange through gloo's TCP collectives. Every
process must make the same calls in the same order: host-side work (logs, checkpoints, the best
policy) sees the state through `host_view`, a copy replicated on every device, and only process
0 writes files (`is_writer`).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from gymx.cpu import backend_started

ENV_AXIS = "envs"

# Read when the matching flag is not given; JAX itself reads JAX_COORDINATOR_ADDRESS, and detects
# SLURM, Open MPI and Cloud TPU jobs when all three are missing.
COORDINATOR_VAR = "JAX_COORDINATOR_ADDRESS"
NUM_PROCESSES_VAR = "JAX_NUM_PROCESSES"
PROCESS_ID_VAR = "JAX_PROCESS_ID"


class DistributedError(ValueError):
    """A device or process request this machine or job cannot meet."""


def request_cpu_devices(count: int) -> None:
    """Asks for `count` CPU devices (XLA's host platform split into `count` devices), before JAX's backend starts.

    On a machine whose default backend is an accelerator this changes nothing that training uses.
    Once the backend runs, the count is fixed: then this checks it and says how to set it.
    """
    if count < 1:
        raise DistributedError(f"the device count must be positive, got {count}")
    if not backend_started():
        if count > 1:
            jax.config.update("jax_num_cpu_devices", count)
        return
    if jax.default_backend() == "cpu" and jax.local_device_count() < count:
        raise DistributedError(
            f"{count} devices asked for, but JAX's CPU backend already started with {jax.local_device_count()};"
            f" set jax.config.update('jax_num_cpu_devices', {count}) (or"
            f" XLA_FLAGS=--xla_force_host_platform_device_count={count}) before JAX first computes"
        )


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise DistributedError(f"{name}={value!r} is not an integer") from None


def initialize(num_processes: int | None, process_id: int | None = None, coordinator: str | None = None) -> None:
    """Joins this process to a job of `num_processes` processes (`jax.distributed.initialize`), before JAX computes.

    Missing arguments come from JAX_NUM_PROCESSES, JAX_PROCESS_ID and JAX_COORDINATOR_ADDRESS
    (host:port of process 0), and when those are unset too, from JAX's detection of SLURM, Open
    MPI or Cloud TPU jobs. With one process (or none asked for) nothing happens.
    """
    num_processes = _env_int(NUM_PROCESSES_VAR) if num_processes is None else num_processes
    process_id = _env_int(PROCESS_ID_VAR) if process_id is None else process_id
    if coordinator is None:
        coordinator = os.environ.get(COORDINATOR_VAR) or None
    if num_processes is None or num_processes == 1:
        if process_id not in (None, 0):
            raise DistributedError(f"process id {process_id} given for a single process")
        return
    if num_processes < 1:
        raise DistributedError(f"the process count must be positive, got {num_processes}")
    if process_id is not None and not 0 <= process_id < num_processes:
        raise DistributedError(f"the process id must be in 0..{num_processes - 1}, got {process_id}")
    if backend_started():
        raise DistributedError("several processes must be joined before JAX first computes in this process")
    # gloo's TCP collectives let CPU devices of different processes all-reduce (JAX's default in
    # 0.10; set so that a changed default does not leave a multi-process CPU run without them).
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=coordinator, num_processes=num_processes, process_id=process_id)


def select_devices(per_process: int) -> list[jax.Device]:
    """The first `per_process` local devices of every process, ordered by process."""
    local = jax.local_device_count()
    if not 1 <= per_process <= local:
        hint = (
            f"; on a CPU, --devices sets the count before JAX starts (or set XLA_FLAGS=--xla_force_host_platform_device_count={per_process})"
            if jax.default_backend() == "cpu"
            else ""
        )
        raise DistributedError(
            f"--devices {per_process}: this process has {local} {jax.default_backend()} device(s){hint}"
        )
    by_process: dict[int, list[jax.Device]] = {}
    for device in sorted(jax.devices(), key=lambda d: (d.process_index, d.id)):
        by_process.setdefault(device.process_index, []).append(device)
    return [device for index in sorted(by_process) for device in by_process[index][:per_process]]


def check_num_envs(config: Any, devices: list[jax.Device]) -> None:
    """Raises unless the agent config's `num_envs` splits evenly over `devices`."""
    if config.num_envs % len(devices):
        raise DistributedError(
            f"the config's num_envs={config.num_envs} does not split over {len(devices)} devices:"
            f" choose a multiple of {len(devices)} or another --devices"
        )


def env_mesh(devices: list[jax.Device]) -> Mesh:
    return Mesh(np.asarray(devices), (ENV_AXIS,))


def constrain_samples(tree: Any, devices: list[jax.Device], axis: int = 0) -> Any:
    """`tree` with axis `axis` of every leaf split over `devices` (inside jit; vmapped axes stay whole).

    A leaf whose axis does not divide by the device count is left to the partitioner (its
    computation is then replicated, with the same result).
    """
    if len(devices) == 1:
        return tree
    mesh = env_mesh(devices)

    def constrain(leaf: jax.Array) -> jax.Array:
        if leaf.shape[axis] % len(devices):
            return leaf
        spec = PartitionSpec(*([None] * axis), ENV_AXIS)
        return jax.lax.with_sharding_constraint(leaf, NamedSharding(mesh, spec))

    return jax.tree_util.tree_map(constrain, tree)


def spans_processes(devices: list[jax.Device]) -> bool:
    return any(device.process_index != jax.process_index() for device in devices)


def host_view(tree: Any, devices: list[jax.Device]) -> Any:
    """`tree` readable by this process's host: itself when its devices are all local, else a copy replicated on every device.

    Collective across processes: every process calls it with the same tree.
    """
    if not spans_processes(devices):
        return tree
    replicated = NamedSharding(env_mesh(devices), PartitionSpec())
    return jax.jit(lambda x: x, out_shardings=replicated)(tree)


def is_writer() -> bool:
    """Whether this process writes the run's files: process 0 of a job, or the only process."""
    return jax.process_index() == 0


def setup(
    devices: int | None, processes: int | None, process_id: int | None, coordinator: str | None
) -> list[jax.Device]:
    """`gymx train`'s device and process flags applied, before JAX computes: the devices the agents' envs split over.

    `devices` per process, 1 when None: splitting is asked for, never implied by the machine, so
    a run's result and its config's constraints (num_envs a multiple of the devices) do not
    depend on how many devices the machine has.
    """
    if devices is not None:
        request_cpu_devices(devices)
    initialize(processes, process_id, coordinator)
    return select_devices(1 if devices is None else devices)


def scratch_dir() -> Path:
    """A folder for the run files of a process that does not write them (removed when the process exits).

    Every process runs the same host code, so the others write their copies here, where nobody reads them.
    """
    path = Path(tempfile.mkdtemp(prefix=f"gymx-train-process{jax.process_index()}-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def describe(devices: list[jax.Device]) -> str:
    """`device NVIDIA H100` for one device; `envs split over 2 x cpu devices, 2 processes (this is process 0)` for several."""
    if len(devices) == 1:
        return f"device {devices[0].device_kind}"
    processes = len({device.process_index for device in devices})
    text = f"envs split over {len(devices)} x {devices[0].device_kind} devices"
    return text + (f", {processes} processes (this is process {jax.process_index()})" if processes > 1 else "")
