"""Checkpoints: a training state (batched over seeds) and what rebuilds its agent, in one `.npz` file.

The file holds the state's leaves as arrays `leaf_0 ... leaf_k` (in pytree order) and a JSON
string `meta` with the algorithm, env id, seeds, the full config and, for a run in progress, the
run's bookkeeping (`run`: chunking, iterations done, how much of each seed's episode log belongs to this
state). The state is the whole of training: parameters, optimiser state with its step count, the
envs, replay buffer and PRNG key, so training continued from a checkpoint is the run that was
checkpointed. Loading rebuilds the agent from `meta`, finds the state's structure with
`jax.eval_shape` of the agent's `init` (no compute) and checks every leaf's shape and dtype
against it, so a file that does not fit the code fails loudly. No pickle is involved.

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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import numpy as np

from gymx import registration
from gymx.train import agents, config
from gymx.train.runner import Agent, seed_keys

FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A file that is not a readable gymx checkpoint; the message names the file and the fault."""


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    agent: Agent
    states: Any  # batched over seeds, numpy leaves
    seeds: list[int]
    run: dict[str, Any]  # the run's bookkeeping saved with the states (empty if none was)


def save(path: str | Path, agent: Agent, states: Any, seeds: list[int], run: Mapping[str, Any] | None = None) -> Path:
    path = Path(path)
    meta = {
        "format": FORMAT_VERSION,
        "algo": agent.algo,
        "env_id": agent.env_id,
        "seeds": list(seeds),
        "config": config.to_dict(agent.config),
        "run": dict(run or {}),
    }
    leaves = jax.tree_util.tree_leaves(jax.device_get(states))
    arrays = {f"leaf_{i}": np.asarray(leaf) for i, leaf in enumerate(leaves)}
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as file:  # An open file keeps numpy from appending ".npz" to the name.
        np.savez(file, meta=np.asarray(json.dumps(meta)), **arrays)  # type: ignore[arg-type]  # numpy's stub lets **arrays reach allow_pickle
        file.flush()
        os.fsync(file.fileno())
    os.replace(partial, path)
    return path


def read(path: str | Path) -> Checkpoint:
    """The checkpoint in `path`, checked against the code that will run it; `CheckpointError` if it cannot be."""
    try:
        file = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path}: is a directory, not a checkpoint file") from None
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise CheckpointError(f"{path}: truncated or damaged .npz ({error})") from None
    except ValueError:  # np.load's answer to bytes that are neither .npy nor .npz (it suspects a pickle).
        raise CheckpointError(f"{path}: not a gymx checkpoint (neither .npz nor .npy data)") from None
    if not isinstance(file, np.lib.npyio.NpzFile):
        raise CheckpointError(f"{path}: a single .npy array, not a gymx checkpoint (.npz with 'meta')")
    with file:
        return _read(path, file)


def load(path: str | Path) -> tuple[Agent, Any, list[int]]:
    """(the agent, its states batched over seeds, the seeds) from a file written by `save`."""
    checkpoint = read(path)
    return checkpoint.agent, checkpoint.states, checkpoint.seeds


def _member(path: str | Path, file: np.lib.npyio.NpzFile, name: str) -> np.ndarray:
    try:
        return file[name]
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:  # A cut or overwritten member.
        raise CheckpointError(f"{path}: array {name!r} is damaged ({error})") from None


def _read(path: str | Path, file: np.lib.npyio.NpzFile) -> Checkpoint:
    if "meta" not in file.files:
        raise CheckpointError(f"{path}: an .npz without gymx's 'meta' entry, not a gymx checkpoint")
    try:
        meta = json.loads(str(_member(path, file, "meta")))
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path}: damaged metadata ({error})") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: damaged metadata (not a JSON object)")
    if meta.get("format") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format {meta.get('format')!r}, expected {FORMAT_VERSION}")
    missing = sorted({"algo", "env_id", "seeds", "config"} - set(meta))
    if missing:
        raise CheckpointError(f"{path}: metadata lacks {missing}")
    if not isinstance(meta["seeds"], list) or not meta["seeds"] or not all(isinstance(s, int) for s in meta["seeds"]):
        raise CheckpointError(f"{path}: damaged metadata (seeds {meta['seeds']!r})")
    try:
        agent = agents.make(
            meta["algo"], meta["env_id"], config.from_mapping(agents.config_class(meta["algo"]), meta["config"])
        )
    except (
        ValueError,
        TypeError,
        registration.Error,
    ) as error:  # An unknown id or algorithm, a config this version rejects.
        raise CheckpointError(f"{path}: cannot rebuild its {meta['algo']} agent on {meta['env_id']}: {error}") from None
    template = jax.eval_shape(jax.vmap(agent.init), seed_keys(meta["seeds"]))
    expected, treedef = jax.tree_util.tree_flatten(template)
    if len(file.files) - 1 != len(expected):
        raise CheckpointError(f"{path}: {len(file.files) - 1} arrays, the {meta['algo']} state has {len(expected)}")
    leaves = []
    for i, spec in enumerate(expected):
        name = f"leaf_{i}"
        if name not in file.files:
            raise CheckpointError(f"{path}: array {name} is missing")
        leaf = _member(path, file, name)
        if leaf.shape != spec.shape or leaf.dtype != spec.dtype:
            raise CheckpointError(f"{path}: leaf {i} is {leaf.dtype}{leaf.shape}, expected {spec.dtype}{spec.shape}")
        leaves.append(leaf)
    return Checkpoint(
        agent, jax.tree_util.tree_unflatten(treedef, leaves), list(meta["seeds"]), dict(meta.get("run", {}))
    )
