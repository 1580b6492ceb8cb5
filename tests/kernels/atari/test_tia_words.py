"""The collision replay's column masks as words against the boolean masks they pack: every object's
coverage over random registers, the playfield, and the columns a stretch of the beam passes."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from gymx.kernels.atari import tia

_covered = jax.jit(
    jax.vmap(
        lambda r, hide, pending: (
            tia.coverage(r, hide, pending),
            tia.unpack_columns(tia.coverage_words(r, hide, pending)),
        )
    )
)


def _random_registers(rng: np.random.Generator, n: int) -> tia.Registers:
    base = tia.TIA.make().registers()
    regs = np.zeros((n, 64), np.int32)
    for reg in (tia.NUSIZ0, tia.NUSIZ1, tia.REFP0, tia.REFP1, tia.CTRLPF, tia.ENAM0, tia.ENAM1, tia.ENABL):
        regs[:, reg] = rng.integers(0, 256, n)
    for reg in (tia.VDELP0, tia.VDELP1, tia.VDELBL, tia.RESMP0, tia.RESMP1):
        regs[:, reg] = rng.integers(0, 4, n)
    batch = lambda x: jnp.broadcast_to(x, (n, *jnp.shape(x)))
    return jax.tree.map(batch, base).replace(
        regs=jnp.asarray(regs),
        pf=jnp.asarray(rng.integers(0, 1 << 20, n), jnp.int32),
        grp=jnp.asarray(rng.integers(0, 256, (n, 2)), jnp.int32),
        dgrp=jnp.asarray(rng.integers(0, 256, (n, 2)), jnp.int32),
        denabl=jnp.asarray(rng.integers(0, 2, n), bool),
        pos=jnp.asarray(rng.integers(0, 160, (n, 5)), jnp.int32),
        reflect=jnp.asarray(rng.integers(0, 2, n), bool),
    )


def test_coverage_words_unpack_to_coverage_hidden_copies_and_waiting_reflection_included() -> None:
    rng = np.random.default_rng(0)
    n = 2048
    registers = _random_registers(rng, n)
    hide = jnp.asarray(rng.integers(0, 2, (n, 2)), bool)
    pending = jnp.asarray(rng.integers(0, 2, n), bool)
    want, got = _covered(registers, hide, pending)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    # Every object showed somewhere, so the comparison saw each table at work.
    assert np.asarray(want).any(axis=(0, 2)).all()


def test_playfield_words_unpack_to_the_playfield_either_way_round() -> None:
    rng = np.random.default_rng(1)
    pf = jnp.asarray(rng.integers(0, 1 << 20, 512), jnp.int32)
    base = tia.TIA.make().registers()
    for reflect in (jnp.asarray(False), jnp.asarray(True)):
        want = jax.vmap(lambda p, f: tia.playfield(base.replace(pf=p, reflect=f), True), (0, None))(pf, reflect)
        got = jax.vmap(lambda p, f: tia.unpack_columns(tia.playfield_words(p, f)), (0, None))(pf, reflect)
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_passed_words_are_the_columns_whose_clock_falls_in_the_span() -> None:
    rng = np.random.default_rng(2)
    n = 4096
    frame_start = rng.integers(-227, 1, n)
    a = frame_start + rng.integers(0, 5 * tia.LINE, n)
    b = a + np.where(rng.random(n) < 0.1, rng.integers(-3, 1, n), rng.integers(1, 2 * tia.LINE, n))
    got = jax.jit(jax.vmap(lambda *x: tia.unpack_columns(tia.passed_words(*x))))(
        *(jnp.asarray(x, jnp.int32) for x in (a, b, frame_start))
    )
    # Column x's clocks are frame_start + 68 + x + 228 k: the first at or after a must come before b.
    offset = frame_start[:, None] + tia.HBLANK + np.arange(160)
    want = a[:, None] + (offset - a[:, None]) % tia.LINE < b[:, None]
    np.testing.assert_array_equal(np.asarray(got), want)
    assert want.any() and not want.all()
