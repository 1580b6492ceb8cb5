"""MJX's Warp implementation behind the MuJoCo envs' `reset` and `step`.

MuJoCo Warp simulates a batch as one call over "worlds": under `jax.vmap`, `mjx.step` folds the
batch into the world count. Most of its `Data` is per world, but the contact buffers (and their
counts) are shared by all the worlds of a call and sized for all of them (`naconmax`). Two
consequences shape this module:

- An env's state keeps only the per-world fields (`WarpBatch.strip`), so that selecting between
  states leaf by leaf (auto-reset, the divergence guard) is valid, as `mjx.Data.where` does it.
  The shared buffers are scratch that collision detection refills every substep; each call gets
  fresh ones (`WarpBatch.join`).
- The shared buffers must fit the whole batch, whose size an env's function does not see under
  `vmap`. `WarpBatch.batched` is a `custom_vmap` whose batching rule learns the batch size, so
  every call allocates `max_contacts` per world however many envs (and nested `vmap`s) there are.

Needs warp-lang (`pip install "gymx[mjx-warp]"`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
from jax import custom_batching
from mujoco import mjx

WARP_INSTALL = 'pip install "gymx[mjx-warp]" (warp-lang, as mujoco-mjx[warp] pins it)'


def warp_installed() -> bool:
    """Whether MJX can run its Warp implementation here (warp-lang importable)."""
    try:
        from mujoco.mjx import warp as mjx_warp
    except ImportError:  # pragma: no cover - depends on the install
        return False
    return bool(mjx_warp.WARP_INSTALLED)


def on_nvidia_gpu() -> bool:
    device = jax.devices()[0]
    return device.platform == "gpu" and "nvidia" in device.device_kind.lower()


def capacity_overflow_bits() -> int:
    """The bits of MuJoCo Warp's per-world overflow mask that mean a buffer was too small (not the
    solver's iteration-limit bits, which a capped solver sets by design)."""
    from mujoco.mjx.third_party.mujoco_warp import OverflowType

    bits = (
        OverflowType.NEFC,
        OverflowType.NJMAX_NNZ,
        OverflowType.BROADPHASE,
        OverflowType.NARROWPHASE,
        OverflowType.CCD,
        OverflowType.NVMAX,
        OverflowType.EPA_HORIZON,
    )
    return int(sum(int(bit) for bit in bits))


def shared_fields() -> frozenset[str]:
    """The Warp data fields shared by every world of a call (no per-world axis)."""
    from mujoco.mjx.warp import types as warp_types

    return frozenset(warp_types.DATA_NON_VMAP)


def _left_broadcast(x: jax.Array, batch: tuple[int, ...]) -> jax.Array:
    """`x`, batched over a prefix of `batch`, broadcast to all of `batch` (its other dims after)."""
    x = jnp.asarray(x)
    return jnp.broadcast_to(x.reshape(x.shape + (1,) * (len(batch) - x.ndim)), batch)


