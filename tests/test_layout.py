"""The package's shape: every module in a layer, frameworks imported only by their adapter."""

from __future__ import annotations

import ast
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

import tunebench

PACKAGE = Path(tunebench.__file__).parent
LAYERS = {"core", "tasks", "harness", "frameworks", "stats", "plots", "report"}
TOP_LEVEL = {"__init__.py", "study.py", "chunk.py", "cli.py"}
# HPO frameworks (and torch) are imported only inside the module that adapts them.
FRAMEWORK_MODULES = {
    "optuna", "hyperopt", "ray", "ax", "vizier", "smac", "nevergrad", "syne_tune", "autoPyTorch",
    "torch",
}  # fmt: skip


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_module_is_in_a_layer_or_top_level() -> None:
    for path in _modules():
        rel = path.relative_to(PACKAGE)
        if len(rel.parts) == 1:
            assert rel.name in TOP_LEVEL, f"{rel}: put it in one of {sorted(LAYERS)}"
        else:
            assert rel.parts[0] in LAYERS, f"{rel}: {rel.parts[0]} is not a layer"


def _top_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in tree.body:  # module level only; imports inside functions are lazy
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_frameworks_are_imported_only_where_they_are_adapted(path: Path) -> None:
    rel = path.relative_to(PACKAGE)
    loaded = _top_level_imports(path) & FRAMEWORK_MODULES
    if not loaded:
        return
    # the framework side of an adapter, a module loaded only when that framework runs
    adapter_side = {
        "frameworks/_ray_tune.py": {"ray"},
        "frameworks/_optuna_state.py": {"optuna"},
        "tasks/neural.py": {"torch"},
    }
    assert loaded <= adapter_side.get(str(rel), set()), f"{rel} imports {sorted(loaded)} at top"


def test_version_is_the_installed_distribution() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tunebench.cli", "--version"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.strip() == f"tunebench {version('tunebench')}"
    assert tunebench.__version__ == version("tunebench")
