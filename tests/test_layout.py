"""The package's shape: no import circles, no oversized source files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "tinyvision"
MAX_LINES = 600

# Imports every tinyvision module first in a clean slate (all tinyvision modules dropped from sys.modules, third-party
# ones kept): a circular import fails depending on which module of the circle comes first, so each one is tried first.
CHECK = r"""
import importlib, sys, traceback
failures = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "tinyvision" or m.startswith("tinyvision.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception:
        failures.append(name + ": " + traceback.format_exc(limit=3))
print("\n".join(failures))
sys.exit(1 if failures else 0)
"""


def _modules() -> list[str]:
    names = []
    for path in sorted(SRC.rglob("*.py")):
        parts = ("tinyvision", *path.relative_to(SRC).with_suffix("").parts)
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_every_module_imports_first_without_a_circle():
    modules = _modules()
    assert len(modules) > 30 and "tinyvision.hub.cards" in modules
    result = subprocess.run([sys.executable, "-c", CHECK, *modules], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_source_file_is_over_600_lines():
    sizes = {str(path.relative_to(SRC)): len(path.read_text().splitlines()) for path in SRC.rglob("*.py")}
    assert {name: lines for name, lines in sizes.items() if lines > MAX_LINES} == {}
