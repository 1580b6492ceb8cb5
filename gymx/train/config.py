"""Hyper-parameters as data: one TOML file per algorithm and env, read into a frozen dataclass.

`configs/<algo>/<env id>.toml` holds every field of the algorithm's config dataclass (no silent
defaults: a missing or unknown key is an error), so a run is described by the file it names plus
explicit overrides, and the values that solved an env live next to each other as data.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import sys
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser from PyPI (the `train` extra installs it there).
    import tomli as tomllib

C = TypeVar("C")


def config_dir(algo: str) -> Path:
    return Path(str(importlib.resources.files("gymx.train") / "configs" / algo))


def available(algo: str) -> list[str]:
    """The env ids that `algo` ships a config for; a namespaced id's file lies in its namespace's folder (`ALE/Pong-v5.toml`)."""
    root = config_dir(algo)
    return sorted(path.relative_to(root).with_suffix("").as_posix() for path in root.rglob("*.toml"))


def from_mapping(cls: type[C], values: Mapping[str, Any], source: str = "config") -> C:
    """`cls(**values)` with every field required, none unknown, TOML arrays as tuples and ints accepted as floats."""
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - set(fields))
    missing = sorted(set(fields) - set(values))
    if unknown or missing:
        raise ValueError(f"{source}: unknown keys {unknown}, missing keys {missing} for {cls.__name__}")
    hints = typing.get_type_hints(cls)
    converted = {}
    for name, value in values.items():
        hint = hints[name]
        origin = typing.get_origin(hint) or hint
        if origin is tuple:
            value = tuple(value)
        elif hint is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        elif not isinstance(value, origin):
            raise ValueError(f"{source}: {name} = {value!r} is not a {hint}")
        converted[name] = value
    return cls(**converted)


def load(cls: type[C], algo: str, env_id: str, path: str | Path | None = None, **overrides: Any) -> C:
    """The config of `algo` on `env_id` from its packaged file (or `path`), with `overrides` applied."""
    if path is None:
        path = config_dir(algo) / f"{env_id}.toml"
        if not path.is_file():
            raise FileNotFoundError(
                f"no {algo} config for {env_id!r}; configs exist for {available(algo)} (or pass a file)"
            )
    with open(path, "rb") as file:
        values = tomllib.load(file)
    return from_mapping(cls, {**values, **overrides}, source=str(path))


def to_dict(config: Any) -> dict[str, Any]:
    return {
        name: list(value) if isinstance(value, tuple) else value for name, value in dataclasses.asdict(config).items()
    }
