"""The README's Python examples run as written and give what they say they give.

A bare expression in a block (other than a call that returns None) is followed by its value in a `# -> value` comment (at the end of its
last line, or on the next line), written as a Python literal: arrays as lists, shapes as tuples,
floats to the digits shown. Blocks that end in names rather than a value are checked below by what
those names hold.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
TEXT = README.read_text()
# (section heading, code) of every Python block.
BLOCKS = [
    (re.findall(r"^## (.+)$", TEXT[: block.start()], flags=re.M)[-1], block.group(1))
    for block in re.finditer(r"```python\n(.*?)```", TEXT, flags=re.S)
]
EXPECTED = re.compile(r"#\s*->\s*(.+?)\s*$")


def check_value(actual: Any, expected: Any, where: str) -> None:
    """`actual` is `expected` (a literal): exact for bools, ints and shapes, to the shown digits for floats."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and set(actual) == set(expected), f"{where}: got {actual!r}"
        for key, value in expected.items():
            check_value(actual[key], value, f"{where}[{key!r}]")
    elif isinstance(expected, tuple):
        assert isinstance(actual, tuple) and len(actual) == len(expected), f"{where}: got {actual!r}"
        for i, (got, value) in enumerate(zip(actual, expected)):
            check_value(got, value, f"{where}[{i}]")
    elif isinstance(expected, bool):
        assert np.asarray(actual).dtype == np.bool_ and bool(actual) is expected, f"{where}: got {actual!r}"
    elif isinstance(expected, int):
        assert np.asarray(actual).dtype.kind in "iu" and int(actual) == expected, f"{where}: got {actual!r}"
    else:
        got, want = np.asarray(actual), np.asarray(expected, np.float64)
        assert got.shape == want.shape, f"{where}: shape {got.shape}, the README shows {want.shape}"
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3, err_msg=where)


def run_block(index: int) -> dict[str, Any]:
    """Runs block `index` statement by statement, checking each bare expression's `# -> value`."""
    heading, source = BLOCKS[index]
    name = f"README.md block {index} ({heading})"
    lines = source.splitlines()
    comments = {number: match.group(1) for number, line in enumerate(lines, 1) if (match := EXPECTED.search(line))}
    namespace: dict[str, Any] = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.Expr):
            exec(compile(ast.Module([node], type_ignores=[]), name, "exec"), namespace)
            continue
        value = eval(compile(ast.Expression(node.value), name, "eval"), namespace)
        last = node.end_lineno or node.lineno
        follows = last < len(lines) and lines[last].lstrip().startswith("#")
        line = last if last in comments else last + 1 if follows and last + 1 in comments else None
        where = f"{name} line {node.lineno}: `{ast.unparse(node.value)}`"
        if value is None and line is None:  # a call made for what it does (`monitor.close()`)
            continue
        assert line is not None, f"{where} gives a value and has no `# -> value` comment"
        check_value(value, ast.literal_eval(comments.pop(line)), where)
    assert not comments, f"{name}: `# -> value` comments after no expression, lines {sorted(comments)}"
    return namespace


def gymnasium_adapter(names: dict[str, Any]) -> None:
    # The last `obs` is the vector env's first batch; the single env's step went on from seed 0's start.
    assert names["obs"].shape == (1024, 4) and names["obs"].dtype == np.float32
    assert names["reward"] == 1.0 and names["terminated"] is False and names["truncated"] is False


def functional_api(names: dict[str, Any]) -> None:
    # The randomised step: one observation and reward per env, and the pole masses differ per env.
    ts = names["ts"]
    assert ts.obs.shape == (4096, 4) and ts.reward.shape == (4096,)
    np.testing.assert_allclose(np.asarray(names["randomised"].masspole)[[0, -1]], [0.05, 0.5], rtol=1e-6)


CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "The functional API in 30 seconds": functional_api,
    "The Gymnasium adapter in 30 seconds": gymnasium_adapter,
}


@pytest.mark.parametrize("index", range(len(BLOCKS)), ids=[heading for heading, _ in BLOCKS])
def test_readme_example_gives_what_it_shows(index: int) -> None:
    names = run_block(index)
    heading, _ = BLOCKS[index]
    if heading in CHECKS:
        CHECKS[heading](names)


def test_every_block_shows_or_is_checked() -> None:
    headings = [heading for heading, _ in BLOCKS]
    assert set(CHECKS) <= set(headings), f"checks for sections the README no longer has: {set(CHECKS) - set(headings)}"
    for heading, source in BLOCKS:
        assert heading in CHECKS or EXPECTED.search(source), f"README section {heading!r}: its block shows no value"
