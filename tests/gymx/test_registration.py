from __future__ import annotations

import warnings
from collections.abc import Iterator

import jax
import pytest
from gymx.envs.classic_control.cartpole import CartPole

import gymx
from gymx import registration
from gymx.wrappers import TimeLimit


@pytest.fixture
def toy_versions() -> Iterator[None]:
    """Toy-v1 and Toy-v2 in a test namespace, removed afterwards."""
    with gymx.namespace("testns"):
        gymx.register("Toy-v1", CartPole, max_episode_steps=10)
        gymx.register(
            "Toy-v2", "gymx.envs.classic_control.cartpole:CartPole", max_episode_steps=20, reward_threshold=3.0
        )
    yield
    for env_id in ("testns/Toy-v1", "testns/Toy-v2"):
        gymx.registry.pop(env_id, None)


def test_make_applies_the_spec() -> None:
    env = gymx.make("CartPole-v1")
    assert isinstance(env, TimeLimit) and env.max_episode_steps == 500
    assert isinstance(env.unwrapped, CartPole)
    spec = gymx.spec("CartPole-v1")
    assert (spec.max_episode_steps, spec.reward_threshold, spec.nondeterministic) == (500, 475.0, False)
    assert (spec.namespace, spec.name, spec.version) == (None, "CartPole", 1)
    assert env.spec.id == "CartPole-v1"


def test_make_overrides_time_limit_and_kwargs() -> None:
    assert gymx.make("CartPole-v1", max_episode_steps=7).max_episode_steps == 7
    assert not isinstance(gymx.make("CartPole-v1", max_episode_steps=-1), TimeLimit)
    env = gymx.make("CartPole-v1", sutton_barto_reward=True)
    assert env.unwrapped.sutton_barto_reward and env.spec.kwargs == {"sutton_barto_reward": True}


def test_unversioned_id_gives_latest_with_warning(toy_versions: None) -> None:
    with pytest.warns(UserWarning, match="Using the latest versioned environment `testns/Toy-v2`"):
        env = gymx.make("testns/Toy")
    assert env.spec.id == "testns/Toy-v2" and env.max_episode_steps == 20


def test_older_registered_version_warns(toy_versions: None) -> None:
    with pytest.warns(UserWarning, match="out of date.*v2"):
        gymx.make("testns/Toy-v1")
    with pytest.warns(UserWarning, match="out of date.*v1"):
        gymx.make("CartPole-v0")


def test_newest_version_does_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gymx.make("CartPole-v1")


def test_removed_version_names_the_current_one(toy_versions: None) -> None:
    with pytest.raises(registration.DeprecatedEnv, match="Please use `testns/Toy-v2` instead"):
        gymx.make("testns/Toy-v0")


def test_version_above_newest_lists_existing(toy_versions: None) -> None:
    with pytest.raises(registration.VersionNotFound, match="`testns/Toy-v1`, `testns/Toy-v2`"):
        gymx.make("testns/Toy-v3")
    with pytest.raises(registration.VersionNotFound, match="CartPole-v1"):
        gymx.make("CartPole-v2")


def test_misspelt_name_or_namespace_suggests(toy_versions: None) -> None:
    with pytest.raises(registration.NameNotFound, match="Did you mean: `CartPole`"):
        gymx.make("CartPol-v1")
    with pytest.raises(registration.NameNotFound, match="Did you mean: `Toy`"):
        gymx.make("testns/Tyo-v1")
    with pytest.raises(registration.NamespaceNotFound, match="Did you mean: `testns`"):
        gymx.make("testn/Toy-v1")


def test_malformed_id_is_refused() -> None:
    with pytest.raises(registration.Error, match="Malformed environment id"):
        gymx.make("not an id!")


def test_versioned_and_unversioned_names_cannot_mix(toy_versions: None) -> None:
    with pytest.raises(registration.RegistrationError, match="without a version"):
        gymx.register("testns/Toy", CartPole)


def test_reregistering_warns(toy_versions: None) -> None:
    with pytest.warns(UserWarning, match="Overriding environment testns/Toy-v2"):
        gymx.register("testns/Toy-v2", CartPole)


def test_registered_env_runs(toy_versions: None) -> None:
    env = gymx.make("testns/Toy-v2")
    state, ts = env.reset(jax.random.key(0))
    state, ts = env.step(state, 1)
    assert ts.obs.shape == (4,)


def test_pprint_registry_lists_every_id() -> None:
    text = gymx.pprint_registry(disable_print=True)
    assert all(env_id in text for env_id in gymx.registry)


@pytest.mark.parametrize("env_id, plain", [("gymx/CartPole-v1", "CartPole-v1"), ("gymx-foo/Bar-v0", "foo/Bar-v0")])
def test_gymnasium_namespace_says_to_drop_the_prefix(env_id: str, plain: str) -> None:
    with pytest.raises(gymx.registration.NamespaceNotFound, match=rf"gymx.make takes the id without it: '{plain}'"):
        gymx.make(env_id)
