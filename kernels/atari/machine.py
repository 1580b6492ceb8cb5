"""The Atari 2600: the 6507 wired to the RIOT, the TIA and a cartridge, stepped a frame at a time as ALE steps it.

`Console` is one machine's whole state (a pytree; add a leading axis for many). `Machine` holds
what all consoles of a batch share: the cartridge, the controllers ALE plugs in for that ROM, the
displayed window, and whether the TIA draws it (`pixels`: off, a run pays only for collisions;
on, the console carries the window's colour values, which `palette` turns into RGB or grey). Its
`frame` runs instructions until the TIA ends the frame, which is ALE's unit of emulation.

The bus: the CPU core reads through `Machine.peek`, which decodes the 13-bit address (TIA at A12=0
A7=0, RIOT RAM at A7=1 A9=0, RIOT I/O at A7=1 A9=1, cartridge at A12=1) and answers device
registers as they stand at the instruction's reading cycle (the last cycle for loads, the third
from last for read-modify-writes); instruction and pointer fetches see memory only. The commit
(`Machine._commit`) then applies the instruction's traffic: hotspot accesses switch banks (only
reads the 6502 really makes count), an INTIM read marks a seen timer interrupt, and the written
byte reaches RAM, RIOT, cartridge or TIA on the instruction's last cycle. A WSYNC write stretches
the instruction to the end of the scanline, the way Stella adds the halted cycles to the system
clock. The last TIA and RIOT writes are kept in a small ring (`log`: frame, cycle, address,
value) so a parity failure can show what the program did last. TIA writes are recorded and
logged (`tia.record`); their collisions are latched when a collision register is read and at the
frame's end, and the frame is painted once at its end, so the instruction loop does no drawing.

ALE's frame: the system clock is moved back to zero at each frame start (Stella's
`resetCycles`), keeping the beam's position in the line, and the frame ends after the
instruction that switched VSYNC off (or after 25,000 instructions, Stella's cap per update).
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
from collections.abc import Iterable

import jax
import jax.numpy as jnp
import numpy as np
from gymx.kernels.atari import cartridge as cart_lib
from gymx.kernels.atari import cpu as cpu_lib
from gymx.kernels.atari import riot as riot_lib
from gymx.kernels.atari import tia as tia_lib

from gymx import struct

MAX_INSTRUCTIONS_PER_FRAME = 25_000
LOG_SIZE = 16
SYSTEM_SEED = 4753849  # ALE's system_random_seed: power-on RAM and the timer's reset value

# ALE's paddle model: positions are resistances, moved 23,000 per frame by LEFT/RIGHT.
PADDLE_MIN, PADDLE_MAX, PADDLE_DELTA = 27450, 790196, 23000
PADDLE_DEFAULT = (PADDLE_MIN + PADDLE_MAX) // 2
NO_RESISTANCE, INFINITE_RESISTANCE = 0, 0x7FFFFFFF

# ALE action ids (player A).
NOOP, FIRE, UP, RIGHT, LEFT, DOWN = 0, 1, 2, 3, 4, 5
UPRIGHT, UPLEFT, DOWNRIGHT, DOWNLEFT = 6, 7, 8, 9
UPFIRE, RIGHTFIRE, LEFTFIRE, DOWNFIRE = 10, 11, 12, 13
UPRIGHTFIRE, UPLEFTFIRE, DOWNRIGHTFIRE, DOWNLEFTFIRE = 14, 15, 16, 17
RESET = 40  # ALE's console-reset pseudo action
_RIGHTS = (RIGHT, UPRIGHT, DOWNRIGHT, RIGHTFIRE, UPRIGHTFIRE, DOWNRIGHTFIRE)
_LEFTS = (LEFT, UPLEFT, DOWNLEFT, LEFTFIRE, UPLEFTFIRE, DOWNLEFTFIRE)
_UPS = (UP, UPRIGHT, UPLEFT, UPFIRE, UPRIGHTFIRE, UPLEFTFIRE)
_DOWNS = (DOWN, DOWNRIGHT, DOWNLEFT, DOWNFIRE, DOWNRIGHTFIRE, DOWNLEFTFIRE)
_FIRES = (FIRE, UPFIRE, RIGHTFIRE, LEFTFIRE, DOWNFIRE, UPRIGHTFIRE, UPLEFTFIRE, DOWNRIGHTFIRE, DOWNLEFTFIRE)


@dataclasses.dataclass(frozen=True)
class Controls:
    """The controllers in each port ("JOYSTICK" or "PADDLES") and whether a paddle pair is swapped,
    as the ROM's properties in ALE's Stella set them."""

    left: str = "JOYSTICK"
    right: str = "JOYSTICK"
    swap_paddles: bool = False


# Properties ALE's Stella has for the ROMs this module is checked against (by md5).
CONTROLS = {
    "60e0ea3cbe0913d39803477945e9e5ec": Controls("PADDLES", "PADDLES", True),  # Pong (Video Olympics)
    "f34f08e5eb96e500e851a80be3277a56": Controls("PADDLES", "JOYSTICK", False),  # Breakout
    # The other games checked here are joystick games (Stella's default controllers).
}

# ROMs whose properties in ALE's Stella move the displayed window's first line (Display.YStart; 34 otherwise).
YSTART = {"484b0076816a104875e00467d431c2d2": 40}  # Q*bert

# ROMs whose properties in ALE's Stella turn the HMOVE blanks off (Emulation.HmoveBlanks "NO").
NO_HMOVE_BLANKS = frozenset(
    {
        "87e79cd41ce136fd4f72cc6e2c161bee",  # Ms. Pac-Man
        "41f252a66c6301f1e8ab3612c19bc5d4",  # Battle Zone
    }
)


class Console(struct.PyTree):
    """One 2600's state: CPU, RIOT RAM and timer, TIA, cartridge bank and RAM, inputs."""

    cpu: cpu_lib.CPU
    ram: jax.Array  # uint8[128]
    bank: jax.Array  # int32
    cart_ram: jax.Array  # uint8[128] (Superchip)
    riot: riot_lib.RIOT
    tia: tia_lib.TIA
    swcha: jax.Array  # int32: port A as the controllers drive it
    swchb: jax.Array  # int32: console switches
    resistance: jax.Array  # int32[4]: INPT0-3
    fire: jax.Array  # int32[2]: INPT4/5 bit 7
    paddles: jax.Array  # int32[2]: ALE's paddle positions (players A, B)
    read_cycle: jax.Array  # int32: cycle count at the current instruction's operand read
    noise: jax.Array  # int32: the data bus before that read (undriven TIA bits)
    frame: jax.Array  # int32: frames emulated
    log: jax.Array  # int32[LOG_SIZE, 4]: frame, cycle, address, value of recent TIA/RIOT writes
    log_pos: jax.Array  # int32


