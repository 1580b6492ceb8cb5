"""The 2600 around the CPU: cartridge detection and bank switching, the RIOT timer, TIA timing."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from gymx.kernels.atari import cartridge, riot, tia


def _image(size: int, superchip: bool = False) -> bytes:
    rng = np.random.default_rng(size)
    rom = rng.integers(0, 256, size, dtype=np.uint8)
    banks = rom.reshape(-1, min(size, 4096))
    if superchip:
        banks[:, :256] = 0xFF
    else:
        banks[:, 0] = banks[:, 1] ^ 1  # the RAM area is not one repeated byte
    return rom.tobytes()


@pytest.mark.parametrize(
    "size, superchip, name, start",
    [
        (2048, False, "2K", 0),
        (4096, False, "4K", 0),
        (8192, False, "F8", 1),
        (16384, False, "F6", 0),
        (32768, False, "F4", 0),
        (8192, True, "F8SC", 1),
        (16384, True, "F6SC", 0),
        (32768, True, "F4SC", 0),
    ],
)
def test_detect_schemes_and_start_banks(size, superchip, name, start):
    cart = cartridge.detect(_image(size, superchip))
    assert cart.name == name
    assert cart.scheme.start_bank == start
    assert cart.image.size == max(size, 4096)


def test_detect_mirrored_images():
    half = _image(2048)
    assert cartridge.detect(half + half).name == "2K"
    four = _image(4096)
    assert cartridge.detect(four + four).name == "4K"


def test_detect_refuses_unknown_size():
    with pytest.raises(ValueError, match="unsupported cartridge size 3000"):
        cartridge.detect(bytes(3000))


def test_two_k_rom_is_mirrored():
    data = _image(2048)
    cart = cartridge.detect(data)
    got = cartridge.rom_byte(cart, jnp.int32(0), jnp.asarray([0x1000, 0x1800, 0x17FF, 0x1FFF]))
    assert list(np.asarray(got)) == [data[0], data[0], data[0x7FF], data[0x7FF]]


def test_f6_hotspots_switch_on_real_accesses_only():
    cart = cartridge.detect(_image(16384))
    bank = jnp.int32(0)
    addr = jnp.asarray([0x1FF8, 0x1FF7, 0x1FF9])
    assert int(cartridge.touch(cart, bank, addr, jnp.asarray([True, True, False]))) == 1
    assert int(cartridge.touch(cart, bank, addr, jnp.asarray([False, False, False]))) == 0
    # A hotspot offset without A12 (a TIA/RIOT address) does not switch.
    assert int(cartridge.touch(cart, bank, jnp.asarray([0x0FF9]), jnp.asarray([True]))) == 0
    # The last hotspot access of the instruction wins.
    assert int(cartridge.touch(cart, bank, jnp.asarray([0x1FF9, 0x1FF6]), jnp.asarray([True, True]))) == 0


def test_f4_bank_bytes_follow_the_bank():
    data = _image(32768)
    cart = cartridge.detect(data)
    for bank in range(8):
        assert int(cartridge.rom_byte(cart, jnp.int32(bank), jnp.int32(0x1123))) == data[bank * 4096 + 0x123]


def test_superchip_ports():
    cart = cartridge.detect(_image(8192, superchip=True))
    addr = jnp.asarray([0x1000, 0x107F, 0x1080, 0x10FF, 0x1100])
    assert list(np.asarray(cartridge.superchip_write(cart, addr))) == [True, True, False, False, False]
    assert list(np.asarray(cartridge.superchip_read(cart, addr))) == [False, False, True, True, False]


def _timer(value, shift, at=0):
    return riot.write(
        riot.RIOT.make(),
        jnp.int32(0x294 + {0: 0, 3: 1, 6: 2, 10: 3}[shift]),
        jnp.int32(value),
        jnp.int32(at),
        jnp.asarray(True),
    )


def test_timer_counts_down_per_interval():
    r = _timer(10, 6, at=100)
    # Stella's INTIM: value - (cycles - 1 - set) / 64 - 1, from the read's cycle count.
    reads = {101: 9, 164: 9, 165: 8, 100 + 64 * 10: 0}
    for cycle, want in reads.items():
        value, _ = riot.read_timer(r, jnp.uint32(cycle))
        assert int(value) == want, cycle


def test_timer_underflow_counts_per_cycle_and_flags_interrupt():
    r = _timer(2, 3, at=0)  # expires after 3 intervals of 8 cycles
    # 24 cycles after the write: (2 << 3) - 24 - 1 = -9, two or more past zero, so this read
    # marks the interrupt seen and already answers from its own cycle: 2 - 3 - (25 - 16) = -10.
    value, r1 = riot.read_timer(r, jnp.uint32(1 + 24))
    assert int(value) == 0xF6 and bool(r1.irq_seen)
    assert int(riot.read_status(r, jnp.uint32(25))) == 0x80
    assert int(riot.read_status(r1, jnp.uint32(25))) == 0  # the INTIM read cleared it
    # After the flagged read the timer counts on from that read's cycle.
    later, _ = riot.read_timer(r1, jnp.uint32(35))
    assert int(later) == (2 - (34 >> 3) - (25 - 16)) & 0xFF
    # Writing the timer again clears the flag.
    assert not bool(riot.write(r1, jnp.int32(0x296), jnp.int32(5), jnp.int32(40), jnp.asarray(True)).irq_seen)


def test_timer_write_sets_each_divider():
    for addr, shift in ((0x294, 0), (0x295, 3), (0x296, 6), (0x297, 10)):
        r = riot.write(riot.RIOT.make(), jnp.int32(addr), jnp.int32(7), jnp.int32(3), jnp.asarray(True))
        assert (int(r.shift), int(r.timer), int(r.set_cycle)) == (shift, 7, 3)
    untouched = riot.write(riot.RIOT.make(), jnp.int32(0x296), jnp.int32(7), jnp.int32(3), jnp.asarray(False))
    assert int(untouched.timer) == 0


def test_rebase_keeps_the_timer_reading():
    r = _timer(50, 6, at=1000)
    before, _ = riot.read_timer(r, jnp.uint32(3000))
    after, _ = riot.read_timer(r.rebase(jnp.uint32(2500)), jnp.uint32(500))
    assert int(before) == int(after)


def test_wsync_stalls_to_the_line_end():
    t = tia.TIA.make()
    assert int(tia.wsync_stall(t, jnp.int32(10))) == 66
    assert int(tia.wsync_stall(t, jnp.int32(76))) == 0
    # A frame that started 30 clocks (10 cycles) into a line keeps the beam phase.
    shifted = tia.rebase(t, jnp.uint32(10))
    assert int(tia.wsync_stall(shifted, jnp.int32(0))) == 66


def _tia_write(t: tia.TIA, reg: int, value: int, cycle: int) -> tia.TIA:
    """One TIA register write on `cycle`, with ALE's usual display window (lines 34 to 243)."""
    return tia.write(t, jnp.int32(reg), jnp.int32(value), jnp.int32(cycle), jnp.asarray(True), 34, 210)


