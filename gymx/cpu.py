"""XLA:CPU settings that keep gymx's programs from deadlocking; applied by the `gymx` command, and by
`configure_cpu()` in code that owns its process.

Three runtime faults stop a CPU program with every thread idle and the result never ready:

- jaxlib 0.10's LAPACK kernels split a large batch into chunks on XLA:CPU's intra-op thread
  pool, from a thread that may itself be a worker of that pool, and block until the chunks
  finish. When every worker is blocked so (two workers on a 2-core machine), no worker is left
  to run a chunk: AntFast-v5 at 512 envs stops so, in `jax::ParallelBatchMap` under
  `lapack_spotrf_ffi`. MJX factors the mass matrix and the Newton solver's Hessian with
  Cholesky and solves with triangular solves, so every batched MuJoCo step has several such
  calls. The remedy lowers those two (`cholesky`, `triangular_solve`) on CPU as a loop over
  chunks of the batch, each small enough that LAPACK runs it inline on the calling thread: the
  same LAPACK calls, so the same results bit for bit, and no wait on the pool. Other batched
  decompositions (LU, QR, eigen, SVD) are left as they are; gymx's programs use none of them.
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


# jaxlib 0.10's CPU LAPACK kernels run a batch inline, on the calling thread, when its work (about
# n³/3 per n x n Cholesky; a product of the matrix sizes per triangular solve) is under this many
# units, and split it on the intra-op pool otherwise.
LAPACK_INLINE_WORK = 200_000


def _inline_batches(primitive: Any, lapack_rule: Callable[..., Any]) -> Callable[..., Any]:
    """A CPU lowering of `primitive` that hands LAPACK batches small enough to run inline: a larger
    batch becomes a loop over chunks, each one LAPACK call, so results are LAPACK's, bit for bit."""
    from jax._src.interpreters import mlir

    def rule(ctx: Any, *operands: Any, **params: Any) -> Any:
        shapes = [aval.shape for aval in ctx.avals_in]
        batch_shape = shapes[0][:-2]
        batch = math.prod(batch_shape)
        # n³ per matrix bounds both kernels' work estimates from above, so each chunk runs inline.
        per_item = max(max(shape[-2:]) for shape in shapes) ** 3
        if batch * per_item < LAPACK_INLINE_WORK or any(shape[:-2] != batch_shape for shape in shapes):
            return lapack_rule(ctx, *operands, **params)
        chunk = max(1, (LAPACK_INLINE_WORK - 1) // per_item)
        chunks = -(-batch // chunk)

        def in_chunks(*arrays: jax.Array) -> jax.Array:
            flat = [x.reshape((batch, *x.shape[-2:])) for x in arrays]
            # The last chunk is filled up with copies of the first matrices, which are valid input.
            flat = [jnp.concatenate([x, jnp.broadcast_to(x[:1], (chunks * chunk - batch, *x.shape[1:]))]) for x in flat]
            out = jax.lax.map(lambda xs: primitive.bind(*xs, **params), tuple(x.reshape((chunks, chunk, *x.shape[1:])) for x in flat))
            return out.reshape((chunks * chunk, *out.shape[2:]))[:batch].reshape((*batch_shape, *out.shape[2:]))

        return mlir.lower_fun(in_chunks, multiple_results=False)(ctx, *operands)

    return rule


_lapack_inline_installed = False


def inline_lapack_batches() -> bool:
    """Lowers CPU Cholesky and triangular solves as the module docstring says, on jaxlib 0.10.x;
    returns whether it did. Same LAPACK calls, same results: it changes how a batch reaches LAPACK,
    never what comes back, so making a MuJoCo env applies it (programs compiled earlier keep
    their lowering). Safe to call more than once."""
    global _lapack_inline_installed
    if not _lapack_splits_batches():
        return False
    if _lapack_inline_installed:
        return True
    from jax._src.interpreters import mlir
    from jax._src.lax import linalg

    for primitive, lapack_rule in ((linalg.cholesky_p, linalg._cholesky_cpu_lowering), (linalg.triangular_solve_p, linalg._triangular_solve_cpu_lower)):
        mlir.register_lowering(primitive, _inline_batches(primitive, lapack_rule), platform="cpu")
    _lapack_inline_installed = True
    return True


def configure_cpu(eigen: bool = True, dispatch: bool = True, lapack: bool = True) -> CpuSettings:
    """Applies the settings in the module docstring to this process; each keyword turns one off
    (`lapack=False` leaves LAPACK's Cholesky and triangular solves as jaxlib lowers them).

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

        notes.append(f"jaxlib {jaxlib.__version__} does not split LAPACK batches on its pool: lowerings left as they are")
    return CpuSettings(eigen_done, dispatch, lapack_done, tuple(notes))