def _bcast(mask, new, old):
    return jax.tree.map(lambda n, o: jnp.where(mask, n, o), new, old)


@dataclasses.dataclass(frozen=True)
class Machine:
    """What a batch of consoles shares: the cartridge, controllers, displayed window, whether the
    TIA draws it (`pixels`), ALE's `difficulty` (bit 0: left difficulty switch at A, bit 1:
    right at A), and whether an HMOVE blanks the line's first 8 columns (`hmove_blanks`)."""

    cart: cart_lib.Cartridge
    controls: Controls = Controls()
    ystart: int = 34
    height: int = 210
    difficulty: int = 0
    pixels: bool = False
    hmove_blanks: bool = True

    def __post_init__(self):
        if self.difficulty not in range(4):
            raise ValueError(f"difficulty must be 0-3 (bit 0 left switch, bit 1 right switch); got {self.difficulty}")

    @property
    def switches(self) -> int:
        """SWCHB with no console button held: colour TV, the difficulty switches, unused bits high."""
        return 0x3F | ((self.difficulty & 1) << 6) | ((self.difficulty & 2) << 6)

    @classmethod
    def for_rom(cls, path, difficulty: int = 0, pixels: bool = False) -> Machine:
        """The machine for a ROM file, with the controllers ALE's Stella plugs in for it."""
        cart = cart_lib.load(path)
        return cls(
            cart,
            CONTROLS.get(cart.md5, Controls()),
            ystart=YSTART.get(cart.md5, 34),
            difficulty=difficulty,
            pixels=pixels,
            hmove_blanks=cart.md5 not in NO_HMOVE_BLANKS,
        )

    def new_tia(self) -> tia_lib.TIA:
        """A reset TIA, with a screen of the displayed window when this machine draws pixels."""
        return tia_lib.TIA.make(self.height if self.pixels else 0)

    # ---- bus ---------------------------------------------------------------------------------
    def peek(self, c: Console, addr: jax.Array) -> jax.Array:
        """The byte at `addr`. Only a single address (the CPU's operand read) is answered by the
        TIA and RIOT registers; the instruction and pointer fetches see memory (ROM, RAM)."""
        full = jnp.asarray(addr, jnp.int32)
        a = full & 0x1FFF
        is_cart = (a & 0x1000) != 0
        rom = cart_lib.rom_byte(self.cart, c.bank, full)  # the FE scheme reads A13
        cart = jnp.where(cart_lib.superchip_read(self.cart, a), c.cart_ram[a & 0x7F].astype(jnp.int32), rom)
        memory = jnp.where(is_cart, cart, c.ram[a & 0x7F].astype(jnp.int32))
        if a.ndim:
            return memory
        is_device = ~is_cart & ((a & 0x280) != 0x80)
        return jax.lax.cond(is_device, lambda: self._device_read(c, a), lambda: memory)

    def _device_read(self, c: Console, a: jax.Array) -> jax.Array:
        timer, _ = riot_lib.read_timer(c.riot, c.read_cycle)
        status = riot_lib.read_status(c.riot, c.read_cycle)
        io = jnp.stack([c.swcha, c.riot.ddra, c.swchb, jnp.int32(0), timer, status, timer, status])[a & 7]
        reg = a & 0xF
        paddle = tia_lib.paddle_bit(c.tia, c.resistance[reg & 3], c.read_cycle)
        tia = jnp.where(
            reg < 8,
            tia_lib.read_collision(c.tia, reg),
            jnp.where(reg < 12, paddle, jnp.where(reg < 14, c.fire[reg & 1], 0)),
        )
        tia = tia | (c.noise & 0x3F)
        return jnp.where((a & 0x1280) == 0x280, io, tia)

    def step(self, cpu: cpu_lib.CPU, c: Console, active: jax.Array | bool = True) -> tuple[cpu_lib.CPU, Console]:
        """One instruction. With `active` False the instruction touches no memory or device (its
        accesses are dropped: a console whose frame is over, stepped with its batch); the caller
        keeps the old registers, `read_cycle` and `noise`."""
        opcode, op1, op2 = cpu_lib.fetch(cpu, c, self)
        row = cpu_lib.decode(jnp.where(cpu.jammed, 0x02, opcode))
        start = cpu.cycles.astype(jnp.int32)
        rmw = (row["writes"] == 1) & (row["reads"] == 1)
        read_cycle = start + row["cycles"] - jnp.where(rmw, 2, 0)
        c = c.replace(read_cycle=read_cycle, noise=self._bus_before_operand(cpu, c, row["ea"], op1, op2))
        new_cpu, acc = cpu_lib.execute(cpu, c, self, op1, op2, row, stella_decimal=True)
        # A collision read must see the logged TIA writes latched and the beam's path drawn up to
        # the reading cycle: latch and run the instruction again. A loop of at most one pass
        # rather than a `cond`: under `vmap` it runs only when some console of the batch needs it
        # (a `cond` would become a select that latches for every console on every instruction).
        # The log and the screen stay out of its carry, which under `vmap` is selected per pass.
        operand = acc.read_addr[5] & 0x1FFF
        reads_collision = active & acc.read_active[5] & ((operand & 0x1080) == 0) & ((operand & 0xF) < 8)
        held = dict(writes=c.tia.writes, screen=c.tia.screen)

        def latch_and_rerun(carry):
            _, _, tia, _ = carry
            tia = tia_lib.latch(tia.replace(**held), self.ystart, self.height, read_cycle * 3)
            again, acc_again = cpu_lib.execute(cpu, c.replace(tia=tia), self, op1, op2, row, stella_decimal=True)
            return again, acc_again, tia.replace(writes=None, screen=None), jnp.asarray(False)

        new_cpu, acc, tia, _ = jax.lax.while_loop(
            lambda carry: carry[3],
            latch_and_rerun,
            (new_cpu, acc, c.tia.replace(writes=None, screen=None), reads_collision),
        )
        acc = acc.replace(read_active=acc.read_active & active, write_active=acc.write_active & active)
        c, stall = self._commit(c.replace(tia=tia.replace(**held)), acc, start, row)
        return new_cpu.replace(cycles=new_cpu.cycles + stall.astype(jnp.uint32)), c

    def _bus_before_operand(
        self, cpu: cpu_lib.CPU, c: Console, ea: jax.Array, op1: jax.Array, op2: jax.Array
    ) -> jax.Array:
        """The data bus just before the operand read, as far as a TIA read shows it (its undriven
        bits): the last byte Stella's 6502 read before. The address's high byte (absolute), the
        pointer's high byte ((zp,X), (zp),Y), the byte at the unindexed address for zp,X/Y (a dummy
        read; a TIA register there drives only bits 6-7, so the bus keeps the operand byte). The
        dummy read of an indexed read that crosses a page lands on a TIA register whenever the
        operand is one, and so leaves the bus as it was."""
        pointer = (op1 + jnp.where(ea == 7, cpu.X.astype(jnp.int32), 0) + 1) & 0xFF
        near = c.ram[jnp.stack([op1, pointer]) & 0x7F].astype(jnp.int32)  # zero-page pointers live in RAM
        return jnp.select(
            [(ea == 2) | (ea == 3), (ea >= 4) & (ea <= 6), (ea == 7) | (ea == 8)],
            [jnp.where(op1 >= 0x80, near[0], op1), op2, near[1]],
            op1,
        )

    def _commit(self, c: Console, acc: cpu_lib.Accesses, start: jax.Array, row) -> tuple[Console, jax.Array]:
        ra = acc.read_addr & 0x1FFF
        # The operand read of INTIM marks a seen interrupt.
        operand = ra[5]
        reads_timer = acc.read_active[5] & ((operand & 0x1280) == 0x280) & ((operand & 5) == 4)
        _, riot_after = riot_lib.read_timer(c.riot, c.read_cycle)
        riot = _bcast(reads_timer, riot_after, c.riot)

        wa = acc.write_addr & 0x1FFF
        bank = cart_lib.touch(
            self.cart, c.bank, jnp.concatenate([ra, wa]), jnp.concatenate([acc.read_active, acc.write_active])
        )
        # RAM (and stack) writes, every slot.
        is_ram = acc.write_active & ((wa & 0x1280) == 0x80)
        ram = c.ram.at[jnp.where(is_ram, wa & 0x7F, 128)].set(acc.write_value.astype(jnp.uint8), mode="drop")
        sc = acc.write_active & cart_lib.superchip_write(self.cart, wa)
        cart_ram = c.cart_ram.at[jnp.where(sc, wa & 0x7F, 128)].set(acc.write_value.astype(jnp.uint8), mode="drop")
        # Device writes: the first slot (the others are stack pushes), on the instruction's last cycle.
        addr, value, active = wa[0], acc.write_value[0], acc.write_active[0]
        cycle = start + acc.cycles - (row["writes"] - 1)
        to_tia = active & ((addr & 0x1080) == 0)
        to_io = active & ((addr & 0x1280) == 0x280)
        riot = riot_lib.write(riot, addr, value, cycle, to_io)
        reg = addr & 0x3F
        tia = tia_lib.record(c.tia, reg, value, cycle, to_tia)
        stall = jnp.where(to_tia & (reg == tia_lib.WSYNC), tia_lib.wsync_stall(c.tia, cycle), 0)
        logged = to_tia | to_io
        entry = jnp.stack([c.frame, cycle, addr, value])
        log = jnp.where(logged, c.log.at[c.log_pos % LOG_SIZE].set(entry), c.log)
        log_pos = c.log_pos + logged.astype(jnp.int32)
        c = c.replace(ram=ram, cart_ram=cart_ram, bank=bank, riot=riot, tia=tia, log=log, log_pos=log_pos)
        return c, stall

    # ---- frames ------------------------------------------------------------------------------
    def frame(self, cpu: cpu_lib.CPU, c: Console) -> tuple[cpu_lib.CPU, Console]:
        """One ALE frame: rebase the clock, then instructions until the frame ends. A frame that
        the instruction cap cut short goes on instead, unrebased (`tia_lib.next_frame`)."""
        cycles = jnp.where(c.tia.frame_done, cpu.cycles, jnp.zeros_like(cpu.cycles))
        c = c.replace(tia=tia_lib.next_frame(c.tia, cpu.cycles), riot=c.riot.rebase(cycles))
        cpu = cpu.replace(cycles=cpu.cycles - cycles)
        start, first, back = c.tia.registers(), c.tia.latched, c.tia.back
        # The other frame buffer stays out of the instruction loop's carry.
        cpu, c = self._instructions(cpu, c.replace(tia=c.tia.replace(back=None)))
        tia = tia_lib.latch(c.tia, self.ystart, self.height)
        tia = tia_lib.paint(tia, start, first, self.ystart, self.hmove_blanks)
        return cpu, c.replace(tia=tia.replace(back=back), frame=c.frame + 1)

    def _instructions(self, cpu: cpu_lib.CPU, c: Console) -> tuple[cpu_lib.CPU, Console]:
        """Instructions until the frame ends (or `MAX_INSTRUCTIONS_PER_FRAME`).

        Batched, the loop runs while any console's frame goes on. `vmap`'s own rule for a
        `while_loop` would select every carried array after every pass, the TIA's write log of
        every console included (7,400 words each: half of an instruction's time); here `step`
        drops a finished console's accesses instead, and only its registers are selected."""

        def live(carry):
            _, con, n = carry
            return ~con.tia.frame_done & (n < MAX_INSTRUCTIONS_PER_FRAME)

        def body(carry, active=True):
            p, con, n = carry
            p, con = self.step(p, con, active)
            return p, con, n + 1

        # The unbatched loop sits in a `jit` of its own: its constants (ROM, decode tables) stay
        # inside it, where a batched caller (a `cond` under `vmap` batches every operand) cannot
        # batch them, which `custom_vmap` refuses.
        @jax.custom_batching.custom_vmap
        @jax.jit
        def run(cpu, c):
            return jax.lax.while_loop(live, body, (cpu, c, jnp.int32(0)))[:2]

        @run.def_vmap
        def run_batched(axis_size, in_batched, cpu, c):
            cpu, c = jax.tree.map(
                lambda x, batched: x if batched else jnp.broadcast_to(x, (axis_size, *jnp.shape(x))),
                (cpu, c),
                tuple(in_batched),
            )

            def batch_body(carry):
                active = jax.vmap(live)(carry)
                p, con, _ = jax.vmap(body)(carry, active)
                # `step` left a finished console's memory and devices alone: keep its registers.
                keep = lambda new, old: jnp.where(active.reshape(-1, *[1] * (new.ndim - 1)), new, old)
                p, read_cycle, noise = jax.tree.map(
                    keep, (p, con.read_cycle, con.noise), (carry[0], carry[1].read_cycle, carry[1].noise)
                )
                return p, con.replace(read_cycle=read_cycle, noise=noise), carry[2] + active

            out = jax.lax.while_loop(
                lambda carry: jnp.any(jax.vmap(live)(carry)), batch_body, (cpu, c, jnp.zeros(axis_size, jnp.int32))
            )[:2]
            return out, jax.tree.map(lambda _: True, out)

        return run(cpu, c)

    # ---- inputs ------------------------------------------------------------------------------
    def apply_action(self, c: Console, action: jax.Array, paddle_strength: float = 1.0) -> Console:
        """Set the ports for one frame of player A's ALE `action` (player B idle), as ALE does:
        paddles move by their delta first, then buttons and console switches are read from it."""
        action = jnp.asarray(action, jnp.int32)
        member = lambda xs: jnp.isin(action, jnp.asarray(xs))
        fire = member(_FIRES)
        reset = action == RESET
        paddles = c.paddles
        if "PADDLES" in (self.controls.left, self.controls.right):
            delta = int(PADDLE_DELTA * abs(paddle_strength))
            move = jnp.where(member(_RIGHTS), -delta, jnp.where(member(_LEFTS), delta, 0))
            paddles = paddles.at[0].set(jnp.clip(paddles[0] + move, PADDLE_MIN, PADDLE_MAX))
        swcha, resistance, fire_bits = self.ports(
            paddles, fire, member(_UPS), member(_DOWNS), member(_LEFTS), member(_RIGHTS)
        )
        swchb = jnp.int32(self.switches) & ~jnp.where(reset, 1, 0)
        return c.replace(swcha=swcha, swchb=swchb, resistance=resistance, fire=fire_bits, paddles=paddles)

    def press_select(self, c: Console) -> Console:
        """The ports with only the console's SELECT switch pressed."""
        swcha, resistance, fire_bits = self.ports(c.paddles, False, False, False, False, False)
        return c.replace(swcha=swcha, swchb=jnp.int32(self.switches & ~2), resistance=resistance, fire=fire_bits)

    def ports(self, paddles, fire, up, down, left, right):
        """SWCHA, INPT0-3 resistances and INPT4/5 for player A's inputs (player B idle)."""
        controls = self.controls
        swcha = jnp.int32(0)
        resistance = []
        fires = []
        for port, kind in enumerate((controls.left, controls.right)):
            shift = 4 if port == 0 else 0
            if kind == "PADDLES":
                # Port 0 carries paddles 0/1 (player A's is paddle 0), port 1 paddles 2/3 (idle, zero resistance).
                if port == 0:
                    zero, one = paddles[0], paddles[1]
                    pressed_zero = jnp.asarray(fire)
                    five, nine = (zero, one) if controls.swap_paddles else (one, zero)
                    three_pressed, four_pressed = (
                        (pressed_zero, False) if controls.swap_paddles else (False, pressed_zero)
                    )
                else:
                    five = nine = jnp.int32(NO_RESISTANCE)
                    three_pressed = four_pressed = False
                pins = 0x3 | (jnp.where(three_pressed, 0, 0x4)) | (jnp.where(four_pressed, 0, 0x8))
                resistance += [nine, five]
                fires.append(jnp.int32(0x80))
            else:
                if port == 0:
                    pins = jnp.where(up, 0, 1) | jnp.where(down, 0, 2) | jnp.where(left, 0, 4) | jnp.where(right, 0, 8)
                    fires.append(jnp.where(fire, 0, 0x80).astype(jnp.int32))
                else:
                    pins = jnp.int32(0xF)
                    fires.append(jnp.int32(0x80))
                resistance += [jnp.int32(INFINITE_RESISTANCE)] * 2
            swcha = swcha | (jnp.asarray(pins, jnp.int32) << shift)
        return swcha, jnp.stack([jnp.asarray(r, jnp.int32) for r in resistance]), jnp.stack(fires)

    # ---- power and reset ---------------------------------------------------------------------
    def power_on(self) -> tuple[cpu_lib.CPU, Console, SystemRandom]:
        """The console as ALE's Stella builds it: RAM from the system generator (seeded with
        ALE's fixed seed), then the reset (which draws the timer's start value)."""
        rng = SystemRandom(SYSTEM_SEED)
        ram = np.array([rng.next() & 0xFF for _ in range(128)], np.uint8)
        rng.next()  # the RIOT constructor's reset draws a timer value that the system reset replaces
        tia = self.new_tia()
        swcha, resistance, fire = self.ports(
            jnp.asarray([NO_RESISTANCE] * 2, jnp.int32), False, False, False, False, False
        )
        c = Console(
            cpu=cpu_lib.CPU.make(),
            ram=jnp.asarray(ram),
            bank=jnp.int32(self.cart.scheme.start_bank),
            cart_ram=jnp.zeros(128, jnp.uint8),
            riot=riot_lib.RIOT.make(),
            tia=tia,
            swcha=swcha,
            swchb=jnp.int32(0x3F),
            resistance=resistance,
            fire=fire,
            paddles=jnp.asarray([NO_RESISTANCE] * 2, jnp.int32),
            read_cycle=jnp.int32(0),
            noise=jnp.int32(0),
            frame=jnp.int32(0),
            log=jnp.zeros((LOG_SIZE, 4), jnp.int32),
            log_pos=jnp.int32(0),
        )
        cpu, c = self.system_reset(c, rng)
        return cpu, c, rng

    def system_reset(self, c: Console, rng: SystemRandom) -> tuple[cpu_lib.CPU, Console]:
        """Stella's `System::reset`: RIOT timer (random start), TIA registers, cartridge bank and
        Superchip RAM, then the CPU (A=X=Y=0, S=$FF, PC from the reset vector); RAM is kept."""
        timer = 25 + rng.next() % 75
        cart_ram = c.cart_ram
        if self.cart.superchip:
            cart_ram = jnp.asarray([rng.next() & 0xFF for _ in range(128)], jnp.uint8)
        c = c.replace(
            riot=riot_lib.RIOT.make(timer=timer),
            tia=self.new_tia(),
            cart_ram=cart_ram,
            bank=jnp.int32(self.cart.scheme.start_bank),
        )
        vector = self.peek(c, jnp.asarray([cpu_lib.RESET_VECTOR, cpu_lib.RESET_VECTOR + 1]))
        cpu = cpu_lib.CPU.make(S=0xFF, P=0x20, PC=vector[0] | (vector[1] << 8), cycles=0)
        return cpu, c