def test_vsync_ends_frame_only_after_a_line():
    t = tia.TIA.make()
    t = _tia_write(t, tia.VSYNC, 2, 10)
    assert not bool(_tia_write(t, tia.VSYNC, 0, 40).frame_done)
    assert bool(_tia_write(t, tia.VSYNC, 0, 10 + 76).frame_done)


def test_ball_and_playfield_collide_in_the_displayed_window_only():
    t = tia.TIA.make()
    t = _tia_write(t, tia.PF0, 0xF0, 1)  # playfield columns 0-15 and 80-95
    t = _tia_write(t, tia.ENABL, 2, 2)
    t = t.replace(pos=t.pos.at[tia.BL].set(5))
    t = _tia_write(t, tia.CXCLR, 0, 3)
    early = _tia_write(t, tia.CXCLR, 0, 76 * 30)  # lines 0-29: outside the window, nothing latched
    assert int(early.collision) == 0
    assert int(tia.read_collision(_tia_write(t, tia.HMCLR, 0, 76 * 40), jnp.int32(6))) == 0x80


@pytest.fixture(scope="module")
def pong():
    ale_py = pytest.importorskip("ale_py", reason="the ROMs come from ale-py, which is not installed")
    import jax
    from gymx.kernels.atari import machine

    m = machine.Machine.for_rom(ale_py.roms.get_rom_path("pong"))
    return m, jax.jit(m.frame), jax.jit(jax.vmap(lambda cpu, c, a: m.frame(cpu, m.apply_action(c, a))))


def test_pong_frames_are_262_lines(pong):
    m, frame, _ = pong
    cpu, console, _ = m.power_on()
    assert m.cart.name == "2K" and m.controls.swap_paddles
    cpu, console = frame(cpu, console)  # from power-on to the first VSYNC: a partial frame
    assert 0 < int(cpu.cycles) < 262 * 76
    for _ in range(3):
        cpu, console = frame(cpu, console)
        # The frame ended on VSYNC off, and WSYNC stalls made every line exactly 76 cycles.
        assert bool(console.tia.frame_done)
        assert int(cpu.cycles) == 262 * 76


