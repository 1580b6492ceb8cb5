"""DuplicatedInput: the input has every symbol repeated; write each one once (the original Gym's DuplicatedInput-v0)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from gymx.envs.algorithmic.tape import AlgorithmicEnv, checked_int

from gymx import spaces


class DuplicatedInput(AlgorithmicEnv):
    """The input holds each symbol `duplication` times in a row; write every `duplication`-th one.

    Observation: Discrete(base + 1) int32 (), the symbol under the read head; `base` is blank.
    Action: Tuple(Discrete(2), Discrete(2), Discrete(base)) of int32 (): move (0 left,
        1 right), whether to write, the symbol to write.
    Reward: float32 +1 per correct write, -0.5 for a wrong one, -1 on the step past the time
        limit (input length + target length + 4), else 0.
    Termination: a wrong write, the whole target written, or the time limit passed.
    Truncation: the registered id's TimeLimit (200 steps).
    Input: size = min_length + U{0, 1, 2}, raised to at least `duplication` and rounded down to
        a multiple of it, as the original; size / duplication distinct draws, each
        U{0, ..., base - 1}, each repeated `duplication` times. Target: those draws.
    Info: `target_length` int32 (), on every step and reset.

        env = gymx.make("DuplicatedInput-v0")
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, (1, 1, ts.obs))  # write the first symbol, move right
    """

    def __init__(self, duplication: int = 2, base: int = 5, length_cap: int = 30):
        self.duplication = checked_int("duplication", duplication, 1)
        super().__init__(base=base, length_cap=length_cap)

    @property
    def max_input_length(self) -> int:
        return self.max_target_length * self.duplication

    @property
    def max_target_length(self) -> int:
        return max(self.length_cap + 2, self.duplication) // self.duplication

    def _input(self, key: jax.Array, size: jax.Array) -> tuple[jax.Array, jax.Array]:
        count = jnp.maximum(size, self.duplication) // self.duplication
        # Every distinct symbol ~ U{0, ..., base - 1}, independently.
        symbols = spaces.Discrete(self.base).sample_batch(key, self.max_target_length)
        column = jnp.arange(self.max_input_length)
        length = count * self.duplication
        return self._gather(symbols, column // self.duplication, column < length)[None], length

    def _target(self, tape: jax.Array, input_length: jax.Array) -> tuple[jax.Array, jax.Array]:
        index = jnp.arange(self.max_target_length)
        count = input_length // self.duplication
        return self._gather(tape[0], index * self.duplication, index < count), count
