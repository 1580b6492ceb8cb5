"""Taxi: pick a passenger up and drop them at their destination (Dietterich, 2000), as Gymnasium's Taxi-v4."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from gymx.envs.toy_text import drawing
from gymx.envs.toy_text.tabular import Outcome, OutcomeTable, TabularEnv

from gymx import spaces, struct
from gymx.random import fast_key, key_words

MAP = [
    "+---------+",
    "|R: | : :G|",
    "| : | : : |",
    "| : : : : |",
    "| | : | : |",
    "|Y| : |B: |",
    "+---------+",
]
LOCS = [(0, 0), (0, 4), (4, 0), (4, 3)]  # R, G, Y, B
SOUTH, NORTH, EAST, WEST, PICKUP, DROPOFF = range(6)
IN_TAXI = 4  # the passenger location when riding
_SIZE = 5
_NUM_STATES = 500
_ACTION_NAMES = ["South", "North", "East", "West", "Pickup", "Dropoff"]
# (row, col) steps of the intended move and of its two lateral slips in the rain (left, right of the heading).
_RAINY_MOVES = {
    SOUTH: ((1, 0), (0, 1), (0, -1)),
    NORTH: ((-1, 0), (0, -1), (0, 1)),
    EAST: ((0, 1), (-1, 0), (1, 0)),
    WEST: ((0, -1), (1, 0), (-1, 0)),
}
# Indices into `outcome_probs` and `outcome_rewards`.
_SURE, _INTENDED, _LATERAL = 0, 1, 2
_STEP, _ILLEGAL, _DELIVERY = 0, 1, 2
_LOC_COLORS = [(255, 0, 0), (0, 255, 0), (255, 255, 0), (0, 0, 255)]


def encode(row: int, col: int, passenger: int, destination: int) -> int:
    """Gymnasium's state index: ((row * 5 + col) * 5 + passenger) * 4 + destination."""
    return ((row * _SIZE + col) * 5 + passenger) * 4 + destination


def decode(s: jax.Array | np.ndarray | np.integer | int) -> tuple:
    """(row, col, passenger, destination) of a state index; works on ints and arrays."""
    return s // 100, s // 20 % 5, s // 4 % 5, s % 4


class TaxiParams(struct.PyTree):
    rainy_probability: float = 0.8  # rainy only: P(move as intended); each lateral slip gets the rest / 2
    fickle_probability: float = 0.3  # fickle only: P(the passenger will change destination once)
    step_reward: float = -1.0  # every step without another reward (moves, legal pick-ups, wrong-stop drop-offs)
    illegal_reward: float = -10.0  # a pick-up or drop-off where there is none to make
    delivery_reward: float = 20.0

    @property
    def lateral_probability(self) -> float | jax.Array:
        return (1.0 - self.rainy_probability) / 2.0


class TaxiState(struct.PyTree):
    s: jax.Array  # int32 (), Gymnasium's state index (see `encode`)
    last_action: jax.Array  # int32 (), the last action taken, -1 before the first (shown by `render`)
    fickle_step: jax.Array  # bool (), the passenger will change destination on the taxi's first move with them aboard
    key: jax.Array | None  # uint32 (2,), key data of the rain and fickleness draws; None when neither is on


