"""Parity of the toy-text envs with Gymnasium's.

- Step for step (deterministic configs): Gymnasium's state is copied into gymx at every reset,
  both get the same random actions for 1000 steps, and obs, reward, terminated, info and the ansi
  text are compared on every step.
- Slippery/rainy configs: every gymx transition over 1000 steps is one of Gymnasium's `P[s][a]`
  entries (next state, reward, terminated, prob), and the empirical next-state frequencies of many
  vmapped envs from chosen (state, action) pairs match the probabilities of Gymnasium's `P` within
  5 sigma (binomial, per next state); next states with probability 0 must never occur.
- Blackjack: step for step with the cards gymx draws fed to Gymnasium's env, and the outcome
  distribution of a fixed policy (100k gymx hands against 20k Gymnasium hands) within 5 sigma.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.envs.toy_text import blackjack as gym_blackjack
from gymx.envs.toy_text import blackjack
from gymx.envs.toy_text.blackjack import BlackjackState
from gymx.envs.toy_text.cliff_walking import CliffWalkingState
from gymx.envs.toy_text.frozen_lake import FrozenLakeState, generate_random_map
from gymx.envs.toy_text.taxi import TaxiState, decode

import gymx
from gymx.random import fast_key, key_words

PARITY_STEPS = 1000
SIGMAS = 5.0
SAMPLES_PER_PAIR = 4000
RANDOM_MAP = generate_random_map(6, 0.7, seed=11)


def _key_words(seed: int) -> jax.Array:
    return key_words(jax.random.key(seed))


def _tabular_state(env_id: str, s: int, seed: int, slippery: bool) -> Any:
    key = _key_words(seed) if slippery else None
    if env_id.startswith("FrozenLake"):
        return FrozenLakeState(s=jnp.int32(s), last_action=jnp.int32(-1), key=key)
    if env_id.startswith("CliffWalking"):
        return CliffWalkingState(s=jnp.int32(s), key=key)
    return TaxiState(s=jnp.int32(s), last_action=jnp.int32(-1), fickle_step=jnp.zeros((), jnp.bool_), key=key)


# (id, kwargs given to both makes, whether stochastic)
TABULAR = [
    ("FrozenLake-v1", {"is_slippery": False}, False),
    ("FrozenLake8x8-v1", {"is_slippery": False}, False),
    ("FrozenLake-v1", {"desc": RANDOM_MAP, "is_slippery": False, "reward_schedule": (2, -1, 0)}, False),
    ("CliffWalking-v1", {}, False),
    ("Taxi-v4", {}, False),
    ("FrozenLake-v1", {}, True),
    ("FrozenLake8x8-v1", {}, True),
    ("FrozenLake-v1", {"success_rate": 0.75, "reward_schedule": (1, -1, -0.01)}, True),
    ("CliffWalkingSlippery-v1", {}, True),
    ("Taxi-v4", {"is_rainy": True}, True),
    ("Taxi-v4", {"is_rainy": True, "rainy_probability": 0.6}, True),
]


def _name(case: tuple) -> str:
    env_id, kwargs, _ = case
    return (
        env_id
        + "".join(f"-{k}={v}" for k, v in kwargs.items() if k != "desc")
        + ("-random_map" if "desc" in kwargs else "")
    )


@pytest.mark.parametrize("case", TABULAR, ids=_name)
def test_tabular_step_parity(case: tuple) -> None:
    env_id, kwargs, stochastic = case
    env = gymx.make(env_id, max_episode_steps=-1, **kwargs)
    gym_env = gymnasium.make(env_id, render_mode="ansi", **kwargs).unwrapped
    step = jax.jit(env.step)
    rng = np.random.default_rng(0)
    num_actions = int(gym_env.action_space.n)
    done, episodes = True, 0
    for t in range(PARITY_STEPS):
        if done:
            gym_obs, gym_info = gym_env.reset(seed=int(rng.integers(2**31)))
            state = _tabular_state(env_id, gym_obs, t, stochastic)
            episodes += 1
        action = int(rng.integers(num_actions))
        s = int(state.s)
        state, ts = step(state, action)
        if stochastic:
            # The outcome gymx drew must be one of Gymnasium's entries, with its probability.
            entry = (float(ts.info["prob"]), int(ts.obs), float(ts.reward), bool(ts.terminated))
            candidates = [(np.float32(p), s2, np.float32(r), d) for p, s2, r, d in gym_env.P[s][action]]
            assert any(entry == c for c in candidates), (t, s, action, entry, gym_env.P[s][action])
            gym_env.s, gym_env.lastaction = entry[1], action
        else:
            gym_obs, reward, terminated, _, gym_info = gym_env.step(action)
            assert (int(ts.obs), float(ts.reward), bool(ts.terminated)) == (gym_obs, np.float32(reward), terminated), t
            assert float(ts.info["prob"]) == gym_info["prob"]
            if "action_mask" in gym_info:
                np.testing.assert_array_equal(ts.info["action_mask"], gym_info["action_mask"])
        assert env.render(state, mode="ansi") == gym_env.render(), t
        done = bool(ts.terminated) or rng.random() < 0.02  # also cut long walks, to restart often
    assert episodes > 10


def _gymnasium_dense(P: dict, num_states: int) -> np.ndarray:
    dense = np.zeros((num_states, len(P[0]), num_states))
    for s, actions in P.items():
        for a, entries in actions.items():
            for p, s2, _, _ in entries:
                dense[s, a, s2] += p
    return dense


@pytest.mark.parametrize("case", [c for c in TABULAR if c[2]], ids=_name)
def test_transition_frequencies_match_gymnasium(case: tuple) -> None:
    env_id, kwargs, _ = case
    env = gymx.make(env_id, **kwargs).unwrapped
    gym_env = gymnasium.make(env_id, **kwargs).unwrapped
    num_states = env.observation_space().n
    expected = _gymnasium_dense(gym_env.P, num_states)
    rng = np.random.default_rng(1)
    pairs = [(s, a) for s in np.flatnonzero(~env.terminal) for a in range(env.action_space().n)]
    pairs = [pairs[i] for i in sorted(rng.choice(len(pairs), min(len(pairs), 200), replace=False))]
    s, a = (np.repeat(np.array(x, np.int32), SAMPLES_PER_PAIR) for x in zip(*pairs))
    keys = jax.vmap(key_words)(jax.random.split(jax.random.key(2), len(s)))
    states = jax.vmap(lambda s, k: _tabular_state(env_id, s, 0, True).replace(s=s, key=k))(jnp.asarray(s), keys)
    _, ts = jax.jit(jax.vmap(env.step))(states, jnp.asarray(a))
    next_s = np.asarray(ts.obs).reshape(len(pairs), SAMPLES_PER_PAIR)
    for i, (s0, a0) in enumerate(pairs):
        freq = np.bincount(next_s[i], minlength=num_states) / SAMPLES_PER_PAIR
        p = expected[s0, a0]
        tolerance = SIGMAS * np.sqrt(p * (1 - p) / SAMPLES_PER_PAIR) + 1e-12
        assert np.all(np.abs(freq - p) <= tolerance), (s0, a0, dict(enumerate(freq)), dict(enumerate(p)))


def test_taxi_fickle_passenger_matches_gymnasium() -> None:
    """Fickleness at reset ~ Bernoulli(0.3); on the first move with the passenger aboard the
    destination becomes one of the other three, uniformly; both as Gymnasium's."""
    env = gymx.make("Taxi-v4", fickle_passenger=True).unwrapped
    num = 20000
    reset_states, _ = jax.jit(jax.vmap(env.reset))(jax.random.split(jax.random.key(3), num))
    fickle = float(np.mean(reset_states.fickle_step))
    assert abs(fickle - 0.3) <= SIGMAS * np.sqrt(0.3 * 0.7 / num)
    # Taxi at (2, 2) with the passenger aboard, heading for destination 1; it drives south.
    start = 2 * 100 + 2 * 20 + 4 * 4 + 1
    states = jax.vmap(
        lambda k: TaxiState(s=jnp.int32(start), last_action=jnp.int32(-1), fickle_step=jnp.ones((), jnp.bool_), key=k)
    )(jax.vmap(key_words)(jax.random.split(jax.random.key(4), num)))
    stepped, ts = jax.jit(jax.vmap(env.step))(states, jnp.zeros(num, jnp.int32))
    row, col, passenger, destination = decode(np.asarray(ts.obs))
    assert (
        (row == 3).all() and (col == 2).all() and (passenger == 4).all() and not np.asarray(stepped.fickle_step).any()
    )
    ours = np.bincount(destination, minlength=4) / num
    gym_env = gymnasium.make("Taxi-v4", fickle_passenger=True).unwrapped
    gym_env.reset(seed=0)
    theirs = np.zeros(4)
    gym_num = 3000
    for _ in range(gym_num):
        gym_env.s, gym_env.fickle_step = start, True
        theirs[gym_env.step(0)[0] % 4] += 1 / gym_num
    for freq, n in ((ours, num), (theirs, gym_num)):
        assert freq[1] == 0 and np.all(np.abs(freq[[0, 2, 3]] - 1 / 3) <= SIGMAS * np.sqrt(2 / 9 / n))
    # A second move keeps the new destination.
    _, ts2 = jax.jit(jax.vmap(env.step))(stepped, jnp.zeros(num, jnp.int32))
    np.testing.assert_array_equal(np.asarray(ts2.obs) % 4, destination)


