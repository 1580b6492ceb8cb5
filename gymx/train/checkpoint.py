"""Checkpoints: a training state (batched over seeds) and what rebuilds its agent, in one safetensors file.

The file (safetensors: a JSON header and raw little-endian arrays, readable by any tool with a
safetensors reader) holds the state's leaves as tensors `leaf_0 ... leaf_k` (in pytree order)
and, under the header's metadata key `gymx`, a JSON string with the algorithm, env id, seeds,
the full config, a CRC-32 of each leaf's bytes and, for a run in progress, the run's bookkeeping
(`run`: chunking, iterations done, how much of each seed's episode log belongs to this state).
The state is the whole of training: parameters, optimiser state with its step count, the envs,
replay buffer and PRNG key, so training continued from a checkpoint is the run that was
checkpointed. A leaf of typed PRNG keys (`jax.random.key`, as an Atari env's state holds) is
stored as its `jax.random.key_data`, with its implementation's name under the metadata's
`key_impls`, and loads as the same typed keys. Loading rebuilds the agent from the metadata,
finds the state's structure with `jax.eval_shape` of the agent's `init` (no compute) and checks
every leaf's shape, dtype and checksum against it, so a file that does not fit the code fails
loudly. No pickle is involved.

A config saved before a field was added to its class loads with the value that reproduces the
run as it was (`ADDED_CONFIG_FIELDS`); a key the class does not know is still an error.

Checkpoints of earlier gymx versions (format 1, an `.npz` with the same leaves and a `meta`
entry) are still read, so `gymx eval` scores them; new ones are always safetensors.

`save` writes a temporary file next to the target and renames it over the target, so a run killed
while saving leaves the previous checkpoint whole. Anything `load` cannot read (a missing,
truncated or foreign file, damaged metadata, arrays that do not fit) raises `CheckpointError`
naming the file and what is wrong.
"""

from __future__ import annotations

import dataclasses
import json
import os
import zipfile
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

from gymx import registration
from gymx.train import agents, config
from gymx.train.runner import Agent, seed_keys

FORMAT_VERSION = 2  # safetensors; 1 was an .npz
NPZ_FORMAT_VERSION = 1
METADATA_KEY = "gymx"  # the safetensors header's metadata entry that holds gymx's JSON
# How a file starts: a zip archive (an .npz) or a single .npy array, told apart from safetensors
# (whose first 8 bytes are the header's length) before any parser sees the bytes.
ZIP_MAGIC = b"PK\x03\x04"
NPY_MAGIC = b"\x93NUMPY"


# Config fields added after checkpoints were first written, by algorithm: the value each takes in a
# checkpoint saved without it, the one its run was trained with.
ADDED_CONFIG_FIELDS: dict[str, dict[str, Any]] = {
    "ppo": {
        "network": "mlp",
        "clip_rewards": False,
        "atari_preprocessing": False,
        "terminal_on_life_loss": False,
        "frame_stack": 1,
    },
}


class CheckpointError(ValueError):
    """A file that is not a readable gymx checkpoint; the message names the file and the fault."""


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    agent: Agent
    states: Any  # batched over seeds: numpy leaves, and jax arrays of typed PRNG keys
    seeds: list[int]
    run: dict[str, Any]  # the run's bookkeeping saved with the states (empty if none was)


def save(path: str | Path, agent: Agent, states: Any, seeds: list[int], run: Mapping[str, Any] | None = None) -> Path:
    path = Path(path)
    state_leaves = jax.tree_util.tree_leaves(states)
    leaves = [_stored(leaf) for leaf in state_leaves]
    meta = {
        "format": FORMAT_VERSION,
        "algo": agent.algo,
        "env_id": agent.env_id,
        "seeds": list(seeds),
        "config": config.to_dict(agent.config),
        "crc32": [_crc32(leaf) for leaf in leaves],
        "key_impls": {
            str(i): str(jax.random.key_impl(leaf)) for i, leaf in enumerate(state_leaves) if _is_key(leaf.dtype)
        },
        "run": dict(run or {}),
    }
    partial = path.with_name(path.name + ".partial")
    save_file({f"leaf_{i}": leaf for i, leaf in enumerate(leaves)}, partial, metadata={METADATA_KEY: json.dumps(meta)})
    with open(partial, "rb+") as file:
        os.fsync(file.fileno())
    os.replace(partial, path)
    return path


