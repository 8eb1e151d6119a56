"""The shape of ``tinyvision.models``: families import only shared modules and themselves, files stay short,
and the clock heads (one class each, registered by name) name their outputs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from tinyvision import ClockReader, ClockReaderConfig
from tinyvision.models.clock_heads import CLOCK_HEADS, AnglesHead, ClockHead, build_head, degrees_to_sincos
from tinyvision.models.configuration_clock import HEADS

MODELS = Path(__file__).resolve().parents[1] / "src" / "tinyvision" / "models"
# Modules every family may import (they travel with every saved folder that needs them).
SHARED = {"layers", "modeling_utils", "image_processing_tinyvision"}
FAMILIES = {
    "classifier": {"configuration_classifier", "modeling_classifier"},
    "clock": {"configuration_clock", "clock_heads", "clock_votes", "modeling_clock", "pipeline_clock",
              "configuration_clock_photo", "modeling_clock_photo"},
    "gan": {"configuration_gan", "modeling_gan"},
    "vae": {"configuration_vae", "modeling_vae"},
}
MAX_LINES = 600
SMALL = {"image_size": 32, "polar": False, "conv_filters": [4, 8], "conv_kernel_sizes": [3, 3],
         "conv_strides": [2, 1], "pool_after": [True, True], "fc_hidden_sizes": [16]}


def relative_imports(module: str) -> set[str]:
    """The sibling modules ``module`` imports (``from .x import``, at any indentation: transformers copies
    exactly these into a saved folder)."""
    source = (MODELS / f"{module}.py").read_text()
    return set(re.findall(r"^\s*from\s+\.(\w+)\s+import", source, flags=re.MULTILINE))


def test_every_module_is_shared_or_in_one_family():
    modules = {path.stem for path in MODELS.glob("*.py")} - {"__init__"}
    families = list(FAMILIES.values())
    assert modules == SHARED.union(*families), "classify each new module as shared or in a family"
    assert all(not (a & b) for i, a in enumerate(families) for b in families[i + 1:])
    assert not SHARED.intersection(*families)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_a_family_imports_only_shared_modules_and_itself(family):
    for module in sorted(FAMILIES[family]):
        foreign = relative_imports(module) - SHARED - FAMILIES[family]
        assert not foreign, f"{module}.py imports {sorted(foreign)} from another family"


def test_shared_modules_import_only_shared_modules():
    for module in sorted(SHARED):
        assert relative_imports(module) <= SHARED, module


def test_configurations_do_not_import_modeling_code():
    for path in MODELS.glob("configuration_*.py"):
        imported = relative_imports(path.stem)
        assert all(module == "layers" or module.startswith("configuration_") for module in imported), path.name


def test_every_models_file_stays_under_the_line_limit():
    for path in MODELS.glob("*.py"):
        assert len(path.read_text().splitlines()) < MAX_LINES, path.name


# ------------------------------------------------------------------------------------ clock heads
def test_the_registry_holds_one_class_per_configurable_head():
    assert set(CLOCK_HEADS) == set(HEADS)
    for name, head_class in CLOCK_HEADS.items():
        assert issubclass(head_class, ClockHead) and head_class.name == name


@pytest.mark.parametrize("name", HEADS)
def test_each_head_agrees_with_the_config_and_names_its_outputs(name):
    config = ClockReaderConfig(head=name, interval_minutes=15, **SMALL)
    head = ClockReader(config).head
    assert type(head) is CLOCK_HEADS[name]
    assert head.num_outputs == config.num_outputs
    assert head.required_columns == config.required_columns
    if head.branch_widths is not None:
        assert sum(head.branch_widths) == head.num_outputs
    logits = torch.randn(5, head.num_outputs)
    named = head.named(logits)
    assert named and all(len(value) == 5 for value in named.values())
    minutes = head.decode(logits)
    assert minutes.shape == (5,) and ((minutes >= 0) & (minutes < 720)).all()
    hour, minute = head.decode_time(logits)
    assert hour.dtype == torch.long and ((hour >= 0) & (hour < 12)).all() and ((minute >= 0) & (minute < 60)).all()


def test_build_head_refuses_an_unknown_name():
    with pytest.raises(ValueError, match="unknown head 'sundial'"):
        build_head("sundial")


def angles_logits(marker: float, hour: int, minute: int) -> torch.Tensor:
    """The ``angles`` logits of hour:minute on a dial turned by ``marker`` degrees (tick phase included)."""
    hour_hand, minute_hand = marker + 30.0 * (hour + minute / 60.0), marker + 6.0 * minute
    return degrees_to_sincos(torch.tensor([marker, hour_hand, minute_hand, 12.0 * marker]) % 360).reshape(8)


def gap(a: torch.Tensor, b: torch.Tensor) -> float:
    """The largest difference between two sets of angles, in degrees, round the circle."""
    return ((a - b + 180.0) % 360.0 - 180.0).abs().max().item()


def test_angles_named_outputs_are_the_image_angles_the_logits_encode():
    times = [(0, 0, 0.0), (2, 59, 123.0), (9, 15, 300.0), (11, 58, 31.0)]
    logits = torch.stack([angles_logits(marker, hour, minute) for hour, minute, marker in times])
    named = ClockReader(ClockReaderConfig(head="angles", **SMALL)).named_outputs(logits)
    assert {"marker_degrees", "hour_hand_degrees", "minute_hand_degrees", "tick_phase_degrees"} <= set(named)
    markers = torch.tensor([marker for *_, marker in times])
    for key in ("marker_degrees", "hour_hand_degrees", "minute_hand_degrees"):
        assert named[key].shape == (len(times),)
    assert gap(named["marker_degrees"], markers) < 1e-3
    assert gap(named["minute_hand_degrees"], markers + torch.tensor([6.0 * m for _, m, _ in times])) < 1e-3
    assert gap(named["hour_hand_degrees"], markers + torch.tensor([30.0 * (h + m / 60) for h, m, _ in times])) < 1e-3
    assert gap(named["tick_phase_degrees"], 12.0 * markers) < 1e-2
    assert set(AnglesHead().named(logits[:, :6])) == {"marker_degrees", "hour_hand_degrees", "minute_hand_degrees"}


def test_a_readers_minute_hand_is_six_degrees_per_minute_past_its_marker():
    """On an upright dial the named minute hand is the decoded minute × 6; turned, it is that past the marker."""
    torch.manual_seed(0)
    model = ClockReader(ClockReaderConfig(head="angles", **SMALL)).eval()
    pixels = torch.randn(2, 1, 32, 32)
    for hour, minute, marker in [(4, 20, 0.0), (10, 9, 0.0), (7, 41, 250.0)]:
        with torch.no_grad():  # make the reader ignore the image and output these logits
            model.out.weight.zero_()
            model.out.bias.copy_(angles_logits(marker, hour, minute))
            out = model(pixel_values=pixels)
        named = model.named_outputs(out.logits)
        assert out.hour.tolist() == [hour] * 2 and out.minute.tolist() == [minute] * 2
        expected = (marker + 6.0 * out.minute.float()) % 360.0
        torch.testing.assert_close(named["minute_hand_degrees"], expected, atol=1e-3, rtol=0)
