"""PyTorch adapter: a gymx `VecEnv` whose observations, rewards, flags and info arrive as torch
tensors, and which takes torch actions, with no host round trip: outputs through DLPack, without
a copy; actions through DLPack on an accelerator.

Each `step` runs one jitted program on the VecEnv's device; its outputs are handed to torch with
`torch.from_dlpack` (a tensor on the matching torch device, `cpu` or `cuda:N`, viewing the same
memory). The action tensor is cast to the action space's dtype on its device, then handed to JAX:
on an accelerator with `jax.dlpack.from_dlpack` (no copy); on the CPU as a numpy copy (a few KB,
a memcpy, since the host is the device: a DLPack-imported CPU array takes a slow dispatch path
in JAX that costs milliseconds per call).
The output tensors alias buffers JAX produced: read them, copy them (`.clone()`) or build on
them, but do not write to them in place.

Actions are not range-checked (that would need a copy to the host): a discrete action outside the
space reaches the env as it is. Their shape is checked, and their dtype must be an integer type
for discrete spaces and a floating type for boxes.

Auto-reset follows the VecEnv's mode (SAME_STEP by default, the one that suits a rollout
buffer: `ts.obs` after a done is the next episode's first observation, `info["final_obs"]` the
last one of the episode that ended). Seeding: `reset(seed)` resets every env from `seed` as
`VecEnv.reset(jax.random.key(seed))` does; `reset()` continues the key stream.

    env = make_vec("CartPole-v1", num_envs=1024)
    obs, info = env.reset(seed=0)  # torch.float32 (1024, 4)
    obs, reward, terminated, truncated, info = env.step(torch.zeros(1024, dtype=torch.int64))
"""

from __future__ import annotations

from typing import Any, Generic, TypeAlias

import jax
import jax.numpy as jnp
import numpy as np
import torch

from gymx import spaces, vector
from gymx.core import Params, State, compiled
from gymx.vector import AutoresetMode, VecEnv, VecState

# An element of a space as torch tensors: a tensor, or tuples and dicts of them (Tuple and Dict spaces).
TensorTree: TypeAlias = torch.Tensor | tuple["TensorTree", ...] | dict[str, "TensorTree"]
# The same as the env takes it: JAX arrays on an accelerator, numpy copies on the CPU.
ArrayTree: TypeAlias = jax.Array | np.ndarray | tuple["ArrayTree", ...] | dict[str, "ArrayTree"]


# `to_torch` and `to_jax` take `Any`: a pytree of any structure `jax.tree_util` flattens.
def to_torch(tree: Any) -> Any:
    """Every JAX array in `tree` as a torch tensor on the same device, sharing its memory."""
    return jax.tree_util.tree_map(torch.from_dlpack, tree)


def to_jax(tree: Any) -> Any:
    """Every torch tensor in `tree` as a JAX array on the same device, sharing its memory (a
    non-contiguous tensor is made contiguous first, which copies it on its device)."""
    return jax.tree_util.tree_map(lambda t: jax.dlpack.from_dlpack(t.contiguous()), tree)


def _leaf_spaces(space: spaces.Space) -> list[spaces.Space]:
    if isinstance(space, spaces.Tuple):
        return [leaf for part in space.spaces for leaf in _leaf_spaces(part)]
    if isinstance(space, spaces.Dict):
        return [leaf for part in space.spaces.values() for leaf in _leaf_spaces(part)]
    return [space]


def _torch_dtype(dtype: np.dtype) -> torch.dtype:
    return torch.from_numpy(np.zeros(0, dtype)).dtype


