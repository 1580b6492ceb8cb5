"""Frozen dataclasses that are JAX pytrees.

A class that derives from `PyTree` (or is decorated with `dataclass`) is a frozen dataclass
registered with JAX: fields are pytree children (traced arrays) unless declared with
`static_field()`, which makes them part of the tree structure (hashable, compile-time constants).
Instances have `.replace(**changes)`.

    class State(struct.PyTree):
        position: jax.Array  # float32 (2,)
        size: int = struct.static_field(default=4)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

import jax

if TYPE_CHECKING:
    # typing has both from Python 3.11; type checkers read typing_extensions' stubs for 3.10.
    from typing_extensions import Self, dataclass_transform
else:

    def dataclass_transform(**kwargs: Any) -> Any:
        return lambda decorated: decorated


T = TypeVar("T")


# `Any` as `dataclasses.field`'s result is: it stands in for a value of the field's annotated type.
def static_field(**kwargs: Any) -> Any:
    """A field that is part of the pytree structure, not a traced leaf."""
    metadata = dict(kwargs.pop("metadata", {}) or {})
    metadata["static"] = True
    return dataclasses.field(metadata=metadata, **kwargs)


def field(**kwargs: Any) -> Any:
    return dataclasses.field(**kwargs)


def _register(klass: type[T]) -> type[T]:
    klass = dataclasses.dataclass(frozen=True)(klass)
    fields = dataclasses.fields(klass)  # type: ignore[arg-type]  # klass is a dataclass from the line above
    data = [f.name for f in fields if not f.metadata.get("static", False)]
    meta = [f.name for f in fields if f.metadata.get("static", False)]
    jax.tree_util.register_dataclass(klass, data_fields=data, meta_fields=meta)
    return klass


@dataclass_transform(frozen_default=True, field_specifiers=(field, static_field, dataclasses.field))
class PyTree:
    """Base of frozen pytree dataclasses (see the module docstring)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _register(cls)

    def replace(self, **changes: Any) -> Self:
        """A copy with `changes` applied to the named fields."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]  # every PyTree is a dataclass


@overload
def dataclass(cls: type[T], /) -> type[T]: ...
@overload
def dataclass(cls: None = None, /) -> Callable[[type[T]], type[T]]: ...
@dataclass_transform(frozen_default=True, field_specifiers=(field, static_field, dataclasses.field))
def dataclass(cls: type[T] | None = None, /) -> type[T] | Callable[[type[T]], type[T]]:
    """Frozen dataclass registered as a pytree; instances gain `.replace(**changes)` (which type
    checkers see on `PyTree` subclasses only)."""

    def wrap(klass: type[T]) -> type[T]:
        klass = _register(klass)
        klass.replace = lambda self, **changes: dataclasses.replace(self, **changes)  # type: ignore[attr-defined]
        return klass

    return wrap if cls is None else wrap(cls)
