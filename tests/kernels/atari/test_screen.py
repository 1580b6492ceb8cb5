"""The TIA's pixels: NTSC palette, Stella's object priorities and score mode, VBLANK, HMOVE blanks, mid-line writes."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymx.kernels.atari import cartridge, palette, tia
from gymx.kernels.atari import machine as M

BK, PF, P0, P1 = 0x02, 0x44, 0x86, 0xC8  # colour values of COLUBK, COLUPF, COLUP0, COLUP1 in these tests

_write = jax.jit(tia.write, static_argnums=(5, 6))
_colours = jax.jit(lambda t: tia.colours(t, tia.coverage(t)))


def write(t: tia.TIA, reg: int, value: int, cycle: int) -> tia.TIA:
    """A write with the displayed window starting at the frame's first line."""
    return _write(t, jnp.int32(reg), jnp.int32(value), jnp.int32(cycle), jnp.asarray(True), 0, t.screen.shape[0] or 1)


def _line(ctrlpf: int = 0, pf: int = 0, grp0: int = 0, grp1: int = 0, vblank: int = 0) -> tia.TIA:
    """Registers for one line: the test colours (COLUBK with bit 0 set), playfield bits `pf` (20
    bits in beam order), player 0 at column 20 and player 1 at column 60, one copy each."""
    t = tia.TIA.make()
    regs = t.regs
    for reg, value in (
        (tia.COLUBK, BK | 1),
        (tia.COLUPF, PF),
        (tia.COLUP0, P0),
        (tia.COLUP1, P1),
        (tia.CTRLPF, ctrlpf),
        (tia.VBLANK, vblank),
    ):
        regs = regs.at[reg].set(value)
    return t.replace(
        regs=regs,
        pf=jnp.int32(pf),
        grp=jnp.asarray([grp0, grp1], jnp.int32),
        pos=jnp.asarray([20, 60, 0, 0, 0], jnp.int32),
    )


def test_palette_matches_ale_tables():
    values = np.array([[0x00, 0x0E, 0x1E, 0x44, 0xFE]], np.uint8)
    assert np.asarray(palette.rgb(values)).tolist() == [
        [[0, 0, 0], [236, 236, 236], [252, 252, 84], [184, 50, 50], [252, 224, 112]]
    ]
    assert np.asarray(palette.grayscale(values)).tolist() == [[0, 236, 233, 90, 220]]


def test_players_in_front_of_playfield_and_background():
    left_pf = 0xFFC00  # the right 10 bits of the 20: columns 40-79 and 120-159
    row = np.asarray(_colours(_line(pf=left_pf, grp0=0xFF, grp1=0xFF)))
    assert row[0] == BK  # register bit 0 is not shown
    assert row[20:28].tolist() == [P0] * 8  # on background
    assert row[60:68].tolist() == [P1] * 8  # on playfield
    assert row[40] == PF and row[59] == PF and row[68] == PF


def test_playfield_priority_puts_playfield_and_ball_in_front():
    row = np.asarray(_colours(_line(ctrlpf=4, pf=0xFFC00, grp0=0xFF, grp1=0xFF)))
    assert row[20] == P0 and row[60] == PF


def test_score_mode_colours_the_halves_with_the_players():
    row = np.asarray(_colours(_line(ctrlpf=2, pf=0xFFFFF)))
    assert row[:80].tolist() == [P0] * 80 and row[80:].tolist() == [P1] * 80
    # The left half's playfield wears COLUP0 and hides player 1.
    row = np.asarray(_colours(_line(ctrlpf=2, pf=0xFFFFF, grp1=0xFF)))
    assert row[60] == P0
    # Under priority the score colours stay only while nothing but the playfield is enabled.
    assert np.asarray(_colours(_line(ctrlpf=6, pf=0xFFFFF)))[10] == P0
    assert np.asarray(_colours(_line(ctrlpf=6, pf=0xFFFFF, grp1=0x01)))[10] == PF


def test_vblank_is_black():
    assert not np.asarray(_colours(_line(pf=0xFFFFF, grp0=0xFF, vblank=2))).any()


