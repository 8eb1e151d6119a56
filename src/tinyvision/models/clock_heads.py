"""The clock reader's six heads, one small class each, registered by name in :data:`CLOCK_HEADS`.

A head owns everything that depends on what its ``logits`` columns mean (``configuration_clock`` describes
each head): its number of outputs (:attr:`~ClockHead.num_outputs`; :attr:`~ClockHead.branch_widths` for
the two-branch heads), the batch columns it trains on (:attr:`~ClockHead.required_columns`), the target
encoding (:meth:`~ClockHead.encode_targets`), the loss (:meth:`~ClockHead.loss`), the decoding to a dial
position and to (hour, minute) (:meth:`~ClockHead.decode`, :meth:`~ClockHead.decode_time`), and
:meth:`~ClockHead.named`, which names its outputs so that no code outside this file reads a column by number.

The pure angle and time helpers below (:func:`sincos_to_degrees`, :func:`resolve_hour`,
:func:`resolve_hour_classes`, :func:`snap_to_ticks`, :func:`split_dial_minutes`...) travel with saved models.
This file imports nothing from ``tinyvision`` (trust_remote_code).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch.nn import functional as F

from .configuration_clock import ANGLE_COLUMNS, DEFAULT_ANGLE_LOSS_WEIGHTS, MINUTES_PER_DIAL

TIME_COLUMNS = ("hour", "minute")


# ----------------------------------------------------------------------------- pure functions
def degrees_to_sincos(degrees: torch.Tensor) -> torch.Tensor:
    """Angles in degrees (any shape) → ``(..., 2)`` pairs ``(sin, cos)``."""
    radians = torch.deg2rad(torch.as_tensor(degrees, dtype=torch.float32))
    return torch.stack((torch.sin(radians), torch.cos(radians)), dim=-1)


def sincos_to_degrees(sin: torch.Tensor, cos: torch.Tensor) -> torch.Tensor:
    """``atan2`` back to degrees in [0, 360) (clockwise from up when ``sin``/``cos`` encode such an angle)."""
    return torch.rad2deg(torch.atan2(sin.float(), cos.float())).remainder(360.0)


def resolve_hour(hour_float, minute) -> torch.Tensor:
    """The whole hour (0–11) that, with ``minute``, best explains the hour-hand position ``hour_float``.

    ``hour_float`` is where the hour hand points, in hours (0–12, e.g. 2.98 just before 3); the hand of
    ``H:minute`` points at ``H + minute / 60``, so ``H = round(hour_float - minute / 60) mod 12``. A hand
    almost on 3 reads 2 when the minute is 59 (2:59, not 3:59) and 3 when it is 0 (3:00, not 2:00).
    """
    hour_float = torch.as_tensor(hour_float, dtype=torch.float32)
    minute = torch.as_tensor(minute, dtype=torch.float32)
    return torch.floor(hour_float - minute / 60.0 + 0.5).remainder(12).long()


def split_dial_minutes(minutes) -> tuple[torch.Tensor, torch.Tensor]:
    """A dial position in minutes (float) → (hour 0–11, minute 0–59), rounded to the nearest minute."""
    total = torch.floor(torch.as_tensor(minutes, dtype=torch.float32) + 0.5).remainder(MINUTES_PER_DIAL).long()
    return total // 60, total % 60


def resolve_hour_classes(hour_logits: torch.Tensor, minute, min_share: float = 0.25) -> torch.Tensor:
    """The whole hour from 12 hour-class logits (class k = hand in [k, k + 1)), resolved with the minute.

    Near a class boundary a classifier splits its probability between the two classes around it. When
    the argmax class ``k`` shares at least ``min_share`` of its probability with a neighbour, the
    classifier straddles that boundary, and the minute says on which side the hand is: late in the hour
    (minute >= 30) means just below the boundary, early means just above it. So a classifier leaning to 3
    but with weight on 2 reads 2:59, not 3:59, and one leaning to 2 with weight on 3 reads 3:00 (not 2:00).
    Without such a neighbour the argmax stands.
    """
    probs = hour_logits.float().softmax(-1)
    top, k = probs.max(-1)
    previous = probs.gather(-1, ((k - 1) % 12)[:, None])[:, 0]
    following = probs.gather(-1, ((k + 1) % 12)[:, None])[:, 0]
    late = torch.as_tensor(minute, dtype=torch.float32, device=probs.device) >= 30.0
    straddles_previous = (previous >= following) & (previous >= min_share * top)  # the boundary at k
    straddles_following = (following > previous) & (following >= min_share * top)  # the boundary at k + 1
    hour = torch.where(straddles_previous & late, k - 1, k)
    hour = torch.where(straddles_following & ~late, k + 1, hour)
    return hour.remainder(12)


def snap_to_ticks(marker: torch.Tensor, tick_phase: torch.Tensor) -> torch.Tensor:
    """The point of the 30° tick lattice (``tick_phase / 12 + 30 k``) nearest the marker's own estimate."""
    offset = tick_phase / 12.0
    return (offset + 30.0 * torch.round((marker - offset) / 30.0)).remainder(360.0)