def _assert_same_console(batch, i: int, single) -> None:
    """Console `i` of a batched (cpu, console) equals `single` in every field."""
    import jax

    for (path, want), got in zip(jax.tree_util.tree_leaves_with_path(single), jax.tree.leaves(batch)):
        assert np.array_equal(np.asarray(got[i]), np.asarray(want)), (
            f"console {i}: {jax.tree_util.keystr(path)} differs"
        )


def test_batched_frames_match_single_consoles(pong):
    import jax
    from gymx.kernels.atari import machine

    m, frame, batched = pong
    cpu, console, _ = m.power_on()
    console = console.replace(paddles=jnp.full(2, machine.PADDLE_DEFAULT, jnp.int32))
    actions = jnp.asarray([machine.NOOP, machine.LEFT])
    # The second console one frame ahead: the first's next frame is the short one from power-on.
    singles = [(cpu, console), frame(cpu, console)]
    bcpu, bcon = jax.tree.map(lambda a, b: jnp.stack([a, b]), *singles)
    for _ in range(4):
        bcpu, bcon = batched(bcpu, bcon, actions)
        singles = [frame(p, m.apply_action(c, a)) for (p, c), a in zip(singles, [machine.NOOP, machine.LEFT])]
    # Every field, the TIA's write log included: the batch's loop runs on while either console's
    # frame goes on, and must leave the one whose frame is over exactly as it would stand alone.
    for i, single in enumerate(singles):
        _assert_same_console((bcpu, bcon), i, single)
    assert int(bcon.paddles[1, 0]) == machine.PADDLE_DEFAULT + 4 * machine.PADDLE_DELTA
    assert int(bcon.frame[0]) + 1 == int(bcon.frame[1])


def test_a_console_whose_frame_ended_waits_untouched_for_its_batch():
    """Two consoles of one batch run frames of different lengths; the one that ends first executes
    its next instruction (INC $80) only in its next frame, however long the other one runs on."""
    import jax
    from gymx.kernels.atari import machine

    program = bytes.fromhex(
        "a9028500"  # LDA #2; STA VSYNC
        "85028502"  # STA WSYNC x2: VSYNC on for a line
        "a681"  # LDX $81: this console's lines
        "8502cad0fb"  # STA WSYNC; DEX; BNE
        "a9008500"  # LDA #0; STA VSYNC: the frame ends here
        "e680"  # INC $80
        "4c00f0"  # JMP $F000
    )
    rom = bytearray(4096)
    rom[: len(program)] = program
    rom[0xFFC:0xFFE] = b"\x00\xf0"  # reset vector
    m = machine.Machine(cartridge.detect(bytes(rom)))
    cpu, console, _ = m.power_on()
    consoles = [console.replace(ram=console.ram.at[0:2].set(jnp.asarray([0, lines], jnp.uint8))) for lines in (3, 40)]
    singles = [(cpu, c) for c in consoles]
    batch = jax.tree.map(lambda a, b: jnp.stack([a, b]), *singles)
    frame, batched = jax.jit(m.frame), jax.jit(jax.vmap(m.frame))
    # Under a `cond` with a batched predicate (an env skipping finished episodes) every operand is
    # batched, the frame's constants included.
    gated = jax.jit(jax.vmap(lambda go, p, c: jax.lax.cond(go, m.frame, lambda *s: s, p, c)))
    both = batch
    for _ in range(3):
        batch = batched(*batch)
        both = gated(jnp.asarray([True, True]), *both)
        singles = [frame(*s) for s in singles]
    for i, single in enumerate(singles):
        assert int(single[1].ram[0]) == 2  # INC ran once after each frame but the last
        _assert_same_console(batch, i, single)
        _assert_same_console(both, i, single)


def test_console_switches_follow_ale_difficulty():
    from gymx.kernels.atari import machine

    cart = cartridge.detect(_image(4096))
    assert machine.Machine(cart).switches == 0x3F  # both switches at B, colour, RESET/SELECT up
    assert machine.Machine(cart, difficulty=1).switches == 0x7F
    assert machine.Machine(cart, difficulty=3).switches == 0xFF
    with pytest.raises(ValueError, match="difficulty must be 0-3"):
        machine.Machine(cart, difficulty=4)


