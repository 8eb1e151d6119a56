"""tinyvision.hub's layout: one module per job, small files, and no import of the training side."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "tinyvision"
HUB_FILES = sorted((SRC / "hub").glob("*.py")) + [SRC / "figures.py"]
TRAINING_SIDE = ("tinyvision.tasks", "tinyvision.training", "tinyvision.experiments")


def _imported_modules(path: Path) -> list[str]:
    """Every module ``path`` imports, at any depth (functions included), as an absolute name."""
    package = "tinyvision" if path.parent == SRC else "tinyvision.hub"
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            names += [module] + [f"{module}.{alias.name}" for alias in node.names]
    return names


@pytest.mark.parametrize("path", HUB_FILES, ids=lambda path: path.name)
def test_hub_never_imports_the_training_side(path):
    imported = _imported_modules(path)
    assert not [name for name in imported if name.startswith(TRAINING_SIDE)], path.name


@pytest.mark.parametrize("path", HUB_FILES, ids=lambda path: path.name)
def test_hub_files_stay_small(path):
    assert len(path.read_text().splitlines()) < 600, path.name


def test_matplotlib_is_imported_inside_the_figure_functions_only():
    tree = ast.parse((SRC / "figures.py").read_text())
    top_level = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert not any("matplotlib" in ast.unparse(node) for node in top_level)


def test_the_public_api_resolves():
    from tinyvision import figures, hub

    for name in hub.__all__:
        assert getattr(hub, name) is not None, name
    assert hub.plot_training_curves is figures.plot_training_curves and hub.plot_clock_grid is figures.plot_clock_grid
    assert callable(hub.publish)  # the function, not the publishing module
