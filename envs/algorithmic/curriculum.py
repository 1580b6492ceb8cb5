"""The algorithmic tasks' length curriculum, as explicit state that a training loop carries.

The original Gym kept the curriculum inside the env object: on every reset it appended the
finished episode's shortfall (total reward - target length) to a window of the last `last`
episodes, and once the window was full and its worst shortfall was at least the task's
threshold, raised `min_length` by one (up to 30) and cleared the window. Inputs then have
`min_length + randint(3)` symbols.

In gymx that rule is a pure function over a small pytree, `Curriculum`, and the env reads
`min_length` from its params (a traced leaf, so changing it never recompiles):

    env = gymx.make("Copy-v0").unwrapped
    venv = gymx.VecEnv(env, num_envs, gymx.AutoresetMode.NEXT_STEP)
    curriculum = env.curriculum(num_envs)        # per env; env.curriculum() for a shared one
    state, ts = venv.reset(key, curriculum.apply(env.default_params))
    ...  # inside the jitted loop:
    state, ts = venv.step(state, action, curriculum.apply(env.default_params))
    curriculum = jax.vmap(update)(curriculum, ts.info["episode_return"], ts.info["target_length"], ts.done)
    # shared: curriculum = update(curriculum, ts.info["episode_return"], ts.info["target_length"], ts.done)

Per env (leaves of shape (num_envs,), `jax.vmap(update)`): each env has its own window and its
own `min_length`, which `VecEnv` passes to that env's resets. Shared (scalar leaves, `update` on
the whole batch): one window fed by every env, the finished episodes of a step taken in env-index
order, like one original env played by all of them in turn.

Timing: with `NEXT_STEP` auto-reset the next episode is drawn on the step after the update, as
the original drew it after its level-up check. With `SAME_STEP` the next episode is drawn inside
the step that ended the last one, before the update sees it, so a promotion applies one episode
later. `done` must mark only the steps that end an episode: with `DISABLED` auto-reset a finished
env keeps reporting `terminated` until it is reset, so mask those repeats out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TypeVar

import jax
import jax.numpy as jnp

from gymx import struct

if TYPE_CHECKING:
    from typing_extensions import Self


class LengthParams(Protocol):
    """Params with a `min_length` field (those of the envs a curriculum drives)."""

    def replace(self, *, min_length: jax.Array) -> Self: ...


P = TypeVar("P", bound=LengthParams)


class Curriculum(struct.PyTree):
    """The length curriculum of one env (scalar leaves) or of a batch (leaves of shape (num_envs,)).

    The original's window of shortfalls is kept as `streak`: the window is full of good
    episodes exactly when the last `window` finished episodes since the last promotion were all
    good, so the count of consecutive good ones is all the rule needs.
    """

    min_length: jax.Array  # int32 () or (num_envs,), the input length's lower bound
    streak: jax.Array  # int32, same shape: consecutive good episodes since the last promotion, at most `window`
    window: int = struct.static_field(default=10)  # the original's `last`
    threshold: float = struct.static_field(default=-1.0)  # a good episode's least shortfall
    cap: int = struct.static_field(default=30)  # min_length never goes above this

    def apply(self, params: P) -> P:
        """`params` with this curriculum's `min_length` (per env when its leaves are batched)."""
        return params.replace(min_length=self.min_length)


def update(curriculum: Curriculum, episode_return: jax.Array, target_length: jax.Array, done: jax.Array) -> Curriculum:
    """The curriculum after the episodes that `done` marks as finished, taken in order (row-major).

    `episode_return` is each finished episode's total reward and `target_length` its target's
    length (`ts.info["episode_return"]` and `ts.info["target_length"]` of a `VecEnv` step);
    entries where `done` is False are ignored. Works on any number of episodes at once with
    scalar curriculum leaves; `jax.vmap(update)` updates a per-env curriculum.

    Taking episodes one at a time, a good one (shortfall >= threshold) extends the streak and a
    bad one resets it; reaching `window` promotes (min_length + 1, streak 0) unless at the cap,
    where the streak just stays at most `window`. For a batch this is computed without a loop:
    ordinals k of the finished episodes, the ordinal of the latest bad one at or before each, and
    the streak there follow from cumulative sums; promotions fall where that streak is a
    multiple of `window`, and only the first `cap - min_length` of them happen.
    """
    if jnp.ndim(curriculum.min_length) != 0:
        raise ValueError(
            f"update takes a scalar (shared) curriculum; update a per-env one, of shape {jnp.shape(curriculum.min_length)}, with jax.vmap(update)"
        )
    done = jnp.ravel(done)
    good = done & (jnp.ravel(episode_return) - jnp.ravel(target_length) >= curriculum.threshold)
    ordinal = jnp.cumsum(done, dtype=jnp.int32)  # k-th finished episode, 1-based; unchanged over the rest
    last_bad = jax.lax.cummax(jnp.where(done & ~good, ordinal, 0))
    # The streak at each good episode, counting the carried-in streak when no bad one came before.
    streak = ordinal - last_bad + jnp.where(last_bad == 0, curriculum.streak, 0)
    promotion = good & (streak % curriculum.window == 0)
    promotions = jnp.cumsum(promotion, dtype=jnp.int32)
    taken = jnp.clip(curriculum.cap - curriculum.min_length, 0, promotions[-1])
    # The streak restarts after the last promotion taken (before the batch if none) or the last
    # bad episode, whichever is later; at the cap it no longer wraps, so it saturates at `window`.
    last_promotion = jnp.max(jnp.where(promotion & (promotions == taken), ordinal, 0))
    restart = jnp.maximum(last_promotion, last_bad[-1])
    final_streak = ordinal[-1] - restart + jnp.where(restart == 0, curriculum.streak, 0)
    return curriculum.replace(
        min_length=(curriculum.min_length + taken).astype(jnp.int32),
        streak=jnp.minimum(final_streak, curriculum.window).astype(jnp.int32),
    )