class _FedCards:
    """A stand-in for Gymnasium's Blackjack `np_random` that deals the queued cards."""

    def __init__(self) -> None:
        self.cards: list[int] = []

    def choice(self, options: list) -> Any:
        assert options is gym_blackjack.deck, "only card draws are fed; resets use the real generator"
        return self.cards.pop(0)


@pytest.mark.parametrize(
    "kwargs", [{"sab": True, "natural": False}, {"sab": False, "natural": True}, {"sab": False, "natural": False}]
)
def test_blackjack_step_parity(kwargs: dict) -> None:
    env = gymx.make("Blackjack-v1", **kwargs)
    gym_env = gymnasium.make("Blackjack-v1", **kwargs).unwrapped
    step = jax.jit(env.step)
    cards_of = jax.jit(lambda words: blackjack.deal(jax.random.split(fast_key(words))[1], blackjack.DEALER_MAX_DRAWS))
    rng = np.random.default_rng(5)
    done, rewards = True, set()
    for t in range(PARITY_STEPS):
        if done:
            gym_env.reset(seed=int(rng.integers(2**31)))
            player = gym_env.player
            state = BlackjackState(
                player_sum=jnp.int32(sum(player)),
                player_ace=jnp.asarray(1 in player),
                player_cards=jnp.int32(len(player)),
                dealer_card=jnp.int32(gym_env.dealer[0]),
                dealer_hidden=jnp.int32(gym_env.dealer[1]),
                stuck=jnp.zeros((), jnp.bool_),
                key=_key_words(t),
            )
            fed = _FedCards()
            gym_env._np_random = fed
        # The cards gymx deals this step, queued for Gymnasium's draws.
        fed.cards = [int(c) for c in cards_of(state.key)]
        action = int(rng.random() < 0.4)
        state, ts = step(state, action)
        obs, reward, terminated, _, _ = gym_env.step(action)
        assert (
            tuple(int(x) for x in ts.obs) == obs and float(ts.reward) == reward and bool(ts.terminated) == terminated
        ), t
        rewards.add(reward)
        done = terminated
    assert {-1.0, 0.0, 1.0} <= rewards


