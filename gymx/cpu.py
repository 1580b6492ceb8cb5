"""XLA:CPU settings that keep gymx's programs from deadlocking; applied by the `gymx` command, and by
`configure_cpu()` in code that owns its process.

Three runtime faults stop a CPU program with every thread idle and the result never ready:

- jaxlib 0.10's LAPACK kernels split a large batch into chunks on XLA:CPU's intra-op thread
  pool, from a thread that may itself be a worker of that pool, and block until the chunks
  finish. When every worker is blocked so (two workers on a 2-core machine), no worker is left
  to run a chunk: AntFast-v5 at 512 envs stops so, in `jax::ParallelBatchMap` under
  `lapack_spotrf_ffi` (MJX's Cholesky factorizations), and `gymx train ppo` under
  `QrFactorization` (the orthogonal initialisation of each seed's networks, vmapped over
  seeds). The remedy lowers every LAPACK-backed primitive on CPU (Cholesky, triangular solve,
  LU, QR and its products, eigen, Schur, Hessenberg, tridiagonal, SVD) as a loop over chunks
  of the batch, each small enough that LAPACK runs it inline on the calling thread: the same
  LAPACK calls, so the same results bit for bit, and no wait on the pool.
- Asynchronous dispatch: a program and the host's next calls can wait on each other's threads
  (jax-ml/jax#25861). The remedy runs each CPU program to completion before the next starts.
- Multi-threaded Eigen in XLA:CPU has wedged vmapped programs with nested loops. The remedy is
  single-threaded Eigen (`--xla_cpu_multi_thread_eigen=false` in `XLA_FLAGS`), which XLA reads
  once, when the CPU backend starts.

Each is a process-wide choice, so `import gymx` makes none of them. The LAPACK one changes how a
batch reaches LAPACK, never a result, and every batched MuJoCo step needs it, so building a
MuJoCo env applies it too (`inline_lapack_batches`); library code that steps other envs on a CPU
calls `configure_cpu()` for the other two. Accelerators are unaffected, apart from the Eigen
flag, which only concerns host-side computations.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

EIGEN_FLAG = "--xla_cpu_multi_thread_eigen=false"


@dataclasses.dataclass(frozen=True)
class CpuSettings:
    """What `configure_cpu` applied: a False field was left as it was (and says why in `notes`)."""

    single_threaded_eigen: bool
    synchronous_dispatch: bool
    lapack_batches_inline: bool
    notes: tuple[str, ...] = ()


def backend_started() -> bool:
    """Whether a JAX backend already runs in this process (then XLA_FLAGS no longer take effect)."""
    from jax._src import xla_bridge

    return bool(xla_bridge._backends)


def _lapack_splits_batches() -> bool:
    """jaxlib 0.10.x is the series whose CPU LAPACK kernels split batches on the intra-op pool."""
    import jaxlib

    major, minor = (int(part) for part in jaxlib.__version__.split(".")[:2])
    return (major, minor) == (0, 10)


# jaxlib 0.10's CPU LAPACK kernels run a batch inline, on the calling thread, when its estimated
# work (a FLOP count per matrix, times the batch) is under this many units, and split it on the
# intra-op pool otherwise.
LAPACK_INLINE_WORK = 200_000

# An upper bound of each kernel's work estimate per matrix, in units of d³ (d the largest matrix
# dimension among the operands and results), for real dtypes; jaxlib counts complex ones 3x.
# Cholesky's is n³/3, LU's m·n·min(m, n), QR's 2·m·n·min(m, n), SVD's 10·m·n·min(m, n), ...
LAPACK_WORK_PER_D3 = {
    "cholesky": 1,
    "triangular_solve": 1,
    "lu": 1,
    "geqrf": 2,
    "geqp3": 2,
    "householder_product": 6,
    "ormqr": 4,
    "hessenberg": 2,
    "tridiagonal": 2,
    "eigh": 5,
    "schur": 5,
    "eig": 10,
    "svd": 10,
    "tridiagonal_solve": 10,
}
# Above every bound in the table: a primitive this table does not know still runs inline.
UNKNOWN_WORK_PER_D3 = 30

# The number of trailing (per-matrix) dimensions of a primitive's first operand; the rest of its
# shape is the batch, which every operand and result of these primitives leads with.
_CORE_DIMS_OF_FIRST_OPERAND = {"tridiagonal_solve": 1}


def _inline_batches(primitive: Any, lapack_rule: Callable[..., Any]) -> Callable[..., Any]:
    """A CPU lowering of `primitive` that hands LAPACK batches small enough to run inline: a larger
    batch becomes a loop over chunks, each one LAPACK call, so results are LAPACK's, bit for bit."""
    from jax._src.interpreters import mlir

    per_d3 = LAPACK_WORK_PER_D3.get(primitive.name, UNKNOWN_WORK_PER_D3)
    batch_ndim_of = lambda avals: avals[0].ndim - _CORE_DIMS_OF_FIRST_OPERAND.get(primitive.name, 2)

    def rule(ctx: Any, *operands: Any, **params: Any) -> Any:
        avals = [*ctx.avals_in, *ctx.avals_out]
        batch_ndim = batch_ndim_of(ctx.avals_in)
        batch_shape = ctx.avals_in[0].shape[:batch_ndim]
        batch = math.prod(batch_shape)
        largest = max((max(aval.shape[batch_ndim:], default=1) for aval in avals), default=1)
        per_item = (
            per_d3 * largest**3 * (3 if any(jnp.issubdtype(aval.dtype, jnp.complexfloating) for aval in avals) else 1)
        )
        # A chunk's work is under the threshold, or the chunk is one matrix, which LAPACK never splits.
        chunk = max(1, (LAPACK_INLINE_WORK - 1) // per_item)
        if batch <= chunk or any(aval.shape[:batch_ndim] != batch_shape for aval in avals):
            return lapack_rule(ctx, *operands, **params)
        chunks = -(-batch // chunk)

        def in_chunks(*arrays: jax.Array) -> Any:
            flat = [x.reshape((batch, *x.shape[batch_ndim:])) for x in arrays]
            # The last chunk is filled up with copies of the first item, which is valid input.
            flat = [jnp.concatenate([x, jnp.broadcast_to(x[:1], (chunks * chunk - batch, *x.shape[1:]))]) for x in flat]

            def one_call(xs: tuple[jax.Array, ...]) -> Any:
                out = primitive.bind(*xs, **params)
                return tuple(out) if primitive.multiple_results else out

            outs = jax.lax.map(one_call, tuple(x.reshape((chunks, chunk, *x.shape[1:])) for x in flat))
            unchunk = lambda y: y.reshape((chunks * chunk, *y.shape[2:]))[:batch].reshape((*batch_shape, *y.shape[2:]))
            return [unchunk(y) for y in outs] if primitive.multiple_results else unchunk(outs)

        return mlir.lower_fun(in_chunks, multiple_results=primitive.multiple_results)(ctx, *operands)

    return rule


def lapack_primitives() -> dict[Any, Callable[..., Any]]:
    """The linear-algebra primitives whose CPU lowering calls jaxlib's LAPACK kernels, with that lowering."""
    from jax._src.core import Primitive
    from jax._src.interpreters import mlir
    from jax._src.lax import linalg

    cpu_rules = mlir._platform_specific_lowerings["cpu"]
    found = {}
    for value in vars(linalg).values():
        if isinstance(value, Primitive) and value in cpu_rules:
            found[value] = cpu_rules[value].rule
    return found


_lapack_inline_installed = False


def inline_lapack_batches() -> bool:
    """Lowers every LAPACK-backed primitive on CPU as the module docstring says, on jaxlib 0.10.x;
    returns whether it did. Same LAPACK calls, same results: it changes how a batch reaches LAPACK,
    never what comes back, so making a MuJoCo env applies it (programs compiled earlier keep
    their lowering). Safe to call more than once."""
    global _lapack_inline_installed
    if not _lapack_splits_batches():
        return False
    if _lapack_inline_installed:
        return True
    from jax._src.interpreters import mlir

    for primitive, lapack_rule in lapack_primitives().items():
        mlir.register_lowering(primitive, _inline_batches(primitive, lapack_rule), platform="cpu")
    _lapack_inline_installed = True
    return True


def configure_cpu(eigen: bool = True, dispatch: bool = True, lapack: bool = True) -> CpuSettings:
    """Applies the settings in the module docstring to this process; each keyword turns one off
    (`lapack=False` leaves the LAPACK-backed primitives as jaxlib lowers them).

    Call it before the first JAX computation, or `eigen` cannot take effect (noted in the result;
    the other two still apply to programs compiled afterwards). Programs compiled before the call
    keep their lowering. Safe to call more than once.
    """
    notes = []
    eigen_done = False
    if eigen:
        flags = os.environ.get("XLA_FLAGS", "")
        if "xla_cpu_multi_thread_eigen" in flags:
            eigen_done = EIGEN_FLAG in flags
            if not eigen_done:
                notes.append("XLA_FLAGS sets xla_cpu_multi_thread_eigen already: left as set")
        elif backend_started():
            notes.append("the JAX backend had started: XLA_FLAGS no longer take effect in this process")
        else:
            os.environ["XLA_FLAGS"] = f"{flags} {EIGEN_FLAG}".strip()
            eigen_done = True
    if dispatch:
        jax.config.update("jax_cpu_enable_async_dispatch", False)
    lapack_done = lapack and inline_lapack_batches()
    if lapack and not lapack_done:
        import jaxlib

        notes.append(
            f"jaxlib {jaxlib.__version__} does not split LAPACK batches on its pool: lowerings left as they are"
        )
    return CpuSettings(eigen_done, dispatch, lapack_done, tuple(notes))