def test_mid_line_colour_write_splits_the_line():
    t = tia.TIA.make(2)
    t = write(t, tia.COLUBK, 0x10, 1)
    t = write(t, tia.COLUBK, 0x20, 40)  # clock 120: column 52 onwards
    t = write(t, tia.COLUBK, 0x30, 76 + 70)  # clock 438: column 142 of line 1
    t = write(t, tia.VSYNC, 0, 76 * 3)
    screen = np.asarray(t.screen)
    assert screen[0, :52].tolist() == [0x10] * 52
    assert screen[0, 52:].tolist() == [0x20] * 108
    assert screen[1, :142].tolist() == [0x20] * 142 and screen[1, 142:].tolist() == [0x30] * 18


def test_hmove_in_horizontal_blank_blanks_eight_columns_once():
    t = write(tia.TIA.make(2), tia.COLUBK, 0x10, 1)
    t = write(t, tia.HMOVE, 0, 3)
    t = write(t, tia.VSYNC, 0, 76 * 3)
    screen = np.asarray(t.screen)
    assert screen[0, :8].tolist() == [0] * 8 and screen[0, 8:].tolist() == [0x10] * 152
    assert screen[1].tolist() == [0x10] * 160
    # Strobed in the visible part of the line, HMOVE blanks nothing.
    t = write(tia.TIA.make(2), tia.COLUBK, 0x10, 1)
    t = write(write(t, tia.HMOVE, 0, 40), tia.VSYNC, 0, 76 * 3)
    assert (np.asarray(t.screen) == 0x10).all()


def test_hmove_moves_by_stellas_table_for_the_cycle_it_is_strobed_at():
    """HMP0 = $70 (seven columns left) moves player 0 seven columns at cycle 3, five at cycle 6
    (Beam Rider's ship) and none at cycle 30; HMP0 = 0 moves it one column right at cycle 13 and
    eight left at cycle 74; $80 moves it eight right wherever the blank still is."""

    def moved(hmp0: int, cycle: int) -> int:
        t = write(tia.TIA.make(1), tia.HMP0, hmp0, 0)
        t = t.replace(pos=t.pos.at[tia.P0].set(60))
        return int(write(t, tia.HMOVE, 0, cycle).pos[tia.P0]) - 60

    assert [moved(0x70, c) for c in (3, 6, 30)] == [-7, -5, 0]
    assert [moved(0x00, c) for c in (3, 13, 74)] == [0, 1, -8]
    assert [moved(0x80, c) for c in (3, 15, 20)] == [8, 8, 8]


def _reflection_test_line(late_cycle: int) -> tia.TIA:
    """Two lines of playfield bit 0 (columns 0-3, and 80-83 or 156-159 reflected) and an 8-wide
    ball at columns 150-157, reflected from the first line's start and switched to normal at
    `late_cycle` of the first line."""
    t = tia.TIA.make(2)
    t = t.replace(pos=t.pos.at[tia.BL].set(150))
    for reg, value in ((tia.COLUBK, BK), (tia.COLUPF, PF), (tia.PF0, 0x10), (tia.ENABL, 2), (tia.CTRLPF, 0x31)):
        t = write(t, reg, value, 0)
    t = write(t, tia.CTRLPF, 0x30, late_cycle)
    return write(t, tia.VSYNC, 0, 76 * 2)


def test_playfield_reflection_written_late_in_the_line_waits_for_its_end():
    # Cycle 50 is colour clock 150, column 82: the right half still shows reflected on this line.
    t = _reflection_test_line(50)
    screen = np.asarray(t.screen)
    # Columns 158-159: the playfield's, past the ball (drawn in COLUPF too).
    assert screen[0, 158:].tolist() == [PF] * 2 and screen[0, 80] == BK
    assert screen[1, 80:84].tolist() == [PF] * 4 and screen[1, 158] == BK
    assert (int(t.collision) >> tia.COLLISION_PAIRS.index((tia.BL, tia.PF))) & 1  # the ball met it
    # Cycle 40 is colour clock 120, column 52: the reflection changes at once.
    t = _reflection_test_line(40)
    screen = np.asarray(t.screen)
    assert screen[0, 80:84].tolist() == [PF] * 4 and screen[0, 158] == BK
    assert not (int(t.collision) >> tia.COLLISION_PAIRS.index((tia.BL, tia.PF))) & 1


