"""FrozenLake: cross a frozen lake from start to goal without falling into a hole, as Gymnasium's."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from gymx.envs.toy_text import drawing
from gymx.envs.toy_text.tabular import Outcome, OutcomeTable, TabularEnv

from gymx import spaces, struct
from gymx.random import key_words

LEFT, DOWN, RIGHT, UP = 0, 1, 2, 3
MAPS = {
    "4x4": ["SFFF", "FHFH", "FFFH", "HFFG"],
    "8x8": ["SFFFFFFF", "FFFFFFFF", "FFFHFFFF", "FFFFFHFF", "FFFHFFFF", "FHHFFFHF", "FHFFHFHF", "FFFHFFFG"],
}
_MOVES = {LEFT: (0, -1), DOWN: (1, 0), RIGHT: (0, 1), UP: (-1, 0)}
# Indices into `outcome_probs` and `outcome_rewards`.
_SURE, _INTENDED, _SLIP = 0, 1, 2
_NO_REWARD, _GOAL, _HOLE, _FROZEN = 0, 1, 2, 3
_TILE_COLORS = {"S": (205, 225, 245), "F": (205, 225, 245), "H": (30, 60, 110), "G": (240, 200, 60)}


def generate_random_map(size: int = 8, p: float = 0.8, seed: int | None = None) -> list[str]:
    """A random `size` x `size` map with a path from start to goal, as Gymnasium's `generate_random_map`.

    Each tile is frozen with probability `p`, else a hole; boards without a path are drawn again.
    The draws are Gymnasium's (numpy's PCG64 seeded with `seed`), so a seed gives Gymnasium's map.
    """
    if size < 2:
        raise ValueError(f"a random map needs size >= 2, got {size}")
    rng = np.random.default_rng(seed)
    p = min(1, p)
    while True:
        board = rng.choice(np.array(["F", "H"]), (size, size), p=[p, 1 - p])
        board[0, 0], board[-1, -1] = "S", "G"
        if _has_path(board != "H"):
            return ["".join(row) for row in board]


def _has_path(open_tiles: np.ndarray) -> bool:
    """Whether the bottom-right tile is reached from the top-left through open tiles (4-neighbours)."""
    reached = np.zeros_like(open_tiles)
    reached[0, 0] = True
    while True:
        grown = reached.copy()
        grown[1:] |= reached[:-1]
        grown[:-1] |= reached[1:]
        grown[:, 1:] |= reached[:, :-1]
        grown[:, :-1] |= reached[:, 1:]
        grown &= open_tiles
        grown[0, 0] = True
        if (grown == reached).all():
            return bool(reached[-1, -1])
        reached = grown


class FrozenLakeParams(struct.PyTree):
    success_rate: float = 1.0 / 3.0  # slippery only: P(move as intended); each perpendicular move gets the rest / 2
    goal_reward: float = 1.0
    hole_reward: float = 0.0
    frozen_reward: float = 0.0  # for stepping onto a frozen (or start) tile

    @property
    def slip_rate(self) -> float | jax.Array:
        return (1.0 - self.success_rate) / 2.0


class FrozenLakeState(struct.PyTree):
    s: jax.Array  # int32 (), the tile, row * ncol + col
    last_action: jax.Array  # int32 (), the last action taken, -1 before the first (shown by `render`)
    key: jax.Array | None  # uint32 (2,), key data of the slips' `fast_key` stream; None on a lake that is not slippery


class FrozenLake(TabularEnv[FrozenLakeState, FrozenLakeParams]):
    """Walk from the start tile S to the goal G over frozen tiles F without stepping into a hole H.

    Observation: Discrete(nrow * ncol) int32, the tile row * ncol + col.
    Action: Discrete(4) int32: 0 left, 1 down, 2 right, 3 up (off the edge: stay).
    Reward: float32 on entering a tile: goal 1.0, hole 0.0, frozen 0.0 (params `goal_reward`,
        `hole_reward`, `frozen_reward`; Gymnasium's `reward_schedule`).
    Termination: on a hole or the goal.
    Truncation: the registered ids' time limit (4x4: 100 steps, 8x8: 200).
    Start: uniform over the S tiles.
    Slippery (`is_slippery=True`): the move goes as intended with probability `success_rate`,
        else to either perpendicular side with probability (1 - success_rate) / 2 each.
    Info: `prob`, float32, the probability of the outcome drawn (1.0 at reset), as Gymnasium's.
    Model: `P` (Gymnasium's dict), `dense_model(params)` (arrays for dynamic programming).

    The map is fixed at construction (`desc`, `map_name`, or with both None a random map of
    `map_size` from `generate_random_map(map_size, map_p, map_seed)` on the host), because the
    transition tables are built from it once; `map_seed=None` draws a fresh map as Gymnasium does.

        env = gymx.make("FrozenLake-v1")
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, 2)
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}
    cell = 32  # pixels per tile in rgb_array frames

    def __init__(
        self,
        desc: Sequence[str] | None = None,
        map_name: str | None = "4x4",
        is_slippery: bool = True,
        success_rate: float = 1.0 / 3.0,
        reward_schedule: tuple[float, float, float] = (1, 0, 0),
        map_size: int = 8,
        map_p: float = 0.8,
        map_seed: int | None = 0,
    ):
        if desc is None and map_name is not None and map_name not in MAPS:
            raise ValueError(
                f"unknown map_name {map_name!r}: choose one of {sorted(MAPS)}, or pass desc, or map_name=None for a random map"
            )
        if desc is None:
            desc = generate_random_map(map_size, map_p, map_seed) if map_name is None else MAPS[map_name]
        self.desc = np.array([list(row) for row in desc])
        if not np.isin(self.desc, list("SFHG")).all() or not (self.desc == "S").any():
            raise ValueError(f"desc must use the tiles S, F, H, G and hold at least one S, got {list(desc)}")
        self.nrow, self.ncol = self.desc.shape
        self.is_slippery = is_slippery
        self._params = FrozenLakeParams(success_rate, *reward_schedule)
        self.starts = np.flatnonzero(self.desc == "S").astype(np.int32)
        self.terminal = np.isin(self.desc, ["G", "H"]).ravel()
        self.table = OutcomeTable.build(self.nrow * self.ncol, 4, self._outcomes)

    def _outcomes(self, s: int, a: int) -> list[Outcome]:
        """Gymnasium's `P[s][a]`: a stay on G and H, else the intended move and, slippery, the two slips."""
        if self.terminal[s]:
            return [(_SURE, s, _NO_REWARD, True)]
        if not self.is_slippery:
            return [(_SURE, *self._move(s, a))]
        return [(_INTENDED if b == a else _SLIP, *self._move(s, b)) for b in ((a - 1) % 4, a, (a + 1) % 4)]

    def _move(self, s: int, direction: int) -> tuple[int, int, bool]:
        row, col = divmod(s, self.ncol)
        dr, dc = _MOVES[direction]
        row, col = min(max(row + dr, 0), self.nrow - 1), min(max(col + dc, 0), self.ncol - 1)
        tile = self.desc[row, col]
        reward = {"G": _GOAL, "H": _HOLE}.get(tile, _FROZEN)
        return row * self.ncol + col, reward, tile in ("G", "H")

    @property
    def default_params(self) -> FrozenLakeParams:
        return self._params

    def outcome_probs(self, params: FrozenLakeParams) -> tuple:
        return (1.0, params.success_rate, params.slip_rate)

    def outcome_rewards(self, params: FrozenLakeParams) -> tuple:
        return (0.0, params.goal_reward, params.hole_reward, params.frozen_reward)

    def observation_space(self, params: FrozenLakeParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(self.nrow * self.ncol)

    def action_space(self, params: FrozenLakeParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(4)

    def reset_env(self, key: jax.Array, params: FrozenLakeParams) -> FrozenLakeState:
        start_key, key = jax.random.split(key)
        # The start tile ~ uniform over the S tiles.
        s = jnp.asarray(self.starts)[jax.random.randint(start_key, (), 0, len(self.starts))]
        return FrozenLakeState(s=s, last_action=jnp.int32(-1), key=key_words(key) if self.is_slippery else None)

    def reset_info(self, state: FrozenLakeState, params: FrozenLakeParams) -> dict:
        return {"prob": jnp.ones((), jnp.float32)}

    def step_env(
        self, state: FrozenLakeState, action: jax.Array, params: FrozenLakeParams
    ) -> tuple[FrozenLakeState, jax.Array, dict]:
        words, outcome_key = self.step_keys(state.key)
        s, reward, prob = self.sample_outcome(outcome_key, state.s, action, params)
        return FrozenLakeState(s=s, last_action=jnp.asarray(action, jnp.int32), key=words), reward, {"prob": prob}

    def observe(self, state: FrozenLakeState, params: FrozenLakeParams) -> jax.Array:
        return state.s

    def is_terminal(self, state: FrozenLakeState, params: FrozenLakeParams) -> jax.Array:
        return jnp.asarray(self.terminal)[state.s]

    def render(
        self, state: FrozenLakeState, params: FrozenLakeParams | None = None, mode: str = "rgb_array"
    ) -> str | jax.Array:
        """ansi: Gymnasium's text, the player's tile highlighted red; rgb_array: tiles and a player square."""
        if mode == "ansi":
            s, last_action = int(state.s), int(state.last_action)
            rows = [list(row) for row in self.desc]
            row, col = divmod(s, self.ncol)
            rows[row][col] = f"\x1b[41m{rows[row][col]}\x1b[0m"
            header = f"  ({['Left', 'Down', 'Right', 'Up'][last_action]})\n" if last_action >= 0 else "\n"
            return header + "\n".join("".join(r) for r in rows) + "\n"
        if mode != "rgb_array":
            return super().render(state, params, mode)
        colors = np.array([[_TILE_COLORS[tile] for tile in row] for row in self.desc], np.uint8)
        frame = drawing.grid(colors, self.cell)
        row, col = state.s // self.ncol, state.s % self.ncol
        return drawing.cell_marker(frame, row, col, self.cell, self.cell // 4, (200, 30, 30))
