"""A corridor of cells: walk right to the exit."""

from __future__ import annotations

import jax
import jax.numpy as jnp

import gymx
from gymx import spaces


@gymx.struct.dataclass
class CorridorState:
    cell: jax.Array  # int32 (), the walker's cell, 0 (left wall) .. length - 1 (the exit)


@gymx.struct.dataclass
class CorridorParams:
    step_cost: float = 0.01  # reward lost per step that does not reach the exit


class Corridor(gymx.Env[CorridorState, CorridorParams]):
    """A walker in a corridor of `length` cells (static, default 8) heads for the exit at the right end.

    Observation: Discrete(length) int32, the walker's cell.
    Action: Discrete(2) int32: 0 steps left (the left wall stops it), 1 steps right.
    Reward: float32, +1 on reaching the exit, else -step_cost (a traced param, default 0.01).
    Termination: the walker is on the exit. Registered with a 100-step time limit.
    Reset: the walker starts on a cell drawn uniformly from the left half.

        env = gymx.make("example/Corridor-v0")
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, 1)
    """

    def __init__(self, length: int = 8):
        if length < 2:
            raise ValueError(f"length must be at least 2, got {length}")
        self.length = length

    @property
    def default_params(self) -> CorridorParams:
        return CorridorParams()

    def observation_space(self, params: CorridorParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(self.length)

    def action_space(self, params: CorridorParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(2)

    def reset_env(self, key: jax.Array, params: CorridorParams) -> CorridorState:
        # Start cell ~ uniform over the left half.
        return CorridorState(jax.random.randint(key, (), 0, self.length // 2, jnp.int32))

    def step_env(
        self, state: CorridorState, action: jax.Array, params: CorridorParams
    ) -> tuple[CorridorState, jax.Array, dict]:
        cell = jnp.clip(state.cell + 2 * action - 1, 0, self.length - 1).astype(jnp.int32)
        reward = jnp.where(cell == self.length - 1, 1.0, -params.step_cost).astype(jnp.float32)
        return CorridorState(cell), reward, {}

    def observe(self, state: CorridorState, params: CorridorParams) -> jax.Array:
        return state.cell

    def is_terminal(self, state: CorridorState, params: CorridorParams) -> jax.Array:
        return state.cell == self.length - 1
