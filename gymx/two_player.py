"""Two-player, zero-sum, alternating-move games, and the wrapper that makes one single-agent.

The convention every board game follows (Pgx's, on gymx's `Env` API):

- A game is a `TwoPlayerEnv`, a gymx `Env` whose state is a `TwoPlayerState`: the fields
  `current_player` int32 () (0 or 1, the player to move; player 0 moves first),
  `legal_action_mask` bool (num_actions,) (the mover's legal actions; all True once terminal, so a
  policy that normalises over the mask never divides by zero), `winner` int32 () (-1 until
  someone has won; a draw ends with -1), `terminated` bool (), and `game`, the game's own state.
- Observations are from the point of view of the player to move, i.e. `current_player` after the
  step (`observe_for(state, player, params)` gives any player's view).
- `ts.reward` (the float32 scalar the core requires) is the reward of the player who just moved;
  `ts.info["rewards"]` is float32 (2,), both players' rewards indexed by player: zero-sum, +1
  win / -1 loss / 0 draw on the step that ends the game, zeros before.
- An illegal action (outside `legal_action_mask`, or outside [0, num_actions)) ends the game at
  once with -1 for the mover and +1 for the other player; the board is left as it was. (Pgx and
  the original Gym Go env did the same.)
- The game terminates when it is over; it is never truncated (truncation is a `TimeLimit`'s).
- Stepping a terminated game is absorbing, as for every gymx env: same state, zero rewards.

A game implements only its rules, as hooks on its own state type `G` (`num_actions` is set in
`__init__`):

    _init_game(key, params) -> G                          the start position
    _legal_actions(game, player, params) -> bool (num_actions,)
    _apply_move(game, action, player, params) -> G        `action` is legal for `player`
    _outcome(game, action, player, params) -> (winner int32 (), game_over bool ())
        after `player` played `action`: winner -1 (none yet, or a draw) or 0/1, and whether the
        game is over (a rule that makes the mover lose, e.g. Go's superko, returns
        winner = 1 - player, game_over = True)
    _observe_for(game, player, params) -> obs             the observation from `player`'s side
    observation_space(params)

`VsOpponent(game, opponent, agent_player, illegal_action)` turns a game into a single-agent env:
the opponent, a pure function `opponent(key, state, params) -> action` on the game's state, replies
inside the agent's `step`. `uniform_random_legal` is the game-agnostic opponent; `one_ply` builds
the greedy one for any game whose `_outcome` says who won (see each game module). Registered ids
use `make_vs_opponent` as their entry point, with the game and the opponent's name as kwargs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, Generic

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from gymx import spaces, struct
from gymx.core import Env, TimeStep, Wrapper, tree_select
from gymx.random import fast_key, key_words
from gymx.registration import load_entry_point

if sys.version_info >= (3, 13):
    from typing import TypeVar
else:
    from typing_extensions import TypeVar

G = TypeVar("G")
# A game's params; `TwoPlayerEnv[Game]` leaves them dynamic, so a game may take `object` or its own
# params class in its hooks.
GameParams = TypeVar("GameParams", default=Any)
# `opponent(key, state, params) -> action`, int32 ().
Opponent = Callable[[jax.Array, "TwoPlayerState[G]", GameParams], jax.Array]


class TwoPlayerState(struct.PyTree, Generic[G]):
    current_player: jax.Array  # int32 (), the player to move, 0 or 1 (player 0 moves first)
    legal_action_mask: jax.Array  # bool (num_actions,), the mover's legal actions; all True once terminal
    winner: jax.Array  # int32 (), -1 until a player has won (and after a draw)
    terminated: jax.Array  # bool (), the game is over
    game: G  # the game's own state (board, ...)


def is_legal(mask: jax.Array, action: jax.Array) -> jax.Array:
    """Whether `action` is in `mask` (bool (num_actions,)); an action outside [0, num_actions) is not."""
    num_actions = mask.shape[-1]
    # The clip only keeps the gather in bounds; the range test decides for those actions.
    return (action >= 0) & (action < num_actions) & mask[jnp.clip(action, 0, num_actions - 1)]


def rewards_of(winner: jax.Array) -> jax.Array:
    """Both players' rewards, float32 (2,): +1 for `winner`, -1 for the other, zeros when `winner` is -1."""
    return jnp.where(winner < 0, 0.0, jnp.where(jnp.arange(2) == winner, 1.0, -1.0)).astype(jnp.float32)


