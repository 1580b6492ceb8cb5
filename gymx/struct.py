"""Frozen dataclasses that are JAX pytrees.

`dataclass` turns a class into a frozen dataclass registered with JAX: fields are pytree
children (traced arrays) unless declared with `static_field()`, which makes them part of the
tree structure (hashable, compile-time constants).
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

import jax

T = TypeVar("T")


def static_field(**kwargs: Any) -> Any:
    """A field that is part of the pytree structure, not a traced leaf."""
    metadata = dict(kwargs.pop("metadata", {}) or {})
    metadata["static"] = True
    return dataclasses.field(metadata=metadata, **kwargs)


def field(**kwargs: Any) -> Any:
    return dataclasses.field(**kwargs)


def dataclass(cls: type[T] | None = None, /) -> Any:
    """Frozen dataclass registered as a pytree; instances gain `.replace(**changes)`."""

    def wrap(klass: type[T]) -> type[T]:
        klass = dataclasses.dataclass(frozen=True)(klass)
        fields = dataclasses.fields(klass)
        data = [f.name for f in fields if not f.metadata.get("static", False)]
        meta = [f.name for f in fields if f.metadata.get("static", False)]
        jax.tree_util.register_dataclass(klass, data_fields=data, meta_fields=meta)
        klass.replace = lambda self, **changes: dataclasses.replace(self, **changes)  # type: ignore[attr-defined]
        return klass

    return wrap if cls is None else wrap(cls)
