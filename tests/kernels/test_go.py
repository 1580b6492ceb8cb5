"""The Go kernels (groups, liberties, captures, area) against their flood-fill references."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymx.kernels import go

_reference_spec = importlib.util.spec_from_file_location(
    "go_reference", Path(__file__).resolve().parents[1] / "kernels" / "go_reference.py"
)
go_reference = importlib.util.module_from_spec(_reference_spec)
_reference_spec.loader.exec_module(go_reference)


def random_boards(size: int, num: int, stone_fraction: float, seed: int) -> jax.Array:
    colour_key, stone_key = jax.random.split(jax.random.key(seed))
    colour = jnp.where(jax.random.bernoulli(colour_key, 0.5, (num, size, size)), 1, -1)
    return jnp.where(jax.random.bernoulli(stone_key, stone_fraction, (num, size, size)), colour, 0).astype(jnp.int32)


def stone_groups(board: jax.Array, labels: jax.Array) -> jax.Array:
    return jnp.where(board != 0, labels, board.shape[-1] ** 2)


@jax.jit
@jax.vmap
def fast(board: jax.Array, point: jax.Array) -> tuple:
    labels = go.label(board)
    groups = stone_groups(board, labels)
    liberties = go.liberty_counts(board, groups)
    # Only an empty point can be played; `point` is resampled to one by the caller.
    return labels, liberties, go.captures(board, groups, liberties, point, 1), go.area_score(board)


@jax.jit
@jax.vmap
def reference(board: jax.Array, point: jax.Array) -> tuple:
    return (
        go_reference.label_reference(board),
        go_reference.liberty_counts_reference(board),
        go_reference.captures_reference(board, point, 1),
        go_reference.area_score_reference(board),
    )


@pytest.mark.parametrize(
    ("size", "num", "stone_fraction"), [(9, 2000, 0.7), (9, 1000, 0.9), (9, 1000, 0.2), (13, 200, 0.7), (19, 60, 0.6)]
)
def test_fast_matches_reference_on_random_boards(size: int, num: int, stone_fraction: float) -> None:
    boards = random_boards(size, num, stone_fraction, seed=size * 1000 + num)
    # A random empty point per board for the capture check (boards with none play point N*N: no move).
    empty = np.asarray(boards.reshape(num, -1) == 0)
    rng = np.random.default_rng(0)
    points = np.array([rng.choice(np.flatnonzero(row)) if row.any() else size * size for row in empty], np.int32)
    got, want = fast(boards, jnp.asarray(points)), reference(boards, jnp.asarray(points))
    for name, g, w in zip(("labels", "liberties", "captures", "area"), got, want):
        np.testing.assert_array_equal(np.asarray(g), np.asarray(w), err_msg=name)
    # The boards exercise what they should: captures happen, and some groups sit in atari.
    assert stone_fraction < 0.5 or bool(jnp.any(got[2]))
    assert bool(jnp.any(got[1] == 1))


def test_liberty_counts_take_any_group_ids() -> None:
    """The env labels a group by any of its points, not the smallest: counts must not care."""
    boards = random_boards(9, 200, 0.6, seed=3)
    labels = jax.vmap(go.label)(boards)
    # Relabel each group by its largest point index instead.
    largest = jax.vmap(
        lambda lab: jnp.zeros(82, jnp.int32).at[lab.reshape(-1)].max(jnp.arange(81, dtype=jnp.int32))[lab]
    )(labels)
    counts = jax.vmap(go.liberty_counts)(boards, stone_groups(boards, largest))
    np.testing.assert_array_equal(counts, jax.vmap(go_reference.liberty_counts_reference)(boards))


def test_hand_built_board() -> None:
    # . X O .      X at 1: liberties 0, 5; O group {2, 6}: 3, 5, 7, 10; X at 9: 5, 8, 10, 13
    # . . O .
    # . X . .
    # . . . .
    board = jnp.zeros(16, jnp.int32).at[1].set(1).at[2].set(-1).at[6].set(-1).at[9].set(1).reshape(4, 4)
    labels = go.label(board)
    assert int(labels[0, 2]) == int(labels[1, 2]) == 2 and int(labels[0, 1]) == 1 and int(labels[0, 0]) == 0
    libs = go.liberty_counts(board, stone_groups(board, labels))
    assert int(libs[0, 1]) == 2 and int(libs[0, 2]) == int(libs[1, 2]) == 4 and int(libs[2, 1]) == 4
    assert go.area_score(board) == (2, 2)  # no empty region reaches only one colour
    assert go.neighbour_table(4)[5].tolist() == [1, 9, 4, 6] and go.neighbour_table(4)[0].tolist() == [16, 4, 16, 1]
