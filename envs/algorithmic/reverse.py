"""Reverse: write the input tape back to front (the original Gym's Reverse-v0)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from gymx.envs.algorithmic.tape import AlgorithmicEnv


class Reverse(AlgorithmicEnv):
    """Write the input tape reversed; the read head starts on the input's first symbol.

    Observation: Discrete(base + 1) int32 (), the symbol under the read head; `base` is blank.
    Action: Tuple(Discrete(2), Discrete(2), Discrete(base)) of int32 (): move (0 left,
        1 right), whether to write, the symbol to write.
    Reward: float32 +1 per correct write, -0.5 for a wrong one, -1 on the step past the time
        limit (input length + target length + 4), else 0.
    Termination: a wrong write, the whole target written, or the time limit passed.
    Truncation: the registered id's TimeLimit (200 steps).
    Input: min_length + U{0, 1, 2} binary symbols (base 2); the curriculum starts at
        min_length 1 and promotes after 50 consecutive perfect episodes (shortfall >= -0.1).
    Info: `target_length` int32 (), on every step and reset.

        env = gymx.make("Reverse-v0")
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, (1, 0, 0))  # move right without writing
    """

    starting_min_length = 1
    promotion_window = 50
    promotion_threshold = -0.1

    def __init__(self, base: int = 2, length_cap: int = 30):
        super().__init__(base=base, length_cap=length_cap)

    @property
    def max_target_length(self) -> int:
        return self.max_input_length

    def _target(self, tape: jax.Array, input_length: jax.Array) -> tuple[jax.Array, jax.Array]:
        index = jnp.arange(self.max_target_length)
        return self._gather(tape[0], input_length - 1 - index, index < input_length), input_length
