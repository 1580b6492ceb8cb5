"""ALE's environment over the JAX 2600: ale-py's `AtariEnv` (the `ALE/<Game>-v5` ids) as a pure function.

An agent step repeats its action for `frameskip` emulated frames (static). Sticky actions follow
ALE: before every emulated frame one uniform draw decides whether the console keeps the action
it had on the previous frame (probability `repeat_action_probability`, a traced param) or takes
the agent's. The reward is the sum of the game's frame rewards over the step (ALE's settings:
mostly the change of the score); once the game is over
or the episode has run `max_num_frames_per_episode` emulated frames, ALE emulates nothing more
and the remaining frames of the step are skipped.

Truncation: ALE counts its episode limit in emulated frames inside the emulator and stops
emulating there, so this env reports `truncated=True` itself once the limit is reached (ale-py's
`game_truncated()`), and a truncated state is absorbing like a terminated one. The registered
ids therefore carry no `max_episode_steps` (no `TimeLimit` wrapper): 108,000 frames are the
27,000 agent steps of a v5 episode (`episode_step_bound`). `gymx.make(..., max_episode_steps=n)` still adds a step limit.

Resets: ALE's reset (system reset, 60 idle frames, RESET, mode selection, RESET, the game's
starting actions) costs about 70 emulated frames, too much to pay inside a batched step. The env
runs it on the host once, the first time it needs a start (the first `reset`), exactly as
ale-py does after loading the ROM, and keeps the resulting console states as a bank that every
later `reset` samples with its key. For most games ale-py's reset involves no randomness that
reaches the game: sticky actions do not apply during it, and the console's one random draw (the
RIOT timer's start value) is overwritten by the game before the reset ends, so for Pong and
Breakout every reset, seeded or not, gives the same console (tests/envs/atari check this against
ale-py). The bank then holds `num_start_states` copies of consecutive ALE resets (default 1);
random starts come from the no-op starts of `gymx.wrappers.AtariPreprocessing`. The exception is
a game whose mode is chosen in a menu walked with ALE's `act` (Double Dunk), which sticky actions
reach: its menu takes more frames when a press is delayed, so ale-py's resets of it end in one of
dozens of consoles. The bank then holds every console the walk reaches with probability at least
1e-6 at the env's `repeat_action_probability` (99.99% of the mass for v5's 0.25), each with its
probability as a polynomial in that probability, and `reset` draws from them with the traced
param's weights (`start_index`).
"""

from __future__ import annotations

import importlib
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from gymx.envs.atari import games as G
from gymx.kernels.atari import cpu as cpu_lib
from gymx.kernels.atari import machine as M
from gymx.kernels.atari import palette

from gymx import spaces, struct
from gymx.core import Env, TimeStep

OBS_TYPES = ("rgb", "grayscale", "ram")
SCREEN_HEIGHT, SCREEN_WIDTH = 210, 160


class AtariParams(struct.PyTree):
    repeat_action_probability: float = 0.25  # chance, per emulated frame, that the previous action repeats
    max_num_frames_per_episode: int = 0  # emulated frames before truncation; 0: no limit


class AtariState(struct.PyTree):
    cpu: cpu_lib.CPU
    console: M.Console
    action: jax.Array  # int32 (), the ALE action the console had on the last emulated frame (sticky actions)
    progress: G.Progress  # the game's score, lives and end, as ALE's settings track them
    episode_frame: jax.Array  # int32 (), frames emulated since the reset
    key: jax.Array  # PRNG key for the sticky-action draws


def _ale_py() -> Any:
    try:
        return importlib.import_module("ale_py")
    except ImportError as error:
        raise ImportError(
            "gymx: the Atari envs read their ROMs from the ale-py package: pip install 'ale-py>=0.10'"
        ) from error


class StartBank(NamedTuple):
    """The consoles a reset can start from (leading axis: entries), with the episode frame number
    ALE reports after each and its probability: the sum over the last axis of
    coefficient * p**kept * (1 - p)**taken, p the sticky-action probability (`M.ResetOutcome`)."""

    cpu: cpu_lib.CPU
    console: M.Console
    episode_frame: np.ndarray  # int32 (entries,)
    coefficient: np.ndarray  # float32 (entries, terms), zero where an entry has fewer terms
    kept: np.ndarray  # int32 (entries, terms)
    taken: np.ndarray  # int32 (entries, terms)


# Start banks by (rom, mode, difficulty, num_start_states, sticky probability of a menu walk):
# building one emulates ~200 frames.
_START_BANKS: dict[tuple, StartBank] = {}
MIN_START_PROBABILITY = 1e-6  # a menu walk's branches below this are left out of the bank