class SystemRandom:
    """std::mt19937 seeded with one integer (Stella's system generator): 32-bit outputs."""

    def __init__(self, seed: int):
        self._bits = np.random.MT19937()
        self._bits._legacy_seeding(seed)

    def next(self) -> int:
        return int(self._bits.random_raw())


@dataclasses.dataclass(frozen=True)
class Menu:
    """A `setMode` that walks an options menu with the joystick, each action followed by a NOOP
    frame (Double Dunk's): SELECT opens the menu; per bit of the mode, in order, DOWN moves the
    cursor (RAM `cursor_ram` changes) `downs` items, then RIGHT or LEFT until the option's bit in
    RAM `options_ram` is set or clear as the mode's bit says; then RESET and the actions `after`."""

    cursor_ram: int
    options_ram: int
    options: tuple[tuple[int, int], ...]  # per mode bit: (downs, option bit)
    after: tuple[int, ...] = ()


@dataclasses.dataclass(frozen=True)
class GameReset:
    """What ALE's reset does for one game beyond the common part: the RAM byte its `setMode`
    reads (None: the game has no `setMode`; one that has presses SELECT until that byte equals
    the mode, then soft-resets), the mode, the frames SELECT is held per press, starting actions.
    A game whose mode selection watches a second byte (`variant_ram`) lists, per mode, the values
    both bytes must reach (`targets`, indexed by mode) instead of the mode itself; a game whose
    `setMode` walks a menu describes it in `menu` instead of `mode_ram`. A game whose title screen
    shows the mode with an offset (`title_offset`: James Bond's +$48) takes either value; one whose
    `setMode` soft-resets before it presses SELECT (Gopher's) says so in `soft_reset_first`."""

    mode_ram: int | None = None
    mode: int = 0
    select_frames: int = 1
    starting_actions: tuple[int, ...] = ()
    variant_ram: int | None = None
    targets: tuple[tuple[int, int], ...] = ()
    menu: Menu | None = None
    title_offset: int = 0
    soft_reset_first: bool = False

    def wanted(self) -> tuple[int, ...]:
        """The values of the watched bytes (`mode_ram`, then `variant_ram` if any) once the mode is selected."""
        return self.targets[self.mode] if self.variant_ram is not None else (self.mode,)

    def selected(self, watched: tuple[int, ...]) -> bool:
        """Whether the watched bytes show the mode selected."""
        return watched == self.wanted() or (self.title_offset != 0 and watched == (self.mode + self.title_offset,))


