"""The mechanics every algorithmic task shares: an input tape or grid, a read head, a write head.

As the original Gym's `AlgorithmicEnv` (openai/gym before PR #2344): the agent sees one symbol,
the one under its read head (`base`, the blank, off the input), moves the head one cell per
step, and may write one symbol per step to an output tape that must spell out a hidden target.
A correct write earns +1; a wrong one earns -0.5 and ends the episode; writing the whole target
ends it; a step past the task's time limit earns -1 (replacing that step's reward) and ends it.

A tape is a grid of one row, so tapes and grids share every line here: the input is an int32
array (rows, max_input_length) padded with blanks, the read head a (column, row) pair, and the
movements table decides which moves an action may name. Lengths are traced state fields, sizes
static: `length_cap` (the curriculum's cap on `min_length`, the original's 30) fixes them.
Each task supplies its input generator (optionally), its target rule and its target's size.
"""

from __future__ import annotations

import colorsys
import operator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from gymx.envs.algorithmic.curriculum import Curriculum

from gymx import spaces, struct
from gymx.core import Env

# (column step, row step) of each movement; "up" lowers the row index, as in the original.
MOVEMENT_STEPS = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}
TIME_LIMIT_SLACK = 4  # the original's "(seemingly arbitrary)" extra steps


class AlgorithmicParams(struct.PyTree):
    min_length: int = 2  # the curriculum's input length floor: inputs have min_length + U{0, 1, 2} symbols


class TapeState(struct.PyTree):
    tape: jax.Array  # int32 (rows, max_input_length), the input; blank (= base) past input_length
    input_length: jax.Array  # int32 (), columns of input (the original's input_width)
    target: jax.Array  # int32 (max_target_length,), the hidden target; blank past target_length
    target_length: jax.Array  # int32 ()
    read_column: jax.Array  # int32 (), the read head's column; any value, off the input it reads blank
    read_row: jax.Array  # int32 (), the read head's row; always 0 on a tape
    write_head: jax.Array  # int32 (), symbols written so far (the next target index to write)
    time: jax.Array  # int32 (), steps taken this episode
    wrong_write: jax.Array  # bool (), the last write was wrong (which ends the episode)


def checked_int(name: str, value: Any, low: int, high: int | None = None) -> int:
    try:
        number = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if number < low or (high is not None and number > high):
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be {bounds}, got {number}")
    return number


def _colorize(text: str, background: int) -> str:
    """`text` on an ANSI background colour (41 red, 42 green), as the original's `colorize(highlight=True)`."""
    return f"\x1b[{background}m{text}\x1b[0m"