# ------------------------------------------------------------------------------------ the heads
class ClockHead:
    """What a head's ``logits`` (batch, :attr:`num_outputs`) mean. Heads hold no weights: the model builds
    its output layers from :attr:`num_outputs` (or :attr:`branch_widths`) and asks the head about the rest.

    Every head takes the config's head options; each reads those it uses (``interval_minutes``: the
    ``classification`` head; ``angle_loss_weights``: the ``angles`` head).
    """

    name: ClassVar[str]
    num_outputs: int
    required_columns: ClassVar[tuple[str, ...]] = TIME_COLUMNS
    # (hour, minute) output widths of a head with two dense branches (the seed's multi-head layout); None:
    # one dense stack with ``num_outputs`` outputs.
    branch_widths: ClassVar[tuple[int, int] | None] = None
    # On the polar grid, read each output as a soft-argmax over the angle columns (``modeling_clock``).
    polar_column_readout: ClassVar[bool] = False

    def __init__(self, *, interval_minutes: int = 30,
                 angle_loss_weights: Sequence[float] = DEFAULT_ANGLE_LOSS_WEIGHTS):
        self.interval_minutes = interval_minutes
        self.angle_loss_weights = tuple(float(weight) for weight in angle_loss_weights)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_outputs={self.num_outputs})"

    def activate(self, logits: torch.Tensor) -> torch.Tensor:
        """The output activation of the dense layers' raw outputs (none but for ``periodic``)."""
        return logits

    def named(self, logits: torch.Tensor) -> dict[str, torch.Tensor]:
        """The head's outputs by name, in their own units (degrees clockwise, hours...)."""
        raise NotImplementedError

    def encode_targets(self, targets: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The training targets from the batch columns in :attr:`required_columns` (hour 12 counts as 0)."""
        raise NotImplementedError

    def loss(self, logits: torch.Tensor, targets: dict[str, torch.Tensor]) -> torch.Tensor:
        """The loss of ``logits`` against the batch columns in ``targets`` (see ``configuration_clock``)."""
        raise NotImplementedError

    def dial_minutes(self, logits: torch.Tensor) -> torch.Tensor:
        """``logits`` → the position on the dial in minutes (``60 * hour + minute``), before wrapping."""
        raise NotImplementedError

    def decode(self, logits: torch.Tensor) -> torch.Tensor:
        """The dial position in minutes, a float in [0, 720) (no gradient)."""
        return self.dial_minutes(logits.detach()).remainder(MINUTES_PER_DIAL)

    def decode_time(self, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(hour 0–11, minute 0–59), int64: :meth:`decode` rounded to the nearest minute."""
        return split_dial_minutes(self.decode(logits))

    def missing_columns_error(self, missing: Sequence[str]) -> ValueError:
        return ValueError(f"the {self.name!r} head trains on the columns {list(self.required_columns)}, "
                          f"but the batch lacks {list(missing)}")

    @staticmethod
    def _time(targets: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        return targets["hour"].long().remainder(12), targets["minute"].float()


class RegressionHead(ClockHead):
    """1 output, fractional hours (5:45 → 5.75); mean squared error."""

    name = "regression"
    num_outputs = 1

    def named(self, logits):
        return {"hours": logits[:, 0]}

    def encode_targets(self, targets):
        hour, minute = self._time(targets)
        return {"hours": hour.float() + minute / 60.0}

    def loss(self, logits, targets):
        return F.mse_loss(self.named(logits.float())["hours"], self.encode_targets(targets)["hours"])

    def dial_minutes(self, logits):
        return (self.named(logits)["hours"].float() * 60.0).remainder(MINUTES_PER_DIAL)


class ClassificationHead(ClockHead):
    """``720 / interval_minutes`` logits, one per interval of the dial; cross-entropy. Decoded as the middle
    minute of the argmax interval."""

    name = "classification"

    @property
    def num_outputs(self) -> int:
        return MINUTES_PER_DIAL // self.interval_minutes

    def named(self, logits):
        return {"interval_logits": logits}

    def encode_targets(self, targets):
        hour, minute = self._time(targets)
        return {"interval": torch.div(hour * 60 + minute.long(), self.interval_minutes, rounding_mode="floor")}

    def loss(self, logits, targets):
        return F.cross_entropy(self.named(logits.float())["interval_logits"], self.encode_targets(targets)["interval"])

    def dial_minutes(self, logits):
        interval = self.named(logits)["interval_logits"].argmax(-1).float()
        return interval * self.interval_minutes + (self.interval_minutes - 1) / 2.0


class MultiHead(ClockHead):
    """The seed's multi-head model: 12 hour logits (cross-entropy) and ``minute / 60`` (mean squared error)
    from two dense branches. Decoded as the argmax hour and the minute rounded, without hour resolution."""

    name = "multihead"
    branch_widths = (12, 1)
    num_outputs = 12 + 1

    def named(self, logits):
        return {"hour_logits": logits[:, :12], "minute_fraction": logits[:, 12]}

    def encode_targets(self, targets):
        hour, minute = self._time(targets)
        return {"hour": hour, "minute_fraction": minute / 60.0}

    def loss(self, logits, targets):
        named, encoded = self.named(logits.float()), self.encode_targets(targets)
        return F.cross_entropy(named["hour_logits"], encoded["hour"]) + \
            F.mse_loss(named["minute_fraction"], encoded["minute_fraction"])

    def dial_minutes(self, logits):
        named = self.named(logits)
        hour = named["hour_logits"].argmax(-1).float()
        minute = torch.floor(named["minute_fraction"].float() * 60.0 + 0.5).clamp(0, 59)
        return hour * 60.0 + minute


class PeriodicHead(ClockHead):
    """The seed's label transformation: tanh outputs ``(sin, cos)`` of the hour hand's dial angle
    ``30 * (hour + minute / 60)`` and of the minute hand's ``6 * minute`` (clockwise from 12, not from
    image up: this head does not locate the dial); mean squared error. The hour is resolved with the minute."""

    name = "periodic"
    num_outputs = 4

    def activate(self, logits):
        return torch.tanh(logits)

    def named(self, logits):
        return {"hour_dial_degrees": sincos_to_degrees(logits[:, 0], logits[:, 1]),
                "minute_dial_degrees": sincos_to_degrees(logits[:, 2], logits[:, 3])}

    def encode_targets(self, targets):
        hour, minute = self._time(targets)
        return {"sincos": torch.cat((degrees_to_sincos(30.0 * (hour.float() + minute / 60.0)),
                                     degrees_to_sincos(6.0 * minute)), dim=-1)}

    def loss(self, logits, targets):
        return F.mse_loss(logits.float(), self.encode_targets(targets)["sincos"])

    def dial_minutes(self, logits):
        named = self.named(logits)
        minute = named["minute_dial_degrees"] / 6.0
        hour = resolve_hour(named["hour_dial_degrees"] / 30.0, minute)
        return hour.float() * 60.0 + minute


class HybridHead(ClockHead):
    """The seed's proposed next step: 12 hour logits (cross-entropy) and ``(sin, cos)`` of the minute hand's
    dial angle (mean squared error) from two dense branches. The minute is read with ``atan2``, the hour
    from the classes, resolved with the minute (:func:`resolve_hour_classes`)."""

    name = "hybrid"
    branch_widths = (12, 2)
    num_outputs = 12 + 2

    def named(self, logits):
        return {"hour_logits": logits[:, :12], "minute_dial_degrees": sincos_to_degrees(logits[:, 12], logits[:, 13])}

    def encode_targets(self, targets):
        hour, minute = self._time(targets)
        return {"hour": hour, "minute_sincos": degrees_to_sincos(6.0 * minute)}

    def loss(self, logits, targets):
        logits, encoded = logits.float(), self.encode_targets(targets)
        return F.cross_entropy(self.named(logits)["hour_logits"], encoded["hour"]) + \
            F.mse_loss(logits[:, 12:14], encoded["minute_sincos"])

    def dial_minutes(self, logits):
        named = self.named(logits)
        minute = named["minute_dial_degrees"] / 6.0
        hour = resolve_hour_classes(named["hour_logits"], minute)
        return hour.float() * 60.0 + minute


class AnglesHead(ClockHead):
    """``(sin, cos)`` × (12 o'clock marker, hour hand, minute hand, tick phase = 12 × marker), all image
    angles (degrees clockwise from up); mean squared error, weighted by ``angle_loss_weights``. Decoded
    from the hands' angles relative to the marker snapped to the tick lattice; the hour resolved with the
    minute."""

    name = "angles"
    num_outputs = 8
    required_columns = ANGLE_COLUMNS
    polar_column_readout = True
    # the (sin, cos) pairs in column order; the column readout (``modeling_clock``) follows it too
    OUTPUTS = ("marker", "hour_hand", "minute_hand", "tick_phase")

    def named(self, logits):
        """``marker_degrees``, ``hour_hand_degrees``, ``minute_hand_degrees`` and ``tick_phase_degrees``
        (shape (batch,), degrees clockwise from image up, in [0, 360)): each output as it is, the marker
        not yet snapped to the ticks. Logits of six columns (no tick phase) give the first three."""
        pairs = range(min(len(self.OUTPUTS), logits.shape[1] // 2))
        return {f"{self.OUTPUTS[k]}_degrees": sincos_to_degrees(logits[:, 2 * k], logits[:, 2 * k + 1]) for k in pairs}

    def encode_targets(self, targets):
        encoded = {name: degrees_to_sincos(targets[name].float()) for name in ANGLE_COLUMNS}
        encoded["tick_phase"] = degrees_to_sincos((12.0 * targets["dial_rotation"].float()).remainder(360.0))
        return encoded

    def loss(self, logits, targets):
        encoded = self.encode_targets(targets)
        pairs = logits.float().view(-1, len(self.OUTPUTS), 2)
        loss = pairs.new_zeros(())
        for index, (name, weight) in enumerate(zip((*ANGLE_COLUMNS, "tick_phase"), self.angle_loss_weights)):
            loss = loss + weight * F.mse_loss(pairs[:, index], encoded[name])
        return loss

    def dial_minutes(self, logits, marker: torch.Tensor | None = None):
        """``marker`` (degrees) overrides the marker read from the logits (the polar reader passes the
        heaviest tick of its column softmax); without it the marker output is snapped to the tick lattice
        (:func:`snap_to_ticks`; six outputs, without the tick phase, are read as they are)."""
        named = self.named(logits)
        if marker is None:
            marker = named["marker_degrees"]
            if "tick_phase_degrees" in named:
                marker = snap_to_ticks(marker, named["tick_phase_degrees"])
        minute = (named["minute_hand_degrees"] - marker).remainder(360.0) / 6.0
        hour = resolve_hour((named["hour_hand_degrees"] - marker).remainder(360.0) / 30.0, minute)
        return hour.float() * 60.0 + minute

    def decode(self, logits, marker: torch.Tensor | None = None):
        marker = None if marker is None else marker.detach()
        return self.dial_minutes(logits.detach(), marker).remainder(MINUTES_PER_DIAL)

    def missing_columns_error(self, missing):
        return ValueError(
            f"the 'angles' head trains on the columns {list(ANGLE_COLUMNS)} (degrees, clockwise from image up), "
            f"but the batch lacks {list(missing)}. Only generated clocks (tinyvision.data.clocks) carry them; on "
            "data with just hour/minute train another head (regression, classification, multihead, periodic, hybrid)"
        )


CLOCK_HEADS: dict[str, type[ClockHead]] = {
    head.name: head for head in (RegressionHead, ClassificationHead, MultiHead, PeriodicHead, HybridHead, AnglesHead)
}


def build_head(name: str, *, interval_minutes: int = 30,
               angle_loss_weights: Sequence[float] = DEFAULT_ANGLE_LOSS_WEIGHTS) -> ClockHead:
    """The head registered as ``name``, with the config's head options."""
    if name not in CLOCK_HEADS:
        raise ValueError(f"unknown head {name!r}; choose one of {list(CLOCK_HEADS)}")
    return CLOCK_HEADS[name](interval_minutes=interval_minutes, angle_loss_weights=angle_loss_weights)


# ------------------------------------------------------------- by head name (tests, scripts, the Space)
def decode_logits(head: str, logits: torch.Tensor, interval_minutes: int = 30,
                  marker: torch.Tensor | None = None) -> torch.Tensor:
    """The dial position in minutes, a float in [0, 720), from the logits of the head named ``head``.

    ``marker`` (degrees) overrides the ``angles`` head's marker read from its logits."""
    reader = build_head(head, interval_minutes=interval_minutes)
    return reader.decode(logits) if marker is None else reader.decode(logits, marker)


def decode_angles(logits: torch.Tensor, marker: torch.Tensor | None = None) -> torch.Tensor:
    """The ``angles`` head's logits → minutes on the dial (see :meth:`AnglesHead.dial_minutes`)."""
    return AnglesHead().dial_minutes(logits, marker)


def head_loss(config, logits: torch.Tensor, targets: dict[str, torch.Tensor]) -> torch.Tensor:
    """The loss of ``config.head`` on the batch columns in ``targets``."""
    return build_head(config.head, interval_minutes=config.interval_minutes,
                      angle_loss_weights=config.angle_loss_weights).loss(logits, targets)
