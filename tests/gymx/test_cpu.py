"""`gymx.cpu`'s LAPACK lowering: every LAPACK-backed primitive reaches LAPACK in chunks that run inline,
with jaxlib's results bit for bit, (the programs that stopped with jaxlib's own lowering: tests/gymx/test_process_state.py)."""

from __future__ import annotations

import re
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax._src.lax import linalg as lax_linalg

from gymx import cpu

pytestmark = pytest.mark.skipif(
    not cpu._lapack_splits_batches(),
    reason="only jaxlib 0.10.x splits LAPACK batches on its pool",
)


def spd(x: np.ndarray) -> np.ndarray:
    return (x @ np.swapaxes(x, -1, -2) + x.shape[-1] * np.eye(x.shape[-1])).astype(np.float32)


def tridiagonal_solve(x: jax.Array) -> jax.Array:
    d = x[..., 0] + 3.0
    dl = x[..., 1].at[..., 0].set(0.0)
    du = x[..., 2].at[..., -1].set(0.0)
    return jax.lax.linalg.tridiagonal_solve(dl, d, du, x)


def lower_triangular(x: np.ndarray) -> np.ndarray:
    return (np.tril(x) + 4 * np.eye(x.shape[-1])).astype(np.float32)


# One computation per LAPACK-backed primitive (named as `cpu.lapack_primitives` names them), with
# what prepares its input on the host (so that a batch and a batch of one get the same bits).
COMPUTATIONS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], Callable[[jax.Array], object]]] = {
    "cholesky": (spd, jnp.linalg.cholesky),
    "triangular_solve": (
        lower_triangular,
        lambda a: jax.scipy.linalg.solve_triangular(a, a[..., ::-1], lower=True),
    ),
    "lu": (np.asarray, jax.lax.linalg.lu),
    "geqrf": (np.asarray, lambda x: jnp.linalg.qr(x, mode="r")),
    "geqp3": (np.asarray, lambda x: jax.scipy.linalg.qr(x, pivoting=True)),
    "householder_product": (
        np.asarray,
        jnp.linalg.qr,
    ),  # geqrf, then householder_product
    "ormqr": (
        np.asarray,
        lambda x: jax.lax.linalg.ormqr(*lax_linalg.geqrf(x), x, left=True, transpose=True),
    ),
    "hessenberg": (np.asarray, jax.lax.linalg.hessenberg),
    "tridiagonal": (spd, jax.lax.linalg.tridiagonal),
    "eigh": (spd, jnp.linalg.eigh),
    "schur": (np.asarray, jax.lax.linalg.schur),
    "eig": (np.asarray, jnp.linalg.eig),
    "svd": (np.asarray, jnp.linalg.svd),
    "tridiagonal_solve": (np.asarray, tridiagonal_solve),
}

# Large enough that jaxlib would split every one of these batches on its pool.
BATCH, SIZE = 24, 48


def test_every_lapack_backed_primitive_of_this_jax_is_covered() -> None:
    names = {primitive.name for primitive in cpu.lapack_primitives()}
    assert names == set(COMPUTATIONS)
    assert names <= set(cpu.LAPACK_WORK_PER_D3)


@pytest.mark.parametrize("name", sorted(COMPUTATIONS))
def test_a_large_batch_reaches_lapack_in_inline_chunks_with_jaxlib_results(
    name: str,
) -> None:
    cpu.inline_lapack_batches()
    prepare, computation = COMPUTATIONS[name]
    compute = jax.jit(computation)
    x = prepare(np.random.default_rng(7).standard_normal((BATCH, SIZE, SIZE)).astype(np.float32))
    hlo = compute.lower(x).as_text()
    # Every LAPACK call takes fewer matrices than the batch (here one at a time: each is over the threshold).
    calls = re.findall(r"stablehlo\.custom_call @lapack_\w+\((.*?)\) .*?: \((tensor<[^)]*)\)", hlo)
    assert calls, hlo
    for _, operand_types in calls:
        assert f"tensor<{BATCH}x" not in operand_types, operand_types
    batched = jax.tree.leaves(compute(x))
    for i in (0, BATCH // 2, BATCH - 1):
        # A batch of one is lowered by jaxlib's own rule: the chunked results match it bit for bit.
        alone = jax.tree.leaves(compute(x[i : i + 1]))
        for got, want in zip(batched, alone, strict=True):
            np.testing.assert_array_equal(np.asarray(got[i]), np.asarray(want[0]))


def test_small_batches_keep_jaxlib_lowering() -> None:
    cpu.inline_lapack_batches()
    hlo = jax.jit(jnp.linalg.cholesky).lower(jnp.eye(4)[None].repeat(3, 0)).as_text()
    assert "stablehlo.while" not in hlo and "tensor<3x4x4xf32>" in hlo
