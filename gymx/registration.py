"""The environment registry: ids `[namespace/]Name-vN`, resolved as Gymnasium resolves them.

Families register their ids through the `gymx.envs` entry-point group, so this module knows no
family: the first look-up loads every installed plugin. Entry points are "module:attr" strings,
imported only when an env of that id is made.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import importlib
import importlib.metadata
import re
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    from gymx.core import Env

T = TypeVar("T")

ENV_ID_RE = re.compile(r"^(?:(?P<namespace>[\w:-]+)\/)?(?:(?P<name>[\w:.-]+?))(?:-v(?P<version>\d+))?$")


class Error(Exception):
    """Base of the registry's errors."""


class RegistrationError(Error):
    """An id could not be registered as asked."""


class UnregisteredEnv(Error):
    """No env of that id is registered."""


class NamespaceNotFound(UnregisteredEnv):
    """The id's namespace does not exist."""


class NameNotFound(UnregisteredEnv):
    """No env of that name exists in the namespace."""


class VersionNotFound(UnregisteredEnv):
    """The name exists but not with that version."""


class DeprecatedEnv(Error):
    """The version was registered once and has been replaced by a newer one."""


@dataclasses.dataclass(frozen=True)
class EnvSpec:
    """How to make one env id: its entry point, constructor kwargs and episode conventions."""

    id: str
    entry_point: str | Callable[..., Env]
    reward_threshold: float | None = None
    nondeterministic: bool = False
    max_episode_steps: int | None = None
    kwargs: dict = dataclasses.field(default_factory=dict)

    @property
    def namespace(self) -> str | None:
        return parse_env_id(self.id)[0]

    @property
    def name(self) -> str:
        return parse_env_id(self.id)[1]

    @property
    def version(self) -> int | None:
        return parse_env_id(self.id)[2]

    def make(self, **kwargs: Any) -> Env:
        return make(self, **kwargs)

    def pprint(self) -> str:
        lines = [f"id={self.id}", f"entry_point={self.entry_point}"]
        for field in ("reward_threshold", "nondeterministic", "max_episode_steps", "kwargs"):
            lines.append(f"{field}={getattr(self, field)}")
        return "\n".join(lines)


registry: dict[str, EnvSpec] = {}
# The Gymnasium adapters register gymx ids as `gymx/<id>` (`gymx-<ns>/<id>` for a namespaced one).
_GYMNASIUM_NAMESPACE = "gymx"
_current_namespace: str | None = None
_plugins_loaded = False


def parse_env_id(env_id: str) -> tuple[str | None, str, int | None]:
    """Splits `[namespace/]Name[-vN]` into (namespace, name, version)."""
    match = ENV_ID_RE.fullmatch(env_id)
    if not match:
        raise Error(f"Malformed environment id {env_id!r}: expected '[namespace/]Name[-vN]', e.g. 'CartPole-v1'")
    namespace, name, version = match.group("namespace", "name", "version")
    return namespace, name, None if version is None else int(version)


def get_env_id(namespace: str | None, name: str, version: int | None) -> str:
    full = name if version is None else f"{name}-v{version}"
    return full if namespace is None else f"{namespace}/{full}"


@contextlib.contextmanager
def namespace(ns: str) -> Iterator[None]:
    """Registers every id inside the block under namespace `ns`."""
    global _current_namespace
    previous, _current_namespace = _current_namespace, ns
    try:
        yield
    finally:
        _current_namespace = previous


def register(
    id: str,
    entry_point: str | Callable[..., Env],
    reward_threshold: float | None = None,
    nondeterministic: bool = False,
    max_episode_steps: int | None = None,
    kwargs: dict | None = None,
) -> None:
    """Adds an id to the registry; re-registering an id replaces it with a warning."""
    ns, name, version = parse_env_id(id)
    if _current_namespace is not None:
        if ns is not None and ns != _current_namespace:
            warnings.warn(
                f"Registering {id!r} inside namespace {_current_namespace!r}: using {_current_namespace!r}",
                stacklevel=2,
            )
        ns = _current_namespace
    full_id = get_env_id(ns, name, version)
    siblings = [spec for spec in registry.values() if spec.namespace == ns and spec.name == name]
    if version is None and any(spec.version is not None for spec in siblings):
        raise RegistrationError(f"Cannot register {full_id!r} without a version: versioned ids of {name!r} exist")
    if version is not None and any(spec.version is None for spec in siblings):
        raise RegistrationError(f"Cannot register {full_id!r}: an unversioned id of {name!r} exists")
    if full_id in registry:
        warnings.warn(f"Overriding environment {full_id} already in registry.", stacklevel=2)
    registry[full_id] = EnvSpec(
        id=full_id,
        entry_point=entry_point,
        reward_threshold=reward_threshold,
        nondeterministic=nondeterministic,
        max_episode_steps=max_episode_steps,
        kwargs=dict(kwargs or {}),
    )


