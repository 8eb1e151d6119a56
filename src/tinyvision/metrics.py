"""Metrics shared by the tasks: the clock's common-sense error, its summary, accuracy.

Every function takes Python numbers, numpy arrays or torch tensors (mixed freely) and answers in the
kind it was given: a tensor if any argument is a tensor, else an array if any is an array, else a number.
"""

from __future__ import annotations

import numpy as np
import torch

MINUTES_PER_DIAL = 720


def _kind(*values):
    if any(isinstance(v, torch.Tensor) for v in values):
        return "torch"
    if any(isinstance(v, np.ndarray) for v in values):
        return "numpy"
    return "number"


def common_sense_error(pred_hour, pred_minute, true_hour, true_minute):
    """Minutes between two times the short way round the 12-hour (720-minute) dial.

    Hours are read modulo 12 (12:00 is 0:00), so 11:58 vs 0:02 is 4 and 6:00 vs 0:00 is 360, the most
    two times can differ.
    """
    kind = _kind(pred_hour, pred_minute, true_hour, true_minute)
    if kind == "torch":
        device = next(v.device for v in (pred_hour, pred_minute, true_hour, true_minute) if isinstance(v, torch.Tensor))
        pred_hour, pred_minute, true_hour, true_minute = (
            torch.as_tensor(v, device=device) for v in (pred_hour, pred_minute, true_hour, true_minute)
        )
        diff = ((pred_hour.remainder(12) * 60 + pred_minute) - (true_hour.remainder(12) * 60 + true_minute))
        diff = diff.abs().remainder(MINUTES_PER_DIAL)
        return torch.minimum(diff, MINUTES_PER_DIAL - diff)
    if kind == "numpy":
        pred_hour, pred_minute, true_hour, true_minute = map(np.asarray, (pred_hour, pred_minute, true_hour, true_minute))
    diff = abs((pred_hour % 12) * 60 + pred_minute - ((true_hour % 12) * 60 + true_minute)) % MINUTES_PER_DIAL
    if kind == "numpy":
        return np.minimum(diff, MINUTES_PER_DIAL - diff)
    return min(diff, MINUTES_PER_DIAL - diff)


def _to_numpy(values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    return np.asarray(values)


def accuracy(predictions, references) -> float:
    """Fraction of equal entries."""
    predictions, references = _to_numpy(predictions), _to_numpy(references)
    if predictions.shape != references.shape:
        raise ValueError(f"predictions {predictions.shape} and references {references.shape} differ in shape")
    return float((predictions == references).mean()) if predictions.size else float("nan")


def clock_error_summary(errors, pred_hour=None, true_hour=None) -> dict[str, float]:
    """Mean, median and 90th percentile of common-sense errors (minutes); with both hour arrays, also the
    hour accuracy (hours compared modulo 12)."""
    errors = _to_numpy(errors).astype(np.float64).reshape(-1)
    if errors.size == 0:
        raise ValueError("no errors to summarise")
    summary = {
        "cse_mean": float(errors.mean()),
        "cse_median": float(np.median(errors)),
        "cse_p90": float(np.percentile(errors, 90)),
    }
    if (pred_hour is None) != (true_hour is None):
        raise ValueError("give both pred_hour and true_hour for the hour accuracy, or neither")
    if pred_hour is not None:
        summary["hour_accuracy"] = accuracy(_to_numpy(pred_hour) % 12, _to_numpy(true_hour) % 12)
    return summary


# What went wrong in a misread clock, judged from the hands the reading implies (``miss_kind``).
MISS_KINDS = ("hour_on_minute_hand", "hour_hand_misread", "hands_swapped", "turned_dial", "other")


def _hand_angles(hour: int, minute: int) -> tuple[float, float]:
    """Degrees clockwise from 12 of the hour and minute hands showing hour:minute."""
    return 30.0 * (hour % 12 + minute / 60.0), 6.0 * minute


def _angle_gap(a: float, b: float) -> float:
    gap = abs(a - b) % 360.0
    return min(gap, 360.0 - gap)


def miss_kind(pred_hour: int, pred_minute: int, true_hour: int, true_minute: int, *, tolerance: int = 5) -> str | None:
    """Why a reading is wrong, or ``None`` when it is within ``tolerance`` minutes (common-sense error).

    The kinds (:data:`MISS_KINDS`), tried in order, compare the hands the reading implies with the true hands:

    - ``hour_on_minute_hand``: the minute is right (within ``tolerance``) and the hour hand was read where the minute
      hand points (within 20°): the reader did not find the hour hand and took the minute hand for both;
    - ``hour_hand_misread``: the minute is right, the hour is not (its tail, another hand or a mark taken for it);
    - ``hands_swapped``: each hand read where the other points (within 30°);
    - ``turned_dial``: both hands read off by the same turn (within 25°): another mark taken for 12;
    - ``other``: anything else (a wrong dial, a wrong minute hand).
    """
    if common_sense_error(int(pred_hour), int(pred_minute), int(true_hour), int(true_minute)) <= tolerance:
        return None
    read_hour, read_minute = _hand_angles(int(pred_hour), int(pred_minute))
    hour, minute = _hand_angles(int(true_hour), int(true_minute))
    if _angle_gap(read_minute, minute) <= 6.0 * tolerance:
        return "hour_on_minute_hand" if _angle_gap(read_hour, minute) <= 20.0 else "hour_hand_misread"
    if _angle_gap(read_minute, hour) <= 30.0 and _angle_gap(read_hour, minute) <= 30.0:
        return "hands_swapped"
    if _angle_gap(read_minute - minute, read_hour - hour) <= 25.0:
        return "turned_dial"
    return "other"


def count_misses(pred_hours, pred_minutes, true_hours, true_minutes, *, tolerance: int = 5) -> dict[str, int]:
    """How many readings miss by more than ``tolerance`` minutes, by :func:`miss_kind` (every kind listed)."""
    counts = dict.fromkeys(MISS_KINDS, 0)
    for reading in zip(*(_to_numpy(v).reshape(-1).tolist() for v in (pred_hours, pred_minutes, true_hours, true_minutes))):
        kind = miss_kind(*reading, tolerance=tolerance)
        if kind is not None:
            counts[kind] += 1
    return counts


from .fid import compute_fid, compute_kid, evaluate_generator, frechet_distance, kid_from_features  # noqa: F401
