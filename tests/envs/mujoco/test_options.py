"""The MuJoCo envs take Gymnasium's keyword arguments, with Gymnasium's defaults, onto their params."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import math
import typing

import pytest
from gymx.envs.mujoco import ENVS
from gymx.envs.mujoco.base import MujocoEnv, task_params
from gymx.envs.mujoco.hopper import Hopper, HopperParams

# Gymnasium's v5 module of each of our modules, where the names differ only by underscores.
GYMNASIUM_MODULES = {"humanoid_standup": "humanoidstandup_v5"}


def env_classes() -> list[tuple[str, type]]:
    classes = []
    for name, entry_point, _, _ in ENVS:
        module, cls = entry_point.split(":")
        classes.append((name, getattr(importlib.import_module(f"gymx.envs.mujoco.{module}"), cls)))
    return classes


def gymnasium_init(module: str) -> inspect.Signature:
    gym_module = importlib.import_module(f"gymnasium.envs.mujoco.{GYMNASIUM_MODULES.get(module, module + '_v5')}")
    env_class = next(c for c in vars(gym_module).values() if inspect.isclass(c) and c.__module__ == gym_module.__name__)
    return inspect.signature(env_class.__init__)


def params_type(env_class: type) -> type:
    base = next(b for b in env_class.__orig_bases__ if typing.get_args(b))
    return typing.get_args(base)[0]


def same(ours: object, theirs: object) -> bool:
    if isinstance(theirs, tuple):
        return len(ours) == len(theirs) and all(same(a, b) for a, b in zip(ours, theirs))
    return ours == theirs or (math.isinf(ours) and ours == theirs)


@pytest.mark.parametrize(("name", "env_class"), env_classes(), ids=[name for name, _ in env_classes()])
def test_gymnasium_options_default_to_gymnasiums_and_every_keyword_is_taken(name: str, env_class: type) -> None:
    gym_parameters = gymnasium_init(env_class.__module__.rsplit(".", 1)[1]).parameters
    defaults = {field.name: field.default for field in dataclasses.fields(params_type(env_class))}
    for option in env_class.gymnasium_options:
        field = option.removesuffix("_range")
        ours = (defaults[f"{field}_min"], defaults[f"{field}_max"]) if option.endswith("_range") else defaults[option]
        assert same(ours, gym_parameters[option].default), (name, option, ours, gym_parameters[option].default)
    taken = set(env_class.gymnasium_options) | set(inspect.signature(env_class.__init__).parameters)
    taken |= set(inspect.signature(MujocoEnv.__init__).parameters)
    missing = {
        p for p, parameter in gym_parameters.items() if parameter.kind is parameter.POSITIONAL_OR_KEYWORD
    } - taken
    assert not missing - {"self", "render_mode", "max_geom", "visual_options"}, (name, missing)


def test_task_params_sets_fields_and_ranges_and_leaves_model_options() -> None:
    params, rest = task_params(
        HopperParams,
        Hopper.gymnasium_options,
        {"ctrl_cost_weight": 0.5, "healthy_z_range": (0.1, 2.0), "frame_skip": 2},
    )
    assert params == HopperParams(ctrl_cost_weight=0.5, healthy_z_min=0.1, healthy_z_max=2.0)
    assert rest == {"frame_skip": 2}


def test_an_unknown_keyword_is_refused() -> None:
    with pytest.raises(TypeError, match="healthy_z_min"):
        Hopper(healthy_z_min=0.1)