class Taxi(TabularEnv[TaxiState, TaxiParams]):
    """A taxi on a 5x5 grid with walls picks a passenger up at one of four stands and drops them at another.

    Observation: Discrete(500) int32, ((taxi_row * 5 + taxi_col) * 5 + passenger) * 4 + destination;
        passenger 0-3 a stand (R, G, Y, B), 4 in the taxi; destination 0-3.
    Action: Discrete(6) int32: 0 south, 1 north, 2 east, 3 west, 4 pick up, 5 drop off.
    Reward: float32 -1.0 per step, +20.0 for a delivery, -10.0 for an illegal pick-up or drop-off
        (params `step_reward`, `delivery_reward`, `illegal_reward`).
    Termination: the passenger is dropped at their destination.
    Truncation: the registered id's time limit, 200 steps.
    Start: uniform over the 300 states with the passenger at a stand that is not their destination.
    Rainy (`is_rainy=True`): a move goes as intended with probability `rainy_probability`, else to
        either lateral side with (1 - rainy_probability) / 2 each; pick-up and drop-off stay sure.
    Fickle (`fickle_passenger=True`): with probability `fickle_probability`, drawn at reset, the
        passenger switches to one of the other three destinations (uniformly) on the taxi's first
        move with them aboard.
    Info: `prob`, float32, the probability of the outcome drawn (1.0 at reset); `action_mask`, int8
        (6,), the actions that change the state; both as Gymnasium's.
    Model: `P` (Gymnasium's dict, without fickleness, as Gymnasium's), `dense_model(params)`.

        env = gymx.make("Taxi-v4")
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, 1)
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}
    cell = 32  # pixels per grid cell in rgb_array frames

    def __init__(
        self,
        is_rainy: bool = False,
        fickle_passenger: bool = False,
        rainy_probability: float = 0.8,
        fickle_probability: float = 0.3,
    ):
        self.desc = np.array([list(row) for row in MAP])
        self.is_rainy = is_rainy
        self.fickle_passenger = fickle_passenger
        self._params = TaxiParams(rainy_probability=rainy_probability, fickle_probability=fickle_probability)
        states = np.arange(_NUM_STATES)
        _, _, passenger, destination = decode(states)
        self.starts = states[(passenger < IN_TAXI) & (passenger != destination)].astype(np.int32)
        self.terminal = passenger == destination
        self.action_masks = np.array([self._action_mask(s) for s in states], np.int8)
        self.table = OutcomeTable.build(_NUM_STATES, 6, self._outcomes)

    def _open(self, row: int, col: int, side: int) -> bool:
        """Whether the taxi at (row, col) can drive east (side=+1) or west (side=-1): no wall there."""
        return self.desc[1 + row, 2 * col + 1 + side] == ":"

    def _action_mask(self, s: int | np.integer) -> list[int]:
        row, col, passenger, _ = decode(s)
        at_stand = (row, col) in LOCS
        return [
            row < _SIZE - 1,
            row > 0,
            col < _SIZE - 1 and self._open(row, col, 1),
            col > 0 and self._open(row, col, -1),
            passenger < IN_TAXI and (row, col) == LOCS[passenger],
            passenger == IN_TAXI and at_stand,
        ]

    def _outcomes(self, s: int, a: int) -> list[Outcome]:
        """Gymnasium's `P[s][a]` (its `_build_dry_transitions` / `_build_rainy_transitions`)."""
        row, col, passenger, destination = decode(s)
        if a == PICKUP:
            if passenger < IN_TAXI and (row, col) == LOCS[passenger]:
                return [(_SURE, encode(row, col, IN_TAXI, destination), _STEP, False)]
            return [(_SURE, s, _ILLEGAL, False)]
        if a == DROPOFF:
            if passenger == IN_TAXI and (row, col) == LOCS[destination]:
                return [(_SURE, encode(row, col, destination, destination), _DELIVERY, True)]
            if passenger == IN_TAXI and (row, col) in LOCS:
                return [(_SURE, encode(row, col, LOCS.index((row, col)), destination), _STEP, False)]
            return [(_SURE, s, _ILLEGAL, False)]
        if not self.is_rainy:
            return [(_SURE, encode(*self._dry_move(row, col, a), passenger, destination), _STEP, False)]
        if not self._action_mask(s)[a]:  # blocked: all three outcomes stay put
            positions = [(row, col)] * 3
        else:
            intended, left, right = _RAINY_MOVES[a]
            positions = [self._clamp(row + intended[0], col + intended[1])]
            positions += [self._slip(row, col, left), self._slip(row, col, right)]
        probs = (_INTENDED, _LATERAL, _LATERAL)
        return [(p, encode(r, c, passenger, destination), _STEP, False) for p, (r, c) in zip(probs, positions)]

    def _dry_move(self, row: int, col: int, a: int) -> tuple[int, int]:
        if a == SOUTH:
            return min(row + 1, _SIZE - 1), col
        if a == NORTH:
            return max(row - 1, 0), col
        if a == EAST and self._open(row, col, 1):
            return row, min(col + 1, _SIZE - 1)
        if a == WEST and self._open(row, col, -1):
            return row, max(col - 1, 0)
        return row, col

    @staticmethod
    def _clamp(row: int, col: int) -> tuple[int, int]:
        return min(max(row, 0), _SIZE - 1), min(max(col, 0), _SIZE - 1)

    def _slip(self, row: int, col: int, step: tuple[int, int]) -> tuple[int, int]:
        """Where a lateral slip lands: clamped to the grid; an east or west slip into a wall stays put.

        As Gymnasium's `_calc_new_position`, the wall is looked up from the clamped cell.
        """
        new_row, new_col = self._clamp(row + step[0], col + step[1])
        if step[1] == 1 and self.desc[1 + new_row, 2 * new_col] != ":":
            return row, col
        if step[1] == -1 and self.desc[1 + new_row, 2 * new_col + 2] != ":":
            return row, col
        return new_row, new_col

    @property
    def default_params(self) -> TaxiParams:
        return self._params

    def outcome_probs(self, params: TaxiParams) -> tuple:
        return (1.0, params.rainy_probability, params.lateral_probability)

    def outcome_rewards(self, params: TaxiParams) -> tuple:
        return (params.step_reward, params.illegal_reward, params.delivery_reward)

    def observation_space(self, params: TaxiParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(_NUM_STATES)

    def action_space(self, params: TaxiParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(6)

    @property
    def _stochastic(self) -> bool:
        return self.is_rainy or self.fickle_passenger

    def reset_env(self, key: jax.Array, params: TaxiParams) -> TaxiState:
        start_key, fickle_key, key = jax.random.split(key, 3)
        # The start ~ uniform over the 300 start states.
        s = jnp.asarray(self.starts)[jax.random.randint(start_key, (), 0, len(self.starts))]
        fickle = jnp.zeros((), jnp.bool_)
        if self.fickle_passenger:
            # Whether this passenger is fickle ~ Bernoulli(fickle_probability).
            fickle = jax.random.uniform(fickle_key, (), jnp.float32) < params.fickle_probability
        return TaxiState(
            s=s, last_action=jnp.int32(-1), fickle_step=fickle, key=key_words(key) if self._stochastic else None
        )

    def reset_info(self, state: TaxiState, params: TaxiParams) -> dict:
        return {"prob": jnp.ones((), jnp.float32), "action_mask": jnp.asarray(self.action_masks)[state.s]}

    def step_env(self, state: TaxiState, action: jax.Array, params: TaxiParams) -> tuple[TaxiState, jax.Array, dict]:
        key = outcome_key = None
        if self._stochastic:
            assert state.key is not None, "stochastic taxi states carry their key"
            key, outcome_key, destination_key = jax.random.split(fast_key(state.key), 3)
        s, reward, prob = self.sample_outcome(outcome_key if self.is_rainy else None, state.s, action, params)
        fickle_step = state.fickle_step
        if self.fickle_passenger:
            row, col, passenger, destination = decode(state.s)
            new_row, new_col, new_passenger, _ = decode(s)
            switch = fickle_step & (passenger == IN_TAXI) & ((new_row != row) | (new_col != col))
            # The new destination ~ uniform over the other three: the old one plus 1, 2 or 3 (mod 4).
            new_destination = (destination + jax.random.randint(destination_key, (), 1, 4)) % 4
            s = jnp.where(switch, encode(new_row, new_col, new_passenger, new_destination), s)
            fickle_step = fickle_step & ~switch
        next_state = TaxiState(
            s=s.astype(jnp.int32),
            last_action=jnp.asarray(action, jnp.int32),
            fickle_step=fickle_step,
            key=None if key is None else key_words(key),
        )
        return next_state, reward, {"prob": prob, "action_mask": jnp.asarray(self.action_masks)[next_state.s]}

    def observe(self, state: TaxiState, params: TaxiParams) -> jax.Array:
        return state.s

    def is_terminal(self, state: TaxiState, params: TaxiParams) -> jax.Array:
        return jnp.asarray(self.terminal)[state.s]

    def render(self, state: TaxiState, params: TaxiParams | None = None, mode: str = "rgb_array") -> str | jax.Array:
        """ansi: Gymnasium's text map (taxi yellow, green when carrying; passenger blue; destination
        magenta); rgb_array: the grid with walls, coloured stands, the passenger and the taxi."""
        if mode == "ansi":
            return self._render_text(int(state.s), int(state.last_action))
        if mode != "rgb_array":
            return super().render(state, params, mode)
        return self._render_frame(state)

    def _render_text(self, s: int, last_action: int) -> str:
        out = [list(row) for row in MAP]
        row, col, passenger, destination = decode(s)
        if passenger < IN_TAXI:
            out[1 + row][2 * col + 1] = _colorize(out[1 + row][2 * col + 1], 43)  # yellow, highlighted
            pi, pj = LOCS[passenger]
            out[1 + pi][2 * pj + 1] = _colorize(out[1 + pi][2 * pj + 1], "34;1")  # blue, bold
        else:
            cell = out[1 + row][2 * col + 1]
            out[1 + row][2 * col + 1] = _colorize("_" if cell == " " else cell, 42)  # green, highlighted
        di, dj = LOCS[destination]
        out[1 + di][2 * dj + 1] = _colorize(out[1 + di][2 * dj + 1], 35)  # magenta
        text = "\n".join("".join(line) for line in out) + "\n"
        return text + (f"  ({_ACTION_NAMES[last_action]})\n" if last_action >= 0 else "\n")

    def _render_frame(self, state: TaxiState) -> jax.Array:
        cell = self.cell
        colors = np.full((_SIZE, _SIZE, 3), 230, np.uint8)
        for (r, c), color in zip(LOCS, _LOC_COLORS):
            colors[r, c] = [(v + 255) // 2 for v in color]  # pale stands
        frame = drawing.grid(colors, cell)
        # Walls: the '|' between two cells of the map's interior, drawn as a bar on the cell border.
        for r in range(_SIZE):
            for c in range(1, _SIZE):
                if self.desc[1 + r, 2 * c] == "|":
                    frame = drawing.box(frame, r * cell, c * cell - 2, cell, 4, (40, 40, 40))
        row, col, passenger, destination = decode(state.s)
        locs = jnp.asarray(LOCS)
        carrying = passenger == IN_TAXI
        taxi_color = jnp.where(carrying, jnp.asarray([0, 160, 0]), jnp.asarray([230, 180, 0]))  # green when carrying
        frame = drawing.cell_marker(frame, row, col, cell, 4, taxi_color)
        dest_row, dest_col = locs[destination]
        frame = drawing.box(frame, dest_row * cell + 2, dest_col * cell + 2, 4, cell - 4, (200, 0, 200))
        stand = locs[jnp.minimum(passenger, 3)]
        waiting = drawing.cell_marker(frame, stand[0], stand[1], cell, cell // 3, (30, 30, 200))
        return jnp.where(carrying, frame, waiting)


def _colorize(text: str, code: int | str) -> str:
    """Gymnasium's `utils.colorize` escape codes."""
    return f"\x1b[{code}m{text}\x1b[0m"