class TwoPlayerEnv(Env[TwoPlayerState[G], GameParams, jax.Array]):
    """Base of the two-player games: the bookkeeping of the module's convention, done once.

    Subclasses set `num_actions` and implement the rule hooks listed in the module docstring;
    `step_env` checks legality, applies the move, asks `_outcome`, hands the turn over, and
    emits `info["rewards"]`.
    """

    num_actions: int

    def _init_game(self, key: jax.Array, params: GameParams) -> G:
        raise NotImplementedError

    def _legal_actions(self, game: G, player: jax.Array, params: GameParams) -> jax.Array:
        raise NotImplementedError

    def _apply_move(self, game: G, action: jax.Array, player: jax.Array, params: GameParams) -> G:
        raise NotImplementedError

    def _outcome(
        self, game: G, action: jax.Array, player: jax.Array, params: GameParams
    ) -> tuple[jax.Array, jax.Array]:
        raise NotImplementedError

    def _observe_for(self, game: G, player: jax.Array, params: GameParams) -> jax.Array:
        raise NotImplementedError

    def action_space(self, params: GameParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(self.num_actions)

    def reset_env(self, key: jax.Array, params: GameParams) -> TwoPlayerState[G]:
        game = self._init_game(key, params)
        first = jnp.zeros((), jnp.int32)
        return TwoPlayerState(
            current_player=first,
            legal_action_mask=self._legal_actions(game, first, params),
            winner=jnp.full((), -1, jnp.int32),
            terminated=jnp.zeros((), jnp.bool_),
            game=game,
        )

    def reset_info(self, state: TwoPlayerState[G], params: GameParams) -> dict:
        return {"rewards": jnp.zeros(2, jnp.float32)}

    def step_env(
        self, state: TwoPlayerState[G], action: jax.Array, params: GameParams
    ) -> tuple[TwoPlayerState[G], jax.Array, dict]:
        mover = state.current_player
        action = jnp.asarray(action, jnp.int32)
        legal = is_legal(state.legal_action_mask, action)
        moved = self._apply_move(state.game, action, mover, params)
        winner, over = self._outcome(moved, action, mover, params)
        game = tree_select(legal, moved, state.game)
        winner = jnp.where(legal, winner, 1 - mover).astype(jnp.int32)
        terminated = ~legal | over
        player = 1 - mover
        mask = self._legal_actions(game, player, params) | terminated
        rewards = rewards_of(winner)
        next_state = TwoPlayerState(
            current_player=player, legal_action_mask=mask, winner=winner, terminated=terminated, game=game
        )
        return next_state, rewards[mover], {"rewards": rewards}

    def observe(self, state: TwoPlayerState[G], params: GameParams) -> jax.Array:
        return self._observe_for(state.game, state.current_player, params)

    def observe_for(self, state: TwoPlayerState[G], player: ArrayLike, params: GameParams | None = None) -> jax.Array:
        """The observation of `state` from `player`'s side (`observe` is the mover's)."""
        params = self.default_params if params is None else params
        return self._observe_for(state.game, jnp.asarray(player, jnp.int32), params)

    def is_terminal(self, state: TwoPlayerState[G], params: GameParams) -> jax.Array:
        return state.terminated


def kth_legal(mask: jax.Array, u: jax.Array) -> jax.Array:
    """The legal action at quantile `u` in [0, 1) of `mask` (bool (..., n)): uniform over the legal
    ones when `u` is uniform. One draw per env instead of a Gumbel draw per action."""
    counts = jnp.cumsum(mask, axis=-1, dtype=jnp.int32)
    k = jnp.floor(u * counts[..., -1]).astype(jnp.int32)
    return jnp.argmax(counts > k[..., None], axis=-1).astype(jnp.int32)


def uniform_random_legal(key: jax.Array, state: TwoPlayerState[G], params: object = None) -> jax.Array:
    """An opponent: uniform over the mover's legal actions, int32 ()."""
    return kth_legal(state.legal_action_mask, jax.random.uniform(key))


def one_ply(game: TwoPlayerEnv[G, GameParams]) -> Opponent[G, GameParams]:
    """The greedy opponent of `game`: win now if it can, else block a square where the other player
    would win now, else uniform over the legal actions (each tier uniform among its actions).

    Every action is tried for both players with the game's own `_apply_move` and `_outcome`, so it
    suits games where "the other player plays here" is a meaningful move (k-in-a-row games).
    """

    def wins(state: TwoPlayerState[G], player: jax.Array, params: GameParams) -> jax.Array:
        def after(action: jax.Array) -> jax.Array:
            winner, _ = game._outcome(game._apply_move(state.game, action, player, params), action, player, params)
            return winner == player

        return jax.vmap(after)(jnp.arange(game.num_actions, dtype=jnp.int32))

    def opponent(key: jax.Array, state: TwoPlayerState[G], params: GameParams | None = None) -> jax.Array:
        params = game.default_params if params is None else params
        legal, me = state.legal_action_mask, state.current_player
        win, block = legal & wins(state, me, params), legal & wins(state, 1 - me, params)
        choices = jnp.where(win.any(), win, jnp.where(block.any(), block, legal))
        return kth_legal(choices, jax.random.uniform(key))

    return opponent


class VsOpponentState(struct.PyTree, Generic[G]):
    env_state: TwoPlayerState[G]  # the game's state; the agent is always to move unless it is over
    agent_player: jax.Array  # int32 (), the agent's seat, 0 (moves first) or 1
    key: jax.Array  # uint32 (2,), key data of the opponent's `fast_key` stream


class VsOpponent(Wrapper[VsOpponentState[G], GameParams, jax.Array]):
    """A two-player game as a single-agent env: the agent plays one seat, `opponent` the other.

    Observation: the game's, always from the agent's side.
    Action: the game's `Discrete(num_actions)` int32.
    Reward: float32, the agent's: +1 win / -1 loss / 0 draw when the game ends, else 0.
    Termination: the game is over (after the agent's move or the opponent's reply).
    Info: `action_mask` bool (num_actions,), the agent's legal actions for its next move (all True
        once terminal: Gymnasium users can mask with it); `illegal_action` bool (), the agent's
        action was illegal.

    `step` plays the agent's action and then, unless the game is over, the opponent's reply; with
    the agent in seat 1 (`agent_player=1`, or "random": a fair coin at each reset) `reset` also
    plays the opponent's first move. `opponent(key, state, params) -> action` is a pure function on
    the game's `TwoPlayerState`, given a fresh key each call; it should play legal actions (an
    illegal one loses the game for the opponent, as for any mover).

    `illegal_action` says what an agent action outside the mask does:
    - "lose" (the game's rule): the game ends, reward -1.
    - "mask": the action is rejected: nothing is played, the opponent does not reply, reward 0, the
      same observation and `info["illegal_action"]=True`; the agent moves again. Under `jit` an
      action cannot be refused with an error, so this is the honest no-op; a policy should mask
      its logits with `info["action_mask"]` (rejected steps still count towards a `TimeLimit`).

        env = VsOpponent(TicTacToe(), uniform_random_legal, agent_player="random")
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, 4)
    """

    env: TwoPlayerEnv[G, GameParams]

    def __init__(
        self,
        env: TwoPlayerEnv[G, GameParams],
        opponent: Opponent[G, GameParams] = uniform_random_legal,
        agent_player: int | str = 0,
        illegal_action: str = "lose",
    ):
        if agent_player not in (0, 1, "random"):
            raise ValueError(f"agent_player must be 0, 1 or 'random', got {agent_player!r}")
        if illegal_action not in ("lose", "mask"):
            raise ValueError(f"illegal_action must be 'lose' or 'mask', got {illegal_action!r}")
        super().__init__(env)
        self.opponent = opponent
        self.agent_player = agent_player
        self.illegal_action = illegal_action

    def _reply(
        self, key: jax.Array, env_state: TwoPlayerState[G], agent: jax.Array, params: GameParams
    ) -> tuple[TwoPlayerState[G], jax.Array]:
        """The opponent's move (absorbing if the game is over) and the agent's reward from it."""
        env_state, ts = self.env.step(env_state, self.opponent(key, env_state, params), params)
        return env_state, ts.info["rewards"][agent]

    def _info(self, env_state: TwoPlayerState[G], illegal: jax.Array) -> dict:
        return {"action_mask": env_state.legal_action_mask, "illegal_action": illegal}

    def reset(self, key: jax.Array, params: GameParams | None = None) -> tuple[VsOpponentState[G], TimeStep[jax.Array]]:
        params = self.default_params if params is None else params
        game_key, seat_key, opponent_key, key = jax.random.split(key, 4)
        env_state, _ = self.env.reset(game_key, params)
        # The agent's seat ~ a fair coin with "random", else fixed.
        agent = (
            jax.random.bernoulli(seat_key).astype(jnp.int32)
            if self.agent_player == "random"
            else jnp.int32(self.agent_player)
        )
        opening, _ = self._reply(opponent_key, env_state, agent, params)
        env_state = tree_select(agent == 1, opening, env_state)
        state = VsOpponentState(env_state=env_state, agent_player=agent, key=key_words(key))
        return state, TimeStep(
            obs=self.observe(state, params),
            reward=jnp.zeros((), jnp.float32),
            terminated=env_state.terminated,
            truncated=jnp.zeros((), jnp.bool_),
            info=self._info(env_state, jnp.zeros((), jnp.bool_)),
        )

    def step(
        self, state: VsOpponentState[G], action: ArrayLike, params: GameParams | None = None
    ) -> tuple[VsOpponentState[G], TimeStep[jax.Array]]:
        params = self.default_params if params is None else params
        key, opponent_key = jax.random.split(fast_key(state.key))
        already_terminal = state.env_state.terminated
        illegal = ~is_legal(state.env_state.legal_action_mask, jnp.asarray(action, jnp.int32)) & ~already_terminal
        moved, ts = self.env.step(state.env_state, action, params)
        replied, reply_reward = self._reply(opponent_key, moved, state.agent_player, params)
        reward = ts.info["rewards"][state.agent_player] + reply_reward
        env_state = replied
        if self.illegal_action == "mask":
            env_state = tree_select(illegal, state.env_state, replied)
            reward = jnp.where(illegal, 0.0, reward)
        next_state = tree_select(
            already_terminal, state, VsOpponentState(env_state, state.agent_player, key_words(key))
        )
        return next_state, TimeStep(
            obs=self.observe(next_state, params),
            reward=jnp.where(already_terminal, 0.0, reward).astype(jnp.float32),
            terminated=next_state.env_state.terminated,
            truncated=jnp.zeros((), jnp.bool_),
            info=self._info(next_state.env_state, illegal),
        )

    def observe(self, state: VsOpponentState[G], params: GameParams) -> jax.Array:
        return self.env.observe_for(state.env_state, state.agent_player, params)

    def inner_state(self, state: VsOpponentState[G]) -> TwoPlayerState[G]:
        return self.env.inner_state(state.env_state)


def make_vs_opponent(
    game: str | Callable[..., TwoPlayerEnv],
    opponent: str | Opponent = "random",
    agent_player: int | str = 0,
    illegal_action: str = "lose",
    **game_kwargs: object,
) -> VsOpponent:
    """The registry's entry point of single-agent board-game ids: `VsOpponent(game(**game_kwargs), ...)`.

    `game` is a class or a "module:attr" string; `opponent` an `Opponent` or a name: "random"
    (`uniform_random_legal`) or "one_ply" (`one_ply(game)`).

        register("TicTacToe-v0", "gymx.two_player:make_vs_opponent",
                 kwargs={"game": "gymx.envs.board_games.tic_tac_toe:TicTacToe", "opponent": "random"})
    """
    env = load_entry_point(game)(**game_kwargs)
    if isinstance(opponent, str):
        named = {"random": lambda: uniform_random_legal, "one_ply": lambda: one_ply(env)}
        if opponent not in named:
            raise ValueError(f"opponent must be an Opponent or one of {sorted(named)}, got {opponent!r}")
        opponent = named[opponent]()
    return VsOpponent(env, opponent, agent_player, illegal_action)
