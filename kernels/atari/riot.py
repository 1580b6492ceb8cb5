"""The 6532 RIOT: 128 bytes of RAM, the interval timer and the two I/O ports, as ALE's Stella models them.

The timer is not counted down cycle by cycle: it remembers the value written, the divider (1, 8,
64 or 1024 cycles, stored as a shift) and the cycle of the write, and a read works out INTIM from
the cycles elapsed. Until it passes zero it counts down once per divider period; after that it
counts once per cycle, and the first read that finds it at least two cycles past zero marks the
interrupt as seen (INSTAT then reads 0), after which INTIM counts down from that read's cycle.
Cycle counters are uint32, as in Stella: the machine rebases them every frame, and the wrapping
differences are what Stella computes.

Addresses (A12 clear, A7 set, A9 set), by the low bits: SWCHA (joysticks/paddle buttons),
SWACNT, SWCHB (console switches), SWBCNT, INTIM (also at +2), INSTAT (at +1 and +3); writes with
A4 set and A2 set load the timer: TIM1T, TIM8T, TIM64T, T1024T.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gymx import struct

SHIFTS = (0, 3, 6, 10)


class RIOT(struct.PyTree):
    """Timer and port state of one RIOT (RAM lives in the machine); leading batch axes allowed."""

    timer: jax.Array  # int32: the value last written
    shift: jax.Array  # int32: log2 of the divider
    set_cycle: jax.Array  # uint32: the cycle of that write
    irq_cycle: jax.Array  # uint32: the cycle of the read that saw the timer expired
    irq_seen: jax.Array  # bool
    ddra: jax.Array  # int32: SWACNT

    @classmethod
    def make(cls, timer=0, shift=6) -> RIOT:
        return cls(
            timer=jnp.int32(timer),
            shift=jnp.int32(shift),
            set_cycle=jnp.uint32(0),
            irq_cycle=jnp.uint32(0),
            irq_seen=jnp.asarray(False),
            ddra=jnp.int32(0),
        )

    def rebase(self, cycles: jax.Array) -> RIOT:
        """The same timer after the system clock is moved back by `cycles` (frame start)."""
        cycles = cycles.astype(jnp.uint32)
        return self.replace(set_cycle=self.set_cycle - cycles, irq_cycle=self.irq_cycle - cycles)


def _i32(x: jax.Array) -> jax.Array:
    return jax.lax.bitcast_convert_type(x.astype(jnp.uint32), jnp.int32)


def read_timer(riot: RIOT, cycle: jax.Array) -> tuple[jax.Array, RIOT]:
    """INTIM read at system cycle `cycle` (the count after the reading cycle, as Stella's peek
    sees it): the byte and the RIOT with the read's side effect."""
    cycle = cycle.astype(jnp.uint32)
    delta = cycle - jnp.uint32(1) - riot.set_cycle
    counted = riot.timer - _i32(delta >> riot.shift.astype(jnp.uint32)) - 1
    expired = counted < 0
    past = (riot.timer << riot.shift) - _i32(delta) - 1
    first = expired & (past <= -2) & ~riot.irq_seen
    irq_seen = riot.irq_seen | first
    irq_cycle = jnp.where(first, cycle, riot.irq_cycle)
    offset = _i32(irq_cycle - (riot.set_cycle + (riot.timer << riot.shift).astype(jnp.uint32)))
    after = riot.timer - _i32(delta >> riot.shift.astype(jnp.uint32)) - offset
    value = jnp.where(expired, jnp.where(irq_seen, after, past), counted) & 0xFF
    new = riot.replace(
        irq_seen=jnp.where(expired, irq_seen, riot.irq_seen), irq_cycle=jnp.where(expired, irq_cycle, riot.irq_cycle)
    )
    return value, new


def read_status(riot: RIOT, cycle: jax.Array) -> jax.Array:
    """INSTAT at `cycle`: bit 7 while the timer has expired and that was not yet seen by INTIM."""
    delta = cycle.astype(jnp.uint32) - jnp.uint32(1) - riot.set_cycle
    counted = riot.timer - _i32(delta >> riot.shift.astype(jnp.uint32)) - 1
    return jnp.where((counted >= 0) | riot.irq_seen, 0, 0x80)


def write(riot: RIOT, addr: jax.Array, value: jax.Array, cycle: jax.Array, active: jax.Array) -> RIOT:
    """A write to a RIOT I/O address at `cycle` (ignored unless `active`)."""
    low = addr & 0x17
    is_timer = active & ((low & 0x14) == 0x14)
    shift = jnp.asarray(SHIFTS, jnp.int32)[low & 3]
    is_ddra = active & ((addr & 0x07) == 0x01) & ((addr & 0x14) != 0x14)
    return riot.replace(
        timer=jnp.where(is_timer, value, riot.timer),
        shift=jnp.where(is_timer, shift, riot.shift),
        set_cycle=jnp.where(is_timer, cycle.astype(jnp.uint32), riot.set_cycle),
        irq_seen=jnp.where(is_timer, False, riot.irq_seen),
        ddra=jnp.where(is_ddra, value, riot.ddra),
    )