def read(path: str | Path) -> Checkpoint:
    """The checkpoint in `path`, checked against the code that will run it; `CheckpointError` if it cannot be."""
    try:
        with open(path, "rb") as file:
            magic = file.read(8)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path}: is a directory, not a checkpoint file") from None
    if magic.startswith(ZIP_MAGIC):
        return _read_npz(path)
    if magic.startswith(NPY_MAGIC):
        raise CheckpointError(f"{path}: a single .npy array, not a gymx checkpoint (safetensors with gymx metadata)")
    return _read_safetensors(path)


def load(path: str | Path) -> tuple[Agent, Any, list[int]]:
    """(the agent, its states batched over seeds, the seeds) from a file written by `save`."""
    checkpoint = read(path)
    return checkpoint.agent, checkpoint.states, checkpoint.seeds


def _read_safetensors(path: str | Path) -> Checkpoint:
    try:
        with safe_open(str(path), framework="np") as file:
            header = (file.metadata() or {}).get(METADATA_KEY)
            if header is None:
                raise CheckpointError(f"{path}: a safetensors file without gymx's {METADATA_KEY!r} metadata")
            meta = _parse_meta(path, header, FORMAT_VERSION)
            names = set(file.keys())

            def member(name: str) -> np.ndarray:
                if name not in names:
                    raise CheckpointError(f"{path}: array {name} is missing")
                return file.get_tensor(name)

            checkpoint = _assemble(path, meta, len(names), member)
    except SafetensorError as error:
        raise CheckpointError(f"{path}: not a gymx checkpoint, or a truncated or damaged one ({error})") from None
    crcs = meta.get("crc32")
    if not isinstance(crcs, list) or len(crcs) != len(jax.tree_util.tree_leaves(checkpoint.states)):
        raise CheckpointError(f"{path}: damaged metadata (crc32 {crcs!r})")
    for i, (leaf, crc) in enumerate(zip(jax.tree_util.tree_leaves(checkpoint.states), crcs)):
        if _crc32(_stored(leaf)) != crc:
            raise CheckpointError(f"{path}: array 'leaf_{i}' is damaged (its CRC-32 differs from the saved one)")
    return checkpoint


def _is_key(dtype: Any) -> bool:
    return jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)


def _stored(leaf: Any) -> np.ndarray:
    """A state leaf as the file holds it: typed PRNG keys as their raw key data."""
    return np.ascontiguousarray(jax.device_get(jax.random.key_data(leaf) if _is_key(leaf.dtype) else leaf))


def _key_impl(spec: jax.ShapeDtypeStruct) -> Any:
    """The PRNG implementation of abstract keys: `jax.random.key_impl` takes arrays, so it runs on a traced one."""
    found = []
    jax.eval_shape(lambda keys: found.append(jax.random.key_impl(keys)), spec)
    return found[0]


def _crc32(array: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(array).data)  # the buffer itself: no copy of a large replay buffer


def _read_npz(path: str | Path) -> Checkpoint:
    """A format-1 checkpoint of an earlier gymx: an .npz of the leaves and a JSON `meta` string."""
    try:
        file = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
        raise CheckpointError(f"{path}: truncated or damaged .npz ({error})") from None
    assert isinstance(file, np.lib.npyio.NpzFile), "a zip archive loads as an NpzFile"
    with file:
        if "meta" not in file.files:
            raise CheckpointError(f"{path}: an .npz without gymx's 'meta' entry, not a gymx checkpoint")
        meta = _parse_meta(path, str(_member(path, file, "meta")), NPZ_FORMAT_VERSION)

        def member(name: str) -> np.ndarray:
            if name not in file.files:
                raise CheckpointError(f"{path}: array {name} is missing")
            return _member(path, file, name)

        return _assemble(path, meta, len(file.files) - 1, member)


