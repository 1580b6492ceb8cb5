"""Copy: write the input tape back out (the original Gym's Copy-v0).

Named `copy_` as the original's module was, so that it never shadows the standard library's `copy`.
"""

from __future__ import annotations

import jax
from gymx.envs.algorithmic.tape import AlgorithmicEnv


class Copy(AlgorithmicEnv):
    """Copy the input tape to the output tape, symbol by symbol.

    Observation: Discrete(base + 1) int32 (), the symbol under the read head; `base` is blank
        (also what the head reads off the input).
    Action: Tuple(Discrete(2), Discrete(2), Discrete(base)) of int32 (): move the read head
        (0 left, 1 right), whether to write, the symbol to write (ignored without a write).
    Reward: float32 +1 per correct write, -0.5 for a wrong one, -1 on the step past the time
        limit (input length + target length + 4), else 0.
    Termination: a wrong write, the whole target written, or the time limit passed.
    Truncation: the registered id's TimeLimit (200 steps).
    Input: min_length + U{0, 1, 2} symbols, each U{0, ..., base - 1}; `min_length` is the
        params' curriculum field (see `gymx.envs.algorithmic.curriculum`). Target: the input.
    Info: `target_length` int32 (), on every step and reset.

        env = gymx.make("Copy-v0")
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, (1, 1, ts.obs))  # write what is read, move right
    """

    def __init__(self, base: int = 5, length_cap: int = 30):
        super().__init__(base=base, length_cap=length_cap)

    @property
    def max_target_length(self) -> int:
        return self.max_input_length

    def _target(self, tape: jax.Array, input_length: jax.Array) -> tuple[jax.Array, jax.Array]:
        return tape[0], input_length
