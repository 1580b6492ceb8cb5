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


def _atlantis(progress: Progress, ram: jax.Array) -> Progress:
    # Hundreds of points; the lives byte reads $FF at the end, whose frame pays nothing and keeps the score.
    lives = _byte(ram, 0xF1)
    terminal = lives == 0xFF
    score = jnp.where(terminal, progress.score, _bcd(ram, 0xA2, 0xA3, 0xA1) * 100)
    return _scored(progress, score, terminal=terminal, lives=_alive(terminal, lives))


def _kangaroo(progress: Progress, ram: jax.Array) -> Progress:
    lives = _byte(ram, 0xAD)
    terminal = lives == 0xFF
    return _scored(progress, _bcd(ram, 0xA8, 0xA7) * 100, terminal=terminal, lives=_alive(terminal, (lives & 0x7) + 1))


def _krull(progress: Progress, ram: jax.Array) -> Progress:
    lives = _byte(ram, 0x9F)
    terminal = (lives == 0) & (_byte(ram, 0xA2) == 0x03) & (_byte(ram, 0x80) == 0x80)
    return _scored(progress, _bcd(ram, 0x9E, 0x9D, 0x9C), terminal=terminal, lives=_alive(terminal, (lives & 0x7) + 1))


def _bowling(progress: Progress, ram: jax.Array) -> Progress:
    # The frame counter passes $10 after the tenth frame. No lives.
    return _scored(progress, _bcd(ram, 0xA1, 0xA6), terminal=_byte(ram, 0xA4) > 0x10, lives=jnp.int32(0))


def _centipede(progress: Progress, ram: jax.Array) -> Progress:
    # A drop of the score (its wrap) pays nothing.
    score = _bcd(ram, 0xF6, 0xF5, 0xF4)
    terminal = (_byte(ram, 0xA6) & 0x40) != 0
    lives = ((_byte(ram, 0xED) >> 4) & 0x7) + 1
    return progress.replace(
        score=score, reward=jnp.maximum(score - progress.score, 0), terminal=terminal, lives=_alive(terminal, lives)
    )


def _assault(progress: Progress, ram: jax.Array) -> Progress:
    lives = _byte(ram, 0xE5)
    terminal = lives == 0
    return _scored(progress, _bcd(ram, 0x82, 0x81, 0x80), terminal=terminal, lives=_alive(terminal, lives))


def _amidar(progress: Progress, ram: jax.Array) -> Progress:
    lives = _byte(ram, 0xD6)
    terminal = lives == 0x80
    return _scored(progress, _bcd(ram, 0xD9, 0xDA, 0xDB), terminal=terminal, lives=_alive(terminal, lives & 0xF))


def _frostbite(progress: Progress, ram: jax.Array) -> Progress:
    lives = _byte(ram, 0xCC) & 0xF
    terminal = (lives == 0) & ((_byte(ram, 0xF1) & 0x80) != 0)
    return _scored(progress, _bcd(ram, 0xCA, 0xC9, 0xC8), terminal=terminal, lives=_alive(terminal, lives + 1))


def _fishing_derby(progress: Progress, ram: jax.Array) -> Progress:
    # Each angler's catch in one BCD byte; 99 ends the game. No lives.
    mine, theirs = _byte(ram, 0xBD), _byte(ram, 0xBE)
    terminal = (mine == 0x99) | (theirs == 0x99)
    return _scored(progress, _bcd(ram, 0xBD) - _bcd(ram, 0xBE), terminal=terminal, lives=jnp.int32(0))


def _kung_fu_master(progress: Progress, ram: jax.Array) -> Progress:
    lives = _byte(ram, 0x9D)
    terminal = lives == 0xFF
    return _scored(progress, _bcd(ram, 0x9A, 0x99, 0x98), terminal=terminal, lives=_alive(terminal, (lives & 0x7) + 1))


def _bank_heist(progress: Progress, ram: jax.Array) -> Progress:
    # The death timer's last tick with no life left ends the game.
    lives = _byte(ram, 0xD5)
    terminal = (_byte(ram, 0xCE) == 0x01) & (lives == 0)
    return _scored(progress, _bcd(ram, 0xDA, 0xD9, 0xD8), terminal=terminal, lives=_alive(terminal, lives))


