"""The import direction of docs/ARCHITECTURE.md: core imports no env family, kernel or tool;
kernels and env families import no tool; tools import no env family; only the CLI imports the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ("gymx.adapters", "gymx.train", "gymx.monitor", "gymx.bench", "gymx.scoreboard")
FAMILIES = ("gymx.envs",)
KERNELS = ("gymx.kernels",)
CLI = ("gymx.cli",)


def module_name(path: Path) -> str:
    """The installed name: envs/ and kernels/ install as gymx.envs and gymx.kernels."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[0] in ("envs", "kernels"):
        parts.insert(0, "gymx")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(path: Path) -> set[str]:
    """Every module `path` imports, anywhere in it, as absolute names."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def layer(name: str) -> str:
    if within(name, CLI):
        return "cli"
    if within(name, TOOLS):
        return "tool"
    if within(name, FAMILIES):
        return "family"
    if within(name, KERNELS):
        return "kernel"
    return "core"


FORBIDDEN = {
    "core": TOOLS + FAMILIES + KERNELS + CLI,
    "kernel": TOOLS + FAMILIES + CLI,
    "family": TOOLS + CLI,
    "tool": FAMILIES + CLI,
    "cli": (),
}
# The package's front door re-exports public names of the tools (see docs/ARCHITECTURE.md).
EXEMPT = {"gymx"}


def sources() -> list[Path]:
    return sorted(p for folder in ("gymx", "envs", "kernels") for p in (ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down(path: Path) -> None:
    name = module_name(path)
    if name in EXEMPT:
        return
    wrong = sorted(m for m in imported(path) if within(m, FORBIDDEN[layer(name)]))
    assert not wrong, f"{name} ({layer(name)}) imports {wrong}; see docs/ARCHITECTURE.md"


def test_the_check_sees_a_wrong_import() -> None:
    assert within("gymx.envs.mujoco.base", FORBIDDEN["core"])
    assert "gymx.adapters.gymnasium" in imported(ROOT / "gymx" / "__init__.py")
    assert layer(module_name(ROOT / "envs" / "board_games" / "grid.py")) == "family"