class AlgorithmicEnv(Env[TapeState, AlgorithmicParams]):
    """Base of the algorithmic tasks; see the module docstring and each task's card.

    Subclasses set the class constants below, implement `_target` and `max_target_length`, and
    may override `_input` (the input generator) and `time_limit`.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}
    movements: tuple[str, ...] = ("left", "right")
    chars = True  # render symbols as letters A, B, ... (else as digits)
    starting_min_length = 2
    promotion_window = 10  # the original's `last`: episodes a promotion needs
    promotion_threshold = -1.0  # the original's MIN_REWARD_SHORTFALL_FOR_PROMOTION

    def __init__(self, base: int, rows: int = 1, length_cap: int = 30):
        self.base = checked_int("base", base, 2, 26 if self.chars else 10)
        self.rows = checked_int("rows", rows, 1)
        self.length_cap = checked_int("length_cap", length_cap, self.starting_min_length)
        self._column_steps = np.array([MOVEMENT_STEPS[m][0] for m in self.movements], np.int32)
        self._row_steps = np.array([MOVEMENT_STEPS[m][1] for m in self.movements], np.int32)

    @property
    def max_input_length(self) -> int:
        """Columns of the tape: the longest input, `length_cap` plus the largest length offset (2)."""
        return self.length_cap + 2

    @property
    def max_target_length(self) -> int:
        raise NotImplementedError

    @property
    def default_params(self) -> AlgorithmicParams:
        return AlgorithmicParams(min_length=self.starting_min_length)

    def observation_space(self, params: AlgorithmicParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(self.base + 1)

    def action_space(self, params: AlgorithmicParams | None = None) -> spaces.Tuple:
        return spaces.Tuple([spaces.Discrete(len(self.movements)), spaces.Discrete(2), spaces.Discrete(self.base)])

    def curriculum(self, num_envs: int | None = None) -> Curriculum:
        """The starting curriculum with this task's rule: shared (scalar) or one per env."""
        shape = () if num_envs is None else (num_envs,)
        return Curriculum(
            min_length=jnp.full(shape, self.starting_min_length, jnp.int32),
            streak=jnp.zeros(shape, jnp.int32),
            window=self.promotion_window,
            threshold=self.promotion_threshold,
            cap=self.length_cap,
        )

    def _input(self, key: jax.Array, size: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(tape, input_length) of an input of `size` columns."""
        # Every symbol ~ U{0, ..., base - 1}, independently.
        symbols = spaces.Discrete(self.base).sample_batch(key, self.rows * self.max_input_length)
        columns = jnp.arange(self.max_input_length)
        return jnp.where(columns < size, symbols.reshape(self.rows, -1), self.base), size

    def _target(self, tape: jax.Array, input_length: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(target, target_length) of an input; the target is blank past its length."""
        raise NotImplementedError

    def _gather(self, row: jax.Array, positions: jax.Array, valid: jax.Array) -> jax.Array:
        """`row[positions]` where `valid`, blank elsewhere (where positions may be out of range)."""
        return jnp.where(valid, jnp.take(row, positions, mode="clip"), self.base)

    def time_limit(self, state: TapeState) -> jax.Array:
        """A step that brings `time` past this ends the episode with reward -1."""
        return state.input_length + state.target_length + TIME_LIMIT_SLACK

    def reset_env(self, key: jax.Array, params: AlgorithmicParams) -> TapeState:
        length_key, input_key = jax.random.split(key)
        # Clipped so that every input fits the static tape and is never empty.
        min_length = jnp.clip(jnp.asarray(params.min_length, jnp.int32), 1, self.length_cap)
        # Input size ~ min_length + U{0, 1, 2}, the original's `min_length + randint(3)`.
        size = min_length + spaces.Discrete(3).sample(length_key)
        tape, input_length = self._input(input_key, size)
        target, target_length = self._target(tape, input_length)
        zero = jnp.zeros((), jnp.int32)
        return TapeState(
            tape=tape.astype(jnp.int32),
            input_length=input_length.astype(jnp.int32),
            target=target.astype(jnp.int32),
            target_length=target_length.astype(jnp.int32),
            read_column=zero,
            read_row=zero,
            write_head=zero,
            time=zero,
            wrong_write=jnp.zeros((), jnp.bool_),
        )

    def step_env(self, state: TapeState, action: Any, params: AlgorithmicParams) -> tuple[TapeState, jax.Array, dict]:
        move, write, symbol = (jnp.asarray(part, jnp.int32) for part in action)
        writes = write == 1
        # A live episode's write head is inside the target; the clip only guards a finished one.
        correct = symbol == jnp.take(state.target, state.write_head, mode="clip")
        next_state = state.replace(
            read_column=state.read_column + jnp.asarray(self._column_steps)[move],
            read_row=state.read_row + jnp.asarray(self._row_steps)[move],
            write_head=state.write_head + writes.astype(jnp.int32),
            time=state.time + 1,
            wrong_write=writes & ~correct,
        )
        reward = jnp.where(writes, jnp.where(correct, 1.0, -0.5), 0.0)
        reward = jnp.where(next_state.time > self.time_limit(next_state), -1.0, reward)
        return next_state, reward.astype(jnp.float32), self._info(next_state)

    def _info(self, state: TapeState) -> dict:
        # The target's length, which a curriculum update needs to turn a return into a shortfall.
        return {"target_length": state.target_length}

    def reset_info(self, state: TapeState, params: AlgorithmicParams) -> dict:
        return self._info(state)

    def observe(self, state: TapeState, params: AlgorithmicParams) -> jax.Array:
        return self._symbol_at(state, state.read_column, state.read_row)

    def _symbol_at(self, state: TapeState, column: jax.Array, row: jax.Array) -> jax.Array:
        """The input symbol at (column, row), broadcast; blank off the input in any direction."""
        inside = (column >= 0) & (column < self.max_input_length) & (row >= 0) & (row < self.rows)
        symbol = state.tape[jnp.clip(row, 0, self.rows - 1), jnp.clip(column, 0, self.max_input_length - 1)]
        return jnp.where(inside, symbol, self.base).astype(jnp.int32)

    def is_terminal(self, state: TapeState, params: AlgorithmicParams) -> jax.Array:
        return state.wrong_write | (state.write_head >= state.target_length) | (state.time > self.time_limit(state))

    def render(self, state: TapeState, params: AlgorithmicParams | None = None, mode: str = "rgb_array") -> Any:
        """`ansi` (a str, on the host): the original's text view, the input with the read head on
        green, the output written so far, the target. `rgb_array` (pure JAX, so it runs under
        jit and vmap): the same as coloured cells, uint8 (height, width, 3), the heads framed.

        The state keeps no written symbols, only how many were written: the output shows the
        target's symbols up to the write head, and a wrong write in red ("?" in ansi).
        """
        if mode == "ansi":
            return self._render_ansi(state)
        if mode == "rgb_array":
            return self._render_rgb(state)
        return super().render(state, params, mode)

    def _input_rows(self) -> range:
        """Rows drawn: the tape, or the grid with a blank border row above and below."""
        return range(1) if self.rows == 1 else range(-1, self.rows + 1)

    def _cells(self, state: TapeState) -> tuple[jax.Array, jax.Array, jax.Array]:
        """What both renderings draw, over columns -2 ... every column a tape or target can have + 1:
        input symbols (one row per `_input_rows`), output tape and target; `base + 1` in the
        output marks a wrong write."""
        columns = jnp.arange(-2, max(self.max_input_length, self.max_target_length) + 2)
        tape = self._symbol_at(state, columns[None, :], jnp.asarray(self._input_rows())[:, None])
        target = self._gather(state.target, columns, (columns >= 0) & (columns < state.target_length))
        written = (columns >= 0) & (columns < state.write_head)
        wrong = state.wrong_write & (columns == state.write_head - 1)
        return tape, jnp.where(wrong, self.base + 1, jnp.where(written, target, self.base)), target

    def _render_ansi(self, state: TapeState) -> str:
        state, (tape, output, target) = jax.device_get((state, self._cells(state)))

        def text(symbol: int) -> str:
            if symbol >= self.base:
                return " " if symbol == self.base else _colorize("?", 41)
            return chr(ord("A") + symbol) if self.chars else str(symbol)

        header = f"Total length of input instance: {int(state.input_length)}, step: {int(state.time)}"
        label = "Observation Tape    : " if self.rows == 1 else "Observation Grid    : "
        head = (int(state.read_row), int(state.read_column))
        grid: list[str] = []
        for row, symbols in zip(self._input_rows(), tape):
            cells = [text(symbol) for symbol in symbols[: int(state.input_length) + 4]]
            cells = [_colorize(c, 42) if (row, column - 2) == head else c for column, c in enumerate(cells)]
            grid.append((label if not grid else " " * len(label)) + "".join(cells))
        written = "".join(text(symbol) for symbol in output[: int(state.write_head) + 2])
        expected = "".join(text(symbol) for symbol in target[: int(state.target_length) + 4])
        lines = [
            header,
            "=" * len(header),
            *grid,
            "Output Tape         : " + written,
            "Targets             : " + expected,
        ]
        return "\n".join(lines) + "\n"

    def _render_rgb(self, state: TapeState, cell: int = 12) -> jax.Array:
        # Every column a tape or target can have is drawn, so all frames of a task have one size
        # (and stack into one video).
        tape, output, target = self._cells(state)
        # Colour indices: the symbols, blank, wrong write, then background and frame.
        background, frame = self.base + 2, self.base + 3
        # Hues from orange to violet, so that no symbol looks like the red of a wrong write.
        hues = [colorsys.hsv_to_rgb(0.08 + 0.75 * i / (self.base - 1), 0.65, 0.9) for i in range(self.base)]
        palette = np.array(
            [*(np.array(hues) * 255), (225, 225, 225), (220, 30, 30), (255, 255, 255), (0, 0, 0)], np.uint8
        )
        # Cell rows: the input, a gap, the output tape, the target; the heads' cells are framed.
        cells = jnp.concatenate([tape, jnp.full((1, output.size), background), output[None], target[None]])
        columns = jnp.arange(output.size) - 2
        rows = jnp.asarray(self._input_rows())[:, None]
        framed = jnp.zeros(cells.shape, jnp.bool_)
        framed = framed.at[: tape.shape[0]].set((rows == state.read_row) & (columns == state.read_column))
        framed = framed.at[-2].set(columns == state.write_head)
        # Pixel (y, x) lies in cell (y // cell, x // cell); a cell's outer pixel ring is a
        # background gap, and a framed cell's outer two rings are drawn in the frame colour.
        y, x = jnp.arange(cells.shape[0] * cell), jnp.arange(cells.shape[1] * cell)
        cell_y, cell_x = y[:, None] // cell, x[None, :] // cell
        ring = jnp.minimum(
            jnp.minimum(y % cell, cell - 1 - y % cell)[:, None], jnp.minimum(x % cell, cell - 1 - x % cell)[None, :]
        )
        colour = jnp.where(ring == 0, background, cells[cell_y, cell_x])
        colour = jnp.where(framed[cell_y, cell_x] & (ring <= 1), frame, colour)
        return jnp.asarray(palette)[colour]
