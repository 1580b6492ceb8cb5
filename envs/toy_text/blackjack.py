"""Blackjack against a dealer who draws to 17, from an infinite deck (Sutton & Barto, Example 5.1), as Gymnasium's."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from gymx.envs.toy_text import drawing

from gymx import spaces, struct
from gymx.core import EmptyParams, Env
from gymx.random import fast_key, key_words

STICK, HIT = 0, 1
DECK = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 10, 10], np.int32)  # the 13 ranks' values; an ace is 1 (or 11)
# The most cards a dealer can draw before reaching 17: A, A (soft 12), four aces (soft 16), a 6
# (hard 12), five aces (hard 17). `tests/envs/toy_text` checks it by enumerating dealer hands.
DEALER_MAX_DRAWS = 10


def deal(key: jax.Array, num: int) -> jax.Array:
    """int32 (num,) card values, each rank ~ uniform over the 13 (an infinite deck: drawn with replacement).

    A 24-bit draw u picks rank (u * 13) >> 24, a multiply where `randint` needs two draws and a
    remainder (several times slower on CPU); no rank's probability is off by more than 13 / 2**24
    of itself, finer than the float32 uniforms the tabular envs draw with.
    """
    draws = jax.random.bits(key, (num,), jnp.uint32) >> 8
    return jnp.asarray(DECK)[(draws * jnp.uint32(len(DECK))) >> 24]


def hand_total(raw_sum: jax.Array, has_ace: jax.Array) -> jax.Array:
    """A hand's value: the sum with aces as 1, plus 10 when one ace can count 11 without busting."""
    return jnp.where(has_ace & (raw_sum + 10 <= 21), raw_sum + 10, raw_sum)


class BlackjackState(struct.PyTree):
    player_sum: jax.Array  # int32 (), the player's cards summed with aces as 1
    player_ace: jax.Array  # bool (), the player holds an ace
    player_cards: jax.Array  # int32 (), how many cards the player holds (a natural is exactly two)
    dealer_card: jax.Array  # int32 (), the dealer's face-up card, 1 (ace) to 10
    dealer_hidden: jax.Array  # int32 (), the dealer's face-down card, 1 to 10
    stuck: jax.Array  # bool (), the player stuck and the dealer has played the hand out
    key: jax.Array  # uint32 (2,), key data of the cards' `fast_key` stream


