"""What ALE's per-game settings (its `RomSettings`) define, for the games gymx runs.

Each game reads its score, lives and end of game from the console's 128 bytes of RAM after every
emulated frame, as ALE's settings do: the reward of a frame is, for most games, the change of the
score since the previous frame (Space Invaders counts its 10,000-point wrap as a gain, Freeway
clips to 0 or 1, Q*bert pays nothing on its terminal frame), summed over the frames of an agent
step. `Progress` is what a game remembers between frames (ALE keeps the same in its settings
object): the score, the frame's reward, the lives, whether the game ended, whether the game has
started (games whose end is read from a lives counter, so a counter still at zero before the
first game is not taken for the end), and Q*bert's lives byte of the previous frame.

Modes and difficulties are the values ALE accepts; the mode is selected during ALE's reset
procedure by the kernel's `GameReset` (the RAM byte it watches and how long SELECT is held, or
the options menu it walks with the joystick), and the difficulty sets the console's difficulty
switches.
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


class Progress(struct.PyTree):
    """A game's bookkeeping between frames (ALE's settings state)."""

    score: jax.Array  # int32 (), the score as the game's RAM shows it (Pong: player minus CPU)
    reward: jax.Array  # int32 (), the last frame's reward
    lives: jax.Array  # int32 (), lives as ALE reports them (0 once the game is over)
    terminal: jax.Array  # bool (), the game is over
    started: jax.Array  # bool (), a game has begun (games that read their end from a lives counter)
    last_lives: jax.Array  # int32 (), the previous frame's lives byte, signed (Q*bert)


def initial_progress(lives: int) -> Progress:
    """The bookkeeping right after ALE resets a game's settings."""
    return Progress(
        score=jnp.zeros((), jnp.int32),
        reward=jnp.zeros((), jnp.int32),
        lives=jnp.asarray(lives, jnp.int32),
        terminal=jnp.zeros((), jnp.bool_),
        started=jnp.zeros((), jnp.bool_),
        last_lives=jnp.int32(2),
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
    return ram[index & 0x7F].astype(jnp.int32)


def _bcd(ram: jax.Array, *indices: int) -> jax.Array:
    """A decimal score from BCD bytes, lowest two digits first (ALE's `getDecimalScore`)."""
    score = jnp.int32(0)
    for place, index in enumerate(indices):
        value = _byte(ram, index)
        score = score + ((value >> 4) * 10 + (value & 0xF)) * 100**place
    return score


def _scored(progress: Progress, score: jax.Array, **fields) -> Progress:
    """`progress` with a new score, rewarded by its change."""
    return progress.replace(score=score, reward=score - progress.score, **fields)


def _alive(terminal: jax.Array, lives: jax.Array) -> jax.Array:
    # ALE's `lives()` of these games: 0 once the game is over.
    return jnp.where(terminal, 0, lives)


def _pong(progress: Progress, ram: jax.Array) -> Progress:
    # Scores are plain counts at RAM $8D (CPU) and $8E (player); a game ends at 21. No lives.
    cpu, player = _byte(ram, 13), _byte(ram, 14)
    return _scored(progress, player - cpu, terminal=(cpu == 21) | (player == 21), lives=jnp.int32(0))


def _breakout(progress: Progress, ram: jax.Array) -> Progress:
    # Score in BCD: units and tens at $CD, hundreds at $CC. Lives at $B9: the game has started
    # once it showed 5, and is over when it shows 0 after that.
    low, high, counter = _byte(ram, 77), _byte(ram, 76), _byte(ram, 57)
    score = (low & 0xF) + 10 * (low >> 4) + 100 * (high & 0xF)
    started = progress.started | (counter == 5)
    terminal = started & (counter == 0)
    return _scored(progress, score, started=started, terminal=terminal, lives=_alive(terminal, counter))


def _space_invaders(progress: Progress, ram: jax.Array) -> Progress:
    # The score wraps at 10,000; a drop is the wrap, paid as the gain up to it and past it.
    score = _bcd(ram, 0xE8, 0xE6)
    reward = score - progress.score
    reward = jnp.where(reward < 0, 10_000 - progress.score + score, reward)
    lives = _byte(ram, 0xC9)
    terminal = ((_byte(ram, 0x98) & 0x80) != 0) | (lives == 0)
    return progress.replace(score=score, reward=reward, terminal=terminal, lives=_alive(terminal, lives))


def _freeway(progress: Progress, ram: jax.Array) -> Progress:
    # One point per crossing: the reward is the score's change clipped to [0, 1]. No lives.
    score = _bcd(ram, 103)
    reward = jnp.clip(score - progress.score, 0, 1)
    return progress.replace(score=score, reward=reward, terminal=_byte(ram, 22) == 1, lives=jnp.int32(0))


def _seaquest(progress: Progress, ram: jax.Array) -> Progress:
    terminal = _byte(ram, 0xA3) != 0
    return _scored(
        progress, _bcd(ram, 0xBA, 0xB9, 0xB8), terminal=terminal, lives=_alive(terminal, _byte(ram, 0xBB) + 1)
    )


def _asterix(progress: Progress, ram: jax.Array) -> Progress:
    lives = _byte(ram, 0xD3) & 0xF
    terminal = (_byte(ram, 0xC7) == 0x01) & (lives == 1)  # the death counter's last tick on the last life
    return _scored(progress, _bcd(ram, 0xE0, 0xDF, 0xDE), terminal=terminal, lives=_alive(terminal, lives))


def _ms_pacman(progress: Progress, ram: jax.Array) -> Progress:
    lives = _byte(ram, 0xFB) & 0xF
    terminal = (lives == 0) & (_byte(ram, 0xA7) == 0x53)  # no life left and the death timer at its end
    return _scored(progress, _bcd(ram, 0xF8, 0xF9, 0xFA), terminal=terminal, lives=_alive(terminal, (lives & 0x7) + 1))


def _beam_rider(progress: Progress, ram: jax.Array) -> Progress:
    # A lost life counts only once the game flags it ($8C = 1); any other change counts at once.
    new = _byte(ram, 0x85) + 1
    lives = jnp.where((new == progress.lives - 1) & (_byte(ram, 0x8C) != 0x01), progress.lives, new)
    terminal = _byte(ram, 5) == 255
    return _scored(progress, _bcd(ram, 9, 10, 11), terminal=terminal, lives=_alive(terminal, lives))


def _enduro(progress: Progress, ram: jax.Array) -> Progress:
    # The counter at $AB/$AC counts the cars still to pass on a day (200 on day 1, 300 after);
    # the score is the cars passed over all days. No lives.
    level, left = _byte(ram, 0xAD), _bcd(ram, 0xAB, 0xAC)
    score = jnp.where(level == 0, 0, jnp.where(level == 1, 200 - left, 200 + (level - 2) * 300 + 300 - left))
    return _scored(progress, score, terminal=_byte(ram, 0xAF) == 0xFF, lives=jnp.int32(0))


def _boxing(progress: Progress, ram: jax.Array) -> Progress:
    # Points of each boxer (BCD; $C0 shows a knockout, 100 points); the game ends at 100 or when the clock runs out.
    mine = jnp.where(_byte(ram, 0x92) == 0xC0, 100, _bcd(ram, 0x92))
    theirs = jnp.where(_byte(ram, 0x93) == 0xC0, 100, _bcd(ram, 0x93))
    clock = _byte(ram, 0x91)
    out_of_time = ((_byte(ram, 0x90) >> 4) == 0) & ((clock & 0xF) + (clock >> 4) * 10 == 0)
    terminal = (mine == 100) | (theirs == 100) | out_of_time
    return _scored(progress, mine - theirs, terminal=terminal, lives=jnp.int32(0))


def _battle_zone(progress: Progress, ram: jax.Array) -> Progress:
    # Thousands of points in three digits spread over $9D/$9E, where a digit 10 shows as 0.
    first, second = _byte(ram, 0x9D), _byte(ram, 0x9E)
    digit = lambda d: jnp.where(d == 10, 0, d)
    score = 1000 * (digit(first >> 4) + 10 * digit(second & 0xF) + 100 * digit(second >> 4))
    lives = _byte(ram, 0xBA) & 0xF
    return _scored(progress, score, terminal=lives == 0, lives=lives)


def _double_dunk(progress: Progress, ram: jax.Array) -> Progress:
    mine, theirs = _bcd(ram, 0xF6), _bcd(ram, 0xF7)
    terminal = ((mine >= 24) | (theirs >= 24)) & (_byte(ram, 0xFE) == 0xE7)
    return _scored(progress, mine - theirs, terminal=terminal, lives=jnp.int32(0))


def _name_this_game(progress: Progress, ram: jax.Array) -> Progress:
    lives = _byte(ram, 0xC7) & 0x7
    return _scored(progress, _bcd(ram, 0xC6, 0xC5, 0xC4), terminal=lives == 0, lives=lives)


def _phoenix(progress: Progress, ram: jax.Array) -> Progress:
    # Four BCD digits at $C9/$C8 and a fifth in $C7's high nibble, then a constant 0.
    score = (_bcd(ram, 0xC8, 0xC9) * 10 + (_byte(ram, 0xC7) >> 4)) * 10
    terminal = _byte(ram, 0xCC) == 0x80
    return _scored(progress, score, terminal=terminal, lives=_alive(terminal, _byte(ram, 0xCB) & 0x7))


def _qbert(progress: Progress, ram: jax.Array) -> Progress:
    # The lives byte (signed) counts down to -1; it reads $FE at the end, or 2 again right after -1.
    # A life is lost when the byte drops by one. The terminal frame pays nothing and keeps the score.
    value = _byte(ram, 0x88)
    signed = jnp.where(value >= 128, value - 256, value)
    terminal = (value == 0xFE) | ((value == 0x02) & (progress.last_lives == -1))
    lives = progress.lives - (progress.last_lives - 1 == signed).astype(jnp.int32)
    score = jnp.where(terminal, progress.score, _bcd(ram, 0xDB, 0xDA, 0xD9))
    return progress.replace(
        score=score, reward=score - progress.score, terminal=terminal, lives=_alive(terminal, lives), last_lives=signed
    )


def _montezuma_revenge(progress: Progress, ram: jax.Array) -> Progress:
    # The game is over when no life is left and $FE shows the end of the death sequence ($60).
    lives = _byte(ram, 0xBA)
    terminal = (lives == 0) & (_byte(ram, 0xFE) == 0x60)
    return _scored(progress, _bcd(ram, 0x95, 0x94, 0x93), terminal=terminal, lives=_alive(terminal, (lives & 0x7) + 1))


def _jamesbond(progress: Progress, ram: jax.Array) -> Progress:
    # $8C reads $68 while the player dies; on the last life that is the end.
    lives = _byte(ram, 0x86) & 0xF
    terminal = (lives == 0) & (_byte(ram, 0x8C) == 0x68)
    return _scored(progress, _bcd(ram, 0xDC, 0xDD, 0xDE), terminal=terminal, lives=_alive(terminal, lives + 1))


def _tutankham(progress: Progress, ram: jax.Array) -> Progress:
    # $81 holds $84 only from power-on to the first reset, while the lives byte is still 0.
    lives = _byte(ram, 0x9E)
    terminal = (lives == 0) & (_byte(ram, 0x81) != 0x84)
    return _scored(progress, _bcd(ram, 0x9C, 0x9A), terminal=terminal, lives=_alive(terminal, lives & 0x3))


def _robotank(progress: Progress, ram: jax.Array) -> Progress:
    # One point per enemy tank: a squadron is 12 tanks. Plain counts, not BCD.
    score = _byte(ram, 0xB6) * 12 + _byte(ram, 0xB5)
    lives = _byte(ram, 0xA8)
    terminal = (lives == 0) & (_byte(ram, 0xB4) == 0xFF)
    return _scored(progress, score, terminal=terminal, lives=_alive(terminal, (lives & 0xF) + 1))


_ALL = tuple(range(18))
_GAME_LIST = (
    Game("pong", "Pong", "60e0ea3cbe0913d39803477945e9e5ec", (M.NOOP, M.FIRE, M.RIGHT, M.LEFT, M.RIGHTFIRE, M.LEFTFIRE),
         (0, 1), (0, 1, 2, 3), 0, _pong),
    Game("breakout", "Breakout", "f34f08e5eb96e500e851a80be3277a56", (M.NOOP, M.FIRE, M.RIGHT, M.LEFT),
         tuple(range(0, 48, 4)), (0, 1), 5, _breakout),
    Game("space_invaders", "SpaceInvaders", "72ffbef6504b75e69ee1045af9075f66",
         (M.NOOP, M.FIRE, M.RIGHT, M.LEFT, M.RIGHTFIRE, M.LEFTFIRE), tuple(range(16)), (0, 1), 3, _space_invaders),
    Game("freeway", "Freeway", "8e0ab801b1705a740b476b7f588c6d16", (M.NOOP, M.UP, M.DOWN), tuple(range(8)), (0, 1), 0,
         _freeway),
    Game("seaquest", "Seaquest", "240bfbac5163af4df5ae713985386f92", _ALL, (0,), (0, 1), 4, _seaquest),
    Game("asterix", "Asterix", "89a68746eff7f266bbf08de2483abe55", (0, 2, 3, 4, 5, 6, 7, 8, 9), (0,), (0,), 3, _asterix),
    Game("ms_pacman", "MsPacman", "87e79cd41ce136fd4f72cc6e2c161bee", (0, 2, 3, 4, 5, 6, 7, 8, 9), (0, 1, 2, 3), (0,),
         3, _ms_pacman),
    Game("beam_rider", "BeamRider", "79ab4123a83dc11d468fb2108ea09e2e", (0, 1, 2, 3, 4, 6, 7, 11, 12), (0,), (0, 1), 3,
         _beam_rider),
    Game("enduro", "Enduro", "94b92a882f6dbaa6993a46e2dcc58402", (0, 1, 3, 4, 5, 8, 9, 11, 12), (0,), (0,), 0, _enduro),
    Game("boxing", "Boxing", "c3ef5c4653212088eda54dc91d787870", _ALL, (0,), (0, 1, 2, 3), 0, _boxing),
    Game("battle_zone", "BattleZone", "41f252a66c6301f1e8ab3612c19bc5d4", _ALL, (1, 2, 3), (0,), 5, _battle_zone),
    Game("double_dunk", "DoubleDunk", "368d88a6c071caba60b4f778615aae94", _ALL, tuple(range(16)), (0,), 0, _double_dunk),
    Game("name_this_game", "NameThisGame", "36306070f0c90a72461551a7a4f3a209", (0, 1, 3, 4, 11, 12), (0x08, 0x18, 0x28),
         (0, 1), 3, _name_this_game),
    Game("phoenix", "Phoenix", "7e52a95074a66640fcfde124fffd491a", (0, 1, 3, 4, 5, 11, 12, 13), (0,), (0,), 5, _phoenix),
    Game("qbert", "Qbert", "484b0076816a104875e00467d431c2d2", (0, 1, 2, 3, 4, 5), (0,), (0, 1), 4, _qbert),
    Game("montezuma_revenge", "MontezumaRevenge", "3347a6dd59049b15a38394aa2dafa585", _ALL, (0,), (0,), 6,
         _montezuma_revenge),
    Game("jamesbond", "Jamesbond", "e51030251e440cffaab1ac63438b44ae", _ALL, (0, 1), (0,), 6, _jamesbond),
    Game("tutankham", "Tutankham", "085322bae40d904f53bdcc56df0593fc", (0, 2, 3, 4, 5, 10, 11, 12), (0, 4, 8, 12),
         (0,), 3, _tutankham),
    Game("robotank", "Robotank", "4f618c2429138e0280969193ed6c107e", _ALL, (0,), (0,), 4, _robotank),
)  # fmt: skip

# The games whose RAM, screen, reward, terminal and lives match ale-py frame by frame
# (tests/kernels/atari and tests/envs/atari); only these are registered.
CHECKED = (
    "pong",
    "breakout",
    "space_invaders",
    "freeway",
    "seaquest",
    "asterix",
    "ms_pacman",
    "beam_rider",
    "enduro",
    "boxing",
    "battle_zone",
    "double_dunk",
    "name_this_game",
    "phoenix",
    "qbert",
    "montezuma_revenge",
    "jamesbond",
    "tutankham",
    "robotank",
)

CANDIDATES = {game.rom: game for game in _GAME_LIST}
GAMES = {rom: CANDIDATES[rom] for rom in CHECKED}
