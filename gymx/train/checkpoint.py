"""Checkpoints: a training state (batched over seeds) and what rebuilds its agent, in one `.npz` file.

The file holds the state's leaves as arrays `leaf_0 ... leaf_k` (in pytree order) and a JSON
string `meta` with the algorithm, env id, seeds and the full config. Loading rebuilds the agent
from `meta`, finds the state's structure with `jax.eval_shape` of the agent's `init` (no compute)
and checks every leaf's shape and dtype against it, so a file that does not fit the code fails
loudly. No pickle is involved.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jax
import numpy as np

from gymx.train import agents, config
from gymx.train.runner import Agent, seed_keys

FORMAT_VERSION = 1


def save(path: str | Path, agent: Agent, states: Any, seeds: list[int]) -> Path:
    path = Path(path)
    meta = {
        "format": FORMAT_VERSION,
        "algo": agent.algo,
        "env_id": agent.env_id,
        "seeds": list(seeds),
        "config": config.to_dict(agent.config),
    }
    leaves = jax.tree_util.tree_leaves(jax.device_get(states))
    arrays = {f"leaf_{i}": np.asarray(leaf) for i, leaf in enumerate(leaves)}
    with open(path, "wb") as file:  # An open file keeps numpy from appending ".npz" to the name.
        np.savez(file, meta=np.asarray(json.dumps(meta)), **arrays)
    return path


def load(path: str | Path) -> tuple[Agent, Any, list[int]]:
    """(the agent, its states batched over seeds, the seeds) from a file written by `save`."""
    with np.load(path, allow_pickle=False) as file:
        meta = json.loads(str(file["meta"]))
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"{path}: checkpoint format {meta.get('format')!r}, expected {FORMAT_VERSION}")
        agent = agents.make(meta["algo"], meta["env_id"], config.from_mapping(agents.config_class(meta["algo"]), meta["config"]))
        template = jax.eval_shape(jax.vmap(agent.init), seed_keys(meta["seeds"]))
        expected, treedef = jax.tree_util.tree_flatten(template)
        if len(file.files) - 1 != len(expected):
            raise ValueError(f"{path}: {len(file.files) - 1} arrays, the {meta['algo']} state has {len(expected)}")
        leaves = []
        for i, spec in enumerate(expected):
            leaf = file[f"leaf_{i}"]
            if leaf.shape != spec.shape or leaf.dtype != spec.dtype:
                raise ValueError(f"{path}: leaf {i} is {leaf.dtype}{leaf.shape}, expected {spec.dtype}{spec.shape}")
            leaves.append(leaf)
    return agent, jax.tree_util.tree_unflatten(treedef, leaves), meta["seeds"]
