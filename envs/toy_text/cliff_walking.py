"""CliffWalking: walk along a cliff edge to the goal (Sutton & Barto, Example 6.6), as Gymnasium's."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from gymx.envs.toy_text import drawing
from gymx.envs.toy_text.tabular import Outcome, OutcomeTable, TabularEnv

from gymx import spaces, struct
from gymx.random import key_words

UP, RIGHT, DOWN, LEFT = 0, 1, 2, 3
SHAPE = (4, 12)
START = 3 * 12 + 0  # bottom-left
GOAL = 3 * 12 + 11  # bottom-right
_MOVES = {UP: (-1, 0), RIGHT: (0, 1), DOWN: (1, 0), LEFT: (0, -1)}
# Indices into `outcome_probs` and `outcome_rewards`.
_SURE, _SLIP = 0, 1
_STEP, _CLIFF = 0, 1
_COLORS = {"o": (140, 170, 110), "C": (90, 70, 60), "T": (240, 200, 60)}


class CliffWalkingParams(struct.PyTree):
    step_reward: float = -1.0  # every step that does not fall off the cliff
    cliff_reward: float = -100.0  # falling off, which sends the walker back to the start


class CliffWalkingState(struct.PyTree):
    s: jax.Array  # int32 (), the cell, row * 12 + col
    key: jax.Array | None  # uint32 (2,), key data of the slips' `fast_key` stream; None when not slippery


class CliffWalking(TabularEnv[CliffWalkingState, CliffWalkingParams]):
    """Walk from the bottom-left to the bottom-right of a 4x12 grid; the cells between are a cliff.

    Observation: Discrete(48) int32, the cell row * 12 + col.
    Action: Discrete(4) int32: 0 up, 1 right, 2 down, 3 left (off the edge: stay).
    Reward: float32 -1.0 per step, -100.0 for stepping into the cliff (params `step_reward`,
        `cliff_reward`).
    Termination: on reaching the goal cell 47. The cliff does not end the episode: it sends the
        walker back to the start cell 36.
    Truncation: none registered (as Gymnasium).
    Start: cell 36.
    Slippery (`is_slippery=True`): the intended move and the two perpendicular ones, 1/3 each.
    Info: `prob`, float32, the probability of the outcome drawn (1.0 at reset), as Gymnasium's.
    Model: `P` (Gymnasium's dict), `dense_model(params)` (arrays for dynamic programming).

        env = gymx.make("CliffWalking-v1")
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, 0)
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}
    cell = 24  # pixels per cell in rgb_array frames

    def __init__(self, is_slippery: bool = False):
        self.is_slippery = is_slippery
        self.cliff = np.zeros(SHAPE, np.bool_)
        self.cliff[3, 1:-1] = True
        self.terminal = np.arange(np.prod(SHAPE)) == GOAL
        self.table = OutcomeTable.build(int(np.prod(SHAPE)), 4, self._outcomes)

    def _outcomes(self, s: int, a: int) -> list[Outcome]:
        """Gymnasium's `P[s][a]`: the intended move and, slippery, the two perpendicular ones.

        Listed for every cell, the cliff and the goal included, as Gymnasium lists them.
        """
        directions = ((a - 1) % 4, a, (a + 1) % 4) if self.is_slippery else (a,)
        prob = _SLIP if self.is_slippery else _SURE
        outcomes = []
        for direction in directions:
            row, col = divmod(s, SHAPE[1])
            dr, dc = _MOVES[direction]
            row, col = min(max(row + dr, 0), SHAPE[0] - 1), min(max(col + dc, 0), SHAPE[1] - 1)
            if self.cliff[row, col]:
                outcomes.append((prob, START, _CLIFF, False))
            else:
                outcomes.append((prob, row * SHAPE[1] + col, _STEP, row * SHAPE[1] + col == GOAL))
        return outcomes

    @property
    def default_params(self) -> CliffWalkingParams:
        return CliffWalkingParams()

    def outcome_probs(self, params: CliffWalkingParams) -> tuple:
        return (1.0, 1 / 3)

    def outcome_rewards(self, params: CliffWalkingParams) -> tuple:
        return (params.step_reward, params.cliff_reward)

    def observation_space(self, params: CliffWalkingParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(int(np.prod(SHAPE)))

    def action_space(self, params: CliffWalkingParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(4)

    def reset_env(self, key: jax.Array, params: CliffWalkingParams) -> CliffWalkingState:
        return CliffWalkingState(s=jnp.int32(START), key=key_words(key) if self.is_slippery else None)

    def reset_info(self, state: CliffWalkingState, params: CliffWalkingParams) -> dict:
        return {"prob": jnp.ones((), jnp.float32)}

    def step_env(
        self, state: CliffWalkingState, action: jax.Array, params: CliffWalkingParams
    ) -> tuple[CliffWalkingState, jax.Array, dict]:
        words, outcome_key = self.step_keys(state.key)
        s, reward, prob = self.sample_outcome(outcome_key, state.s, action, params)
        return CliffWalkingState(s=s, key=words), reward, {"prob": prob}

    def observe(self, state: CliffWalkingState, params: CliffWalkingParams) -> jax.Array:
        return state.s

    def is_terminal(self, state: CliffWalkingState, params: CliffWalkingParams) -> jax.Array:
        return state.s == GOAL

    def render(
        self, state: CliffWalkingState, params: CliffWalkingParams | None = None, mode: str = "rgb_array"
    ) -> str | jax.Array:
        """ansi: Gymnasium's text (x the walker, C the cliff, T the goal); rgb_array: cells and a walker square."""
        if mode == "ansi":
            cells = self._cells()
            cells[divmod(int(state.s), SHAPE[1])] = "x"
            return "\n".join("  ".join(row) for row in cells) + "\n\n"
        if mode != "rgb_array":
            return super().render(state, params, mode)
        colors = np.array([[_COLORS[c] for c in row] for row in self._cells()], np.uint8)
        frame = drawing.grid(colors, self.cell)
        return drawing.cell_marker(
            frame, state.s // SHAPE[1], state.s % SHAPE[1], self.cell, self.cell // 4, (200, 30, 30)
        )

    def _cells(self) -> np.ndarray:
        """The grid's letters without the walker: o open, C cliff, T goal."""
        cells = np.where(self.cliff, "C", "o")
        cells[divmod(GOAL, SHAPE[1])] = "T"
        return cells