def _chopper_command(progress: Progress, ram: jax.Array) -> Progress:
    # The lives counter reads 0 on the title screen too: the game has started once the chopper faced right.
    lives = _byte(ram, 0xE4) & 0xF
    started = progress.started | ((_byte(ram, 0xC2) & 1) != 0)
    return _scored(progress, _bcd(ram, 0xEE, 0xEC) * 100, started=started, terminal=started & (lives == 0), lives=lives)


def _zaxxon(progress: Progress, ram: jax.Array) -> Progress:
    lives = _byte(ram, 0xEA) & 0x7
    terminal = lives == 0
    return _scored(progress, _bcd(ram, 0xE9, 0xE8) * 100, terminal=terminal, lives=_alive(terminal, lives))


def _blank_digits(ram: jax.Array, *indices: int) -> jax.Array:
    """A decimal score from the low nibbles of `indices`, lowest digit first; a nibble of 10 is a blank 0."""
    score = jnp.int32(0)
    for place, index in enumerate(indices):
        digit = _byte(ram, index) & 0xF
        score = score + jnp.where(digit == 10, 0, digit) * 10**place
    return score


def _star_gunner(progress: Progress, ram: jax.Array) -> Progress:
    # The lives byte counts only once it has shown 5; before that ALE reports 5.
    counter = _byte(ram, 0x87)
    started = progress.started | (counter == 5)
    terminal = counter == 0
    lives = jnp.where(started, counter & 0xF, 5)
    score = _blank_digits(ram, 0x83, 0x84, 0x85, 0x86) * 100
    return _scored(progress, score, started=started, terminal=terminal, lives=_alive(terminal, lives))


def _time_pilot(progress: Progress, ram: jax.Array) -> Progress:
    # Lives are read only while the screen byte shows play (2); the end is a flag of its own.
    terminal = _byte(ram, 0xA0) != 0
    lives = jnp.where((_byte(ram, 0x80) & 0xF) == 2, (_byte(ram, 0x8B) & 0x7) + 1, progress.lives)
    return _scored(progress, _bcd(ram, 0x8D, 0x8F) * 100, terminal=terminal, lives=_alive(terminal, lives))


def _road_runner(progress: Progress, ram: jax.Array) -> Progress:
    # The last life ends once the Road Runner is moving again after the catch.
    lives = _byte(ram, 0xC4) & 0x7
    terminal = (lives == 0) & ((_byte(ram, 0xB9) != 0) | (_byte(ram, 0xBD) != 0))
    score = _blank_digits(ram, 0xC9, 0xCA, 0xCB, 0xCC) * 100
    return _scored(progress, score, terminal=terminal, lives=_alive(terminal, lives + 1))


def _wizard_of_wor(progress: Progress, ram: jax.Array) -> Progress:
    # Scores from 8,000 (hundreds) down by 8,000; lives are read only while the game waits ($D7 bit 0 clear).
    score = _bcd(ram, 0x86, 0x88)
    score = jnp.where(score >= 8000, score - 8000, score) * 100
    counter = _byte(ram, 0x8D) & 0xF
    terminal = (counter == 0) & (_byte(ram, 0xF4) == 0xF8)
    lives = jnp.where((_byte(ram, 0xD7) & 1) == 0, counter, progress.lives)
    return _scored(progress, score, terminal=terminal, lives=_alive(terminal, lives))


def _hero(progress: Progress, ram: jax.Array) -> Progress:
    lives = _byte(ram, 0xB3)
    terminal = lives == 0
    return _scored(progress, _bcd(ram, 0xB9, 0xB8, 0xB7), terminal=terminal, lives=_alive(terminal, lives))