def test_dealer_max_draws_covers_every_hand() -> None:
    """`DEALER_MAX_DRAWS` is the longest run of dealer draws, by enumerating every hand."""
    values = range(1, 11)

    def total(raw: int, ace: bool) -> int:
        return raw + 10 if ace and raw + 10 <= 21 else raw

    def longest(raw: int, ace: bool) -> int:
        return 0 if total(raw, ace) >= 17 else 1 + max(longest(raw + v, ace or v == 1) for v in values)

    assert max(longest(a + b, 1 in (a, b)) for a in values for b in values) == blackjack.DEALER_MAX_DRAWS


def _policy_outcomes_gymx(num: int, natural: bool) -> tuple[np.ndarray, np.ndarray]:
    """Rewards of `num` hands of 'hit below 17', and whether each was dealt a natural."""
    env = gymx.make("Blackjack-v1", natural=natural, sab=False)

    def play(key: jax.Array) -> tuple[jax.Array, jax.Array]:
        state, ts = env.reset(key)
        dealt_21 = ts.obs[0] == 21

        def one(carry: tuple, _: None) -> tuple:
            state, ts, total = carry
            state, ts = env.step(state, (ts.obs[0] < 17).astype(jnp.int32))
            return (state, ts, total + ts.reward), None

        (_, _, total), _ = jax.lax.scan(one, (state, ts, jnp.zeros((), jnp.float32)), None, length=12)
        return total, dealt_21

    rewards, naturals = jax.jit(jax.vmap(play))(jax.random.split(jax.random.key(6), num))
    return np.asarray(rewards), np.asarray(naturals)


def _policy_outcomes_gymnasium(num: int, natural: bool) -> tuple[np.ndarray, np.ndarray]:
    env = gymnasium.make("Blackjack-v1", natural=natural, sab=False).unwrapped
    env.reset(seed=7)
    rewards, naturals = np.zeros(num), np.zeros(num, np.bool_)
    for i in range(num):
        obs, _ = env.reset()
        naturals[i] = obs[0] == 21
        terminated = False
        while not terminated:
            obs, reward, terminated, _, _ = env.step(int(obs[0] < 17))
        rewards[i] = reward
    return rewards, naturals


def test_blackjack_outcome_distribution_matches_gymnasium() -> None:
    ours, our_naturals = _policy_outcomes_gymx(100_000, natural=True)
    theirs, their_naturals = _policy_outcomes_gymnasium(20_000, natural=True)
    for outcome in (-1.0, 0.0, 1.0, 1.5):
        p_ours, p_theirs = np.mean(ours == outcome), np.mean(theirs == outcome)
        pooled = (p_ours * len(ours) + p_theirs * len(theirs)) / (len(ours) + len(theirs))
        sigma = np.sqrt(pooled * (1 - pooled) * (1 / len(ours) + 1 / len(theirs)))
        assert abs(p_ours - p_theirs) <= SIGMAS * sigma, (outcome, p_ours, p_theirs)
    # A natural is dealt with probability 2 * (1/13) * (4/13).
    for naturals in (our_naturals, their_naturals):
        p = 8 / 169
        assert abs(np.mean(naturals) - p) <= SIGMAS * np.sqrt(p * (1 - p) / len(naturals))
