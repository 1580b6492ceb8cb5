"""The `ALE/<Game>-v5` envs against ale-py 0.12's Gymnasium env: resets, steps (obs, reward, terminated,
truncated, lives), sticky actions in distribution, observation types, bad input, the preprocessing and
frame-stack wrappers against Gymnasium's, and Gymnasium's `check_env` through the adapter.

One console emulates about 13 frames/s on a CPU, so the default run checks Pong over short windows;
Breakout, the other games checked (`games.CHECKED`), the other observation types' own programs and an
episode end go under `--all`.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

ale_py = pytest.importorskip("ale_py", reason="ale-py is not installed (pip install 'ale-py>=0.10')")
gymnasium = pytest.importorskip("gymnasium")

from gymx.envs.atari import games as G  # noqa: E402
from gymx.envs.atari.ale import AtariEnv, AtariParams  # noqa: E402
from gymx.kernels.atari import machine as M  # noqa: E402

import gymx  # noqa: E402
from gymx.wrappers import AtariPreprocessing, FrameStack  # noqa: E402

gymnasium.register_envs(ale_py)

SHORT_STEPS = 40
GAMES = ["Pong", pytest.param("Breakout", marks=pytest.mark.full)]
NO_STICKY = AtariParams(repeat_action_probability=0.0, max_num_frames_per_episode=108_000)
_ENVS: dict[str, gymx.Env] = {}


def gymx_env(game: str) -> gymx.Env:
    """One env per game for the whole module, so its reset and step compile once."""
    if game not in _ENVS:
        _ENVS[game] = gymx.make(f"ALE/{game}-v5")
    return _ENVS[game]


def ale_env(game: str, **kwargs):
    return gymnasium.make(f"ALE/{game}-v5", repeat_action_probability=0.0, **kwargs)


def assert_same_step(step: int, want: tuple, ts) -> None:
    obs, reward, terminated, truncated, info = want
    np.testing.assert_array_equal(np.asarray(ts.obs), obs, err_msg=f"obs differs after step {step}")
    got = (
        float(ts.reward),
        bool(ts.terminated),
        bool(ts.truncated),
        int(ts.info["lives"]),
        int(ts.info["episode_frame_number"]),
    )
    assert got == (reward, terminated, truncated, info["lives"], info["episode_frame_number"]), f"step {step}"


@pytest.mark.parametrize("game", GAMES)
def test_reset_is_ales_reset(game: str) -> None:
    """ale-py's reset is deterministic for these games (sticky actions do not act during it, and the
    console's one random draw is overwritten by the game): every reset, seeded or not, gives the same
    RAM and screen. The env's start bank holds that console, whatever the reset key."""
    ref = ale_env(game)
    screens, rams = [], []
    for seed in (0, 1, None, None):
        obs, info = ref.reset(seed=seed)
        screens.append(obs)
        rams.append(ref.unwrapped.ale.getRAM())
        assert (info["lives"], info["episode_frame_number"]) == (gymx_env(game).game.lives, 0)
    assert all(np.array_equal(s, screens[0]) for s in screens) and all(np.array_equal(r, rams[0]) for r in rams)
    env = gymx_env(game)
    for key in range(3):
        state, ts = env.reset(jax.random.key(key), NO_STICKY)
        np.testing.assert_array_equal(np.asarray(ts.obs), screens[0])
        np.testing.assert_array_equal(np.asarray(state.console.ram), rams[0])
        assert int(ts.info["lives"]) == info["lives"] and int(ts.info["episode_frame_number"]) == 0


def test_batched_reset_emulates_nothing() -> None:
    env = gymx_env("Pong")
    env.reset(jax.random.key(0))  # builds the start bank
    jaxpr = jax.make_jaxpr(jax.vmap(env.reset))(jax.random.split(jax.random.key(0), 4))
    assert "while" not in str(jaxpr)
    _states, ts = jax.vmap(env.reset)(jax.random.split(jax.random.key(0), 2))
    assert ts.obs.shape == (2, 210, 160, 3) and ts.obs.dtype == jnp.uint8


