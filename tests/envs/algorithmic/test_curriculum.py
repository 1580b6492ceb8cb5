"""The length curriculum: the original's level-up rule as a pure update, shared or per env."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymx.envs.algorithmic import Curriculum, update
from gymx.envs.algorithmic.copy_ import Copy
from gymx.envs.algorithmic.reverse import Reverse

import gymx


class ReferenceCurriculum:
    """The original `AlgorithmicEnv._check_levelup`, one finished episode at a time."""

    def __init__(self, min_length: int, last: int, threshold: float, cap: int = 30):
        self.min_length, self.last, self.threshold, self.cap = min_length, last, threshold, cap
        self.shortfalls: list[float] = []

    def finish(self, total_reward: float, target_length: int) -> None:
        self.shortfalls = ([*self.shortfalls, total_reward - target_length])[-self.last :]
        if len(self.shortfalls) == self.last and min(self.shortfalls) >= self.threshold and self.min_length < self.cap:
            self.min_length += 1
            self.shortfalls = []


def _episodes(rng: np.random.Generator, num: int, threshold: float, good: float) -> tuple[np.ndarray, np.ndarray]:
    """(returns, target lengths): shortfalls on both sides of the threshold, mostly good ones."""
    target_length = rng.integers(1, 97, num)
    good_shortfalls, bad_shortfalls = [0.0, threshold, threshold / 2], [threshold - 0.5, threshold - 0.1, -2.0]
    shortfall = np.where(rng.random(num) < good, rng.choice(good_shortfalls, num), rng.choice(bad_shortfalls, num))
    return (target_length + shortfall).astype(np.float32), target_length.astype(np.int32)


def _curriculum(min_length: int, window: int, threshold: float, shape: tuple[int, ...] = ()) -> Curriculum:
    return Curriculum(
        min_length=jnp.full(shape, min_length, jnp.int32),
        streak=jnp.zeros(shape, jnp.int32),
        window=window,
        threshold=threshold,
    )


@pytest.mark.parametrize("window, threshold, start", [(10, -1.0, 2), (50, -0.1, 1), (10, -1.0, 27), (3, -1.0, 29)])
def test_shared_update_matches_the_original_over_batches_of_episodes(window: int, threshold: float, start: int) -> None:
    rng = np.random.default_rng(window + start)
    reference = ReferenceCurriculum(start, window, threshold)
    curriculum = _curriculum(start, window, threshold)
    jitted = jax.jit(update)
    promotions = 0
    for batch in range(150):
        # Batches of 64 envs, a random share of them finished; those count in env order.
        returns, lengths = _episodes(rng, 64, threshold, good=1 - 0.3 / window)
        done = rng.random(64) < rng.random()
        for r, n in zip(returns[done], lengths[done]):
            reference.finish(float(r), int(n))
        before = int(curriculum.min_length)
        curriculum = jitted(curriculum, returns, lengths, done)
        promotions += int(curriculum.min_length) - before
        assert int(curriculum.min_length) == reference.min_length, batch
        assert 0 <= int(curriculum.streak) <= window
    assert promotions >= min(2, 30 - start) and reference.min_length <= 30


def test_per_env_update_is_the_vmapped_rule() -> None:
    num_envs, window, threshold = 16, 10, -1.0
    rng = np.random.default_rng(1)
    references = [ReferenceCurriculum(2, window, threshold) for _ in range(num_envs)]
    curriculum = _curriculum(2, window, threshold, (num_envs,))
    per_env = jax.jit(jax.vmap(update))
    for _ in range(400):
        returns, lengths = _episodes(rng, num_envs, threshold, good=0.95)
        done = rng.random(num_envs) < 0.5
        for i in np.flatnonzero(done):
            references[i].finish(float(returns[i]), int(lengths[i]))
        curriculum = per_env(curriculum, returns, lengths, done)
    assert curriculum.min_length.tolist() == [r.min_length for r in references]
    assert len(set(curriculum.min_length.tolist())) > 1, "independent windows should diverge"


@pytest.mark.parametrize("make_env, window, threshold", [(Copy, 10, -1.0), (Reverse, 50, -0.1)])
def test_promotion_after_a_full_window_then_the_history_is_cleared(make_env, window: int, threshold: float) -> None:
    curriculum = make_env().curriculum()
    assert (curriculum.window, curriculum.threshold, curriculum.cap) == (window, threshold, 30)
    start = int(curriculum.min_length)
    assert start == make_env().default_params.min_length
    perfect, edge, short = ((jnp.float32(r), jnp.int32(5)) for r in (5.0, 5.0 + threshold, 3.5))
    one = jnp.ones((), jnp.bool_)

    def run(curriculum: Curriculum, episode: tuple, times: int) -> Curriculum:
        for _ in range(times):
            curriculum = update(curriculum, *episode, one)
        return curriculum

    curriculum = run(curriculum, perfect, window - 1)
    assert int(curriculum.min_length) == start and int(curriculum.streak) == window - 1
    curriculum = run(curriculum, short, 1)  # a shortfall of -1.5 breaks the streak
    assert int(curriculum.streak) == 0
    curriculum = run(curriculum, edge, window)  # exactly the threshold counts as good
    assert int(curriculum.min_length) == start + 1 and int(curriculum.streak) == 0
    curriculum = run(curriculum, perfect, window - 1)  # the window starts again from empty
    assert int(curriculum.min_length) == start + 1
    curriculum = run(curriculum, perfect, 1)
    assert int(curriculum.min_length) == start + 2
    # Not finished: ignored.
    ignored = update(curriculum, *short, jnp.zeros((), jnp.bool_))
    assert (int(ignored.min_length), int(ignored.streak)) == (int(curriculum.min_length), int(curriculum.streak))


def test_a_per_env_curriculum_needs_vmap() -> None:
    with pytest.raises(ValueError, match=r"jax.vmap\(update\)"):
        update(Copy().curriculum(4), jnp.zeros(4), jnp.ones(4, jnp.int32), jnp.ones(4, jnp.bool_))


def test_min_length_stops_at_the_cap() -> None:
    curriculum = Copy().curriculum().replace(min_length=jnp.int32(29))
    returns, lengths = jnp.full(35, 5.0), jnp.full(35, 5, jnp.int32)
    curriculum = update(curriculum, returns, lengths, jnp.ones(35, jnp.bool_))
    assert int(curriculum.min_length) == 30 and int(curriculum.streak) == 10
    curriculum = update(curriculum, returns, lengths, jnp.ones(35, jnp.bool_))
    assert int(curriculum.min_length) == 30 and int(curriculum.streak) == 10
    small = Copy(length_cap=4).curriculum()
    assert int(update(small, returns, lengths, jnp.ones(35, jnp.bool_)).min_length) == 4


def _copy_loop(venv: gymx.VecEnv, per_env: bool, num_steps: int):
    """A jitted NEXT_STEP loop on Copy carrying the curriculum: even envs copy perfectly (write
    what they read, move right), odd envs write a wrong symbol at once."""
    env = venv.env
    good = jnp.arange(venv.num_envs) % 2 == 0
    apply = jax.vmap(update) if per_env else update

    def loop(key: jax.Array, curriculum: Curriculum):
        state, ts = venv.reset(key, curriculum.apply(env.default_params))

        def body(carry, _):
            state, ts, curriculum = carry
            symbol = jnp.where(good, ts.obs, (ts.obs + 1) % env.base)
            action = (jnp.ones_like(ts.obs), jnp.ones_like(ts.obs), symbol)
            state, ts = venv.step(state, action, curriculum.apply(env.default_params))
            curriculum = apply(curriculum, ts.info["episode_return"], ts.info["target_length"], ts.done)
            return (state, ts, curriculum), (ts.done, state.env_state.input_length)

        (state, _, curriculum), trace = jax.lax.scan(body, (state, ts, curriculum), None, num_steps)
        return curriculum, trace

    return jax.jit(loop)


def test_vec_env_with_a_per_env_curriculum() -> None:
    env, num_envs = Copy(), 8
    venv = gymx.VecEnv(env, num_envs, gymx.AutoresetMode.NEXT_STEP)
    curriculum, (done, input_length) = _copy_loop(venv, per_env=True, num_steps=600)(
        jax.random.key(0), env.curriculum(num_envs)
    )
    finished = np.asarray(done).sum(axis=0)
    min_length = np.asarray(curriculum.min_length)
    # Good envs: every episode perfect, one promotion per 10 of them; bad ones never promote.
    assert np.all(min_length[1::2] == 2)
    assert np.all(min_length[::2] > 4)
    assert np.all(min_length[::2] == np.minimum(2 + finished[::2] // 10, 30))
    # Each env's inputs follow its own min_length: the good envs' late inputs are longer.
    late = np.asarray(input_length)[-1]
    assert np.all(late[1::2] <= 4) and np.all(late[::2] >= min_length[::2] - 1)


def test_vec_env_with_a_shared_curriculum() -> None:
    env, num_envs = Copy(), 8
    venv = gymx.VecEnv(env, num_envs, gymx.AutoresetMode.NEXT_STEP)
    every_good = env.curriculum()
    curriculum, (done, _) = _copy_loop(venv, per_env=False, num_steps=60)(jax.random.key(1), every_good)
    assert curriculum.min_length.shape == ()
    # Half the envs fail every episode, and they finish within a step or two: the shared window
    # of 10 never fills with good episodes.
    assert int(curriculum.min_length) == 2
    assert np.asarray(done)[:, 1::2].sum() > 20

    # Only the good half finishing (the bad half's episodes masked out): one promotion per 10
    # good episodes counted across the batch, and every env's inputs follow the shared length.
    only_good = jnp.arange(num_envs) % 2 == 0
    reference = ReferenceCurriculum(2, 10, -1.0)
    state, ts = venv.reset(jax.random.key(2), every_good.apply(env.default_params))
    step, shared_update, curriculum = jax.jit(venv.step), jax.jit(update), every_good
    for _ in range(150):
        state, ts = step(
            state,
            (jnp.ones(num_envs, jnp.int32), jnp.ones(num_envs, jnp.int32), ts.obs),
            curriculum.apply(env.default_params),
        )
        finished = ts.done & only_good
        for i in np.flatnonzero(np.asarray(finished)):
            reference.finish(float(ts.info["episode_return"][i]), int(ts.info["target_length"][i]))
        curriculum = shared_update(curriculum, ts.info["episode_return"], ts.info["target_length"], finished)
        assert int(curriculum.min_length) == reference.min_length
    assert reference.min_length > 4
    lengths = np.asarray(state.env_state.input_length)
    assert np.all(lengths >= int(curriculum.min_length) - 1) and np.all(lengths <= int(curriculum.min_length) + 2)