class Blackjack(Env[BlackjackState, EmptyParams]):
    """Draw cards to get closer to 21 than the dealer without going over.

    Observation: Tuple(Discrete(32), Discrete(11), Discrete(2)) of int32 scalars: the player's
        total (4-31), the dealer's face-up card (1-10, 1 an ace), whether the player holds a usable ace.
    Action: Discrete(2) int32: 0 stick, 1 hit.
    Reward: float32 on the final step: +1 win, 0 draw, -1 loss (a bust loses at once); with
        `natural=True` a win with a natural (ace and ten dealt) pays +1.5; with `sab=True` (Sutton &
        Barto's rules, overriding `natural`) a natural wins +1 unless the dealer has one too.
    Termination: the player sticks (the dealer then draws to 17 or more and the hands are scored)
        or goes over 21.
    Truncation: none registered (as Gymnasium).
    Start: two cards each, every card's rank uniform over the 13 (infinite deck).
    Info: none (as Gymnasium's).

        env = gymx.make("Blackjack-v1")
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, 1)
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(self, natural: bool = False, sab: bool = False):
        self.natural = natural
        self.sab = sab

    def observation_space(self, params: EmptyParams | None = None) -> spaces.Tuple:
        return spaces.Tuple([spaces.Discrete(32), spaces.Discrete(11), spaces.Discrete(2)])

    def action_space(self, params: EmptyParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(2)

    def reset_env(self, key: jax.Array, params: EmptyParams) -> BlackjackState:
        deal_key, key = jax.random.split(key)
        # Dealt as Gymnasium deals: the dealer's two cards (face-up first), then the player's two.
        dealer_card, dealer_hidden, first, second = deal(deal_key, 4)
        return BlackjackState(
            player_sum=first + second,
            player_ace=(first == 1) | (second == 1),
            player_cards=jnp.int32(2),
            dealer_card=dealer_card,
            dealer_hidden=dealer_hidden,
            stuck=jnp.zeros((), jnp.bool_),
            key=key_words(key),
        )

    def step_env(
        self, state: BlackjackState, action: jax.Array, params: EmptyParams
    ) -> tuple[BlackjackState, jax.Array, dict]:
        key, deal_key = jax.random.split(fast_key(state.key))
        # A step needs a hit's one card or the dealer's draws, never both: one deal serves either,
        # a hit taking cards[0] and a stick handing cards[0], cards[1], ... to the dealer in turn.
        cards = deal(deal_key, DEALER_MAX_DRAWS)
        hit = jnp.asarray(action) == HIT
        next_state = state.replace(
            player_sum=state.player_sum + jnp.where(hit, cards[0], 0),
            player_ace=state.player_ace | (hit & (cards[0] == 1)),
            player_cards=state.player_cards + hit.astype(jnp.int32),
            stuck=~hit,
            key=key_words(key),
        )
        player_total = hand_total(next_state.player_sum, next_state.player_ace)
        reward = jnp.where(hit, jnp.where(player_total > 21, -1.0, 0.0), self._settle(state, cards))
        return next_state, reward, {}

    def _settle(self, state: BlackjackState, cards: jax.Array) -> jax.Array:
        """The reward of sticking: the dealer draws `cards` in turn until at 17 or more, then the hands are compared."""
        raw = state.dealer_card + state.dealer_hidden + jnp.concatenate([jnp.zeros(1, jnp.int32), jnp.cumsum(cards)])
        drew_ace = jnp.concatenate([jnp.zeros(1, jnp.bool_), jnp.cumsum(cards == 1) > 0])
        totals = hand_total(raw, (state.dealer_card == 1) | (state.dealer_hidden == 1) | drew_ace)  # after 0..D draws
        dealer_total = totals[jnp.argmax(totals >= 17)]  # the first total of 17 or more is where the dealer stops
        player_total = hand_total(state.player_sum, state.player_ace)
        player_score, dealer_score = (jnp.where(t > 21, 0, t) for t in (player_total, dealer_total))
        reward = jnp.sign(player_score - dealer_score).astype(jnp.float32)
        player_natural = (state.player_cards == 2) & state.player_ace & (state.player_sum == 11)
        if self.sab:
            dealer_natural = ((state.dealer_card == 1) | (state.dealer_hidden == 1)) & (
                state.dealer_card + state.dealer_hidden == 11
            )
            return jnp.where(player_natural & ~dealer_natural, 1.0, reward)
        if self.natural:
            return jnp.where(player_natural & (reward == 1.0), 1.5, reward)
        return reward

    def observe(self, state: BlackjackState, params: EmptyParams) -> tuple[jax.Array, jax.Array, jax.Array]:
        usable_ace = state.player_ace & (state.player_sum + 10 <= 21)
        return hand_total(state.player_sum, state.player_ace), state.dealer_card, usable_ace.astype(jnp.int32)

    def is_terminal(self, state: BlackjackState, params: EmptyParams) -> jax.Array:
        return state.stuck | (hand_total(state.player_sum, state.player_ace) > 21)

    def render(self, state: BlackjackState, params: EmptyParams | None = None, mode: str = "rgb_array") -> jax.Array:
        """A green table: the dealer's face-up card and face-down card, the player's total, and a
        yellow A when the player's ace is usable."""
        if mode != "rgb_array":
            return super().render(state, params, mode)
        total, dealer_card, usable_ace = self.observe(state, EmptyParams())
        frame = drawing.box(jnp.zeros((80, 120, 3), jnp.uint8), 0, 0, 80, 120, (7, 99, 36))
        frame = drawing.box(frame, 5, 10, 32, 28, (255, 255, 255))
        face = drawing.number(frame, dealer_card, 13, 12, 3, (0, 0, 0))
        frame = jnp.where(dealer_card == 1, drawing.glyph(frame, drawing.ACE, 13, 19, 3, (0, 0, 0)), face)
        frame = drawing.box(frame, 5, 44, 32, 28, (40, 60, 160))
        frame = drawing.number(frame, total, 47, 10, 4, (255, 255, 255))
        ace_marked = drawing.glyph(frame, drawing.ACE, 52, 60, 3, (255, 220, 0))
        return jnp.where(usable_ace == 1, ace_marked, frame)