@pytest.mark.parametrize("game", GAMES)
def test_steps_match_ale(game: str) -> None:
    env, ref = gymx_env(game), ale_env(game)
    state, _ = env.reset(jax.random.key(0), NO_STICKY)
    ref.reset(seed=0)
    rng = np.random.default_rng(0)
    for t in range(SHORT_STEPS):
        action = int(rng.integers(env.action_space().n))
        state, ts = env.step(state, action, NO_STICKY)
        assert_same_step(t, ref.step(action), ts)
        # The other observation types read the same state as ale-py's grayscale screen and RAM.
        np.testing.assert_array_equal(
            np.asarray(env.screen(state, grayscale=True)), ref.unwrapped.ale.getScreenGrayscale()
        )
        np.testing.assert_array_equal(np.asarray(state.console.ram), ref.unwrapped.ale.getRAM())


@pytest.mark.full
@pytest.mark.parametrize("rom", [rom for rom in G.CHECKED if rom not in ("pong", "breakout")])
def test_other_games_reset_and_step_like_ale(rom: str) -> None:
    """Each further checked game: the reset's screen, RAM and lives, then every step's obs, reward,
    terminated, truncated and lives, against ale-py's v5 env with the same random actions."""
    game = G.GAMES[rom]
    env, ref = gymx.make(f"ALE/{game.name}-v5"), ale_env(game.name)
    assert env.action_space().n == ref.action_space.n
    assert [a.value for a in ref.unwrapped.ale.getMinimalActionSet()] == list(game.minimal_actions)
    assert list(ref.unwrapped.ale.getAvailableModes()) == list(game.modes)
    assert list(ref.unwrapped.ale.getAvailableDifficulties()) == list(game.difficulties)
    obs, info = ref.reset(seed=0)
    state, ts = env.reset(jax.random.key(0), NO_STICKY)
    np.testing.assert_array_equal(np.asarray(ts.obs), obs)
    np.testing.assert_array_equal(np.asarray(state.console.ram), ref.unwrapped.ale.getRAM())
    assert int(ts.info["lives"]) == info["lives"]
    step = jax.jit(env.step)
    rng = np.random.default_rng(0)
    for t in range(3 * SHORT_STEPS):
        action = int(rng.integers(env.action_space().n))
        state, ts = step(state, action, NO_STICKY)
        assert_same_step(t, ref.step(action), ts)


def test_truncation_counts_emulated_frames_as_ale_does() -> None:
    env, ref = gymx_env("Pong"), ale_env("Pong", max_num_frames_per_episode=10)
    params = AtariParams(repeat_action_probability=0.0, max_num_frames_per_episode=10)
    state, _ = env.reset(jax.random.key(0), params)
    ref.reset(seed=0)
    for t in range(4):  # the third step emulates frames 9 and 10 only, the fourth none
        state, ts = env.step(state, 1, params)
        assert_same_step(t, ref.step(1), ts)
        assert bool(ts.truncated) == (t >= 2) and not bool(ts.terminated)


