"""Turning run values into card text: the Jinja templates, YAML values, numbers, tables and public paths."""

from __future__ import annotations

import json
import math
import os
import re
import site
import sys
from pathlib import Path

from .catalogue import FAMILIES

__all__ = ["TEMPLATES_ENV", "find_templates_dir", "render_template"]

TEMPLATES_ENV = "TINYVISION_MODEL_CARDS"  # a folder of templates that overrides the packaged ones
_PACKAGE_DIR = Path(__file__).resolve().parents[1]  # src/tinyvision (or site-packages/tinyvision)


def find_templates_dir() -> Path:
    """The ``model_cards/`` folder: ``$TINYVISION_MODEL_CARDS``, the source checkout, or the installed copy.

    ``pip install -e .`` and a source checkout use ``<repo>/model_cards``; a normal install ships the
    templates as data files under ``<prefix>/share/tinyvision/model_cards`` (see pyproject.toml).
    """
    candidates = [Path(os.environ[TEMPLATES_ENV])] if os.environ.get(TEMPLATES_ENV) else []
    candidates += [_PACKAGE_DIR.parents[1] / "model_cards", _PACKAGE_DIR / "model_cards"]
    for prefix in dict.fromkeys([sys.prefix, sys.base_prefix, site.getuserbase()]):
        candidates.append(Path(prefix) / "share" / "tinyvision" / "model_cards")
    for candidate in candidates:
        if (candidate / FAMILIES["classifier"].template).is_file():
            return candidate
    try:  # wherever the installer put the data files, the distribution's RECORD knows
        from importlib.metadata import PackageNotFoundError, distribution

        for entry in distribution("tinyvision").files or []:
            if entry.name == FAMILIES["classifier"].template and entry.parent.name == "model_cards":
                return Path(entry.locate()).resolve().parent
    except PackageNotFoundError:
        pass
    raise FileNotFoundError(
        "cannot find the model_cards/ templates; looked in " + ", ".join(str(c) for c in candidates)
        + f" (set {TEMPLATES_ENV} to the folder that holds them)"
    )


def _yaml(value) -> str:
    """A YAML flow value that PyYAML (``ModelCard.load``) reads back as exactly ``value``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        if "e" in text and "." not in text.split("e")[0]:  # PyYAML reads 1e-05 as a string, 1.0e-05 as a float
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent if exponent[0] in '+-' else '+' + exponent}"
        return text
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_yaml(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_yaml(str(k))}: {_yaml(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value), ensure_ascii=False)


def _num(value, digits: int = 4) -> str:
    """A metric for people: 4 significant digits; integers stay integers."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        if abs(value) >= 10 ** digits:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}"
    return str(value)


def _show(value) -> str:
    """A hyperparameter or config value for a Markdown table: exact, compact, pipe-safe."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, float):
        text = repr(value)
    else:
        text = json.dumps(value, ensure_ascii=False) if isinstance(value, (list, tuple, dict)) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _describe(value) -> str | None:
    """A recorded hardware description (string or mapping) as one line."""
    if not value:
        return None
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_show(item)}" for key, item in value.items())
    return _show(value)


def _table(rows, header=("Name", "Value")) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def render_template(name: str, context: dict) -> str:
    """Render ``model_cards/<name>`` with ``context`` (unknown variables are errors, not blanks)."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(find_templates_dir())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    environment.filters.update(yaml=_yaml, num=_num, show=_show, table=_table)
    return environment.get_template(name).render(**context)


# ------------------------------------------------------------------------------- public paths
def _public_path(name: str) -> str:
    """A local path as it may appear on a public card: relative paths as given, absolute ones shortened."""
    if name.startswith(("/", "~")):
        return "path/to/" + Path(name).name
    return name


def _public_text(text: str) -> str:
    """Free text (a run's ``data_source``) with the absolute local paths in it shortened."""
    return re.sub(r"(?<![\w./~])[/~][^\s,()]*", lambda match: _public_path(match.group()), text)


def _public_json(value):
    """``value`` with local absolute paths shortened (a metrics JSON may record where the run lived)."""
    if isinstance(value, dict):
        return {key: _public_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_public_json(item) for item in value]
    if isinstance(value, str) and value.startswith(("/", "~")):
        return _public_path(value)
    return value


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)