def load_plugins() -> None:
    """Registers the ids of every installed family (entry-point group `gymx.envs`), once."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for plugin in importlib.metadata.entry_points(group="gymx.envs"):
        plugin.load()()


def _versions(ns: str | None, name: str) -> list[EnvSpec]:
    return sorted(
        (spec for spec in registry.values() if spec.namespace == ns and spec.name == name),
        key=lambda spec: -1 if spec.version is None else spec.version,
    )


def _suggest(word: str, options: set[str]) -> str:
    close = difflib.get_close_matches(word, sorted(options), n=1)
    return f" Did you mean: `{close[0]}`?" if close else ""


def spec(env_id: str) -> EnvSpec:
    """The spec of `env_id`, resolved with Gymnasium's rules (see `make`)."""
    load_plugins()
    if env_id in registry:
        found = registry[env_id]
        latest = _versions(found.namespace, found.name)[-1]
        if found.version is not None and latest.version is not None and latest.version > found.version:
            warnings.warn(
                f"The environment {env_id} is out of date. You should consider upgrading to version `v{latest.version}`.",
                stacklevel=2,
            )
        return found
    ns, name, version = parse_env_id(env_id)
    namespaces = {s.namespace for s in registry.values() if s.namespace is not None}
    if ns is not None and ns not in namespaces:
        if ns == _GYMNASIUM_NAMESPACE or ns.startswith(f"{_GYMNASIUM_NAMESPACE}-"):
            inner = ns.partition("-")[2] or None
            raise NamespaceNotFound(
                f"Namespace {ns} not found: `{ns}/` is the namespace of gymx ids in Gymnasium's registry,"
                f" for `gymnasium.make({env_id!r})`; gymx.make takes the id without it: {get_env_id(inner, name, version)!r}"
            )
        raise NamespaceNotFound(f"Namespace {ns} not found.{_suggest(ns, namespaces)}")
    versions = _versions(ns, name)
    if not versions:
        names = {s.name for s in registry.values() if s.namespace == ns}
        where = "" if ns is None else f" in namespace {ns}"
        raise NameNotFound(f"Environment `{name}` doesn't exist{where}.{_suggest(name, names)}")
    latest = versions[-1]
    if version is None:
        warnings.warn(
            f"Using the latest versioned environment `{latest.id}` instead of the unversioned environment `{env_id}`.",
            stacklevel=2,
        )
        return latest
    existing = ", ".join(f"`{s.id}`" for s in versions)
    if latest.version is not None and version < latest.version:
        raise DeprecatedEnv(
            f"Environment version v{version} for `{get_env_id(ns, name, None)}` is deprecated. Please use `{latest.id}` instead."
        )
    raise VersionNotFound(
        f"Environment version `v{version}` for environment `{get_env_id(ns, name, None)}` doesn't exist. It provides versioned environments: [ {existing} ]."
    )


@overload
def load_entry_point(entry_point: Callable[..., T]) -> Callable[..., T]: ...
# What a "module:attr" string names is known only once it is imported.
@overload
def load_entry_point(entry_point: str) -> Callable[..., Any]: ...
def load_entry_point(entry_point: str | Callable[..., T]) -> Callable[..., T] | Callable[..., Any]:
    if callable(entry_point):
        return entry_point
    module_name, _, attr = entry_point.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def make(env_id: str | EnvSpec, max_episode_steps: int | None = None, **kwargs: Any) -> Env:
    """Creates the env of an id; `kwargs` override the spec's constructor kwargs.

    Resolution: an unversioned id gives the latest version (with a warning); an older version
    that is still registered works (with a deprecation warning); an older one that is not
    raises `DeprecatedEnv` naming the current one; a newer one raises `VersionNotFound` listing
    the versions; an unknown name or namespace raises with "Did you mean". The spec's time limit
    is applied as a `TimeLimit` wrapper; `max_episode_steps` overrides it, and -1 turns it off.
    """
    from gymx.wrappers import TimeLimit

    env_spec = env_id if isinstance(env_id, EnvSpec) else spec(env_id)
    env_kwargs = {**env_spec.kwargs, **kwargs}
    env = load_entry_point(env_spec.entry_point)(**env_kwargs)
    env.spec = dataclasses.replace(env_spec, kwargs=env_kwargs)
    limit = env_spec.max_episode_steps if max_episode_steps is None else max_episode_steps
    if limit is not None and limit != -1:
        env = TimeLimit(env, limit)
    return env


def pprint_registry(
    num_cols: int = 3, exclude_namespaces: list[str] | None = None, disable_print: bool = False
) -> str | None:
    """Prints (or returns) the registered ids grouped by namespace."""
    load_plugins()
    groups: dict[str, list[str]] = {}
    for env_spec in registry.values():
        ns = env_spec.namespace or "(no namespace)"
        if exclude_namespaces and ns in exclude_namespaces:
            continue
        groups.setdefault(ns, []).append(env_spec.id)
    width = max((len(i) for ids in groups.values() for i in ids), default=0) + 2
    blocks = []
    for ns, ids in groups.items():
        rows = ["".join(i.ljust(width) for i in ids[k : k + num_cols]).rstrip() for k in range(0, len(ids), num_cols)]
        blocks.append(f"===== {ns} =====\n" + "\n".join(rows))
    text = "\n\n".join(blocks)
    if disable_print:
        return text
    print(text)
    return None