def test_sticky_actions_repeat_with_the_given_probability() -> None:
    # With probability 1 the console keeps the NOOP it had after the reset, whatever the agent asks:
    # the same frames as ale-py given NOOPs.
    env, ref = gymx_env("Pong"), ale_env("Pong")
    always = AtariParams(repeat_action_probability=1.0, max_num_frames_per_episode=108_000)
    state, _ = env.reset(jax.random.key(0), always)
    ref.reset(seed=0)
    for t in range(3):
        state, ts = env.step(state, 1 + t % 5, always)
        assert_same_step(t, ref.step(0), ts)
    # In between, one draw per emulated frame. Past the frame limit ALE emulates nothing but still
    # draws and records the action in effect, which makes each frame's choice cheap to read.
    one = gymx.make("ALE/Pong-v5", frameskip=1, obs_type="ram")
    p, n = 0.25, 3000
    params = AtariParams(repeat_action_probability=p, max_num_frames_per_episode=1)
    state, _ = one.reset(jax.random.key(1), params)
    state, _ = one.step(state, 0, params)

    @jax.jit
    def run(state):
        def body(state, t):
            before, wanted = state.action, jnp.where(t % 2 == 0, M.FIRE, M.RIGHT)
            state, _ = one.step(state, 1 + t % 2, params)  # indices 1, 2: FIRE, RIGHT
            # A frame whose wanted action differs from the one in effect shows its draw: a repeat keeps the old one.
            return state, (wanted != before, state.action == before)

        return jax.lax.scan(body, state, jnp.arange(n))[1]

    shows, kept = (np.asarray(x) for x in run(state))
    repeats = kept[shows]
    # Binomial(len, p): 4.5 standard deviations either side (a false failure about once in 150,000 runs).
    assert len(repeats) > n // 2 and abs(repeats.mean() - p) < 4.5 * np.sqrt(p * (1 - p) / len(repeats)), repeats.mean()


@pytest.mark.full  # about 3 minutes on a 2-core CPU: 300 ale-py resets and the bank's ~1,000 branch frames
def test_double_dunk_resets_are_drawn_as_ale_draws_them() -> None:
    """Double Dunk's reset walks a menu with ALE's `act`, so sticky actions make ale-py's resets end in
    dozens of consoles. The env's bank holds them with their probabilities: every console that 300
    seeded ale-py resets reach is in it, each as often as its probability says, and the traced
    probability reweights the same bank (with 0, only the console of ale-py's reset without sticky actions)."""
    p, n = 0.25, 300
    ref = gymnasium.make("ALE/DoubleDunk-v5", repeat_action_probability=p)
    seen: dict[bytes, int] = {}
    for seed in range(n):
        ref.reset(seed=seed)
        ram = ref.unwrapped.ale.getRAM().tobytes()
        seen[ram] = seen.get(ram, 0) + 1
    env = gymx.make("ALE/DoubleDunk-v5", repeat_action_probability=p)
    bank = env.start_bank()
    rams = [np.asarray(r).tobytes() for r in bank.console.ram]
    assert len(set(rams)) == len(rams) > 20

    def weights(probability: float) -> np.ndarray:
        draws = jax.vmap(lambda k: env.start_index(k, AtariParams(probability, 108_000)))(
            jax.random.split(jax.random.key(0), 20_000)
        )
        return np.bincount(np.asarray(draws), minlength=len(rams)) / 20_000

    expected = weights(p)
    assert set(seen) <= set(rams), "a console ale-py's reset reaches is missing from the bank"
    for ram, count in seen.items():
        q = expected[rams.index(ram)]
        # Binomial(n, q) counts: 4.5 standard deviations, plus the sampling error of `expected` itself.
        assert abs(count / n - q) < 4.5 * np.sqrt(q * (1 - q) / n) + 0.01, (count, q)
    # Consoles ale-py's 300 resets missed carry little probability between them.
    assert sum(q for ram, q in zip(rams, expected, strict=True) if ram not in seen) < 0.1
    deterministic = weights(0.0)
    only = int(np.argmax(deterministic))
    assert deterministic[only] == 1.0
    ref = ale_env("DoubleDunk")
    ref.reset(seed=0)
    assert rams[only] == ref.unwrapped.ale.getRAM().tobytes()


