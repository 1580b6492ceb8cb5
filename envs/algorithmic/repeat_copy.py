"""RepeatCopy: write the input forwards, backwards, then forwards again (the original Gym's RepeatCopy-v0)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from gymx.envs.algorithmic.tape import AlgorithmicEnv


class RepeatCopy(AlgorithmicEnv):
    """Write x + reversed(x) + x for the input tape x.

    Observation: Discrete(base + 1) int32 (), the symbol under the read head; `base` is blank.
    Action: Tuple(Discrete(2), Discrete(2), Discrete(base)) of int32 (): move (0 left,
        1 right), whether to write, the symbol to write.
    Reward: float32 +1 per correct write, -0.5 for a wrong one, -1 on the step past the time
        limit (input length + target length + 4 = 4 * input length + 4), else 0.
    Termination: a wrong write, the whole target written, or the time limit passed.
    Truncation: the registered id's TimeLimit (200 steps).
    Input: min_length + U{0, 1, 2} symbols, each U{0, ..., base - 1}; the curriculum promotes
        after 50 consecutive perfect episodes (shortfall >= -0.1).
    Info: `target_length` int32 (), on every step and reset.

        env = gymx.make("RepeatCopy-v0")
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, (1, 1, ts.obs))  # write what is read, move right
    """

    promotion_window = 50
    promotion_threshold = -0.1

    def __init__(self, base: int = 5, length_cap: int = 30):
        super().__init__(base=base, length_cap=length_cap)

    @property
    def max_target_length(self) -> int:
        return 3 * self.max_input_length

    def _target(self, tape: jax.Array, input_length: jax.Array) -> tuple[jax.Array, jax.Array]:
        index, n = jnp.arange(self.max_target_length), input_length
        # Target index i reads input position i, then 2n - 1 - i (backwards), then i - 2n.
        position = jnp.where(index < n, index, jnp.where(index < 2 * n, 2 * n - 1 - index, index - 2 * n))
        return self._gather(tape[0], position, index < 3 * n), 3 * n