def _gopher(progress: Progress, ram: jax.Array) -> Progress:
    # Lives are the carrots left (bits of $B4): the game ends with none.
    carrots = _byte(ram, 0xB4) & 0x7
    terminal = carrots == 0
    lives = jnp.asarray([0, 1, 1, 2, 1, 2, 2, 3], jnp.int32)[carrots]
    return _scored(progress, _bcd(ram, 0xB2, 0xB1, 0xB0), terminal=terminal, lives=_alive(terminal, lives))


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
    Game("atlantis", "Atlantis", "9ad36e699ef6f45d9eb6c4cf90475c9f", (0, 1, 11, 12), (0, 1, 2, 3), (0,), 6, _atlantis),
    Game("kangaroo", "Kangaroo", "4326edb70ff20d0ee5ba58fa5cb09d60", _ALL, (0, 1), (0,), 3, _kangaroo),
    Game("krull", "Krull", "4baada22435320d185c95b7dd2bcdb24", _ALL, (0,), (0,), 3, _krull),
    Game("bowling", "Bowling", "c9b7afad3bfd922e006a6bfc1d4f3fe7", (0, 1, 2, 5, 10, 13), (0, 2, 4), (0, 1), 0, _bowling),
    Game("centipede", "Centipede", "91c2098e88a6b13f977af8c003e0bca5", _ALL, (0x16, 0x56), (0,), 3, _centipede),
    Game("assault", "Assault", "de78b3a064d374390ac0710f95edde92", (0, 1, 2, 3, 4, 11, 12), (0,), (0,), 4, _assault),
    Game("amidar", "Amidar", "acb7750b4d0c4bd34969802a7deb2990", (0, 1, 2, 3, 4, 5, 10, 11, 12, 13), (0,), (0, 3), 3,
         _amidar),
    Game("frostbite", "Frostbite", "4ca73eb959299471788f0b685c3ba0b5", _ALL, (0, 2), (0,), 4, _frostbite),
    Game("fishing_derby", "FishingDerby", "b8865f05676e64f3bec72b9defdacfa7", _ALL, (0,), (0, 1, 2, 3), 0,
         _fishing_derby),
    Game("kung_fu_master", "KungFuMaster", "5b92a93b23523ff16e2789b820e2a4c5",
         (0, 2, 3, 4, 5, 8, 9, 11, 12, 13, 14, 15, 16, 17), (0,), (0,), 4, _kung_fu_master),
    Game("bank_heist", "BankHeist", "00ce0bdd43aed84a983bef38fe7f5ee3", _ALL, tuple(range(0, 32, 4)), (0, 1, 2, 3), 5,
         _bank_heist),
    Game("chopper_command", "ChopperCommand", "c1cb228470a87beb5f36e90ac745da26", _ALL, (0, 2), (0, 1), 3,
         _chopper_command),
    Game("zaxxon", "Zaxxon", "eea0da9b987d661264cce69a7c13c3bd", _ALL, (0, 8, 16, 24), (0,), 5, _zaxxon),
    Game("star_gunner", "StarGunner", "a3c1c70024d7aabb41381adbfb6d3b25", _ALL, (0, 1, 2, 3), (0,), 5, _star_gunner),
    Game("time_pilot", "TimePilot", "fc2104dd2dadf9a6176c1c1c8f87ced9", (0, 1, 2, 3, 4, 5, 10, 11, 12, 13), (0,),
         (0, 1, 2), 5, _time_pilot),
    Game("road_runner", "RoadRunner", "ce5cc62608be2cd3ed8abd844efb8919", _ALL, (0,), (0,), 3, _road_runner),
    Game("wizard_of_wor", "WizardOfWor", "7e8aa18bc9502eb57daaf5e7c1e94da7", (0, 1, 2, 3, 4, 5, 10, 11, 12, 13), (0,),
         (0, 1), 3, _wizard_of_wor),
    Game("hero", "Hero", "fca4a5be1251927027f2c24774a02160", _ALL, (0, 1, 2, 3, 4), (0,), 4, _hero),
    Game("gopher", "Gopher", "c16c79aad6272baffb8aae9a7fff0864", (0, 1, 2, 3, 4, 10, 11, 12), (0, 2), (0, 1), 3,
         _gopher),
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
    "atlantis",
    "kangaroo",
    "krull",
    "bowling",
    "centipede",
    "assault",
    "amidar",
    "fishing_derby",
    "kung_fu_master",
    "bank_heist",
    "chopper_command",
    "zaxxon",
    "time_pilot",
    "road_runner",
    "hero",
    "gopher",
)

CANDIDATES = {game.rom: game for game in _GAME_LIST}
GAMES = {rom: CANDIDATES[rom] for rom in CHECKED}