@dataclasses.dataclass(frozen=True)
class Act:
    """One frame of `action` through ALE's `act`: counted in the episode's frames, reached by sticky actions."""

    action: int


@dataclasses.dataclass(frozen=True)
class Raw:
    """One frame through ALE's `emulate` (not counted, no sticky draw): `action`, or only SELECT
    pressed. `forget`: afterwards the action in effect is NOOP again (the end of ALE's `softReset`)."""

    action: int = NOOP
    select: bool = False
    forget: bool = False


@dataclasses.dataclass(frozen=True)
class Until:
    """`Act(action)` then `Act(NOOP)`, repeated until RAM byte `ram` has changed from its value when
    the loop began (`mask` 0) or has its `mask` bits set (`on`) or clear; checked before each repeat."""

    action: int
    ram: int
    mask: int = 0
    on: bool = True


def soft_reset() -> tuple[Raw, ...]:
    """ALE's `softReset`: RESET held `SOFT_RESET_FRAMES` frames, then NOOP in effect."""
    return (Raw(RESET),) * (SOFT_RESET_FRAMES - 1) + (Raw(RESET, forget=True),)


def menu_program(menu: Menu, mode: int, starting_actions: tuple[int, ...]) -> tuple[Act | Raw | Until, ...]:
    """The rest of ALE's reset for a game whose `setMode` walks `menu`: the walk, ALE's second
    soft reset and the starting actions."""
    ops: list[Act | Raw | Until] = [Raw(select=True), Act(NOOP)]
    for bit, (downs, option) in enumerate(menu.options):
        ops += [Until(DOWN, menu.cursor_ram)] * downs
        on = ((mode >> bit) & 1) == 1
        ops.append(Until(RIGHT if on else LEFT, menu.options_ram, option, on))
    ops += soft_reset()
    ops += [Act(action) for action in menu.after]
    ops += soft_reset()
    ops += [Raw(action) for action in starting_actions]
    return tuple(ops)