class AtariEnv(Env[AtariState, AtariParams]):
    """An Atari 2600 game from its ROM, with ALE v5's semantics (ale-py's `AtariEnv`).

    Observation: `obs_type="rgb"` uint8 (210, 160, 3); "grayscale" uint8 (210, 160); "ram" uint8 (128,).
    Action: Discrete(n) int32, an index into the minimal action set (Pong 6, Breakout 4) or, with
        `full_action_space=True`, into ALE's 18 actions.
    Reward: float32, the sum of the game's frame rewards (mostly the score's change) over the step's emulated frames.
    Termination: the game is over (Pong: a side reaches 21; Breakout: the last ball is lost).
    Truncation: `max_num_frames_per_episode` emulated frames (v5: 108,000), reported by the env.
    Info: `lives` (int32, ALE's `lives()`), `episode_frame_number` (int32).

        env = gymx.make("ALE/Pong-v5")
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, 1)
    """

    metadata: dict = {"render_modes": ["rgb_array"], "render_fps": 60}

    def __init__(
        self,
        game: str,
        mode: int | None = None,
        difficulty: int | None = None,
        obs_type: str = "rgb",
        frameskip: int = 4,
        repeat_action_probability: float = 0.25,
        full_action_space: bool = False,
        max_num_frames_per_episode: int | None = None,
        continuous: bool = False,
        sound_obs: bool = False,
        num_start_states: int = 1,
    ):
        if game not in G.GAMES:
            raise ValueError(f"gymx: no Atari game {game!r}; the games are {sorted(G.GAMES)}")
        self.game = G.GAMES[game]
        if obs_type not in OBS_TYPES:
            raise ValueError(f"gymx: obs_type must be one of {list(OBS_TYPES)}, got {obs_type!r}")
        if isinstance(frameskip, tuple):
            raise ValueError(
                f"gymx: frameskip must be a fixed int (v5); the stochastic frameskip {frameskip} of v4 ids is not supported"
            )
        if isinstance(frameskip, bool) or not isinstance(frameskip, (int, np.integer)) or frameskip < 1:
            raise ValueError(f"gymx: frameskip must be a positive int, got {frameskip!r}")
        if not 0.0 <= float(repeat_action_probability) <= 1.0:
            raise ValueError(f"gymx: repeat_action_probability must be in [0, 1], got {repeat_action_probability}")
        if max_num_frames_per_episode is not None and int(max_num_frames_per_episode) < 0:
            raise ValueError(
                f"gymx: max_num_frames_per_episode must be >= 0 (0: no limit), got {max_num_frames_per_episode}"
            )
        if continuous:
            raise ValueError(
                "gymx: continuous=True (ALE's polar-coordinate actions) is not supported; use the discrete actions"
            )
        if sound_obs:
            raise ValueError("gymx: sound_obs=True is not supported: the emulator has no audio")
        mode = self.game.default_mode if mode is None else int(mode)
        if mode not in self.game.modes:
            raise ValueError(f"gymx: {self.game.name} has no mode {mode}; its modes are {list(self.game.modes)}")
        difficulty = 0 if difficulty is None else int(difficulty)
        if difficulty not in self.game.difficulties:
            raise ValueError(
                f"gymx: {self.game.name} has no difficulty {difficulty}; its difficulties are {list(self.game.difficulties)}"
            )
        if int(num_start_states) < 1:
            raise ValueError(f"gymx: num_start_states must be at least 1, got {num_start_states}")
        if self.game.reset_procedure(mode).menu is not None and float(repeat_action_probability) == 1.0:
            raise ValueError(
                f"gymx: {self.game.name}'s reset walks a menu with ALE's sticky actions; with "
                "repeat_action_probability=1 no press would ever land and the reset would never end"
            )
        self.mode, self.difficulty = mode, difficulty
        self.obs_type = obs_type
        self.frameskip = int(frameskip)
        self.full_action_space = bool(full_action_space)
        self.action_set = G.FULL_ACTIONS if self.full_action_space else self.game.minimal_actions
        self.num_start_states = int(num_start_states)
        self._params = AtariParams(float(repeat_action_probability), int(max_num_frames_per_episode or 0))
        self.rom_path = str(_ale_py().roms.get_rom_path(self.game.rom))
        # Pixels cost a drawing pass per TIA write: only observations of the screen pay for them.
        self.pixels = obs_type != "ram"
        self.machine = M.Machine.for_rom(self.rom_path, difficulty=difficulty, pixels=self.pixels)
        if self.machine.cart.md5 != self.game.md5:
            raise ValueError(
                f"gymx: the ROM at {self.rom_path} (md5 {self.machine.cart.md5}) is not the {self.game.name} ROM "
                f"this env was checked against (md5 {self.game.md5})"
            )
        if not self.pixels:
            self.metadata = {**type(self).metadata, "render_modes": []}

    @property
    def default_params(self) -> AtariParams:
        return self._params

    @property
    def name(self) -> str:
        return f"Atari{self.game.name}"

    def episode_step_bound(self) -> int | None:
        # ALE stops emulating at its frame limit, `frameskip` frames a step.
        frames = int(self._params.max_num_frames_per_episode)
        return -(-frames // self.frameskip) if frames else None

    def get_action_meanings(self) -> list[str]:
        return [G.ACTION_MEANINGS[a] for a in self.action_set]

    def observation_space(self, params: AtariParams | None = None) -> spaces.Box:
        shape = {"rgb": (SCREEN_HEIGHT, SCREEN_WIDTH, 3), "grayscale": (SCREEN_HEIGHT, SCREEN_WIDTH), "ram": (128,)}
        return spaces.Box(0, 255, shape[self.obs_type], jnp.uint8)

    def action_space(self, params: AtariParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(len(self.action_set))

    # ---- starts ------------------------------------------------------------------------------
    def start_states(self) -> tuple[cpu_lib.CPU, M.Console]:
        """The bank of start consoles (leading axis: its entries), built on the host on first use.

        ale-py loads the ROM (power-on, Stella's 60-frame display detection, one reset in the
        default mode), then its env's `reset` resets again in the chosen mode; the bank holds the
        consoles of that reset and the ones after it.
        """
        bank = self._bank()
        cpu, console = bank.cpu, bank.console
        if not self.pixels:
            no_screen = np.zeros((len(bank.episode_frame), 0, SCREEN_WIDTH), np.uint8)
            console = console.replace(tia=console.tia.replace(screen=no_screen, back=no_screen))
        return cpu, console

    def _bank(self) -> StartBank:
        procedure = self.game.reset_procedure(self.mode)
        # Only a menu walk depends on the sticky-action probability.
        repeat = float(self._params.repeat_action_probability) if procedure.menu is not None else 0.0
        key = (self.game.rom, self.mode, self.difficulty, self.num_start_states, repeat)
        if key not in _START_BANKS:
            with jax.ensure_compile_time_eval():  # run on the host even when first asked inside a trace
                _START_BANKS[key] = self._build_start_states(procedure, repeat)
        return _START_BANKS[key]

    def _build_start_states(self, procedure: M.GameReset, repeat: float) -> StartBank:
        emulator = M.Emulator(M.Machine.for_rom(self.rom_path, difficulty=self.difficulty, pixels=True))
        emulator.game = procedure
        outcomes: list[M.ResetOutcome] = []
        for _ in range(self.num_start_states):
            outcomes += emulator.reset(repeat, MIN_START_PROBABILITY)
        cpu, console = jax.tree_util.tree_map(
            lambda *xs: np.stack([np.asarray(x) for x in xs]), *[(o.cpu, o.console) for o in outcomes]
        )
        width = max(len(o.terms) for o in outcomes)
        terms = np.zeros((3, len(outcomes), width))
        for i, outcome in enumerate(outcomes):
            terms[:, i, : len(outcome.terms)] = np.asarray(outcome.terms).T
        return StartBank(
            cpu=cpu,
            console=console,
            episode_frame=np.asarray([o.episode_frame for o in outcomes], np.int32),
            # Each of the consecutive resets is equally likely.
            coefficient=(terms[0] / self.num_start_states).astype(np.float32),
            kept=terms[1].astype(np.int32),
            taken=terms[2].astype(np.int32),
        )

    def start_index(self, key: jax.Array, params: AtariParams) -> jax.Array:
        """A bank entry drawn with its probability at `params.repeat_action_probability`."""
        bank = self._bank()
        p = jnp.asarray(params.repeat_action_probability, jnp.float32)
        weights = jnp.sum(bank.coefficient * p**bank.kept * (1 - p) ** bank.taken, axis=-1)
        # Entry ~ categorical(weights); the log of a zero weight is -inf, which categorical never picks.
        return jax.random.categorical(key, jnp.log(weights))

    def start(self, index: jax.Array, key: jax.Array) -> AtariState:
        """The start state `index` of the bank, its sticky-action draws keyed by `key`."""
        cpu, console = jax.tree_util.tree_map(lambda x: jnp.asarray(x)[index], self.start_states())
        # ALE resets its settings after the first RESET; the frames after that have only updated
        # the score and lives, which the start console's RAM shows.
        progress = self.game.update(G.initial_progress(self.game.lives), console.ram)
        return AtariState(
            cpu=cpu,
            console=console,
            action=jnp.int32(M.NOOP),
            progress=progress,
            # ALE counts the frames of a `setMode` that presses SELECT or acts (Name This Game, Double Dunk).
            episode_frame=jnp.asarray(self._bank().episode_frame)[index],
            key=key,
        )

    def start_bank(self) -> AtariState:
        """Every start state of the bank, stacked (leading axis: its entries); their keys are placeholders."""
        entries = len(self._bank().episode_frame)
        return jax.vmap(lambda i: self.start(i, jax.random.key(0)))(jnp.arange(entries))

    def reseed(self, state: AtariState, key: jax.Array) -> AtariState:
        """`state` with its sticky-action draws keyed by `key`."""
        return state.replace(key=key)

    def reset_env(self, key: jax.Array, params: AtariParams) -> AtariState:
        index_key, sticky_key = jax.random.split(key)
        return self.start(self.start_index(index_key, params), sticky_key)

    # ---- steps -------------------------------------------------------------------------------
    def is_truncated(self, state: AtariState, params: AtariParams) -> jax.Array:
        limit = jnp.asarray(params.max_num_frames_per_episode, jnp.int32)
        return (limit > 0) & (state.episode_frame >= limit)

    def is_terminal(self, state: AtariState, params: AtariParams) -> jax.Array:
        return state.progress.terminal

    def emulate(self, state: AtariState, action: jax.Array, params: AtariParams) -> AtariState:
        """One emulated frame with the ALE `action` in effect (no sticky draw); nothing once the episode is over."""

        def frame(s: AtariState) -> AtariState:
            cpu, console = self.machine.frame(s.cpu, self.machine.apply_action(s.console, action))
            return s.replace(
                cpu=cpu,
                console=console,
                progress=self.game.update(s.progress, console.ram),
                episode_frame=s.episode_frame + 1,
            )

        def idle(s: AtariState) -> AtariState:
            return s.replace(progress=s.progress.replace(reward=jnp.zeros((), jnp.int32)))

        over = self.is_terminal(state, params) | self.is_truncated(state, params)
        return jax.lax.cond(over, idle, frame, state).replace(action=jnp.asarray(action, jnp.int32))

    def step_env(self, state: AtariState, action: jax.Array, params: AtariParams) -> tuple[AtariState, jax.Array, dict]:
        wanted = jnp.asarray(self.action_set, jnp.int32)[action]
        key, sticky_key = jax.random.split(state.key)
        # Per emulated frame ~ U[0, 1): below the repeat probability, the previous frame's action stays.
        repeats = jax.random.uniform(sticky_key, (self.frameskip,)) < params.repeat_action_probability

        def frame(s: AtariState, repeat: jax.Array) -> tuple[AtariState, jax.Array]:
            after = self.emulate(s, jnp.where(repeat, s.action, wanted), params)
            return after, after.progress.reward

        state, rewards = jax.lax.scan(frame, state, repeats)
        state = state.replace(key=key)
        return state, jnp.sum(rewards).astype(jnp.float32), self.info(state)

    def step(self, state: AtariState, action: Any, params: AtariParams | None = None) -> tuple[AtariState, TimeStep]:
        params = self.default_params if params is None else params
        next_state, ts = super().step(state, action, params)
        return next_state, ts.replace(truncated=self.is_truncated(next_state, params))

    def info(self, state: AtariState) -> dict:
        return {"lives": state.progress.lives, "episode_frame_number": state.episode_frame}

    def reset_info(self, state: AtariState, params: AtariParams) -> dict:
        return self.info(state)

    # ---- observations ------------------------------------------------------------------------
    def screen(self, state: AtariState, grayscale: bool = False) -> jax.Array:
        """The last frame as ale-py's `getScreenRGB` (uint8 (210, 160, 3)) or `getScreenGrayscale` (uint8 (210, 160))."""
        if not self.pixels:
            raise ValueError(
                "gymx: this Atari env was made with obs_type='ram' and draws no screen; use 'rgb' or 'grayscale'"
            )
        colours = state.console.tia.screen
        return palette.grayscale(colours) if grayscale else palette.rgb(colours)

    def observe(self, state: AtariState, params: AtariParams) -> jax.Array:
        if self.obs_type == "ram":
            return state.console.ram
        return self.screen(state, grayscale=self.obs_type == "grayscale")

    def render(self, state: AtariState, params: AtariParams | None = None, mode: str = "rgb_array") -> jax.Array:
        if mode != "rgb_array" or not self.pixels:
            return super().render(state, params, mode)
        return self.screen(state)
