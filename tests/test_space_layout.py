"""The Space's layout (spaces/tinyvision): the tables come from the library, every module stays small, the app
runs as a script, and the angles reader's overlay marks 12 o'clock where the model's named outputs put it.

No server is started here (tests/test_space.py does that); everything runs in a few seconds.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("gradio")

SPACE = Path(__file__).resolve().parents[1] / "spaces" / "tinyvision"


@pytest.fixture(scope="module")
def app():
    spec = importlib.util.spec_from_file_location("tinyvision_space_app", SPACE / "app.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_tables_are_derived_from_the_library(app):
    from tinyvision.models.configuration_clock import HEADS, ClockReaderConfig
    from tinyvision.models.image_processing_tinyvision import MAX_IMAGE_PIXELS

    from tinyvision.recipes import PRESETS

    assert list(app.CLASSIFIER_PRESETS) == list(PRESETS)
    assert app.CLASSIFIER_PRESETS["mlp1"] == "MLP1" and app.CLASSIFIER_PRESETS["augmented"] == "CNN augmented"
    recommended = ClockReaderConfig().head
    assert sorted(app.CLOCK_HEADS) == sorted(HEADS) and next(iter(app.CLOCK_HEADS)) == recommended
    assert app.CLOCK_HEADS[recommended] == f"{recommended} (recommended)"
    assert all(label == head for head, label in app.CLOCK_HEADS.items() if head != recommended)
    assert app.MAX_PIXELS == MAX_IMAGE_PIXELS
    clock_keys = [spec.key for spec in app.MODEL_SPECS if spec.family == "clock"]
    assert clock_keys[0] == "clock-reader" and len(clock_keys) == len(HEADS)


def test_every_module_is_small_and_the_app_composes_one_module_per_tab():
    for path in SPACE.glob("*.py"):
        assert len(path.read_text().splitlines()) < 600, path.name
    tabs = sorted(path.stem for path in SPACE.glob("tab_*.py"))
    assert tabs == ["tab_classify", "tab_clock", "tab_generate"]


def test_app_runs_as_a_script():
    """``python spaces/tinyvision/app.py`` finds its sibling modules (the Space runs it so)."""
    result = subprocess.run([sys.executable, str(SPACE / "app.py"), "--help"], check=False, capture_output=True,
                            text=True, timeout=300, cwd=SPACE.parents[1])
    assert result.returncode == 0, result.stderr[-2000:]
    assert "--models_dir" in result.stdout and "--concurrency" in result.stdout


def test_the_angles_overlay_marks_the_models_own_12_oclock(app):
    """The blue dot of a single-stage angles reader sits where ``named_outputs`` puts the marker."""
    import tab_clock

    from tinyvision import ClockReader, ClockReaderConfig, TinyVisionImageProcessor

    torch.manual_seed(0)
    model = ClockReader(ClockReaderConfig(image_size=32, conv_filters=[4, 8], conv_kernel_sizes=[3, 3],
                                          conv_strides=[2, 1], pool_after=[True, True], fc_hidden_sizes=[16],
                                          head="angles")).eval()
    entry = SimpleNamespace(model=model, processor=TinyVisionImageProcessor(size={"height": 32, "width": 32},
                                                                            num_channels=1))
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 40), dtype=np.uint8))
    reading = app.read_with(entry, image)
    marker = app.angles_marker(model, reading)
    overlay, note = tab_clock.draw_reading(image, reading, model, dial_rotation=123.0)  # ignored: the model knows
    assert note == "12 o'clock as the reader located it" and overlay.size == (320, 320)
    pixels = np.asarray(overlay).astype(int)
    blue = (pixels[..., 2] - pixels[..., 0] > 120) & (pixels[..., 2] - pixels[..., 1] > 80)
    ys, xs = np.nonzero(blue)
    dx, dy = xs.mean() - 160, ys.mean() - 160
    drawn = np.degrees(np.arctan2(dx, -dy)) % 360  # clockwise from up
    assert abs((drawn - marker + 180) % 360 - 180) < 3, (drawn, marker)