@dataclasses.dataclass(frozen=True)
class ResetOutcome:
    """One console a reset can end in, with its probability as a polynomial in the sticky-action
    probability p: the sum over `terms` (coefficient, kept, taken) of coefficient * p**kept * (1 - p)**taken."""

    cpu: cpu_lib.CPU
    console: Console
    episode_frame: int
    terms: tuple[tuple[float, int, int], ...]

    def probability(self, repeat_action_probability: float) -> float:
        return _sticky_probability(self.terms, repeat_action_probability)


def _sticky_probability(terms: Iterable[tuple[float, int, int]], p: float) -> float:
    return sum(c * p**kept * (1 - p) ** taken for c, kept, taken in terms)


@dataclasses.dataclass(frozen=True)
class _Branch:
    """A reset in progress: the console, the action in effect, the frame count, the place in the
    program (`pc`; `step` 1 inside an `Until` between its action and its NOOP; `watched` the byte
    its loop began with, -1 none), and how many ways, with how many sticky draws kept and taken, lead here."""

    cpu: cpu_lib.CPU
    console: Console
    previous: int
    episode_frame: int
    pc: int
    step: int
    watched: int
    terms: collections.Counter

    def next(
        self, pc: int, step: int, watched: int, action: int, counted: bool = False, draw: tuple[int, int] = (0, 0)
    ) -> _Branch:
        """This branch after a frame (its console still to be emulated) with `action` in effect;
        `draw`: the sticky draw it took (kept, taken)."""
        terms = collections.Counter({(k + draw[0], t + draw[1]): c for (k, t), c in self.terms.items()})
        return _Branch(self.cpu, self.console, action, self.episode_frame + counted, pc, step, watched, terms)

    def probability(self, p: float) -> float:
        return _sticky_probability(((c, k, t) for (k, t), c in self.terms.items()), p)

    def key(self) -> tuple:
        """Equal for branches that will behave alike from here on."""
        state = b"".join(np.asarray(x).tobytes() for x in jax.tree_util.tree_leaves((self.cpu, self.console)))
        return (self.previous, self.episode_frame, self.pc, self.step, self.watched, hashlib.sha1(state).digest())


