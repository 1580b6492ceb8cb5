"""PettingZoo adapters: a two-player gymx game (`gymx.two_player.TwoPlayerEnv`) as an `AECEnv` or a
`ParallelEnv`.

Both follow PettingZoo's classic board games: agents `player_0` (moves first) and `player_1`;
each agent observes `{"observation": the game's observation from its side, "action_mask": int8
(num_actions,)}`, the mask being the legal moves when the agent is to move and all zeros
otherwise (and once the game is over); actions are `Discrete(num_actions)`; rewards are +1 / -1 /
0 to the winner / loser / both on a draw, on the move that ends the game. An illegal move loses
at once (the `gymx.two_player` rule, which is what PettingZoo's `TerminateIllegalWrapper` does to
its own games). Games end by termination only; the games' own move caps (Go's `max_moves`) are
terminations too, as gymx scores them.

- `AECEnv`: the agent to move is `agent_selection`; `step(action)` plays its move.
- `ParallelEnv`: `step(actions)` takes an action from every live agent and plays only the
  mover's (the other's, which its all-zero mask rules out, is ignored), so one parallel step is
  one move. This is how a turn-based game fits PettingZoo's simultaneous-move API without
  playing two moves on a mask computed before the first.

Each move runs one jitted program (the game's step and both players' views), compiled once per
game object and cached on it; results come back in one host transfer as fresh numpy arrays.
`reset(seed=int)` starts a key stream from the seed, `seed=None` continues it (or, the first
time, starts one from fresh entropy); reset options are accepted and ignored, as PettingZoo's own
games do.

    env = aec_env("TicTacToe-v0")  # or aec_env(TicTacToe()); any board-game id or TwoPlayerEnv
    env.reset(seed=0)
    for agent in env.agent_iter():
        observation, reward, termination, truncation, info = env.last()
        action = None if termination else int(np.flatnonzero(observation["action_mask"])[0])
        env.step(action)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, cast

import jax
import jax.numpy as jnp
import numpy as np
from gymnasium import spaces as gym_spaces
from jax.typing import ArrayLike
from pettingzoo import AECEnv, ParallelEnv

from gymx import registration
from gymx.adapters.gymnasium import _entropy_key, _seed_key
from gymx.core import Env, Wrapper, compiled
from gymx.two_player import G, GameParams, TwoPlayerEnv, TwoPlayerState

AGENTS = ("player_0", "player_1")


def two_player_game(game: TwoPlayerEnv | str, **kwargs: object) -> TwoPlayerEnv:
    """`game` itself, or the two-player game inside the single-agent board-game id `game` (made
    with `kwargs`, e.g. `size=13` for a Go id)."""
    if isinstance(game, TwoPlayerEnv):
        if kwargs:
            raise ValueError(f"gymx: constructor kwargs {sorted(kwargs)} apply to an id, not to a game object")
        return game
    env: Env = registration.make(game, max_episode_steps=-1, **kwargs)
    while not isinstance(env, TwoPlayerEnv):
        if not isinstance(env, Wrapper):
            raise ValueError(
                f"gymx: {game!r} is not a two-player game: {registration.spec(game).entry_point} makes no TwoPlayerEnv"
            )
        env = env.env
    return env


def _views(game: TwoPlayerEnv[G, GameParams], state: TwoPlayerState[G], params: GameParams) -> dict[str, jax.Array]:
    """What the agents see of `state`: both players' observations and the mover's legal moves."""
    return {
        "obs": jax.vmap(lambda player: game.observe_for(state, player, params))(jnp.arange(2, dtype=jnp.int32)),
        "mask": state.legal_action_mask & ~state.terminated,
        "player": state.current_player,
        "terminated": state.terminated,
    }


def _reset_program(
    game: TwoPlayerEnv[G, GameParams],
) -> Callable[[jax.Array, GameParams], tuple[jax.Array, TwoPlayerState[G], dict[str, jax.Array]]]:
    def reset(key: jax.Array, params: GameParams) -> tuple[jax.Array, TwoPlayerState[G], dict[str, jax.Array]]:
        key, reset_key = jax.random.split(key)
        state, _ = game.reset(reset_key, params)
        return key, state, _views(game, state, params)

    return compiled(game, "pettingzoo.reset", lambda: reset)


def _step_program(
    game: TwoPlayerEnv[G, GameParams],
) -> Callable[[TwoPlayerState[G], np.ndarray, GameParams], tuple[TwoPlayerState[G], dict[str, jax.Array]]]:
    def step(
        state: TwoPlayerState[G], action: np.ndarray, params: GameParams
    ) -> tuple[TwoPlayerState[G], dict[str, jax.Array]]:
        state, ts = game.step(state, action, params)
        return state, {**_views(game, state, params), "rewards": ts.info["rewards"]}

    return compiled(game, "pettingzoo.step", lambda: step)


class _Game(Generic[G, GameParams]):
    """One game in play on the device, and what its agents last saw on the host."""

    def __init__(self, game: TwoPlayerEnv[G, GameParams], params: GameParams | None):
        self.game = game
        self.params: GameParams = game.default_params if params is None else params
        self.key: jax.Array | None = None
        self.state: TwoPlayerState[G] | None = None
        self.seen: dict[str, np.ndarray] = {}
        self.np_random = np.random.default_rng()  # entropy for the first unseeded reset

    def reset(self, seed: int | None) -> None:
        if seed is not None:
            self.key = _seed_key(seed)
        elif self.key is None:
            self.key = _entropy_key(self.np_random)
        self.key, self.state, views = _reset_program(self.game)(self.key, self.params)
        self.seen = jax.tree_util.tree_map(np.array, jax.device_get(views))

    # `action` is whatever the caller passed (`object`): `Space.check` refuses anything not in the space.
    def play(self, action: object, agent: str) -> np.ndarray:
        """Plays the mover's `action`; returns both players' rewards, float32 (2,)."""
        space = self.game.action_space(self.params)
        space.check(action, what=f"{agent}'s action")
        # PettingZoo steps only after a reset, which sets the state.
        state = cast(TwoPlayerState[G], self.state)
        self.state, views = _step_program(self.game)(state, np.asarray(action, space.dtype), self.params)
        self.seen = jax.tree_util.tree_map(np.array, jax.device_get(views))
        return self.seen["rewards"]

    @property
    def mover(self) -> str:
        return AGENTS[int(self.seen["player"])]

    @property
    def over(self) -> bool:
        return bool(self.seen["terminated"])

    def observation(self, agent: str) -> dict[str, np.ndarray]:
        player = AGENTS.index(agent)
        mask = self.seen["mask"] if agent == self.mover else np.zeros_like(self.seen["mask"])
        return {"observation": self.seen["obs"][player].copy(), "action_mask": mask.astype(np.int8)}

    def render(self, mode: str | None) -> str | np.ndarray | None:
        if mode is None:
            return None
        assert self.state is not None, "a game renders after its reset"
        frame = self.game.render(self.state, self.params, mode)
        return frame if isinstance(frame, str) else np.array(frame)


class _Spaces:
    """The per-agent spaces and metadata both adapters share (PettingZoo checks that each call
    returns the same space object)."""

    def _set_up(self, game: TwoPlayerEnv, params: object, render_mode: str | None) -> None:
        render_modes = list(game.metadata.get("render_modes", []))
        if render_mode is not None and render_mode not in render_modes:
            raise ValueError(
                f"gymx: render_mode={render_mode!r} is not supported by {game.name}; its render modes are {render_modes}"
            )
        self.render_mode = render_mode
        self.metadata = {"name": f"gymx_{game.name}", "render_modes": render_modes, "is_parallelizable": True}
        if "render_fps" in game.metadata:
            self.metadata["render_fps"] = game.metadata["render_fps"]
        self._game = _Game(game, params)
        self.possible_agents = list(AGENTS)
        self.agents: list[str] = []
        observation = game.observation_space(self._game.params).to_gymnasium()
        mask = gym_spaces.Box(0, 1, (game.num_actions,), np.int8)
        self.observation_spaces = {
            a: gym_spaces.Dict({"observation": observation, "action_mask": mask}) for a in AGENTS
        }
        self.action_spaces: dict[str, gym_spaces.Discrete] = {a: gym_spaces.Discrete(game.num_actions) for a in AGENTS}

    @property
    def game(self) -> TwoPlayerEnv:
        return self._game.game

    def observation_space(self, agent: str) -> gym_spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> gym_spaces.Space:
        return self.action_spaces[agent]

    def render(self) -> str | np.ndarray | None:
        """The board in `render_mode` ("ansi" text or an "rgb_array" frame); None without one."""
        return self._game.render(self.render_mode)

    def close(self) -> None:
        self._game.state = None


class GymxAECEnv(_Spaces, AECEnv):
    """A two-player gymx game as a PettingZoo `AECEnv`; see the module docstring."""

    def __init__(self, game: TwoPlayerEnv, params: object = None, render_mode: str | None = None):
        super().__init__()
        self._set_up(game, params, render_mode)

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        self._game.reset(seed)
        self.agents = list(AGENTS)
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos: dict[str, dict] = {agent: {} for agent in self.agents}
        self.agent_selection = self._game.mover

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        return self._game.observation(agent)

    def step(self, action: ArrayLike | None) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        rewards = self._game.play(action, agent)
        self._cumulative_rewards[agent] = 0.0
        self.rewards = {a: float(rewards[i]) for i, a in enumerate(AGENTS)}
        if self._game.over:
            self.terminations = dict.fromkeys(self.agents, True)
        self.agent_selection = self._game.mover
        self._accumulate_rewards()


class GymxParallelEnv(_Spaces, ParallelEnv):
    """A two-player gymx game as a PettingZoo `ParallelEnv`: each step plays the mover's action
    (see the module docstring)."""

    def __init__(self, game: TwoPlayerEnv, params: object = None, render_mode: str | None = None):
        self._set_up(game, params, render_mode)

    def reset(
        self, seed: int | None = None, options: dict | None = None
    ) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, dict]]:
        self._game.reset(seed)
        self.agents = list(AGENTS)
        return {a: self._game.observation(a) for a in self.agents}, {a: {} for a in self.agents}

    def step(
        self, actions: dict[str, ArrayLike | None]
    ) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, float], dict[str, bool], dict[str, bool], dict[str, dict]]:
        if not self.agents:
            raise RuntimeError("gymx: the game is over; call reset() before step()")
        mover = self._game.mover
        if mover not in actions:
            raise ValueError(f"gymx: actions must include the mover {mover!r}'s, got actions for {sorted(actions)}")
        scores = self._game.play(actions[mover], mover)
        agents = self.agents
        over = self._game.over
        observations = {a: self._game.observation(a) for a in agents}
        rewards = {a: float(scores[AGENTS.index(a)]) for a in agents}
        terminations = dict.fromkeys(agents, over)
        truncations = dict.fromkeys(agents, False)
        infos: dict[str, dict] = {a: {} for a in agents}
        if over:
            self.agents = []
        return observations, rewards, terminations, truncations, infos


def aec_env(
    game: TwoPlayerEnv | str, params: object = None, render_mode: str | None = None, **kwargs: object
) -> GymxAECEnv:
    """The AEC env of a two-player game, or of the game behind a board-game id (see `two_player_game`)."""
    return GymxAECEnv(two_player_game(game, **kwargs), params=params, render_mode=render_mode)


def parallel_env(
    game: TwoPlayerEnv | str, params: object = None, render_mode: str | None = None, **kwargs: object
) -> GymxParallelEnv:
    """The Parallel env of a two-player game, or of the game behind a board-game id (see `two_player_game`)."""
    return GymxParallelEnv(two_player_game(game, **kwargs), params=params, render_mode=render_mode)
