"""Per-env episode statistics of a batched env, accumulated on device inside `jit`.

`RecordEpisodeStatistics(vec_env)` has `VecEnv`'s `reset(key, params)` / `step(state, action,
params)` signature and adds Gymnasium's vector layout to `ts.info`:

    info["episode"] = {"r": float32 (num_envs,), "l": int32 (num_envs,), "batch_step": int32 (num_envs,)}
    info["_episode"] = bool (num_envs,)  # the envs whose episode ended on this step

Entries of envs that did not finish are zero. "r" and "l" are the finished episode's return and
length, as Gymnasium has them. Gymnasium's "t" (wall-clock seconds since the wrapper was made)
cannot be read inside `jit`, so there is no "t": "batch_step" is the batch clock instead, the
number of `step` calls since `reset` at which the episode ended (the whole batch had then taken
`batch_step * num_envs` env steps). `gymx.monitor.Monitor` turns it into wall time on the host
when it flushes.

Under `AutoresetMode.DISABLED` a finished env keeps reporting `done` until it is reset; only the
first of those steps counts as the episode's end.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from gymx import struct
from gymx.core import TimeStep
from gymx.vector import AutoresetMode, VecState, VecWrapper


class EpisodeStatsState(struct.PyTree):
    vec_state: VecState
    step: jax.Array  # int32 (), `step` calls since `reset`: the clock of info["episode"]["batch_step"]
    episodes: jax.Array  # int32 (num_envs,), episodes each env has finished since `reset`


class RecordEpisodeStatistics(VecWrapper):
    """Reports each finished episode's return, length and end time in `info`; see the module docstring."""

    def reset(self, key: jax.Array, params: Any = None) -> tuple[EpisodeStatsState, TimeStep]:
        vec_state, ts = self.vec_env.reset(key, params)
        state = EpisodeStatsState(vec_state, jnp.zeros((), jnp.int32), jnp.zeros(self.num_envs, jnp.int32))
        none = jnp.zeros(self.num_envs, jnp.bool_)
        return state, ts.replace(info=self._with_episode(ts.info, none, jnp.zeros((), jnp.int32)))

    def step(self, state: EpisodeStatsState, action: Any, params: Any = None) -> tuple[EpisodeStatsState, TimeStep]:
        vec_state, ts = self.vec_env.step(state.vec_state, action, params)
        finished = ts.terminated | ts.truncated
        if self.autoreset_mode is AutoresetMode.DISABLED:
            finished = finished & ~state.vec_state.reset_pending
        step = state.step + 1
        new_state = EpisodeStatsState(vec_state, step, state.episodes + finished)
        return new_state, ts.replace(info=self._with_episode(ts.info, finished, step))

    def reset_masked(
        self, state: EpisodeStatsState, mask: jax.Array, params: Any = None
    ) -> tuple[EpisodeStatsState, TimeStep]:
        """`VecEnv.reset_masked`; an env reset before its episode ended does not count that episode."""
        vec_state, ts = self.vec_env.reset_masked(state.vec_state, mask, params)
        none = jnp.zeros(self.num_envs, jnp.bool_)
        return state.replace(vec_state=vec_state), ts.replace(info=self._with_episode(ts.info, none, state.step))

    def render(
        self, state: EpisodeStatsState, params: Any = None, env_indices: Any = None, columns: int | None = None
    ) -> jax.Array:
        return self.vec_env.render(state.vec_state, params, env_indices, columns)

    @staticmethod
    def _with_episode(info: dict, finished: jax.Array, step: jax.Array) -> dict:
        episode = {
            "r": jnp.where(finished, info["episode_return"], 0.0).astype(jnp.float32),
            "l": jnp.where(finished, info["episode_length"], 0).astype(jnp.int32),
            "batch_step": jnp.where(finished, step, 0).astype(jnp.int32),
        }
        return {**info, "episode": episode, "_episode": finished}
