"""Actions outside the action space: refused by eager steps, and under jit with `CheckAction`."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify

import gymx
from gymx.wrappers import CheckAction

NUM_ENVS = 3
# Bad actions for CartPole (Discrete(2)) and FrozenLake (Discrete(4)), with the fault each error
# names: CartPole read every one of them as "push left", FrozenLake moved right on -2 and clamped 4.
BAD_ACTIONS = [
    (2, "out of bounds"),
    (-1, "out of bounds"),
    (-2, "out of bounds"),
    (4, "out of bounds"),
    (1.7, "integer dtype"),
    (float("nan"), "integer dtype"),
    ("left", "integer dtype"),
    (np.array([0, 1]), "expected shape"),
]


@pytest.fixture(scope="module", params=["CartPole-v1", "FrozenLake-v1"])
def env(request: pytest.FixtureRequest) -> gymx.Env:
    return gymx.make(request.param)


@pytest.fixture(scope="module")
def vec(env: gymx.Env) -> gymx.VecEnv:
    return gymx.VecEnv(env, NUM_ENVS)


def skip_if_valid(env: gymx.Env, action: object) -> None:
    if type(action) is int and 0 <= action < env.action_space().n:
        pytest.skip(f"{action} is a valid action of {env}")


@pytest.mark.parametrize("action, fault", BAD_ACTIONS)
def test_eager_step_refuses_bad_action(env: gymx.Env, action: object, fault: str) -> None:
    skip_if_valid(env, action)
    state, _ = env.reset(jax.random.key(0))
    with pytest.raises(ValueError, match=rf"^action .* is not in {re.escape(str(env.action_space()))}: .*{fault}"):
        env.step(state, action)
    env.step(state, 1)  # still usable


@pytest.mark.parametrize("action, fault", BAD_ACTIONS)
def test_eager_vec_step_refuses_bad_action(vec: gymx.VecEnv, action: object, fault: str) -> None:
    skip_if_valid(vec.env, action)
    state, _ = vec.reset(jax.random.key(0))
    # One bad entry among good ones, in the dtype numpy gives the mix (int, float or str).
    batch = np.stack([action] * NUM_ENVS) if isinstance(action, np.ndarray) else np.array([1, action, 1])
    with pytest.raises(
        ValueError, match=rf"(?s)^batch of actions .* is not in {re.escape(str(vec.action_space()))}: .*{fault}"
    ):
        vec.step(state, batch)
    vec.step(state, np.ones(NUM_ENVS, np.int32))  # still usable


def test_cartpole_messages_name_value_space_and_fault() -> None:
    env = gymx.make("CartPole-v1")
    state, _ = env.reset(jax.random.key(0))
    expected = {
        2: "action 2 is not in Discrete(2): out of bounds, expected values in [0, 1]",
        "left": "action 'left' is not in Discrete(2): expected an integer dtype, got <U4",
        1.7: "action 1.7 is not in Discrete(2): expected an integer dtype, got float64",
        (0, 1): "action (0, 1) is not in Discrete(2): expected shape (), got (2,)",
    }
    for action, message in expected.items():
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            env.step(state, action)
    vec = gymx.VecEnv(env, 3)
    with pytest.raises(
        ValueError, match=re.escape("batch of actions 1 is not in Batched(Discrete(2), 3): expected shape (3,), got ()")
    ):
        vec.step(vec.reset(jax.random.key(0))[0], 1)


def test_valid_actions_of_every_integer_type_step_alike(env: gymx.Env) -> None:
    state, _ = env.reset(jax.random.key(0))
    results = [
        env.step(state, action) for action in (1, np.int64(1), np.uint8(1), jnp.int32(1), jnp.asarray(1, jnp.int8))
    ]
    for result in results[1:]:
        assert jax.tree_util.tree_all(jax.tree_util.tree_map(np.array_equal, result, results[0]))


def test_valid_batched_actions_step(vec: gymx.VecEnv) -> None:
    state, _ = vec.reset(jax.random.key(0))
    for actions in (
        [0, 1, 1],
        np.array([1, 0, 1], np.int64),
        jnp.array([1, 1, 0]),
        vec.action_space().sample(jax.random.key(1)),
    ):
        state, ts = vec.step(state, actions)
        assert ts.reward.shape == (NUM_ENVS,)


def test_concrete_bad_action_inside_jit_fails_at_trace_time(env: gymx.Env) -> None:
    state, _ = env.reset(jax.random.key(0))
    with pytest.raises(ValueError, match="action 7 is not in"):
        jax.jit(lambda s: env.step(s, 7))(state)


def test_per_env_params_check_the_batch_shape_and_dtype_but_not_box_bounds() -> None:
    vec = gymx.make_vec("Pendulum-v1", num_envs=2)
    params = vec.default_params.replace(max_torque=jnp.array([1.0, 4.0]))
    state, _ = vec.reset(jax.random.key(0), params)
    vec.step(state, jnp.array([[0.5], [3.5]]), params)  # 3.5 is within env 1's own bound
    with pytest.raises(ValueError, match="contains NaN"):
        vec.step(state, jnp.array([[0.5], [jnp.nan]]), params)
    with pytest.raises(ValueError, match="out of bounds"):
        vec.step(state, jnp.array([[0.5], [3.5]]))  # shared default params: bound 2


@pytest.fixture(scope="module")
def checked_step(env: gymx.Env):
    checked = CheckAction(env)
    return checked, jax.jit(checkify.checkify(checked.step))


@pytest.mark.parametrize("action", [2, -1, -2, 4])
def test_check_action_refuses_traced_bad_action_under_jit(checked_step, action: int) -> None:
    checked, step = checked_step
    state, _ = checked.reset(jax.random.key(0))
    error, _ = step(state, jnp.int32(1))
    error.throw()
    error, _ = step(state, jnp.int32(action))
    if 0 <= action < checked.action_space().n:
        error.throw()  # valid for FrozenLake
        return
    with pytest.raises(Exception, match=rf"action {action} is not in Discrete"):
        error.throw()


def test_check_action_under_jit_refuses_float_and_nan() -> None:
    # CartPole traces a float action (and read it as "push left"); FrozenLake's table look-up
    # already refuses a float index when tracing.
    checked = CheckAction(gymx.make("CartPole-v1"))
    state, _ = checked.reset(jax.random.key(0))
    step = jax.jit(checkify.checkify(checked.step))
    for action in (jnp.float32(1.7), jnp.float32(jnp.nan)):
        error, _ = step(state, action)
        with pytest.raises(Exception, match="is not in Discrete"):
            error.throw()


def test_check_action_in_a_vec_env_under_jit(env: gymx.Env) -> None:
    vec = gymx.VecEnv(CheckAction(env), NUM_ENVS)
    step = jax.jit(checkify.checkify(vec.step))
    state, _ = vec.reset(jax.random.key(0))
    error, _ = step(state, jnp.array([1, 0, 1]))
    error.throw()
    error, _ = step(state, jnp.array([1, -1, 1]))
    with pytest.raises(Exception, match="action -1 is not in Discrete"):
        error.throw()
    with pytest.raises(ValueError, match="batch of actions"):
        vec.step(state, np.array([1, -1, 1]))  # eager: the host check, no checkify needed


def test_frozen_lake_ansi_render_after_a_valid_step() -> None:
    env = gymx.make("FrozenLake-v1", is_slippery=False)
    state, _ = env.reset(jax.random.key(0))
    with pytest.raises(ValueError, match="out of bounds"):
        env.step(state, -2)  # once moved right, and later broke the ansi render
    state, _ = env.step(state, 2)
    assert "(Right)" in env.render(state, None, "ansi")
