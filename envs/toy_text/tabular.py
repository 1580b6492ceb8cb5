"""What FrozenLake, Taxi and CliffWalking share: Gymnasium's `P` as padded host arrays, sampled in JAX.

Gymnasium lists, for every state s and action a, the outcomes `P[s][a] = [(prob, next_state,
reward, terminated), ...]` and steps by drawing one entry. Here the same lists are built once on
the host as an `OutcomeTable` of shape (S, A, K), K the longest list, shorter lists padded.
Probabilities and rewards are stored as indices into small value vectors that the env computes
from its params, so that params stay traced (one compile serves every slip probability or reward
value) while the table's structure (which state each outcome leads to) is fixed at construction.

Everything a user sees comes from that one table: the JAX step (`TabularEnv.sample_outcome`), the
Gymnasium-style `P` dict (`transition_dict`) and the dense model (`dense_model`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from gymx import struct
from gymx.core import Env, Params, State
from gymx.random import fast_key, key_words

Outcome = tuple[int, int, int, bool]  # (probability index, next state, reward index, terminated)


@dataclasses.dataclass(frozen=True)
class OutcomeTable:
    """Every (state, action)'s outcomes in Gymnasium's order, padded to K; host numpy arrays."""

    next_state: np.ndarray  # int32 (S, A, K)
    terminated: np.ndarray  # bool (S, A, K), Gymnasium's `terminated` of the outcome
    prob_index: np.ndarray  # int32 (S, A, K), index into the env's `outcome_probs(params)`
    reward_index: np.ndarray  # int32 (S, A, K), index into the env's `outcome_rewards(params)`
    count: np.ndarray  # int32 (S, A), how many of the K outcomes are real; the rest are padding

    @classmethod
    def build(
        cls, num_states: int, num_actions: int, outcomes: Callable[[int, int], Sequence[Outcome]]
    ) -> OutcomeTable:
        lists = [[list(outcomes(s, a)) for a in range(num_actions)] for s in range(num_states)]
        width = max(len(entries) for row in lists for entries in row)
        shape = (num_states, num_actions, width)
        next_state, prob_index, reward_index = (np.zeros(shape, np.int32) for _ in range(3))
        terminated = np.zeros(shape, np.bool_)
        count = np.zeros(shape[:2], np.int32)
        for s, row in enumerate(lists):
            for a, entries in enumerate(row):
                count[s, a] = len(entries)
                for k, (p, s_next, r, done) in enumerate(entries):
                    prob_index[s, a, k], next_state[s, a, k], reward_index[s, a, k], terminated[s, a, k] = (
                        p,
                        s_next,
                        r,
                        done,
                    )
        return cls(next_state, terminated, prob_index, reward_index, count)

    @property
    def num_states(self) -> int:
        return self.next_state.shape[0]

    @property
    def num_actions(self) -> int:
        return self.next_state.shape[1]

    @property
    def width(self) -> int:
        return self.next_state.shape[2]


class DenseModel(struct.PyTree):
    """The tabular MDP as dense arrays, for dynamic programming."""

    transitions: jax.Array  # float32 (S, A, S'), P(s' | s, a)
    rewards: jax.Array  # float32 (S, A), expected reward of taking a in s
    terminal: jax.Array  # bool (S,), the states where gymx ends an episode (absorbing from then on)


class TabularEnv(Env[State, Params]):
    """An env whose step draws one outcome of `table` (see the module docstring).

    Subclasses set `table` and `terminal` (bool (S,) numpy) at construction and give the value
    vectors that the table's indices point into.
    """

    table: OutcomeTable
    terminal: np.ndarray

    def outcome_probs(self, params: Params) -> tuple:
        """The probabilities the table's `prob_index` points into (arithmetic only: floats or arrays)."""
        raise NotImplementedError

    def outcome_rewards(self, params: Params) -> tuple:
        """The rewards the table's `reward_index` points into (arithmetic only: floats or arrays)."""
        raise NotImplementedError

    @property
    def P(self) -> dict:
        """Gymnasium's `env.unwrapped.P` under the default params."""
        return self.transition_dict()

    def transition_dict(self, params: Params | None = None) -> dict:
        """`{s: {a: [(prob, next_state, reward, terminated), ...]}}` as Gymnasium lists it, on the host.

        Values are computed in float64 from concrete params, so they equal Gymnasium's exactly.
        """
        params = self.default_params if params is None else params
        probs = np.asarray(jax.device_get(self.outcome_probs(params)), np.float64)
        rewards = np.asarray(jax.device_get(self.outcome_rewards(params)), np.float64)
        t = self.table
        return {
            s: {
                a: [
                    (
                        float(probs[t.prob_index[s, a, k]]),
                        int(t.next_state[s, a, k]),
                        float(rewards[t.reward_index[s, a, k]]),
                        bool(t.terminated[s, a, k]),
                    )
                    for k in range(t.count[s, a])
                ]
                for a in range(t.num_actions)
            }
            for s in range(t.num_states)
        }

    def dense_model(self, params: Params | None = None) -> DenseModel:
        """The same table as dense float32 arrays; jit-able, and traced in `params`."""
        params = self.default_params if params is None else params
        t = self.table
        probs = jnp.where(
            np.arange(t.width) < t.count[..., None], self._values(self.outcome_probs(params))[t.prob_index], 0.0
        )
        rewards = self._values(self.outcome_rewards(params))[t.reward_index]
        # Outcomes that lead to the same state (a slip into a wall) add up.
        transitions = jnp.zeros((t.num_states, t.num_actions, t.num_states), jnp.float32)
        s, a = np.indices(t.next_state.shape)[:2]
        transitions = transitions.at[s, a, t.next_state].add(probs)
        return DenseModel(
            transitions=transitions, rewards=jnp.sum(probs * rewards, axis=-1), terminal=jnp.asarray(self.terminal)
        )

    @staticmethod
    def step_keys(words: jax.Array | None) -> tuple[jax.Array | None, jax.Array | None]:
        """(the next state's key words, this step's outcome key) from a state's key words; both None
        for a state without a key (an env whose outcomes need no draw)."""
        if words is None:
            return None, None
        key, outcome_key = jax.random.split(fast_key(words))
        return key_words(key), outcome_key

    def sample_outcome(
        self, key: jax.Array | None, s: jax.Array, a: jax.Array, params: Params
    ) -> tuple[jax.Array, jax.Array, jax.Array]:
        """(next state, reward, probability) of one outcome of `a` in `s`, drawn as Gymnasium draws it.

        `key` may be None when every list has one entry (nothing to draw).
        """
        t = self.table
        probs = self._values(self.outcome_probs(params))
        prob_index = jnp.asarray(t.prob_index)[s, a]  # (K,)
        k = jnp.zeros((), jnp.int32)
        if t.width > 1:
            assert key is not None, "a draw among several outcomes needs a key"
            count = jnp.asarray(t.count)[s, a]
            row = jnp.where(jnp.arange(t.width) < count, probs[prob_index], 0.0)
            # u ~ U[0, 1); the outcome is the first whose cumulative probability exceeds u, as
            # Gymnasium's `categorical_sample` picks it. Should a float32 cumulative sum round
            # below 1, the `minimum` keeps the draw off the padding.
            u = jax.random.uniform(key, (), jnp.float32)
            k = jnp.minimum(jnp.sum(u >= jnp.cumsum(row)[:-1]), count - 1).astype(jnp.int32)
        reward = self._values(self.outcome_rewards(params))[jnp.asarray(t.reward_index)[s, a, k]]
        return jnp.asarray(t.next_state)[s, a, k], reward, probs[prob_index[k]]

    @staticmethod
    def _values(values: tuple) -> jax.Array:
        return jnp.stack([jnp.asarray(v, jnp.float32) for v in values])
