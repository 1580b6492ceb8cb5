"""The TIA as far as the CPU can observe it: beam timing, the registers, object positions and collisions.

Time is the colour clock (3 per CPU cycle, 228 per scanline, the first 68 of each line in
horizontal blank), counted from the start of the current frame's first line, as ALE's Stella
counts it: a frame starts on the line where the previous one ended (`frame_start` is minus the
clocks already gone on that line), and ends when VSYNC is switched off at least one line after it
was switched on, or when a TIA write finds the beam past scanline 290.

Register writes take effect in three parts. What the CPU can observe at once (the end of the
frame, VSYNC's timing, the paddle grounding of VBLANK bit 7) is applied by `record` as the write
happens, which also logs the write with its cycle. `latch` replays the log's new writes in order
for the collisions, and `paint` replays a frame's writes for the pixels. Replaying later gives the
same state as applying at once, because each write affects only the beam's path after its own
clock. `Machine` latches before a collision register is read and at the end of a frame, and
paints once a frame, so the instruction loop pays O(1) per TIA write.

Collisions are what Stella computes while it draws: only inside the displayed window (`ystart`
lines from the frame start, `height` lines tall), only on visible clocks, and not while VBLANK
is on. Between two writes (after Stella's per-register delay) the registers are fixed and every
line looks the same, so a span reduces to "which of the 160 pixel columns did the beam pass":
each object's coverage of the line is a 160-wide mask (playfield, players with NUSIZ copies and
stretch, missiles, ball), and each collision latch is an AND of two masks over the passed
columns. The same masks with the colour registers give the pixels: when the TIA carries a screen
(`TIA.make(lines)` with lines > 0), `paint` fills each displayed line with colour values
(register value, bit 0 clear) in Stella's priority order (`colours`), black while VBLANK is on,
and black over the first 8 columns of the line after an HMOVE strobed in horizontal blank
(Stella's HMOVE blanks). With no screen, nothing of this is traced.

Players follow Stella's masks: a RESPx hides the player's first copy for the rest of the line
(the copy starts drawing on the next line), unless it lands in a copy's start delay; the hide
ends where Stella redraws the mask, at the end of a line inside the displayed window (so a RESPx
above the window hides the window's first line), or at a NUSIZx or HMOVE write. A RESPx that
lands inside one of the player's copies lets that copy run 11 more clocks at its old position.
The playfield's reflection is Stella's mask too: a CTRLPF write from column 79 on leaves it as it
was until the mask is redrawn at a line's end, as a hide ends. Stella moves a RESMx or RESBL that
comes a set number of clocks after an HMOVE to a set column for a few games (`RESET_AFTER_HMOVE`).

An HMOVE moves each object by Stella's table of motion per CPU cycle of the strobe (`HMOVE_MOTION`).
Approximations kept on purpose for now (they do not move Pong's or Breakout's objects): an HMxx
or RESxx write while an HMOVE's motion is still being applied takes no part in it, and RESMPx
recentres the missile on its player with the normal-width offset.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from gymx import struct

LINE = 228
HBLANK = 68
MAX_SCANLINES = 290
NEVER = 0x7FFFFFFF
# A frame ends at the first write past scanline MAX_SCANLINES, and a write takes at least 3 cycles
# (9 clocks), so no frame logs more than this many writes.
LOG_SIZE = (MAX_SCANLINES + 2) * LINE // 9 + 2

# Register numbers (write side).
VSYNC, VBLANK, WSYNC, RSYNC, NUSIZ0, NUSIZ1 = 0x00, 0x01, 0x02, 0x03, 0x04, 0x05
CTRLPF, REFP0, REFP1, PF0, PF1, PF2 = 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F
RESP0, RESP1, RESM0, RESM1, RESBL = 0x10, 0x11, 0x12, 0x13, 0x14
GRP0, GRP1, ENAM0, ENAM1, ENABL = 0x1B, 0x1C, 0x1D, 0x1E, 0x1F
HMP0, HMP1, HMM0, HMM1, HMBL = 0x20, 0x21, 0x22, 0x23, 0x24
COLUP0, COLUP1, COLUPF, COLUBK = 0x06, 0x07, 0x08, 0x09
VDELP0, VDELP1, VDELBL, RESMP0, RESMP1, HMOVE, HMCLR, CXCLR = 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C

# Object order in `pos` and in the coverage masks.
P0, P1, M0, M1, BL, PF = range(6)

# Clocks a write waits before it shows (Stella's measured delays; -1: playfield, by beam phase).
POKE_DELAY = np.zeros(64, np.int32)
POKE_DELAY[[NUSIZ0, NUSIZ1, RESM0, RESM1]] = 8
POKE_DELAY[[VBLANK, REFP0, REFP1, GRP0, GRP1]] = 1
POKE_DELAY[[PF0, PF1, PF2]] = -1
PF_DELAY = np.array([4, 5, 2, 3], np.int32)

# Collision latch bits (Stella's order) as pairs of objects.
COLLISION_PAIRS = (
    (M0, P1),
    (M0, P0),
    (M1, P0),
    (M1, P1),
    (P0, PF),
    (P0, BL),
    (P1, PF),
    (P1, BL),
    (M0, PF),
    (M0, BL),
    (M1, PF),
    (M1, BL),
    (BL, PF),
    (P0, P1),
    (M0, M1),
)

# Copies of players and missiles per NUSIZ mode: offsets, and the player's pixel width.
COPIES = ((0,), (0, 16), (0, 32), (0, 16, 32), (0, 64), (0,), (0, 32, 64), (0,))
PLAYER_SCALE = (1, 1, 1, 1, 1, 2, 1, 4)


def _copy_mask() -> np.ndarray:
    mask = np.zeros((8, 160), bool)
    for mode, offsets in enumerate(COPIES):
        mask[mode, list(offsets)] = True
    return mask


COPY_START = _copy_mask()


def _reset_when() -> np.ndarray:
    """Where a RESPx puts a player relative to its old copies (Stella's table), by NUSIZ mode and
    the new column minus the old (mod 160): -1 in a copy's 4-clock start delay, 1 in its display
    (8 columns, 16 or 32 stretched), 0 elsewhere."""
    when = np.zeros((8, 160), np.int32)
    for mode, offsets in enumerate(COPIES):
        width = 8 * PLAYER_SCALE[mode]
        for offset in offsets:
            when[mode, offset : offset + 4] = -1
            when[mode, offset + 4 : offset + 4 + width] = 1
    return when


RESET_WHEN = _reset_when()
# A RESPx that lands in one of the player's copies lets the beam draw this many more clocks at the
# old position before moving it (Stella's fixed guess).
RESET_IN_COPY_DELAY = 11


def _pf_bits() -> np.ndarray:
    """Bit of the 20-bit playfield word shown at each column: [normal, reflected] x 160."""
    column = np.arange(160) // 4
    left = np.where(column < 20, column, column - 20)
    mirrored = np.where(column < 20, column, 39 - column)
    return np.stack([left, mirrored]).astype(np.int32)


PF_BITS = _pf_bits()

# Each byte with its bits in reverse order.
REVERSED_BYTES = np.array([int(f"{i:08b}"[::-1], 2) for i in range(256)], np.int32)

# Stella's fixes for single games: a RESMx or RESBL this many clocks after an HMOVE strobe, at this
# colour clock of the line, puts the object at this column (register, clocks, colour clock, column).
RESET_AFTER_HMOVE = (
    (RESM0, 60, 69, 8),  # Dolphin
    (RESM1, 9, 18, 3),  # Pitfall II
    (RESBL, 54, 60, 10),  # Escape from the Mindmaster
    (RESBL, 54, 69, 10),
    (RESBL, 9, 18, 3),  # Decathlon
    (RESBL, 21, 30, 6),  # Robot Tank
    (RESBL, 18, 27, 5),  # Hole Hunter
)

# The first colour clock of the line at which a CTRLPF write no longer changes the playfield's
# reflection until the line ends (Stella: from column 79, the left half's last, on).
REFLECT_LATE = HBLANK + 79

# CPU cycles of the line (0-75) at which an HMOVE strobe blanks the next 8 columns drawn.
HMOVE_BLANK_CYCLES = np.zeros(76, bool)
HMOVE_BLANK_CYCLES[[*list(range(21)), 75]] = True


def _hmove_motion() -> np.ndarray:
    """Columns an HMOVE strobed at each CPU cycle of the line (0-75) moves an object whose motion
    register holds each value (0-15), as Stella's table has it: in horizontal blank the full motion
    (0 to 7 left for 0-7, 8 to 1 right for 8-15), whose larger moves stop short from cycle 4 on,
    and from cycle 13 on every object moving right at least some columns; no motion from cycle 21
    to 54; from cycle 55 on a move left that grows to 8 columns more than the register's."""
    full = np.where(np.arange(16) < 8, -np.arange(16), 16 - np.arange(16))
    least = np.array([-7, -7, -7, -7, -6, -5, -5, -4, -3, -2, -2, -1, 0, 1, 1, 2, 3, 4, 4, 5, 6])
    extra = np.array([6, 5, 4, 4, 3, 2, 1, 1, 0, -1, -2, -2, -3, -4, -5, -5, -6, -7, -8, -8])
    motion = np.zeros((76, 16), np.int32)
    motion[: len(least)] = np.maximum(full, least[:, None])
    motion[75 - len(extra) : 75] = np.minimum(full + extra[:, None], 0)
    motion[75] = full
    return motion


HMOVE_MOTION = _hmove_motion()


class Registers(struct.PyTree):
    """What the drawing depends on: the registers as written, and what the writes derived from them."""

    regs: jax.Array  # int32[64]: the last value written to each register
    pf: jax.Array  # int32: PF0..PF2 as 20 bits in beam order
    grp: jax.Array  # int32[2]: GRP0, GRP1
    dgrp: jax.Array  # int32[2]: their vertical-delay copies
    denabl: jax.Array  # bool: ENABL's vertical-delay copy
    pos: jax.Array  # int32[5]: P0, P1, M0, M1, BL columns (0-159)
    hidden: jax.Array  # bool[2]: the player's first copy is hidden (Stella's mask after a RESPx), until `hide_end`
    hidden_from: jax.Array  # int32[2]: the clock the RESPx that hid it showed at
    reflect: jax.Array  # bool: the playfield's reflection while a late CTRLPF write waits (Stella's mask)
    reflect_from: jax.Array  # int32: the clock of that write; it waits until `hide_end` of it
    hmove_clock: jax.Array  # int32: clock of the last HMOVE strobe


class TIA(struct.PyTree):
    """Register and beam state of one TIA; leading batch axes allowed."""

    regs: jax.Array  # int32[64]: the registers as the latched writes left them (fields as in `Registers`)
    pf: jax.Array  # int32
    grp: jax.Array  # int32[2]
    dgrp: jax.Array  # int32[2]
    denabl: jax.Array  # bool
    pos: jax.Array  # int32[5]
    hidden: jax.Array  # bool[2]
    hidden_from: jax.Array  # int32[2]
    reflect: jax.Array  # bool
    reflect_from: jax.Array  # int32
    hmove_clock: jax.Array  # int32
    collision: jax.Array  # int32: 15 latches
    frame_start: jax.Array  # int32: colour clock of the frame's first line start
    last_update: jax.Array  # int32: clock up to which collisions were computed
    vsync_finish: jax.Array  # int32: clock after which VSYNC off ends the frame
    dump_enabled: jax.Array  # bool: paddle capacitors grounded (VBLANK bit 7)
    dump_cycle: jax.Array  # uint32: cycle the grounding was removed
    frame_done: jax.Array  # bool
    strobe_clock: jax.Array  # int32: clock of the last VSYNC, WSYNC or RSYNC write (not logged)
    writes: jax.Array  # int32[LOG_SIZE]: this frame's logged writes, cycle << 14 | register << 8 | value
    write_count: jax.Array  # int32
    latched: jax.Array  # int32: logged writes applied to the registers and collisions above
    painted: jax.Array  # int32: clock up to which the screen is painted
    hmove_blank: jax.Array  # bool: the next columns 0-7 painted are black
    screen: jax.Array  # uint8[lines, 160]: colour values of the displayed window (lines 0: not drawn)
    back: jax.Array  # uint8[lines, 160]: the other frame buffer (Stella draws into two by turns)

    @classmethod
    def make(cls, lines: int = 0) -> TIA:
        """A reset TIA; `lines` > 0 gives it a screen of that many lines (Stella clears it to black)."""
        if lines < 0:
            raise ValueError(f"screen lines must be >= 0 (0: no screen); got {lines}")
        i = jnp.int32
        return cls(
            regs=jnp.zeros(64, jnp.int32),
            pf=i(0),
            grp=jnp.zeros(2, jnp.int32),
            dgrp=jnp.zeros(2, jnp.int32),
            denabl=jnp.asarray(False),
            pos=jnp.zeros(5, jnp.int32),
            hidden=jnp.zeros(2, bool),
            hidden_from=jnp.zeros(2, jnp.int32),
            reflect=jnp.asarray(False),
            reflect_from=i(0),
            hmove_clock=i(0),
            collision=i(0),
            frame_start=i(0),
            last_update=i(0),
            vsync_finish=i(NEVER),
            dump_enabled=jnp.asarray(False),
            dump_cycle=jnp.uint32(0),
            frame_done=jnp.asarray(False),
            strobe_clock=i(0),
            writes=jnp.zeros(LOG_SIZE, jnp.int32),
            write_count=i(0),
            latched=i(0),
            painted=i(0),
            hmove_blank=jnp.asarray(False),
            screen=jnp.zeros((lines, 160), jnp.uint8),
            back=jnp.zeros((lines, 160), jnp.uint8),
        )

    def registers(self) -> Registers:
        return Registers(
            regs=self.regs,
            pf=self.pf,
            grp=self.grp,
            dgrp=self.dgrp,
            denabl=self.denabl,
            pos=self.pos,
            hidden=self.hidden,
            hidden_from=self.hidden_from,
            reflect=self.reflect,
            reflect_from=self.reflect_from,
            hmove_clock=self.hmove_clock,
        )


def coverage(tia: TIA | Registers, hide: jax.Array | bool = False, pending: jax.Array | bool = False) -> jax.Array:
    """bool[6, 160]: which columns of a line each object (P0, P1, M0, M1, BL, PF) covers now;
    `hide` (bool[2] or one bool for both) leaves out each player's first copy, as Stella draws
    the rest of a line after a RESPx (a stretched player then shows nothing); `pending` draws
    the playfield with the reflection a late CTRLPF write left waiting (`reflect`)."""
    regs = tia.regs
    hide = jnp.broadcast_to(jnp.asarray(hide), (2,))
    x = jnp.arange(160)
    out = []
    for p in (0, 1):
        nusiz = regs[NUSIZ0 + p] & 7
        g = jnp.where(regs[VDELP0 + p] & 1, tia.dgrp[p], tia.grp[p])
        d = (x - tia.pos[p]) % 160
        scale = jnp.asarray(PLAYER_SCALE)[nusiz]
        # Copies sit at multiples of 8 columns; stretched players have one copy, a column late.
        in_copy = jnp.where(scale == 1, jnp.asarray(COPY_START)[nusiz][d & ~7], (d >= 1) & (d <= 8 * scale))
        in_copy = in_copy & ~(hide[p] & ((scale > 1) | (d < 8)))
        pixel = jnp.where(scale == 1, d % 8, (d - 1) // scale)
        bit = jnp.where(regs[REFP0 + p] & 8, pixel, 7 - pixel)
        out.append(in_copy & (((g >> bit) & 1) == 1))
    for m in (0, 1):
        nusiz = regs[NUSIZ0 + m]
        width = 1 << ((nusiz >> 4) & 3)
        d = (x - tia.pos[M0 + m]) % 160
        first = jnp.asarray(COPY_START)[nusiz & 7]
        hit = jnp.zeros(160, bool)
        for offset in (0, 16, 32, 64):
            e = (d - offset) % 160
            hit = hit | (first[offset] & (e < width))
        enabled = ((regs[ENAM0 + m] & 2) != 0) & ((regs[RESMP0 + m] & 2) == 0)
        out.append(hit & enabled)
    ball_on = jnp.where(regs[VDELBL] & 1, tia.denabl, (regs[ENABL] & 2) != 0)
    width = 1 << ((regs[CTRLPF] >> 4) & 3)
    out.append(ball_on & (((x - tia.pos[BL]) % 160) < width))
    out.append(playfield(tia, pending))
    return jnp.stack(out)


def playfield(tia: TIA | Registers, pending: jax.Array | bool = False) -> jax.Array:
    """bool[160]: the playfield's columns, reflected as CTRLPF says, or as `reflect` says while a
    late CTRLPF write waits (`pending`)."""
    reflect = jnp.where(pending, tia.reflect, (tia.regs[CTRLPF] & 1) != 0)
    pf_bits = jnp.asarray(PF_BITS)[reflect.astype(jnp.int32)]
    return ((tia.pf >> pf_bits) & 1) == 1


def colours(tia: TIA | Registers, cover: jax.Array) -> jax.Array:
    """uint8[160]: the colour value Stella draws at each column of a line under `cover` (from
    `coverage`) and the current registers."""
    regs = tia.regs
    p0 = cover[P0] | cover[M0]
    p1 = cover[P1] | cover[M1]
    bl, pf = cover[BL], cover[PF]
    score = (regs[CTRLPF] & 2) != 0
    priority = (regs[CTRLPF] & 4) != 0
    left = jnp.arange(160) < 80
    bk_c, pf_c, p0_c, p1_c = (regs[r] & 0xFE for r in (COLUBK, COLUPF, COLUP0, COLUP1))
    score_c = jnp.where(left, p0_c, p1_c)
    # Score mode's left-half playfield wears COLUP0 and so stays in front of player 1.
    pf_left_score = pf & score & left
    normal = jnp.where(bl, pf_c, bk_c)
    normal = jnp.where(pf, jnp.where(score, score_c, pf_c), normal)
    normal = jnp.where(p1 & ~pf_left_score, p1_c, normal)
    normal = jnp.where(p0, p0_c, normal)
    front = jnp.where(p1, p1_c, bk_c)
    front = jnp.where(p0, p0_c, front)
    front = jnp.where(bl | pf, pf_c, front)
    # Stella's fast path for a line with only the playfield enabled keeps the score colours
    # under priority too.
    grp = jnp.where(regs[VDELP0 : VDELP1 + 1] & 1, tia.dgrp, tia.grp)
    ball_on = jnp.where(regs[VDELBL] & 1, tia.denabl, (regs[ENABL] & 2) != 0)
    missiles_on = ((regs[ENAM0 : ENAM1 + 1] & 2) != 0) & ((regs[RESMP0 : RESMP1 + 1] & 2) == 0)
    only_pf = (tia.pf != 0) & jnp.all(grp == 0) & ~ball_on & ~jnp.any(missiles_on)
    front = jnp.where(only_pf & score, jnp.where(pf, score_c, bk_c), front)
    out = jnp.where(priority, front, normal)
    return jnp.where(regs[VBLANK] & 2, 0, out).astype(jnp.uint8)


# The collision replay works on masks of a line's 160 columns packed in 5 words of 32 bits
# (column 32w + b is bit b of word w): it runs once per logged write, and there 15 ANDs of 5 words
# cost a fraction of 15 ANDs of 160 booleans (`benchmarks/RESULTS.md`).
WORDS = 5
_WORD_START = np.arange(WORDS, dtype=np.int32) * 32
_ALL_COLUMNS = np.full(WORDS, 0xFFFFFFFF, np.uint32)
# A nibble's 4 bits as 16 bits, each bit four times: the 16 columns of 4 playfield bits.
_NIBBLE_COLUMNS = np.array([sum(15 << (4 * j) for j in range(4) if n >> j & 1) for n in range(16)], np.uint32)


def pack_columns(mask: np.ndarray | jax.Array) -> np.ndarray:
    """bool[..., 160] -> uint32[..., 5]: a column mask as words."""
    bits = np.asarray(mask, bool).reshape(*np.shape(mask)[:-1], WORDS, 32).astype(np.uint64)
    return (bits << np.arange(32, dtype=np.uint64)).sum(-1).astype(np.uint32)


def unpack_columns(words: jax.Array) -> jax.Array:
    """uint32[..., 5] -> bool[..., 160]: the words of `pack_columns` as a column mask."""
    shifts = jnp.arange(32, dtype=jnp.uint32)
    return ((words[..., None] >> shifts) & 1).astype(bool).reshape(*words.shape[:-1], 160)


@functools.cache
def _object_words() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The masks `coverage` gives an object at column 0, as words: players by (NUSIZ mode, REFP,
    hidden first copy, graphics), missiles by (NUSIZ mode, width), the ball by width."""

    def player(index):
        nusiz, refp, hide, g = index // 1024, (index // 512) & 1, (index // 256) & 1, index & 255
        regs = base.regs.at[NUSIZ0].set(nusiz).at[REFP0].set(refp * 8)
        return coverage(base.replace(regs=regs, grp=base.grp.at[0].set(g)), hide=hide == 1)[P0]

    def missile(index):
        regs = base.regs.at[NUSIZ0].set((index // 4) | ((index & 3) << 4)).at[ENAM0].set(2)
        return coverage(base.replace(regs=regs))[M0]

    def ball(width):
        return coverage(base.replace(regs=base.regs.at[CTRLPF].set(width << 4).at[ENABL].set(2)))[BL]

    # Computed at once even when first asked for inside a trace: the tables are constants of it.
    with jax.ensure_compile_time_eval():
        base = TIA.make().registers()
        table = lambda f, n: pack_columns(jax.vmap(f)(jnp.arange(n)))
        return table(player, 8 * 2 * 2 * 256), table(missile, 8 * 4), table(ball, 4)


def _rotate(words: jax.Array, column: jax.Array) -> jax.Array:
    """The mask of an object drawn at column 0 moved to `column` (0-159), wrapping at 160."""
    doubled = jnp.concatenate([words, words, jnp.zeros(1, jnp.uint32)])
    # Column x of the result is bit x + 160 - column of the doubled mask.
    start = 160 - column
    window = jax.lax.dynamic_slice(doubled, (start >> 5,), (WORDS + 1,))
    shift = (start & 31).astype(jnp.uint32)
    low, high = window[:-1], window[1:]
    return jnp.where(shift == 0, low, (low >> shift) | (high << (32 - shift)))


def _columns_below(k: jax.Array) -> jax.Array:
    """Words with columns 0 to k - 1 set (k in 0-160)."""
    ones = jnp.clip(k - _WORD_START, 0, 32).astype(jnp.uint32)
    return jnp.where(ones >= 32, jnp.uint32(0xFFFFFFFF), (jnp.uint32(1) << ones) - 1)


def playfield_words(pf: jax.Array, reflect: jax.Array) -> jax.Array:
    """`playfield` as words: the 20 bits of `pf` over the left half, then again or reversed."""
    rev = jnp.asarray(REVERSED_BYTES)
    reversed_pf = (rev[pf & 0xFF] << 12) | (rev[(pf >> 8) & 0xFF] << 4) | (rev[(pf >> 16) & 0xF] >> 4)
    right = jnp.where(reflect, reversed_pf, pf)
    nibble = lambda v, k: jnp.asarray(_NIBBLE_COLUMNS)[(v >> (4 * k)) & 0xF]
    return jnp.stack(
        [
            nibble(pf, 0) | (nibble(pf, 1) << 16),
            nibble(pf, 2) | (nibble(pf, 3) << 16),
            nibble(pf, 4) | (nibble(right, 0) << 16),
            nibble(right, 1) | (nibble(right, 2) << 16),
            nibble(right, 3) | (nibble(right, 4) << 16),
        ]
    )


def coverage_words(
    tia: TIA | Registers, hide: jax.Array | bool = False, pending: jax.Array | bool = False
) -> jax.Array:
    """`coverage` as words (uint32[6, 5]), from tables of the objects at column 0 moved to their columns."""
    players, missiles, balls = (jnp.asarray(t) for t in _object_words())
    regs = tia.regs
    hide = jnp.broadcast_to(jnp.asarray(hide), (2,)).astype(jnp.int32)
    out = []
    for p in (0, 1):
        g = jnp.where(regs[VDELP0 + p] & 1, tia.dgrp[p], tia.grp[p]) & 0xFF
        index = (((regs[NUSIZ0 + p] & 7) * 2 + ((regs[REFP0 + p] >> 3) & 1)) * 2 + hide[p]) * 256 + g
        out.append(_rotate(players[index], tia.pos[p]))
    for m in (0, 1):
        nusiz = regs[NUSIZ0 + m]
        enabled = ((regs[ENAM0 + m] & 2) != 0) & ((regs[RESMP0 + m] & 2) == 0)
        out.append(jnp.where(enabled, _rotate(missiles[(nusiz & 7) * 4 + ((nusiz >> 4) & 3)], tia.pos[M0 + m]), 0))
    ball_on = jnp.where(regs[VDELBL] & 1, tia.denabl, (regs[ENABL] & 2) != 0)
    out.append(jnp.where(ball_on, _rotate(balls[(regs[CTRLPF] >> 4) & 3], tia.pos[BL]), 0))
    out.append(playfield_words(tia.pf, jnp.where(pending, tia.reflect, (regs[CTRLPF] & 1) != 0)))
    return jnp.stack(out).astype(jnp.uint32)


def passed_words(a: jax.Array, b: jax.Array, frame_start: jax.Array) -> jax.Array:
    """The columns the beam passes between clocks `a` and `b` (exclusive), as words: column x is
    passed when some line's clock of x falls in [a, b)."""
    span = b - a
    # The line position of clock `a`, counted from column 0's.
    at = (a - frame_start - HBLANK) % LINE
    within = _columns_below(jnp.minimum(at + span, 160)) & ~_columns_below(jnp.minimum(at, 160))
    wrapped = _columns_below(jnp.clip(at + span - LINE, 0, 160))
    words = jnp.where(span >= LINE, jnp.asarray(_ALL_COLUMNS), within | wrapped)
    return jnp.where(span > 0, words, 0).astype(jnp.uint32)


def _collisions(
    r: Registers, last_update: jax.Array, until: jax.Array, frame_start: jax.Array, ystart: int, height: int
) -> tuple[jax.Array, jax.Array]:
    """The collision bits the beam's path from `last_update` to clock `until` (exclusive) latches
    under registers `r`, and the new `last_update`."""
    start_display = frame_start + LINE * ystart
    stop_display = start_display + LINE * height
    lo = jnp.maximum(last_update, start_display)
    hi = jnp.minimum(until, stop_display)
    runs = (until >= start_display) & (last_update < stop_display) & (last_update < until)
    visible = runs & ((r.regs[VBLANK] & 2) == 0)

    def passed(a, b):
        return jnp.where(visible, passed_words(a, b, frame_start), 0).astype(jnp.uint32)

    # A player's hidden first copy shows again from the hide's end: its span splits there. The
    # hidden coverage is part of the full one, so a column passed on both sides counts as full.
    split = jnp.where(r.hidden, jnp.clip(hide_end(r.hidden_from, start_display), lo, hi), lo)
    full, hidden = coverage_words(r), coverage_words(r, hide=True)
    span = passed(lo, hi)
    cover = [full[k] & span for k in range(full.shape[0])]
    for p in (P0, P1):
        cover[p] = (hidden[p] & passed(lo, split[p])) | (full[p] & passed(split[p], hi))
    # So does the playfield while a late CTRLPF write's reflection waits for the end of its line.
    waits = jnp.clip(hide_end(r.reflect_from, start_display), lo, hi)
    cover[PF] = (playfield_words(r.pf, r.reflect) & passed(lo, waits)) | (full[PF] & passed(waits, hi))
    bits = jnp.int32(0)
    for i, (a, b) in enumerate(COLLISION_PAIRS):
        bits = bits | (jnp.any((cover[a] & cover[b]) != 0).astype(jnp.int32) << i)
    return bits, jnp.where(runs, hi, last_update)


def hide_end(since: jax.Array, start_display: jax.Array) -> jax.Array:
    """The clock a mask Stella left at clock `since` is redrawn: a player's first copy hidden by a
    RESPx shows again, a late CTRLPF write's reflection takes over.

    Stella redraws its player and playfield masks when its drawing passes the end of a line, and it
    draws only inside the displayed window: the end of the write's line there, or of the window's
    first line for a write above the window (or below it, in the frame before)."""
    lines = -((start_display - since) // LINE)
    return start_display + LINE * jnp.maximum(lines, 1)


def read_collision(tia: TIA, reg: jax.Array) -> jax.Array:
    """Bits 7 and 6 of collision register `reg` (0-7)."""
    c = tia.collision
    hi = jnp.asarray([0, 2, 4, 6, 8, 10, 12, 13])[reg & 7]
    lo = jnp.asarray([1, 3, 5, 7, 9, 11, -1, 14])[reg & 7]
    return (((c >> hi) & 1) << 7) | jnp.where(lo >= 0, ((c >> jnp.maximum(lo, 0)) & 1) << 6, 0)


# The beam's strobes: they change no drawn register, so they are not logged; the drawing only has
# to reach the last one (`strobe_clock`), as it reaches every write.
_STROBES = (VSYNC, WSYNC, RSYNC)


def record(tia: TIA, reg: jax.Array, value: jax.Array, cycle: jax.Array, active: jax.Array) -> TIA:
    """A register write at system cycle `cycle` (the count after the writing cycle), as far as the
    CPU sees it at once: the frame's end (VSYNC off a line after on, or the beam past scanline 290)
    and the paddle grounding (VBLANK bit 7); the write itself is logged for `latch` and `paint`.
    Nothing unless `active`. WSYNC's stall is the caller's (`wsync_stall`)."""
    clock = cycle.astype(jnp.int32) * 3
    done = tia.frame_done | (active & ((clock - tia.frame_start) // LINE > MAX_SCANLINES))
    is_reg = lambda r: active & (reg == r)
    # VSYNC: on starts the one-line minimum; off after it ends the frame.
    vsync_on = (value & 2) != 0
    ends = is_reg(VSYNC) & ~vsync_on & (clock >= tia.vsync_finish)
    vsync_finish = jnp.where(is_reg(VSYNC) & vsync_on, clock + LINE, jnp.where(ends, NEVER, tia.vsync_finish))
    # VBLANK bit 7 grounds the paddle capacitors; releasing it starts their charge timer.
    new_dump = (value & 0x80) != 0
    dump_enabled = jnp.where(is_reg(VBLANK), new_dump, tia.dump_enabled)
    dump_cycle = jnp.where(is_reg(VBLANK) & tia.dump_enabled & ~new_dump, cycle.astype(jnp.uint32), tia.dump_cycle)
    strobe = active & jnp.isin(reg, jnp.asarray(_STROBES))
    logged = active & ~strobe
    entry = (cycle.astype(jnp.int32) << 14) | ((reg.astype(jnp.int32) & 0x3F) << 8) | (value.astype(jnp.int32) & 0xFF)
    return tia.replace(
        frame_done=done | ends,
        vsync_finish=vsync_finish,
        dump_enabled=dump_enabled,
        dump_cycle=dump_cycle,
        writes=tia.writes.at[jnp.where(logged, tia.write_count, LOG_SIZE)].set(entry, mode="drop"),
        write_count=tia.write_count + logged.astype(jnp.int32),
        strobe_clock=jnp.where(strobe, clock, tia.strobe_clock),
    )


class _Entry(struct.PyTree):
    reg: jax.Array
    value: jax.Array
    hpos: jax.Array  # the beam's colour clock in the line at the write
    at: jax.Array  # the write's own clock
    clock: jax.Array  # the clock the write shows from: its own plus Stella's delay for the register


def _entry(tia: TIA, k: jax.Array) -> _Entry:
    w = tia.writes[k]
    clock = (w >> 14) * 3
    reg = (w >> 8) & 0x3F
    hpos = (clock - tia.frame_start) % LINE
    delay = jnp.asarray(POKE_DELAY)[reg]
    delay = jnp.where(delay < 0, jnp.asarray(PF_DELAY)[(hpos // 3) & 3], delay)
    return _Entry(reg=reg, value=w & 0xFF, hpos=hpos, at=clock, clock=clock + delay)


def _reset_in_copy(r: Registers, e: _Entry, player: int) -> jax.Array:
    """Stella's `when` for write `e` as a RESPx of `player` (-1, 0 or 1: `RESET_WHEN`)."""
    new_x = jnp.where(e.hpos < HBLANK, 3, (e.hpos - HBLANK + 5) % 160)
    return jnp.asarray(RESET_WHEN)[r.regs[NUSIZ0 + player] & 7, (new_x - r.pos[player]) % 160]


def _shown(r: Registers, e: _Entry) -> jax.Array:
    """The clock write `e` shows from under registers `r`: a RESPx into one of the player's copies
    waits `RESET_IN_COPY_DELAY` more clocks."""
    in_copy = jnp.asarray(False)
    for p in (0, 1):
        in_copy = in_copy | ((e.reg == RESP0 + p) & (_reset_in_copy(r, e, p) == 1))
    return e.clock + jnp.where(in_copy, RESET_IN_COPY_DELAY, 0)


def _changed(r: Registers, e: _Entry, shown: jax.Array, start_display: jax.Array) -> Registers:
    """The drawing registers after write `e`, which shows at clock `shown` (the displayed window
    starting at clock `start_display`)."""
    reg, value, hpos = e.reg, e.value, e.hpos
    is_reg = lambda x: reg == x
    regs = r.regs.at[reg].set(value)
    # Playfield bits in beam order: PF0 4-7, PF1 7-0, PF2 0-7.
    rev = jnp.asarray(REVERSED_BYTES)
    pf = r.pf
    pf = jnp.where(is_reg(PF0), (pf & 0xFFFF0) | ((value >> 4) & 0xF), pf)
    pf = jnp.where(is_reg(PF1), (pf & 0xFF00F) | (rev[value & 0xFF] << 4), pf)
    pf = jnp.where(is_reg(PF2), (pf & 0x00FFF) | ((value & 0xFF) << 12), pf)
    # Graphics and their vertical-delay copies.
    grp = jnp.where(is_reg(GRP0), r.grp.at[0].set(value), jnp.where(is_reg(GRP1), r.grp.at[1].set(value), r.grp))
    dgrp = jnp.where(
        is_reg(GRP0), r.dgrp.at[1].set(r.grp[1]), jnp.where(is_reg(GRP1), r.dgrp.at[0].set(r.grp[0]), r.dgrp)
    )
    denabl = jnp.where(is_reg(GRP1), (r.regs[ENABL] & 2) != 0, r.denabl)
    # Position resets, HMOVE, RESMP.
    player_x = jnp.where(hpos < HBLANK, 3, (hpos - HBLANK + 5) % 160)
    other_x = jnp.where(hpos < HBLANK, 2, (hpos - HBLANK + 4) % 160)
    pos = r.pos
    for x, i, new_x in (
        (RESP0, P0, player_x),
        (RESP1, P1, player_x),
        (RESM0, M0, other_x),
        (RESM1, M1, other_x),
        (RESBL, BL, other_x),
    ):
        pos = jnp.where(is_reg(x), pos.at[i].set(new_x), pos)
    since_hmove = e.at - r.hmove_clock
    for x, after, at_hpos, column in RESET_AFTER_HMOVE:
        special = is_reg(x) & (since_hmove == after) & (hpos == at_hpos)
        pos = jnp.where(special, pos.at[x - RESP0].set(column), pos)
    motion = jnp.asarray(HMOVE_MOTION)[e.hpos // 3, (regs[HMP0 : HMBL + 1] >> 4) & 0xF]
    pos = jnp.where(is_reg(HMOVE), (pos + motion) % 160, pos)
    regs = jnp.where(is_reg(HMCLR), regs.at[HMP0 : HMBL + 1].set(0), regs)
    for m in (0, 1):
        released = is_reg(RESMP0 + m) & ((r.regs[RESMP0 + m] & 2) != 0) & ((value & 2) == 0)
        pos = jnp.where(released, pos.at[M0 + m].set((pos[m] + 3) % 160), pos)
    # A RESPx outside the start delay of the player's copies hides its first copy for the rest of
    # the line; a RESPx inside it, NUSIZx or HMOVE restore the full mask (Stella's player masks).
    hidden, hidden_from = r.hidden, r.hidden_from
    for p in (0, 1):
        when = _reset_in_copy(r, e, p)
        hides = is_reg(RESP0 + p) & (when >= 0)
        shows = (is_reg(RESP0 + p) & (when < 0)) | is_reg(NUSIZ0 + p) | is_reg(HMOVE)
        hidden = hidden.at[p].set(jnp.where(hides, True, jnp.where(shows, False, hidden[p])))
        hidden_from = hidden_from.at[p].set(jnp.where(hides, shown, hidden_from[p]))
    # A CTRLPF write late in the line leaves the playfield's reflection as it was until the end of
    # the line (Stella redraws its playfield mask there); an earlier one changes it at once.
    late = is_reg(CTRLPF) & (hpos >= REFLECT_LATE)
    waiting = shown < hide_end(r.reflect_from, start_display)
    in_use = jnp.where(waiting, r.reflect, (r.regs[CTRLPF] & 1) != 0)
    reflect = jnp.where(is_reg(CTRLPF), jnp.where(late, in_use, (value & 1) != 0), r.reflect)
    return Registers(
        regs=regs,
        pf=pf,
        grp=grp,
        dgrp=dgrp,
        denabl=denabl,
        pos=pos,
        hidden=hidden,
        hidden_from=hidden_from,
        reflect=reflect,
        reflect_from=jnp.where(late, shown, r.reflect_from),
        hmove_clock=jnp.where(is_reg(HMOVE), e.at, r.hmove_clock),
    )


def latch(tia: TIA, ystart: int, height: int, clock: jax.Array | None = None) -> TIA:
    """The logged writes not latched yet applied in order: each latches the collisions of the
    beam's path up to its clock under the old registers, then changes its register; then the
    collisions up to the last strobe, or up to `clock` if later (a collision read's: Stella
    draws up to the reading cycle first). Under `vmap` the loop runs to the longest log of the
    batch, carrying only the registers and collisions."""

    start_display = tia.frame_start + LINE * ystart

    def one(k, carry):
        r, collision, last_update = carry
        e = _entry(tia, k)
        until = _shown(r, e)
        bits, last_update = _collisions(r, last_update, until, tia.frame_start, ystart, height)
        collision = jnp.where(e.reg == CXCLR, 0, collision | bits)
        return _changed(r, e, jnp.maximum(until, last_update), start_display), collision, last_update

    r, collision, last_update = jax.lax.fori_loop(
        tia.latched, tia.write_count, one, (tia.registers(), tia.collision, tia.last_update)
    )
    until = tia.strobe_clock if clock is None else jnp.maximum(tia.strobe_clock, clock)
    bits, last_update = _collisions(r, last_update, until, tia.frame_start, ystart, height)
    # A hide or a waiting reflection the beam has drawn past is over (and must not count again
    # once the clock is rebased).
    over = hide_end(r.hidden_from, start_display) <= last_update
    reflected = hide_end(r.reflect_from, start_display) <= last_update
    return tia.replace(
        regs=r.regs,
        pf=r.pf,
        grp=r.grp,
        dgrp=r.dgrp,
        denabl=r.denabl,
        pos=r.pos,
        hidden=r.hidden & ~over,
        hidden_from=r.hidden_from,
        reflect=jnp.where(reflected, (r.regs[CTRLPF] & 1) != 0, r.reflect),
        reflect_from=r.reflect_from,
        hmove_clock=r.hmove_clock,
        collision=collision | bits,
        last_update=last_update,
        latched=tia.write_count,
    )


def paint(tia: TIA, start: Registers, first: jax.Array, ystart: int, hmove_blanks: bool = True) -> TIA:
    """The screen painted from `painted` up to `last_update` (where `latch` left the beam), from
    the logged writes `first` on, `start` being the registers before them.

    Line by line: each of the window's lines replays the writes that show before its end, painting
    the columns each pair of writes encloses with the colours of the registers between them (what
    Stella draws), then the rest of the line. Only the registers and one line travel through the
    loops, so under `vmap` a batch does not copy screens per write."""
    lines = tia.screen.shape[-2]
    if lines == 0:
        return tia.replace(painted=tia.last_update)
    display = tia.frame_start + LINE * ystart
    lo = jnp.maximum(tia.painted, display)
    hi = jnp.minimum(tia.last_update, display + LINE * lines)
    x = jnp.arange(160)

    def blank_line_from(clock):
        """The line whose columns 0-7 an HMOVE blank at `clock` falls on (window lines)."""
        into = clock - display
        return into // LINE + (into % LINE >= HBLANK + 8).astype(jnp.int32)

    def next_clock(k, r, last):
        return jnp.maximum(_shown(r, _entry(tia, k)), last)

    def apply(k, r, last, blank, blank_line):
        e = _entry(tia, k)
        shown = next_clock(k, r, last)
        strobed = (e.reg == HMOVE) & jnp.asarray(HMOVE_BLANK_CYCLES)[e.hpos // 3] & hmove_blanks
        blank_line = jnp.where(blank, blank_line, blank_line_from(shown))
        return _changed(r, e, shown, display), shown, blank | strobed, blank_line

    # The writes that show before the painted range only set registers.
    def before(carry):
        k, r, last, blank, blank_line = carry
        r, last, blank, blank_line = apply(k, r, last, blank, blank_line)
        return k + 1, r, last, blank, blank_line

    count = tia.write_count
    carry = (jnp.asarray(first, jnp.int32), start, lo, tia.hmove_blank, blank_line_from(lo))
    carry = jax.lax.while_loop(lambda c: (c[0] < count) & (next_clock(c[0], c[1], c[2]) <= lo), before, carry)

    def segment(row, r, line, a, b, blank, blank_line):
        """`row` with the columns of `line` the beam passes in [a, b) painted under `r`."""
        t = display + LINE * line + HBLANK + x
        a, b = jnp.maximum(a, lo), jnp.minimum(b, hi)
        black = blank & (line == blank_line) & (x < 8)
        # A hide or a waiting reflection ends at a line's end: it covers this whole line or none of it.
        line_end = display + LINE * (line + 1)
        hide = r.hidden & (line_end <= hide_end(r.hidden_from, display))
        pending = line_end <= hide_end(r.reflect_from, display)
        cover = unpack_columns(coverage_words(r, hide, pending))
        row = jnp.where((t >= a) & (t < b), jnp.where(black, 0, colours(r, cover)), row)
        done = (a < b) & (b >= display + LINE * blank_line + HBLANK + 8)
        return row, blank & ~done

    def one_line(carry, line_and_row):
        line, row = line_and_row
        end = display + LINE * line + LINE

        def write_in_line(c):
            k, r, last, blank, blank_line, row = c
            shown = next_clock(k, r, last)
            row, blank = segment(row, r, line, last, shown, blank, blank_line)
            r, last, blank, blank_line = apply(k, r, last, blank, blank_line)
            return k + 1, r, last, blank, blank_line, row

        k, r, last, blank, blank_line, row = jax.lax.while_loop(
            lambda c: (c[0] < count) & (next_clock(c[0], c[1], c[2]) < end), write_in_line, (*carry, row)
        )
        row, blank = segment(row, r, line, last, end, blank, blank_line)
        return (k, r, jnp.maximum(last, end), blank, blank_line), row

    (_, _, _, blank, _), screen = jax.lax.scan(one_line, carry, (jnp.arange(lines), tia.screen))
    return tia.replace(screen=screen, hmove_blank=blank, painted=tia.last_update)


def write(
    tia: TIA,
    reg: jax.Array,
    value: jax.Array,
    cycle: jax.Array,
    active: jax.Array,
    ystart: int,
    height: int,
    hmove_blanks: bool = True,
) -> TIA:
    """A write with all its effects at once: `record`, `latch`, `paint`. `hmove_blanks` off: an
    HMOVE blanks nothing (the ROMs whose Stella properties turn HMOVE blanks off)."""
    start, first = tia.registers(), tia.latched
    return paint(latch(record(tia, reg, value, cycle, active), ystart, height), start, first, ystart, hmove_blanks)


def wsync_stall(tia: TIA, cycle: jax.Array) -> jax.Array:
    """CPU cycles a WSYNC written at `cycle` halts the CPU: to the start of the next line."""
    frame_cycle = -((-tia.frame_start) // 3)  # C division truncates toward zero
    left = 76 - (cycle.astype(jnp.int32) - frame_cycle) % 76
    return jnp.where(left < 76, left, 0)


def paddle_bit(tia: TIA, resistance: jax.Array, cycle: jax.Array) -> jax.Array:
    """Bit 7 of an INPT0-3 read at `cycle` for a paddle of `resistance` (0: always set,
    0x7FFFFFFF: never): set once the capacitor has charged since the grounding was removed."""
    # Stella: t = 1.6 * R * 0.01 uF, in cycles of 1.19 MHz: R * 119 / 6250.
    needed = (resistance.astype(jnp.int32) * 119 // 6250).astype(jnp.uint32)
    charged = cycle.astype(jnp.uint32) > tia.dump_cycle + needed
    bit = jnp.where(tia.dump_enabled, False, charged)
    bit = jnp.where(resistance == 0, True, jnp.where(resistance == NEVER, False, bit))
    return bit.astype(jnp.int32) << 7


def rebase(tia: TIA, cycles: jax.Array) -> TIA:
    """The TIA at the start of a new frame, with the system clock moved back by `cycles` and an
    empty log: the old frame's writes must be latched (and painted) first."""
    clock = cycles.astype(jnp.int32) * 3
    into_line = (clock - tia.frame_start) % LINE
    return tia.replace(
        frame_start=-into_line,
        last_update=-into_line,
        strobe_clock=-into_line,
        painted=-into_line,
        write_count=jnp.zeros_like(tia.write_count),
        latched=jnp.zeros_like(tia.latched),
        vsync_finish=tia.vsync_finish - clock,
        hidden_from=jnp.where(tia.hidden, tia.hidden_from - clock, 0),
        reflect_from=jnp.where(tia.reflect != ((tia.regs[CTRLPF] & 1) != 0), tia.reflect_from - clock, 0),
        # Only an HMOVE less than a line back matters (`RESET_AFTER_HMOVE`); an older one stays
        # a line back rather than count down for ever.
        hmove_clock=jnp.maximum(tia.hmove_clock, clock - LINE) - clock,
        dump_cycle=tia.dump_cycle - cycles.astype(jnp.uint32),
        frame_done=jnp.asarray(False),
    )


# The fields `rebase` moves; the rest (the log, the screen, the registers) it leaves as they are.
_REBASED = (
    "frame_start",
    "last_update",
    "strobe_clock",
    "painted",
    "write_count",
    "latched",
    "vsync_finish",
    "hidden_from",
    "reflect_from",
    "hmove_clock",
    "dump_cycle",
    "frame_done",
)


def next_frame(tia: TIA, cycles: jax.Array) -> TIA:
    """The TIA at the start of ALE's next frame, the system clock at `cycles`: after a frame that
    ended, `rebase`d, and the frame buffers swapped (Stella's: the new frame draws over the one
    before the last, which shows wherever a short frame draws nothing); after one that the
    instruction cap cut short, as it was (Stella then starts no new frame: the frame goes on,
    with its clock, log, beam and buffer, the caller's clock unmoved)."""
    new = tia.frame_done
    rebased = rebase(tia, cycles)
    moved = {k: jnp.where(new, getattr(rebased, k), getattr(tia, k)) for k in _REBASED}
    return tia.replace(**moved, screen=jnp.where(new, tia.back, tia.screen), back=jnp.where(new, tia.screen, tia.back))