def _member(path: str | Path, file: np.lib.npyio.NpzFile, name: str) -> np.ndarray:
    try:
        return file[name]
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:  # A cut or overwritten member.
        raise CheckpointError(f"{path}: array {name!r} is damaged ({error})") from None


def _parse_meta(path: str | Path, text: str, expected_format: int) -> dict[str, Any]:
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path}: damaged metadata ({error})") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: damaged metadata (not a JSON object)")
    if meta.get("format") != expected_format:
        raise CheckpointError(f"{path}: checkpoint format {meta.get('format')!r}, expected {expected_format}")
    missing = sorted({"algo", "env_id", "seeds", "config"} - set(meta))
    if missing:
        raise CheckpointError(f"{path}: metadata lacks {missing}")
    if not isinstance(meta["seeds"], list) or not meta["seeds"] or not all(isinstance(s, int) for s in meta["seeds"]):
        raise CheckpointError(f"{path}: damaged metadata (seeds {meta['seeds']!r})")
    return meta


def _assemble(
    path: str | Path, meta: dict[str, Any], num_arrays: int, member: Callable[[str], np.ndarray]
) -> Checkpoint:
    """The agent `meta` describes and its states from `member(name)`, every leaf checked against the agent's `init`."""
    if not isinstance(meta["config"], dict):
        raise CheckpointError(f"{path}: damaged metadata (config {meta['config']!r})")
    values = {**ADDED_CONFIG_FIELDS.get(meta["algo"], {}), **meta["config"]}
    key_impls = meta.get("key_impls", {})
    if not isinstance(key_impls, dict):
        raise CheckpointError(f"{path}: damaged metadata (key_impls {key_impls!r})")
    try:
        agent = agents.make(
            meta["algo"], meta["env_id"], config.from_mapping(agents.config_class(meta["algo"]), values)
        )
    except (
        ValueError,
        TypeError,
        registration.Error,
    ) as error:  # An unknown id or algorithm, a config this version rejects.
        raise CheckpointError(f"{path}: cannot rebuild its {meta['algo']} agent on {meta['env_id']}: {error}") from None
    template = jax.eval_shape(jax.vmap(agent.init), seed_keys(meta["seeds"]))
    expected, treedef = jax.tree_util.tree_flatten(template)
    if num_arrays != len(expected):
        raise CheckpointError(f"{path}: {num_arrays} arrays, the {meta['algo']} state has {len(expected)}")
    leaves = []
    for i, spec in enumerate(expected):
        leaf = member(f"leaf_{i}")
        impl = key_impls.get(str(i))
        if _is_key(spec.dtype) != (impl is not None):
            saved = f"{impl} PRNG keys" if impl is not None else "plain arrays"
            raise CheckpointError(f"{path}: leaf {i} holds {saved}, expected {spec.dtype}{spec.shape}")
        data = jax.eval_shape(jax.random.key_data, spec) if impl is not None else spec
        if leaf.shape != data.shape or leaf.dtype != data.dtype:
            raise CheckpointError(f"{path}: leaf {i} is {leaf.dtype}{leaf.shape}, expected {data.dtype}{data.shape}")
        if impl is not None:
            # The state's own implementation: one defined by gymx (gymx.random's) has no name JAX looks up.
            expected_impl = _key_impl(spec)
            if impl != str(expected_impl):
                raise CheckpointError(f"{path}: leaf {i} holds {impl} PRNG keys, expected {spec.dtype}")
            leaf = jax.random.wrap_key_data(jnp.asarray(leaf), impl=expected_impl)
        leaves.append(leaf)
    return Checkpoint(
        agent, jax.tree_util.tree_unflatten(treedef, leaves), list(meta["seeds"]), dict(meta.get("run", {}))
    )