def _merge(branches: dict[tuple, _Branch], branch: _Branch) -> None:
    key = branch.key()
    if key in branches:
        branch = dataclasses.replace(branch, terms=branches[key].terms + branch.terms)
    branches[key] = branch


GAME_RESETS = {
    "60e0ea3cbe0913d39803477945e9e5ec": GameReset(mode_ram=0x96, select_frames=2),  # Pong
    "f34f08e5eb96e500e851a80be3277a56": GameReset(mode_ram=0xB2, select_frames=1),  # Breakout
    "72ffbef6504b75e69ee1045af9075f66": GameReset(mode_ram=0xDC, select_frames=2),  # Space Invaders
    "8e0ab801b1705a740b476b7f588c6d16": GameReset(mode_ram=0x80, select_frames=1),  # Freeway
    "89a68746eff7f266bbf08de2483abe55": GameReset(starting_actions=(FIRE,)),  # Asterix
    # Ms. Pac-Man: mode 0 is the standard game (game 1, variation 1), modes 1-3 the games without variation.
    "87e79cd41ce136fd4f72cc6e2c161bee": GameReset(
        mode_ram=0x99, select_frames=10, variant_ram=0xA1, targets=((1, 1), (1, 0), (2, 0), (3, 0))
    ),
    "79ab4123a83dc11d468fb2108ea09e2e": GameReset(starting_actions=(RIGHT,)),  # Beam Rider
    "94b92a882f6dbaa6993a46e2dcc58402": GameReset(starting_actions=(FIRE,)),  # Enduro
    "41f252a66c6301f1e8ab3612c19bc5d4": GameReset(mode_ram=0xA1, mode=1, select_frames=2),  # Battle Zone (modes 1-3)
    "36306070f0c90a72461551a7a4f3a209": GameReset(mode_ram=0xDE, mode=0x08, select_frames=2),  # Name This Game
    "085322bae40d904f53bdcc56df0593fc": GameReset(mode_ram=0xAB, select_frames=2),  # Tutankham (modes 0, 4, 8, 12)
    "e51030251e440cffaab1ac63438b44ae": GameReset(mode_ram=0x8C, select_frames=20, title_offset=0x48),  # James Bond
    "9ad36e699ef6f45d9eb6c4cf90475c9f": GameReset(mode_ram=0x8D, select_frames=2),  # Atlantis
    "4326edb70ff20d0ee5ba58fa5cb09d60": GameReset(mode_ram=0xBA, select_frames=2, title_offset=0x80),  # Kangaroo
    "c9b7afad3bfd922e006a6bfc1d4f3fe7": GameReset(mode_ram=0x82, select_frames=2),  # Bowling
    "91c2098e88a6b13f977af8c003e0bca5": GameReset(mode_ram=0xA7, mode=0x16, select_frames=2),  # Centipede
    "4ca73eb959299471788f0b685c3ba0b5": GameReset(mode_ram=0x80, select_frames=1),  # Frostbite
    "00ce0bdd43aed84a983bef38fe7f5ee3": GameReset(mode_ram=0x80, select_frames=1),  # Bank Heist
    "c1cb228470a87beb5f36e90ac745da26": GameReset(mode_ram=0xE0, select_frames=2),  # Chopper Command
    "eea0da9b987d661264cce69a7c13c3bd": GameReset(mode_ram=0x82, select_frames=10),  # Zaxxon
    "a3c1c70024d7aabb41381adbfb6d3b25": GameReset(mode_ram=0xF4, select_frames=15),  # Star Gunner
    "fca4a5be1251927027f2c24774a02160": GameReset(mode_ram=0x80, select_frames=1),  # H.E.R.O.
    "c16c79aad6272baffb8aae9a7fff0864": GameReset(  # Gopher
        mode_ram=0xD3, select_frames=5, soft_reset_first=True, starting_actions=(FIRE,)
    ),
    # Double Dunk: the mode's bits switch the options 3 points, 10 seconds, 3 seconds and fouls.
    "368d88a6c071caba60b4f778615aae94": GameReset(
        menu=Menu(0xB0, 0x80, ((2, 0x08), (1, 0x10), (1, 0x04), (1, 0x20)), after=(UPFIRE, NOOP)),
        starting_actions=(UPFIRE,),
    ),
}