class TorchVectorEnv(Generic[State, Params]):
    """A gymx `VecEnv` that speaks torch tensors; see the module docstring.

    `reset(seed=None) -> (obs, info)` and `step(actions) -> (obs, reward, terminated, truncated,
    info)`, every array a torch tensor with a leading `num_envs` axis (reward float32, flags
    bool). `single_observation_space`/`single_action_space` are the gymx spaces of one env.
    `params` (default params when None) are used for every step.
    """

    def __init__(self, vec_env: VecEnv[State, Params], params: Params | None = None, seed: int = 0):
        self.vec_env = vec_env
        self.num_envs = vec_env.num_envs
        self.params: Params = vec_env.default_params if params is None else params
        self.single_observation_space = vec_env.single_observation_space(self.params)
        self.single_action_space = vec_env.single_action_space(self.params)
        self._action_leaves = _leaf_spaces(self.single_action_space)
        self._action_tree = jax.tree_util.tree_structure(
            jax.eval_shape(self.single_action_space.sample, jax.random.key(0))
        )
        self._key = jax.random.key(seed)
        self._state: VecState[State] | None = None
        self.device = torch.from_dlpack(jnp.zeros((), device=vec_env.devices[0])).device

    def reset(self, seed: int | None = None) -> tuple[TensorTree, dict[str, TensorTree]]:
        if seed is not None:
            self._key = jax.random.key(seed)
        self._key, key = jax.random.split(self._key)
        program = compiled(self.vec_env, "torch.reset", lambda: self.vec_env.reset)
        self._state, ts = program(key, self.params)
        return to_torch(ts.obs), to_torch(ts.info)

    def step(
        self, actions: TensorTree
    ) -> tuple[TensorTree, torch.Tensor, torch.Tensor, torch.Tensor, dict[str, TensorTree]]:
        if self._state is None:
            raise RuntimeError("gymx: call reset() before step()")
        program = compiled(self.vec_env, "torch.step", lambda: self.vec_env.step)
        self._state, ts = program(self._state, self._as_jax_actions(actions), self.params)
        return to_torch(ts.obs), to_torch(ts.reward), to_torch(ts.terminated), to_torch(ts.truncated), to_torch(ts.info)

    def _as_jax_actions(self, actions: TensorTree) -> ArrayTree:
        leaves = jax.tree_util.tree_leaves(actions)
        if len(leaves) != len(self._action_leaves):
            raise ValueError(
                f"gymx: actions must match the action space {self.single_action_space} batched over {self.num_envs} envs"
            )
        converted = []
        for tensor, space in zip(leaves, self._action_leaves):
            if not isinstance(tensor, torch.Tensor):
                raise TypeError(f"gymx: actions must be torch tensors, got {type(tensor).__name__}")
            expected = (self.num_envs, *space.shape)
            if tuple(tensor.shape) != expected:
                raise ValueError(f"gymx: actions for {space} must have shape {expected}, got {tuple(tensor.shape)}")
            floating = isinstance(space, spaces.Box) and np.issubdtype(space.dtype, np.floating)
            integer = not (tensor.dtype.is_floating_point or tensor.dtype.is_complex)
            if tensor.dtype == torch.bool:
                integer = isinstance(space, spaces.MultiBinary)
            if not (tensor.dtype.is_floating_point if floating else integer):
                kind = "a floating" if floating else "an integer"
                raise TypeError(f"gymx: actions for {space} must have {kind} dtype, got {tensor.dtype}")
            assert space.dtype is not None, "leaf spaces have a dtype"
            tensor = tensor.detach().to(_torch_dtype(space.dtype))
            # A copy on the CPU: JAX may keep reading a host array after the call returns.
            converted.append(tensor.numpy().copy() if tensor.device.type == "cpu" else to_jax(tensor))
        return jax.tree_util.tree_unflatten(self._action_tree, converted)

    def close(self) -> None:
        self._state = None


def make_vec(
    env_id: str,
    num_envs: int,
    autoreset_mode: AutoresetMode | str = AutoresetMode.SAME_STEP,
    max_episode_steps: int | None = None,
    devices: list[jax.Device] | None = None,
    params: object = None,
    seed: int = 0,
    **kwargs: Any,
) -> TorchVectorEnv:
    """`TorchVectorEnv(gymx.make_vec(env_id, num_envs, ...))`; `kwargs` go to the env's constructor."""
    vec_env = vector.make_vec(env_id, num_envs, autoreset_mode, max_episode_steps, devices, **kwargs)
    return TorchVectorEnv(vec_env, params=params, seed=seed)
