from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymx.envs.classic_control.cartpole import CartPole, CartPoleParams

import gymx
from gymx import spaces, struct
from gymx.testing import EnvCheckError, EnvUnderCheck, check_env, spaces_are_gymx_spaces, steps_keep_the_contract
from gymx.wrappers import TimeLimit


@pytest.mark.parametrize("env_id", sorted(gymx.registry))
def test_every_registered_env_passes_check_env(env_id: str) -> None:
    check_env(gymx.make(env_id))


def test_time_limit_truncates_and_never_terminates() -> None:
    env = TimeLimit(CartPole(), 5)
    step = jax.jit(env.step)
    state, ts = env.reset(jax.random.key(0))
    flags = []
    for _ in range(7):
        # Alternating pushes keep the pole up for far longer than 7 steps.
        state, ts = step(state, len(flags) % 2)
        flags.append((bool(ts.terminated), bool(ts.truncated)))
    assert flags == [(False, False)] * 4 + [(False, True)] * 3
    with pytest.raises(ValueError, match="max_episode_steps must be positive"):
        TimeLimit(CartPole(), 0)


def test_terminated_state_is_absorbing() -> None:
    env = CartPole()
    step = jax.jit(env.step)
    state, ts = env.reset(jax.random.key(0))
    while not bool(ts.terminated):
        state, ts = step(state, 1)
    for _ in range(3):
        again_state, again = step(state, 0)
        assert bool(again.terminated) and float(again.reward) == 0.0
        np.testing.assert_array_equal(again.obs, ts.obs)
        assert again_state == state


def test_params_are_traced_one_compile_serves_every_value() -> None:
    env = CartPole()
    traces = []

    @jax.jit
    def step(state, params):
        traces.append(1)
        return env.step(state, 1, params)

    state, _ = env.reset(jax.random.key(0))
    _, light = step(state, CartPoleParams(masspole=0.1))
    _, heavy = step(state, CartPoleParams(masspole=0.5))
    assert len(traces) == 1
    assert not np.allclose(light.obs, heavy.obs)
    # Derived constants follow the params they come from.
    assert float(CartPoleParams(masspole=0.5, length=2.0).polemass_length) == 1.0


def test_reset_with_legacy_and_typed_keys_agree() -> None:
    env = CartPole()
    _, typed = env.reset(jax.random.key(3))
    _, legacy = env.reset(jax.random.PRNGKey(3))
    np.testing.assert_array_equal(typed.obs, legacy.obs)


@struct.dataclass
class CounterState:
    count: jax.Array


class BrokenEnv(gymx.Env):
    """A counter whose flaw is chosen by `flaw`, to show that check_env catches it."""

    def __init__(self, flaw: str):
        self.flaw = flaw
        if flaw == "render":
            self.metadata = {"render_modes": ["ansi"], "render_fps": 1}

    def render(self, state, params=None, mode="rgb_array"):
        return ""

    def observation_space(self, params=None):
        return spaces.Box(0.0, 3.0, (1,))

    def action_space(self, params=None):
        return spaces.Discrete(2)

    def reset_env(self, key, params):
        return CounterState(jnp.zeros((), jnp.float32))

    def step_env(self, state, action, params):
        count = state.count + 1
        if self.flaw == "shape":
            count = jnp.reshape(count, (1,))
        info = {"extra": count} if self.flaw == "info" else {}
        reward = jnp.nan if self.flaw == "nan" else 1.0
        return CounterState(count), jnp.asarray(reward, jnp.float32), info

    def reset_info(self, state, params):
        return {} if self.flaw == "info" else super().reset_info(state, params)

    def observe(self, state, params):
        return jnp.reshape(state.count, (1,)).astype(jnp.float32)

    def is_terminal(self, state, params):
        return jnp.all(state.count >= (10 if self.flaw == "space" else 3))


@pytest.mark.parametrize(
    ("flaw", "check", "message"),
    [
        ("space", "steps_keep_the_contract", "is not in Box"),
        ("shape", "steps_keep_the_contract", "state structure, shapes or dtypes changed"),
        ("info", "steps_keep_the_contract", "info keys"),
        ("nan", "steps_keep_the_contract", "non-finite"),
        ("render", "render_modes_render", "ansi must render a non-empty str"),
    ],
)
def test_check_env_catches_broken_envs_and_names_the_check(flaw: str, check: str, message: str) -> None:
    with pytest.raises(EnvCheckError, match=f"^{check}: .*{message}") as error:
        check_env(BrokenEnv(flaw), num_steps=12)
    assert error.value.check == check
    check_env(BrokenEnv("none"), num_steps=12)


def test_a_check_runs_alone() -> None:
    subject = EnvUnderCheck(BrokenEnv("space"), num_steps=12)
    spaces_are_gymx_spaces(subject)  # the spaces are fine; the play is not
    with pytest.raises(EnvCheckError, match="is not in Box"):
        steps_keep_the_contract(subject)