NOOP_RESET_FRAMES = 60
SOFT_RESET_FRAMES = 4
DISPLAY_DETECT_FRAMES = 60
MAX_SELECT_PRESSES = 256  # Name This Game heeds SELECT only after waits of 128 and 256 frames (about 130 presses)
MAX_MENU_FRAMES = 4 * MAX_SELECT_PRESSES
BRANCH_BATCH = 16  # consoles per call when a menu walk follows its sticky branches


class Emulator:
    """One console driven eagerly the way ale-py drives Stella (a debugging and parity tool; the
    batched environments build on `Machine.frame`). Each frame is one jitted call."""

    def __init__(self, machine: Machine):
        self.machine = machine
        self.game = GAME_RESETS.get(machine.cart.md5, GameReset())
        self._emulate = jax.jit(self._frame_with_action)
        self._idle = jax.jit(machine.frame)
        self._select = jax.jit(lambda cpu, c: machine.frame(cpu, machine.press_select(c)))
        self._branch_frames = jax.jit(jax.vmap(self._frame_with_input))
        self.cpu, self.console, self.rng = machine.power_on()
        # Stella detects the display format by running 60 frames with every input idle, then
        # resets the system again (a draw of the timer's start value, and of Superchip RAM).
        for _ in range(DISPLAY_DETECT_FRAMES):
            self.cpu, self.console = self._idle(self.cpu, self.console)
        self.cpu, self.console = machine.system_reset(self.console, self.rng)
        self.reset()  # ALEInterface.loadROM resets the game once

    def _frame_with_action(self, cpu, c, action):
        return self.machine.frame(cpu, self.machine.apply_action(c, action))

    def ram(self) -> np.ndarray:
        return np.asarray(self.console.ram)

    def screen(self) -> np.ndarray:
        """uint8[height, 160]: the last frame's colour values, as ale-py's `getScreen` gives them."""
        if not self.machine.pixels:
            raise ValueError("this emulator's machine draws no pixels; build it with Machine(..., pixels=True)")
        return np.asarray(self.console.tia.screen)

    def act(self, action: int) -> None:
        """One emulated frame with player A's `action`."""
        self.cpu, self.console = self._emulate(self.cpu, self.console, jnp.int32(action))

    def _ram_byte(self, index: int) -> int:
        return int(self.console.ram[index & 0x7F])

    def reset(self, repeat_action_probability: float = 0.0, min_probability: float = 1e-6) -> list[ResetOutcome]:
        """ALE's `reset_game`: system reset, 60 NOOP frames, RESET held 4 frames, the game's mode
        selected with SELECT (and its own RESET), RESET again, then the game's starting actions.

        The outcomes of the reset, each with its probability as a polynomial in the sticky-action
        probability, most probable first; the emulator continues from the first. Only a menu walk
        (`Menu`) acts through ALE's `act`, which sticky actions reach: with
        `repeat_action_probability` > 0 its every branch is followed, and branches of the same
        length that reach the same console merge; a branch whose probability falls below
        `min_probability` is dropped (`ResetOutcome.probability` of the rest tells how much is kept).
        Every other reset has one outcome."""
        self.console = self.console.replace(paddles=jnp.asarray([PADDLE_DEFAULT] * 2, jnp.int32))
        self.cpu, self.console = self.machine.system_reset(self.console, self.rng)
        # ALE's episode frame number after the reset: its `setMode` counts each SELECT press and each action.
        self.episode_frame = 0
        for _ in range(NOOP_RESET_FRAMES):
            self.act(NOOP)
        self._soft_reset()
        if self.game.menu is not None:
            program = menu_program(self.game.menu, self.game.mode, self.game.starting_actions)
            outcomes = self._follow(program, repeat_action_probability, min_probability)
            self.cpu, self.console, self.episode_frame = outcomes[0].cpu, outcomes[0].console, outcomes[0].episode_frame
            return outcomes
        mode_ram = self.game.mode_ram
        if mode_ram is not None:
            if self.game.soft_reset_first:
                self._soft_reset()
            presses = 0
            while not self.game.selected(self._watched(mode_ram)):
                presses += 1
                if presses > MAX_SELECT_PRESSES:
                    raise RuntimeError(
                        f"mode {self.game.mode} not reached after {MAX_SELECT_PRESSES} SELECT presses "
                        f"(watched RAM {self._watched(mode_ram)}, wanted {self.game.wanted()})"
                    )
                for _ in range(self.game.select_frames):
                    self.cpu, self.console = self._select(self.cpu, self.console)
                self.act(NOOP)
                self.episode_frame += 1
            self._soft_reset()  # the game's setMode ends with a soft reset of its own
        self._soft_reset()
        for action in self.game.starting_actions:
            self.act(action)
        return [ResetOutcome(self.cpu, self.console, self.episode_frame, ((1.0, 0, 0),))]

    def _follow(
        self, program: tuple[Act | Raw | Until, ...], repeat: float, min_probability: float
    ) -> list[ResetOutcome]:
        """Every branch of `program` from the current console, one emulated frame per round: an
        `Act` whose action differs from the one in effect splits into the action taken (1 - p)
        and the one kept (p)."""
        frontier = [
            _Branch(self.cpu, self.console, NOOP, self.episode_frame, 0, 0, -1, collections.Counter({(0, 0): 1}))
        ]
        ends: dict[tuple, _Branch] = {}
        for _ in range(MAX_MENU_FRAMES):
            frames: list[tuple[_Branch, int, bool]] = []  # (the branch after this frame, action, SELECT)
            for branch in frontier:
                branch = self._settle(branch, program)
                if branch.pc == len(program):
                    _merge(ends, branch)
                    continue
                op = program[branch.pc]
                if isinstance(op, Raw):
                    after = branch.next(branch.pc + 1, 0, branch.watched, NOOP if op.forget else branch.previous)
                    frames.append((after, op.action, op.select))
                    continue
                wanted = op.action if isinstance(op, Act) or branch.step == 0 else NOOP
                pc, step = (branch.pc + 1, 0) if isinstance(op, Act) else (branch.pc, 1 - branch.step)
                watched = -1 if isinstance(op, Act) else branch.watched
                if wanted == branch.previous or repeat == 0.0:
                    frames.append((branch.next(pc, step, watched, wanted, counted=True), wanted, False))
                    continue
                taken = branch.next(pc, step, watched, wanted, counted=True, draw=(0, 1))
                kept = branch.next(pc, step, watched, branch.previous, counted=True, draw=(1, 0))
                frames += [(taken, wanted, False), (kept, branch.previous, False)]
            if not frames:
                break
            merged: dict[tuple, _Branch] = {}
            for after in self._emulate_branches(frames):
                if after.probability(repeat) >= min_probability:
                    _merge(merged, after)
            frontier = list(merged.values())
        else:
            raise RuntimeError(
                f"mode {self.game.mode}: the menu did not answer within {MAX_MENU_FRAMES} frames "
                f"(repeat_action_probability={repeat})"
            )
        outcomes = sorted(ends.values(), key=lambda b: -b.probability(repeat))
        return [
            ResetOutcome(b.cpu, b.console, b.episode_frame, tuple((float(c), k, t) for (k, t), c in b.terms.items()))
            for b in outcomes
        ]

    def _settle(self, branch: _Branch, program: tuple[Act | Raw | Until, ...]) -> _Branch:
        """`branch` moved past the loops whose condition its console meets (they take no frame)."""
        while branch.pc < len(program):
            op = program[branch.pc]
            if not isinstance(op, Until) or branch.step != 0:
                return branch
            byte = int(np.asarray(branch.console.ram)[op.ram & 0x7F])
            if branch.watched < 0 and op.mask == 0:
                branch = dataclasses.replace(branch, watched=byte)
            done = byte != branch.watched if op.mask == 0 else ((byte & op.mask) != 0) == op.on
            if not done:
                return branch
            branch = dataclasses.replace(branch, pc=branch.pc + 1, watched=-1)
        return branch

    def _emulate_branches(self, frames: list[tuple[_Branch, int, bool]]) -> list[_Branch]:
        """One frame of each branch (its action or SELECT), `BRANCH_BATCH` consoles per call."""
        out = []
        for first in range(0, len(frames), BRANCH_BATCH):
            chunk = frames[first : first + BRANCH_BATCH]
            # Two batch sizes, so two compiles at most: a lone branch (no sticky actions) runs alone.
            padded = chunk + [chunk[-1]] * ((1 if len(frames) == 1 else BRANCH_BATCH) - len(chunk))
            stack = lambda *xs: np.stack([np.asarray(x) for x in xs])
            cpu = jax.tree_util.tree_map(stack, *[b.cpu for b, _, _ in padded])
            console = jax.tree_util.tree_map(stack, *[b.console for b, _, _ in padded])
            actions = np.asarray([a for _, a, _ in padded], np.int32)
            selects = np.asarray([s for _, _, s in padded])
            cpu, console = jax.device_get(self._branch_frames(cpu, console, actions, selects))
            for i, (branch, _, _) in enumerate(chunk):
                pick = lambda x, i=i: x[i]
                out.append(
                    dataclasses.replace(
                        branch, cpu=jax.tree_util.tree_map(pick, cpu), console=jax.tree_util.tree_map(pick, console)
                    )
                )
        return out

    def _frame_with_input(self, cpu, c, action, select):
        pressed = jax.tree_util.tree_map(
            lambda s, a: jnp.where(select, s, a), self.machine.press_select(c), self.machine.apply_action(c, action)
        )
        return self.machine.frame(cpu, pressed)

    def _watched(self, mode_ram: int) -> tuple[int, ...]:
        variant = self.game.variant_ram
        watched = (mode_ram,) if variant is None else (mode_ram, variant)
        return tuple(self._ram_byte(a) for a in watched)

    def _soft_reset(self) -> None:
        for _ in range(SOFT_RESET_FRAMES):
            self.act(RESET)