def test_observation_types_and_action_sets() -> None:
    env = gymx_env("Pong")
    assert env.observation_space().shape == (210, 160, 3) and env.observation_space().dtype == np.uint8
    assert env.action_space().n == 6 and env.get_action_meanings() == [
        "NOOP",
        "FIRE",
        "RIGHT",
        "LEFT",
        "RIGHTFIRE",
        "LEFTFIRE",
    ]
    gray, ram = gymx.make("ALE/Pong-v5", obs_type="grayscale"), gymx.make("ALE/Pong-v5", obs_type="ram")
    assert gray.observation_space().shape == (210, 160) and ram.observation_space().shape == (128,)
    assert gymx.make("ALE/Pong-v5", full_action_space=True).action_space().n == 18
    ref = ale_env("Pong", obs_type="grayscale")
    obs, _ = ref.reset(seed=0)
    state, _ = env.reset(jax.random.key(0))
    np.testing.assert_array_equal(np.asarray(jax.jit(gray.observe)(state, gray.default_params)), obs)
    np.testing.assert_array_equal(np.asarray(ram.observe(state, ram.default_params)), ref.unwrapped.ale.getRAM())
    assert ram.metadata["render_modes"] == [] and env.metadata["render_modes"] == ["rgb_array"]
    np.testing.assert_array_equal(np.asarray(env.render(state)), ref.unwrapped.ale.getScreenRGB())


@pytest.mark.full
@pytest.mark.parametrize("obs_type", ["grayscale", "ram"])
def test_other_observation_types_step_like_ale(obs_type: str) -> None:
    env, ref = gymx.make("ALE/Breakout-v5", obs_type=obs_type), ale_env("Breakout", obs_type=obs_type)
    state, _ = env.reset(jax.random.key(0), NO_STICKY)
    ref.reset(seed=0)
    for t, action in enumerate([1, 0, 2, 3, 2, 1, 3, 3]):
        state, ts = env.step(state, action, NO_STICKY)
        assert_same_step(t, ref.step(action), ts)


@pytest.mark.full
@pytest.mark.timeout(3600)
def test_breakout_through_game_over_and_reset() -> None:
    env, ref = gymx_env("Breakout"), ale_env("Breakout")
    state, _ = env.reset(jax.random.key(0), NO_STICKY)
    ref.reset(seed=0)
    rng = np.random.default_rng(3)
    step = jax.jit(env.step)
    for t in range(5000):
        action = int(rng.integers(4))
        state, ts = step(state, action, NO_STICKY)
        want = ref.step(action)
        assert_same_step(t, want, ts)
        if want[2]:
            break
    assert bool(ts.terminated) and int(ts.info["lives"]) == 0
    # Absorbing: a further step changes nothing and pays nothing.
    _again, ts2 = step(state, 1, NO_STICKY)
    assert bool(ts2.terminated) and float(ts2.reward) == 0.0
    np.testing.assert_array_equal(np.asarray(ts2.obs), np.asarray(ts.obs))
    state, ts = env.reset(jax.random.key(1), NO_STICKY)
    obs, _ = ref.reset()
    np.testing.assert_array_equal(np.asarray(ts.obs), obs)
    for t in range(20):
        action = int(rng.integers(4))
        state, ts = step(state, action, NO_STICKY)
        assert_same_step(t, ref.step(action), ts)


def test_bad_input_is_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="obs_type must be one of"):
        gymx.make("ALE/Pong-v5", obs_type="rgbx")
    with pytest.raises(ValueError, match="frameskip must be a positive int, got 0"):
        gymx.make("ALE/Pong-v5", frameskip=0)
    with pytest.raises(ValueError, match="stochastic frameskip"):
        gymx.make("ALE/Pong-v5", frameskip=(2, 5))
    with pytest.raises(ValueError, match="no mode 3; its modes are"):
        gymx.make("ALE/Pong-v5", mode=3)
    with pytest.raises(ValueError, match="no difficulty 2"):
        gymx.make("ALE/Breakout-v5", difficulty=2)
    with pytest.raises(ValueError, match="no Atari game 'pongg'"):
        AtariEnv("pongg")
    with pytest.raises(ValueError, match="repeat_action_probability must be in"):
        gymx.make("ALE/Pong-v5", repeat_action_probability=1.5)
    with pytest.raises(ValueError, match="no press would ever land"):
        gymx.make("ALE/DoubleDunk-v5", repeat_action_probability=1.0)
    env = gymx_env("Pong")
    state, _ = env.reset(jax.random.key(0))
    with pytest.raises(ValueError, match="Discrete"):
        env.step(state, 6)
    with pytest.raises(ValueError, match="make it with frameskip=1"):
        AtariPreprocessing(env)
    with pytest.raises(ValueError, match="reads the screen"):
        AtariPreprocessing(gymx.make("ALE/Pong-v5", obs_type="ram", frameskip=1))
    with pytest.raises(ValueError, match="padding_type"):
        FrameStack(env, 4, padding_type="edge")


