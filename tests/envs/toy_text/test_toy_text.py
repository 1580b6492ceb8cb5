"""The toy-text envs on their own: registration, spaces, transition tables and dense models, random
maps, starts, options, params and rendering."""

from __future__ import annotations

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.envs.toy_text.frozen_lake import (
    generate_random_map as gymnasium_random_map,
)
from gymx.envs.toy_text.frozen_lake import (
    FrozenLake,
    FrozenLakeParams,
    generate_random_map,
)

import gymx
from gymx.testing import check_env

IDS = ["FrozenLake-v1", "FrozenLake8x8-v1", "Taxi-v4", "CliffWalking-v1", "CliffWalkingSlippery-v1", "Blackjack-v1"]
# (id, kwargs given to both makes) of every tabular option whose `P` is compared.
TABLES = [
    ("FrozenLake-v1", {}),
    ("FrozenLake-v1", {"is_slippery": False}),
    ("FrozenLake8x8-v1", {}),
    ("FrozenLake-v1", {"success_rate": 0.75, "reward_schedule": (2, -1, 0.5)}),
    ("FrozenLake-v1", {"desc": gymnasium_random_map(7, 0.6, seed=4)}),
    ("Taxi-v4", {}),
    ("Taxi-v4", {"is_rainy": True}),
    ("Taxi-v4", {"is_rainy": True, "rainy_probability": 0.65}),
    ("CliffWalking-v1", {}),
    ("CliffWalkingSlippery-v1", {}),
]


def _table_id(case: tuple) -> str:
    env_id, kwargs = case
    return env_id + "".join(f"-{k}" for k in kwargs)


def _layout(space: gymnasium.Space) -> tuple:
    """A space's kind and sizes, not its dtype (gymx's discrete values are int32, Gymnasium's int64)."""
    if isinstance(space, gymnasium.spaces.Tuple):
        return tuple(_layout(s) for s in space.spaces)
    return type(space).__name__, space.n, space.start


@pytest.mark.parametrize("env_id", IDS)
def test_registration_and_spaces_match_gymnasium(env_id: str) -> None:
    ours, theirs = gymx.spec(env_id), gymnasium.spec(env_id)
    assert (ours.max_episode_steps, ours.reward_threshold, ours.kwargs) == (
        theirs.max_episode_steps,
        theirs.reward_threshold,
        theirs.kwargs,
    )
    env, gym_env = gymx.make(env_id), gymnasium.make(env_id)
    assert _layout(env.observation_space().to_gymnasium()) == _layout(gym_env.observation_space)
    assert _layout(env.action_space().to_gymnasium()) == _layout(gym_env.action_space)
    assert env.metadata["render_fps"] == gym_env.metadata["render_fps"]
    assert set(env.metadata["render_modes"]) <= set(gym_env.metadata["render_modes"])


@pytest.mark.parametrize("case", TABLES, ids=_table_id)
def test_p_table_equals_gymnasium_and_dense_model_agrees(case: tuple) -> None:
    env_id, kwargs = case
    env = gymx.make(env_id, **kwargs).unwrapped
    P = gymnasium.make(env_id, **kwargs).unwrapped.P
    assert env.P == P
    model = jax.jit(env.dense_model)()
    num_states = len(P)
    dense = np.zeros((num_states, len(P[0]), num_states))
    expected_reward = np.zeros(dense.shape[:2])
    for s, actions in P.items():
        for a, entries in actions.items():
            for p, s2, r, terminated in entries:
                dense[s, a, s2] += p
                expected_reward[s, a] += p * r
                if not env.terminal[s]:
                    # gymx's `terminated` is the next state's terminal flag: Gymnasium's must agree.
                    assert bool(env.terminal[s2]) == terminated, (s, a, s2)
    np.testing.assert_allclose(model.transitions, dense, atol=1e-6)
    np.testing.assert_allclose(model.rewards, expected_reward, atol=1e-5)
    np.testing.assert_array_equal(model.terminal, env.terminal)


def test_dense_model_is_traced_in_params() -> None:
    env = FrozenLake()
    traces = []

    @jax.jit
    def model(params: FrozenLakeParams) -> jax.Array:
        traces.append(1)
        return env.dense_model(params).transitions

    slippery, sure = model(FrozenLakeParams(success_rate=1 / 3)), model(FrozenLakeParams(success_rate=1.0))
    assert len(traces) == 1
    assert float(slippery[0, 2, 1]) == pytest.approx(1 / 3) and float(sure[0, 2, 1]) == 1.0
    assert env.transition_dict(FrozenLakeParams(success_rate=0.5))[0][2][1] == (0.5, 1, 0.0, False)