def test_actions_drive_ports():
    from gymx.kernels.atari import machine

    cart = cartridge.detect(_image(4096))
    joystick = machine.Machine(cart)
    swcha, resistance, fire = joystick.ports(jnp.zeros(2, jnp.int32), True, True, False, False, True)
    # Player A's stick is the high nibble, active low: up (bit 4) and right (bit 7) pressed.
    assert int(swcha) == 0x6F and list(np.asarray(fire)) == [0x00, 0x80]
    assert list(np.asarray(resistance)) == [machine.INFINITE_RESISTANCE] * 4
    pong = machine.Machine(cart, machine.Controls("PADDLES", "PADDLES", swap_paddles=True))
    swcha, resistance, fire = pong.ports(jnp.asarray([1000, 2000], jnp.int32), True, False, False, False, False)
    # Swapped pair: player A's paddle is read on INPT1 and its button on pin 3 (bit 6).
    assert list(np.asarray(resistance)) == [2000, 1000, 0, 0]
    assert int(swcha) == 0xBF and list(np.asarray(fire)) == [0x80, 0x80]


@pytest.mark.parametrize(
    "size, code, name",
    [
        (8192, b"\x85\x3e\xa9\x00", "3E"),
        (8192, b"\x85\x3f\x00\x85\x3f", "3F"),
        (8192, b"\x8d\x40\x02", "UA"),
        (16384, b"\x85\x3f\x00\x85\x3f", "3F"),
        (32768, b"\x85\x3e\xa9\x00", "3E"),
    ],
)
def test_signatures_name_the_other_formats_and_are_refused(size, code, name):
    rom = bytearray(_image(size))
    assert cartridge.stella_type(bytes(rom)) in ("F8", "F6", "F4")
    rom[0x200 : 0x200 + len(code)] = code
    assert cartridge.stella_type(bytes(rom)) == name
    with pytest.raises(ValueError, match=f"the {name} cartridge format"):
        cartridge.detect(bytes(rom))


def test_e0_switches_each_segment_to_the_touched_slice_and_keeps_the_last():
    rom = bytearray(_image(8192))
    rom[0x200:0x203] = b"\x8d\xe0\x1f"  # STA $1FE0: E0's signature
    cart = cartridge.detect(bytes(rom))
    assert cart.name == "E0"
    image = np.frombuffer(bytes(rom), np.uint8)
    # One address in each 1 KB segment of the window.
    addrs = jnp.asarray([0x1005, 0x1405, 0x1805, 0x1C05])
    slices = lambda bank: list(np.asarray(cartridge.rom_byte(cart, bank, addrs)))
    expect = lambda pieces: [image[p * 1024 + 5] for p in pieces]
    bank = jnp.int32(cart.scheme.start_bank)
    assert slices(bank) == expect([4, 5, 6, 7])  # Stella's reset: slices 4, 5, 6; segment 3 fixed at 7
    # Touch $1FE2 (segment 0 <- 2), a non-hotspot, $1FF1 (segment 2 <- 1), and an inactive $1FEB.
    touched = jnp.asarray([0x1FE2, 0x1FDF, 0x1FF1, 0x1FEB])
    bank = cartridge.touch(cart, bank, touched, jnp.asarray([True, True, True, False]))
    assert slices(bank) == expect([2, 5, 1, 7])
    bank = cartridge.touch(cart, bank, jnp.asarray([0x1FEF, 0x1FF8]), jnp.asarray([True, True]))
    assert slices(bank) == expect([2, 7, 1, 7])  # $1FF8 is past the hotspots


def test_fe_bank_is_the_address_line_a13():
    rom = bytearray(_image(8192))
    rom[0x200:0x205] = b"\x20\x00\xd0\xc6\xc5"  # JSR $D000: an FE game's signature
    cart = cartridge.detect(bytes(rom))
    assert cart.name == "FE"
    image = np.frombuffer(bytes(rom), np.uint8)
    got = cartridge.rom_byte(cart, jnp.int32(0), jnp.asarray([0xF123, 0xD123, 0x1123, 0x3123]))
    assert list(np.asarray(got)) == [image[0x123], image[0x1123], image[0x1123], image[0x123]]
    # Nothing the CPU touches switches it.
    assert int(cartridge.touch(cart, jnp.int32(0), jnp.asarray([0x1FF8, 0x1FE0]), jnp.asarray([True, True]))) == 0


def test_a_single_3f_store_is_not_a_signature():
    rom = bytearray(_image(8192))
    rom[0x200:0x202] = b"\x85\x3f"
    assert cartridge.stella_type(bytes(rom)) == "F8"


def test_e7_is_named_by_its_ram_area():
    rom = bytearray(_image(16384))
    rom[0x3800:0x3A00] = bytes(0x200)
    assert cartridge.stella_type(bytes(rom)) == "E7"