@pytest.mark.full  # about 3 minutes on a 2-core CPU: the no-op bank and the wrapped step compile, 48 frames emulated
def test_preprocessing_and_frame_stack_match_gymnasium() -> None:
    pytest.importorskip("cv2", reason="Gymnasium's AtariPreprocessing needs opencv-python")
    from gymnasium.wrappers import AtariPreprocessing as GymnasiumPreprocessing
    from gymnasium.wrappers import FrameStackObservation

    base = gymx.make("ALE/Pong-v5", frameskip=1, repeat_action_probability=0.0)
    env = FrameStack(AtariPreprocessing(base, terminal_on_life_loss=True), 4)
    ref = FrameStackObservation(GymnasiumPreprocessing(ale_env("Pong", frameskip=1), terminal_on_life_loss=True), 4)
    obs, info = ref.reset(seed=5)
    noops = info["episode_frame_number"]  # Gymnasium's no-op count: one frame per no-op
    # The env's no-op count ~ U{1..30}: find a key that draws Gymnasium's (and check the range on the way).
    counts = []
    for key in range(200):
        state, ts = env.reset(jax.random.key(key))
        counts.append(int(ts.info["episode_frame_number"]))
        if counts[-1] == noops:
            break
    assert counts[-1] == noops and 1 <= min(counts) and max(counts) <= 30
    assert ts.obs.shape == (4, 84, 84) and ts.obs.dtype == jnp.uint8
    np.testing.assert_array_equal(np.asarray(ts.obs), obs)
    rng = np.random.default_rng(0)
    for t in range(12):
        action = int(rng.integers(6))
        state, ts = env.step(state, action)
        obs, reward, terminated, truncated, info = ref.step(action)
        np.testing.assert_array_equal(np.asarray(ts.obs), obs, err_msg=f"step {t}")
        assert (float(ts.reward), bool(ts.terminated), bool(ts.truncated)) == (reward, terminated, truncated)


def test_area_resize_is_opencvs_inter_area() -> None:
    cv2 = pytest.importorskip("cv2", reason="the reference resize is OpenCV's")
    from gymx.wrappers import area_resize

    rng = np.random.default_rng(0)
    resize = jax.jit(lambda image: area_resize(image, 84, 84))
    for shape in [(210, 160), (210, 160), (210, 160, 3)]:
        image = rng.integers(0, 256, shape, dtype=np.uint8)
        np.testing.assert_array_equal(
            np.asarray(resize(image)), cv2.resize(image, (84, 84), interpolation=cv2.INTER_AREA)
        )


def test_gymnasium_check_env_passes_through_the_adapter() -> None:
    from gymnasium.utils.env_checker import check_env

    from gymx.adapters.gymnasium import gymnasium_id

    env = gymnasium.make(gymnasium_id("ALE/Pong-v5"), render_mode="rgb_array").unwrapped
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env, skip_render_check=False)
    # JAX's persistent compilation cache may warn about its own files; nothing else may warn.
    assert [str(w.message) for w in caught if "persistent compilation cache" not in str(w.message)] == []