class WarpBatch:
    """Per-world Warp data of one model, and the calls that run it over any batch (module docstring).

    `max_contacts` is the contact (and broadphase pair) capacity per world, `max_constraints`
    the constraint rows per world (MuJoCo Warp's `njmax`).
    """

    def __init__(self, mj_model: mujoco.MjModel, max_contacts: int, max_constraints: int):
        if max_contacts < 1 or max_constraints < 1:
            raise ValueError(
                f"max_contacts and max_constraints must be at least 1, got {max_contacts} and {max_constraints}"
            )
        self.max_contacts = max_contacts
        self.max_constraints = max_constraints
        self.overflow_bits = capacity_overflow_bits()
        one_world = mjx.make_data(mj_model, impl="warp", naconmax=max_contacts, njmax=max_constraints)
        names = shared_fields()
        arrays = {name: getattr(one_world._impl, name) for name in names}
        # Every shared buffer of a fresh Data holds one value (zeros, or -1 for addresses): each call
        # rebuilds them with `jnp.full` at its batch's size rather than carrying constants.
        self._shared = {
            name: (np.asarray(value).shape, np.asarray(value).dtype, self._fill_value(name, np.asarray(value)))
            for name, value in arrays.items()
            if isinstance(value, (np.ndarray, jax.Array))
        }
        self.template = self.strip(one_world)

    @staticmethod
    def _fill_value(name: str, value: np.ndarray) -> Any:
        if value.size and not np.all(value == value.flat[0]):
            raise NotImplementedError(f"MJX's fresh Warp data holds varying values in shared field {name!r}")
        return value.flat[0] if value.size else 0

    def strip(self, data: mjx.Data) -> mjx.Data:
        """`data` without the shared buffers: only per-world leaves (and one world's capacities)."""
        shared = dict.fromkeys(self._shared)
        return data.replace(_impl=data._impl.replace(naconmax=self.max_contacts, naccdmax=self.max_contacts, **shared))

    def join(self, data: mjx.Data, worlds: int) -> mjx.Data:
        """Stripped `data` of `worlds` worlds (leading axis) with fresh shared buffers sized for them."""
        naconmax = worlds * self.max_contacts
        shared = {}
        for name, (shape, dtype, fill) in self._shared.items():
            if name.startswith("contact__") and shape[0]:
                shape = (naconmax, *shape[1:])
            shared[name] = jnp.full(shape, fill, dtype)
        return data.replace(_impl=data._impl.replace(naconmax=naconmax, naccdmax=naconmax, **shared))

    def batched(self, one_world: Callable[[Any, mjx.Data, jax.Array], mjx.Data]) -> Callable:
        """`one_world(physics, data, action) -> data` as a call on stripped data of any batch shape,
        returning (stripped data, capacity overflow per world: bool). `physics` leaves may be
        batched over a prefix of the data's batch dims (domain randomisation) or shared."""

        def run(physics: Any, data: mjx.Data, action: jax.Array) -> tuple[mjx.Data, jax.Array]:
            batch = data.qpos.shape[:-1]
            worlds = math.prod(batch)

            def flat(x: jax.Array) -> jax.Array:
                return jnp.reshape(x, (worlds, *jnp.shape(x)[len(batch) :]))

            physics_leaves = jax.tree_util.tree_leaves(physics)
            if all(jnp.ndim(leaf) == 0 for leaf in physics_leaves):
                physics_axis = None
            else:
                physics = jax.tree_util.tree_map(lambda x: flat(_left_broadcast(x, batch)), physics)
                physics_axis = 0
            full = self.join(jax.tree_util.tree_map(flat, data), worlds)

            def world(physics: Any, data: mjx.Data, action: jax.Array) -> tuple[mjx.Data, jax.Array]:
                data = one_world(physics, data, action)
                overflow = (data._impl.overflow & self.overflow_bits) != 0
                return data, overflow

            out, overflow = jax.vmap(world, in_axes=(physics_axis, 0, 0))(physics, full, flat(action))
            out = self.strip(out)
            return jax.tree_util.tree_map(lambda x: x.reshape(batch + x.shape[1:]), out), overflow.reshape(batch)

        @custom_batching.custom_vmap
        def call(physics: Any, data: mjx.Data, action: jax.Array) -> tuple[mjx.Data, jax.Array]:
            return run(physics, data, action)

        @call.def_vmap
        def call_batched(axis_size: int, in_batched: Any, physics: Any, data: mjx.Data, action: jax.Array) -> Any:
            physics_batched, data_batched, action_batched = in_batched

            def add_axis(x: jax.Array, is_batched: bool) -> jax.Array:
                return x if is_batched else jnp.broadcast_to(x, (axis_size, *jnp.shape(x)))

            data = jax.tree_util.tree_map(add_axis, data, data_batched)
            action = add_axis(action, action_batched)
            # Shared physics stays unbatched (one model for every world) unless some leaf varies.
            varies = any(jax.tree_util.tree_leaves(physics_batched)) or any(
                jnp.ndim(leaf) for leaf in jax.tree_util.tree_leaves(physics)
            )
            if varies:
                physics = jax.tree_util.tree_map(add_axis, physics, physics_batched)
            # Calling `call` again lets an enclosing vmap's rule add its axis too: the innermost call
            # then sees every batch dim and sizes the shared buffers for all of them.
            out = call(physics, data, action)
            return out, jax.tree_util.tree_map(lambda _: True, out)

        return call