def test_ball_reset_seven_cycles_after_hmove_at_clock_30_lands_on_column_6():
    """Stella's Robot Tank rule: RESBL at colour clock 30, 21 clocks after an HMOVE, puts the ball
    at column 6, not at the horizontal blank's column 2; at any other distance it is column 2."""
    t = write(tia.TIA.make(1), tia.HMOVE, 0, 3)
    assert int(write(t, tia.RESBL, 0, 10).pos[tia.BL]) == 6
    assert int(write(write(tia.TIA.make(1), tia.HMOVE, 0, 2), tia.RESBL, 0, 10).pos[tia.BL]) == 2
    # An HMOVE of the frame before counts across the frame's start: that frame ends at cycle 5.
    ended = tia.next_frame(t.replace(frame_done=jnp.asarray(True)), jnp.uint32(5))
    assert int(write(ended, tia.RESBL, 0, 5).pos[tia.BL]) == 6
    assert int(write(ended, tia.RESBL, 0, 6).pos[tia.BL]) == 2


def test_no_screen_unless_asked():
    assert tia.TIA.make().screen.shape == (0, 160)
    assert tia.TIA.make(210).screen.shape == (210, 160)
    with pytest.raises(ValueError, match="screen lines must be >= 0"):
        tia.TIA.make(-1)
    cart = cartridge.detect(bytes(range(256)) * 16)
    assert M.Machine(cart).new_tia().screen.shape == (0, 160)
    assert M.Machine(cart, pixels=True).new_tia().screen.shape == (210, 160)
    # Only the screen call of a pixel-less emulator matters here, not its 60 start-up frames.
    blind = M.Emulator.__new__(M.Emulator)
    blind.machine = M.Machine(cart)
    with pytest.raises(ValueError, match="draws no pixels"):
        blind.screen()


_record = jax.jit(tia.record)
_latch = jax.jit(tia.latch, static_argnums=(1, 2))
_paint = jax.jit(tia.paint, static_argnums=(3, 4))


def test_logged_writes_replayed_once_give_what_each_write_gave_at_once():
    """A frame's writes recorded and then latched and painted in one pass (what `Machine` does)
    leave the same screen, collisions, positions and HMOVE blank as each write applied at once:
    random writes to every drawn register, strobes, HMOVEs in and out of horizontal blank, and
    writes before, inside and after an 8-line window."""
    rng = np.random.default_rng(7)
    drawn = [r for r in range(0x2D) if r not in (tia.VSYNC, tia.RSYNC)]
    cycle = 0
    writes = []
    for _ in range(300):
        cycle += int(rng.integers(3, 12))
        reg = int(rng.choice(drawn))
        value = int(rng.integers(0, 256)) & ~(0xC0 if reg == tia.VBLANK else 0)  # keep the paddles ungrounded
        writes.append((reg, value, cycle))
    ystart, height = 2, 8
    at_once = tia.TIA.make(height)
    logged = tia.TIA.make(height)
    start = logged.registers()
    for reg, value, cycle in writes:
        args = (jnp.int32(reg), jnp.int32(value), jnp.int32(cycle), jnp.asarray(True))
        at_once = _write(at_once, *args, ystart, height)
        logged = _record(logged, *args)
    assert int(logged.write_count) == sum(reg != tia.WSYNC for reg, _, _ in writes)
    replayed = _paint(_latch(logged, ystart, height), start, jnp.int32(0), ystart, True)
    assert (np.asarray(at_once.screen) != 0).any()  # the window shows something
    for field in ("screen", "collision", "pos", "regs", "reflect", "last_update", "hmove_blank", "painted"):
        np.testing.assert_array_equal(getattr(replayed, field), getattr(at_once, field), err_msg=field)


def test_a_new_frame_draws_over_the_older_buffer_and_a_cut_frame_goes_on():
    """Stella draws frames into two buffers by turns, so a frame shows the one before the last
    wherever it draws nothing; a frame that the instruction cap cut short is not a new frame:
    its clock, log and buffer go on unmoved."""
    t = write(tia.TIA.make(2), tia.COLUBK, 0x10, 1)
    t = t.replace(screen=jnp.full((2, 160), 1, jnp.uint8), back=jnp.full((2, 160), 2, jnp.uint8))
    ended = tia.next_frame(t.replace(frame_done=jnp.asarray(True)), jnp.uint32(100))
    assert (np.asarray(ended.screen) == 2).all() and (np.asarray(ended.back) == 1).all()
    assert int(ended.frame_start) == -(300 % tia.LINE) and int(ended.write_count) == 0
    cut = t.replace(frame_done=jnp.asarray(False))
    goes_on = tia.next_frame(cut, jnp.uint32(100))
    for field in ("screen", "back", "frame_start", "write_count", "latched", "painted"):
        np.testing.assert_array_equal(getattr(goes_on, field), getattr(cut, field), err_msg=field)