@pytest.mark.parametrize("size, p, seed", [(4, 0.8, 0), (8, 0.8, 1), (6, 0.5, 2), (10, 0.7, 3), (3, 1.5, 4)])
def test_random_maps_equal_gymnasium_for_a_seed(size: int, p: float, seed: int) -> None:
    ours = generate_random_map(size, p, seed)
    assert ours == gymnasium_random_map(size, p, seed)
    assert ours[0][0] == "S" and ours[-1][-1] == "G" and len(ours) == size


def test_random_map_env_from_a_seed() -> None:
    env = gymx.make("FrozenLake-v1", map_name=None, map_size=5, map_p=0.6, map_seed=9).unwrapped
    assert ["".join(row) for row in env.desc] == gymnasium_random_map(5, 0.6, 9)
    assert (
        env.observation_space().n == 25
        and env.P == gymnasium.make("FrozenLake-v1", desc=gymnasium_random_map(5, 0.6, 9)).unwrapped.P
    )
    with pytest.raises(ValueError, match="size >= 2"):
        generate_random_map(1)
    with pytest.raises(ValueError, match="at least one S"):
        FrozenLake(desc=["FFF", "FHG"])


def test_starts() -> None:
    """Taxi starts uniformly over its 300 start states; FrozenLake uniformly over its S tiles."""
    num = 60000
    keys = jax.random.split(jax.random.key(0), num)
    taxi = gymx.make("Taxi-v4").unwrapped
    starts = np.asarray(jax.jit(jax.vmap(taxi.reset))(keys)[1].obs)
    gym_distribution = gymnasium.make("Taxi-v4").unwrapped.initial_state_distrib
    counts = np.bincount(starts, minlength=500)
    assert set(np.flatnonzero(counts)) == set(np.flatnonzero(gym_distribution))
    expected = num / 300
    assert np.all(np.abs(counts[gym_distribution > 0] - expected) <= 5 * np.sqrt(expected))
    lake = FrozenLake(desc=["SFS", "FHF", "SFG"])
    starts = np.bincount(np.asarray(jax.jit(jax.vmap(lake.reset))(keys[:3000])[1].obs), minlength=9)
    assert set(np.flatnonzero(starts)) == {0, 2, 6} and starts[[0, 2, 6]].min() > 900


@pytest.mark.parametrize(
    "env_id, kwargs",
    [
        ("FrozenLake-v1", {"is_slippery": False}),
        ("Taxi-v4", {"is_rainy": True, "fickle_passenger": True}),
        ("Blackjack-v1", {"sab": False, "natural": True}),
    ],
)
def test_options_pass_check_env(env_id: str, kwargs: dict) -> None:
    check_env(gymx.make(env_id, **kwargs), num_steps=100)


def test_info_keys_on_reset_and_step() -> None:
    taxi = gymx.make("Taxi-v4").unwrapped
    state, ts = taxi.reset(jax.random.key(1))
    gym_taxi = gymnasium.make("Taxi-v4").unwrapped
    assert float(ts.info["prob"]) == 1.0 and ts.info["action_mask"].dtype == jnp.int8
    np.testing.assert_array_equal(ts.info["action_mask"], gym_taxi.action_mask(int(ts.obs)))
    _, stepped = taxi.step(state, 0)
    assert set(stepped.info) == set(ts.info) == {"prob", "action_mask"}


@pytest.mark.parametrize("env_id", IDS)
def test_rgb_frames_batch_under_vmap(env_id: str) -> None:
    env = gymx.make(env_id).unwrapped
    states, _ = jax.vmap(env.reset)(jax.random.split(jax.random.key(0), 3))
    frames = jax.jit(jax.vmap(env.render))(states)
    assert frames.dtype == jnp.uint8 and frames.ndim == 4 and frames.shape[-1] == 3
    assert len(np.unique(np.asarray(frames).reshape(-1, 3), axis=0)) >= 3  # more than a blank canvas
    if "ansi" not in env.metadata["render_modes"]:
        with pytest.raises(NotImplementedError):
            env.render(jax.tree_util.tree_map(lambda x: x[0], states), mode="ansi")


def test_unknown_map_name_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown map_name '5x5': choose one of \['4x4', '8x8'\]"):
        gymx.make("FrozenLake-v1", map_name="5x5")
