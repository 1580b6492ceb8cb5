"""The PyTorch adapter: tensors share memory with JAX's buffers both ways, trajectories equal the
VecEnv's own, action shapes and dtypes are checked."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

import gymx  # noqa: E402
from gymx.adapters.torch import TorchVectorEnv, make_vec, to_jax, to_torch  # noqa: E402

NUM_ENVS = 8


@pytest.fixture(scope="module")
def cartpole() -> TorchVectorEnv:
    return make_vec("CartPole-v1", NUM_ENVS, max_episode_steps=20)


def test_dlpack_shares_memory_both_ways() -> None:
    x = jnp.arange(64, dtype=jnp.float32)
    t = to_torch(x)
    assert t.dtype == torch.float32 and t.device.type == "cpu" and t.data_ptr() == x.unsafe_buffer_pointer()
    actions = torch.arange(64, dtype=torch.int32)
    back = to_jax(actions)
    assert back.dtype == jnp.int32 and back.unsafe_buffer_pointer() == actions.data_ptr()
    flags = to_torch(jnp.array([True, False]))
    assert flags.dtype == torch.bool and flags.tolist() == [True, False]


def test_outputs_are_tensors_of_the_spaces_dtypes(cartpole: TorchVectorEnv) -> None:
    obs, info = cartpole.reset(seed=0)
    assert obs.shape == (NUM_ENVS, 4) and obs.dtype == torch.float32 and cartpole.device == obs.device
    assert set(info) >= {"episode_return", "episode_length"}
    obs, reward, terminated, truncated, info = cartpole.step(torch.zeros(NUM_ENVS, dtype=torch.int64))
    assert reward.dtype == torch.float32 and terminated.dtype == torch.bool and truncated.dtype == torch.bool
    assert reward.shape == terminated.shape == (NUM_ENVS,) and torch.all(reward == 1.0)
    assert isinstance(info["final_obs"], torch.Tensor) and info["final_obs"].shape == (NUM_ENVS, 4)


def test_trajectory_equals_the_vec_envs_own(cartpole: TorchVectorEnv) -> None:
    vec = cartpole.vec_env
    params = vec.default_params
    obs, _ = cartpole.reset(seed=7)
    _, key = jax.random.split(jax.random.key(7))
    state, ts = vec.reset(key, params)
    np.testing.assert_allclose(obs.numpy(), np.asarray(ts.obs), rtol=1e-6)
    rng = np.random.default_rng(0)
    for _ in range(30):  # past the 20-step limit: SAME_STEP resets included
        actions = rng.integers(0, 2, NUM_ENVS)
        obs, _, terminated, truncated, info = cartpole.step(torch.from_numpy(actions))
        state, ts = vec.step(state, actions.astype(np.int32), params)
        np.testing.assert_allclose(obs.numpy(), np.asarray(ts.obs), rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(terminated.numpy(), np.asarray(ts.terminated))
        np.testing.assert_array_equal(truncated.numpy(), np.asarray(ts.truncated))
        np.testing.assert_array_equal(info["episode_length"].numpy(), np.asarray(ts.info["episode_length"]))
    assert int(info["episode_length"].max()) <= 20


def test_reset_seed_and_stream(cartpole: TorchVectorEnv) -> None:
    first = cartpole.reset(seed=3)[0].clone()
    assert torch.equal(first, cartpole.reset(seed=3)[0])
    assert not torch.equal(first, cartpole.reset()[0])


def test_box_actions_are_cast_on_the_device() -> None:
    env = TorchVectorEnv(gymx.VecEnv(gymx.make("Pendulum-v1"), 2))
    env.reset(seed=0)
    _, reward64, *_ = env.step(torch.zeros(2, 1, dtype=torch.float64))
    assert reward64.dtype == torch.float32 and torch.all(reward64 <= 0)


def test_bad_actions_raise(cartpole: TorchVectorEnv) -> None:
    cartpole.reset(seed=0)
    with pytest.raises(ValueError, match=r"must have shape \(8,\), got \(4,\)"):
        cartpole.step(torch.zeros(4, dtype=torch.int64))
    with pytest.raises(TypeError, match=r"must have an integer dtype, got torch\.float32"):
        cartpole.step(torch.zeros(NUM_ENVS))
    with pytest.raises(TypeError, match="must be torch tensors, got ndarray"):
        cartpole.step(np.zeros(NUM_ENVS, np.int32))


def test_step_before_reset_raises() -> None:
    with pytest.raises(RuntimeError, match="reset"):
        make_vec("CartPole-v1", 2).step(torch.zeros(2, dtype=torch.int64))
