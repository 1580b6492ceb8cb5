"""What ALE's per-game settings (its `RomSettings`) define, for the games gymx runs.

Each game reads its score, lives and end of game from the console's 128 bytes of RAM after every
emulated frame, as ALE's settings do: the reward of a frame is the change of the score since the
previous frame, summed over the frames of an agent step. `Progress` is what a game remembers
between frames (ALE keeps the same in its settings object): the score, the lives, whether the game
ended, and for games whose end is read from a lives counter, whether the game has started (so a
counter still at zero before the first game is not taken for the end).

Modes and difficulties are the values ALE accepts; the mode is selected during ALE's reset
procedure by the kernel's `GameReset` (the RAM byte it watches and how long SELECT is held), and
the difficulty sets the console's difficulty switches.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
from gymx.kernels.atari import machine as M

from gymx import struct

# The full action set: ALE's 18 joystick actions (NOOP ... DOWNLEFTFIRE), in ALE's order.
FULL_ACTIONS = tuple(range(18))
ACTION_MEANINGS = (
    "NOOP", "FIRE", "UP", "RIGHT", "LEFT", "DOWN", "UPRIGHT", "UPLEFT", "DOWNRIGHT", "DOWNLEFT",
    "UPFIRE", "RIGHTFIRE", "LEFTFIRE", "DOWNFIRE", "UPRIGHTFIRE", "UPLEFTFIRE", "DOWNRIGHTFIRE", "DOWNLEFTFIRE",
)  # fmt: skip


@struct.dataclass
class Progress:
    """A game's bookkeeping between frames (ALE's settings state)."""

    score: jax.Array  # int32 (), the score as the game's RAM shows it (Pong: player minus CPU)
    lives: jax.Array  # int32 (), lives as ALE reports them (0 once the game is over)
    terminal: jax.Array  # bool (), the game is over
    started: jax.Array  # bool (), a game has begun (games that read their end from a lives counter)


def initial_progress(lives: int) -> Progress:
    """The bookkeeping right after ALE resets a game's settings."""
    return Progress(
        score=jnp.zeros((), jnp.int32),
        lives=jnp.asarray(lives, jnp.int32),
        terminal=jnp.zeros((), jnp.bool_),
        started=jnp.zeros((), jnp.bool_),
    )


@dataclasses.dataclass(frozen=True)
class Game:
    """One game's settings.

    rom: the ROM's id in ale-py (`ale_py.roms.get_rom_path(rom)`); name: the id's name (`ALE/<name>-v5`).
    md5: the ROM image's md5, the key of the kernel's controller and reset tables.
    minimal_actions: ALE action ids of the minimal set, in ALE's order.
    modes, difficulties: the values ALE accepts (the first mode is the default).
    lives: the lives ALE's settings start with. update: `(progress, ram) -> progress` after a frame.
    """

    rom: str
    name: str
    md5: str
    minimal_actions: tuple[int, ...]
    modes: tuple[int, ...]
    difficulties: tuple[int, ...]
    lives: int
    update: Callable[[Progress, jax.Array], Progress]

    @property
    def default_mode(self) -> int:
        return self.modes[0]

    def reset_procedure(self, mode: int) -> M.GameReset:
        """The kernel's description of ALE's reset for this game, selecting `mode`."""
        return dataclasses.replace(M.GAME_RESETS.get(self.md5, M.GameReset()), mode=mode)


def _byte(ram: jax.Array, index: int) -> jax.Array:
    return ram[index].astype(jnp.int32)


def _pong(progress: Progress, ram: jax.Array) -> Progress:
    # Scores are plain counts at RAM $8D (CPU) and $8E (player); a game ends at 21. No lives.
    cpu, player = _byte(ram, 13), _byte(ram, 14)
    return progress.replace(score=player - cpu, terminal=(cpu == 21) | (player == 21), lives=jnp.int32(0))


def _breakout(progress: Progress, ram: jax.Array) -> Progress:
    # Score in BCD: units and tens at $CD, hundreds at $CC. Lives at $B9: the game has started
    # once it showed 5, and is over when it shows 0 after that.
    low, high, counter = _byte(ram, 77), _byte(ram, 76), _byte(ram, 57)
    score = (low & 0xF) + 10 * (low >> 4) + 100 * (high & 0xF)
    started = progress.started | (counter == 5)
    terminal = started & (counter == 0)
    return progress.replace(score=score, started=started, terminal=terminal, lives=jnp.where(terminal, 0, counter))


GAMES = {
    game.rom: game
    for game in (
        Game(
            rom="pong",
            name="Pong",
            md5="60e0ea3cbe0913d39803477945e9e5ec",
            minimal_actions=(M.NOOP, M.FIRE, M.RIGHT, M.LEFT, M.RIGHTFIRE, M.LEFTFIRE),
            modes=(0, 1),
            difficulties=(0, 1, 2, 3),
            lives=0,
            update=_pong,
        ),
        Game(
            rom="breakout",
            name="Breakout",
            md5="f34f08e5eb96e500e851a80be3277a56",
            minimal_actions=(M.NOOP, M.FIRE, M.RIGHT, M.LEFT),
            modes=tuple(range(0, 48, 4)),
            difficulties=(0, 1),
            lives=5,
            update=_breakout,
        ),
    )
}
