"""The Task 2 clock reader: ``ClockReader`` (a strided CNN, by default on a polar grid, and one of six heads).

``ClockReader(pixel_values, hour=None, minute=None, dial_rotation=None, hour_hand_angle=None,
minute_hand_angle=None, labels=None, hide_up=False)`` returns a :class:`ClockReaderOutput`:

* ``logits`` — the head's raw outputs (``model.named_outputs(logits)`` names them; two-branch heads
  concatenated);
* ``minutes`` — the decoded position on the dial, a float in [0, 720) (``60 * hour + minute``);
* ``hour`` (int64, 0–11) and ``minute`` (int64, 0–59) — ``minutes`` rounded to the nearest minute;
* ``loss`` — when targets are given: ``hour``/``minute`` (or ``labels`` = ``[hour, minute]`` rows, the
  course's format) for the time heads, the three angle columns (degrees, clockwise from image up) for
  the ``angles`` head (its tick phase is ``12 * dial_rotation``). A head whose columns are missing
  raises a ValueError naming them.

``hide_up=True`` reads without the angle channels that say which way is up (a reader trained with
``up_dropout`` then finds 12 by the dial's own cue alone, for clocks that may be turned any way).

How each head encodes targets, computes its loss and decodes lives in its class in ``clock_heads``
(described in ``configuration_clock``); this file holds the backbone, the polar grid and the ``angles``
head's column readout on it. The helpers that scripts and tests import from here (``decode_logits``,
``sincos_to_degrees``, ``resolve_hour``...) are re-exported from ``clock_heads``.
This file imports nothing from ``tinyvision`` (trust_remote_code).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F
from transformers.utils import ModelOutput

from .clock_heads import (  # noqa: F401  (re-exported: the public helpers of the clock reader)
    CLOCK_HEADS,
    ClockHead,
    build_head,
    decode_angles,
    decode_logits,
    degrees_to_sincos,
    head_loss,
    resolve_hour,
    resolve_hour_classes,
    sincos_to_degrees,
    snap_to_ticks,
    split_dial_minutes,
)
from .clock_votes import (  # noqa: F401  (re-exported: the column readout's decoding)
    COLUMN_TARGET_FREQUENCIES,
    HOUR_OVERLAP_DEGREES,
    MARK_SECTORS,
    angle_gap,
    column_cross_entropy,
    hand_fit_scores,
    hour_by_lattice,
    lattice_scores,
    mark_vote_scores,
    marker_by_ticks,
    nearest_shares,
    sector_shares,
    tick_lattice,
    vote_vectors,
)
from .configuration_clock import ANGLE_COLUMNS, MINUTES_PER_DIAL, ClockReaderConfig
from .layers import check_pixel_values, conv_padding, dense_stack, get_activation
from .modeling_utils import TinyVisionPreTrainedModel

PIPELINE_FILE = "pipeline_clock.py"


# --------------------------------------------------------------------------------- model
@dataclass
class ClockReaderOutput(ModelOutput):
    """Outputs of :class:`ClockReader`.

    Args:
        loss: the head's loss, when targets were given.
        logits: the head's raw outputs, ``(batch, config.num_outputs)``.
        hour: predicted hour, int64 in 0–11.
        minute: predicted minute, int64 in 0–59.
        minutes: the decoded dial position before rounding, float in [0, 720).
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    hour: torch.LongTensor | None = None
    minute: torch.LongTensor | None = None
    minutes: torch.FloatTensor | None = None


def add_coord_channels(pixel_values: torch.Tensor) -> torch.Tensor:
    """Append x and y (each in [-1, 1], x to the right, y downwards) as two more channels (CoordConv)."""
    batch, _, height, width = pixel_values.shape
    ys = torch.linspace(-1.0, 1.0, height, device=pixel_values.device, dtype=pixel_values.dtype)
    xs = torch.linspace(-1.0, 1.0, width, device=pixel_values.device, dtype=pixel_values.dtype)
    grid = torch.stack((xs.expand(height, width), ys[:, None].expand(height, width)))
    return torch.cat((pixel_values, grid.expand(batch, 2, height, width)), dim=1)


def add_radius_channel(polar: torch.Tensor) -> torch.Tensor:
    """Append the radius (0 at the centre row, 1 at the outer row) as one more channel of a polar grid."""
    batch, _, rows, cols = polar.shape
    radius = ((torch.arange(rows, device=polar.device, dtype=polar.dtype) + 0.5) / rows)[:, None].expand(rows, cols)
    return torch.cat((polar, radius.expand(batch, 1, rows, cols)), dim=1)


def add_angle_channels(polar: torch.Tensor, up_known: torch.Tensor | None = None) -> torch.Tensor:
    """Append the sine and cosine of each column's direction as two more channels of a polar grid; for the
    images where ``up_known`` (B,) is 0 the two channels are zeros (which way is up is not given)."""
    batch, _, rows, cols = polar.shape
    theta = torch.deg2rad(polar_angles(cols).to(polar.device, polar.dtype))
    waves = torch.stack((torch.sin(theta), torch.cos(theta)))[:, None, :].expand(batch, 2, rows, cols)
    if up_known is not None:
        waves = waves * up_known.to(polar.dtype).view(batch, 1, 1, 1)
    return torch.cat((polar, waves), dim=1)


def polar_angles(cols: int) -> torch.Tensor:
    """The direction (degrees clockwise from up) of each of ``cols`` polar columns: column j is at 360 j / cols."""
    return torch.arange(cols, dtype=torch.float32) * (360.0 / cols)


def to_polar(pixel_values: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """Bilinear resampling on a polar grid round the image centre: (B, C, H, W) → (B, C, rows, cols).

    Row i is at radius ``(i + 0.5) / rows`` of half the image side, column j at ``360 j / cols`` degrees
    clockwise from up, so rotating the image clockwise by 360 k / cols shifts the grid k columns right.
    """
    radius = (torch.arange(rows, device=pixel_values.device, dtype=torch.float32) + 0.5) / rows
    theta = torch.deg2rad(polar_angles(cols).to(pixel_values.device))
    grid = torch.stack((radius[:, None] * torch.sin(theta)[None], -radius[:, None] * torch.cos(theta)[None]), -1)
    grid = grid.to(pixel_values.dtype).expand(len(pixel_values), rows, cols, 2)
    return F.grid_sample(pixel_values, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


class PolarConv2d(nn.Conv2d):
    """A 'same'-padded convolution on a polar grid: the angle axis (width) wraps round, the radius axis is
    zero-padded (by the convolution itself)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, bias: bool = True):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding=(kernel_size // 2, 0), bias=bias)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        pad = self.kernel_size[1] // 2
        if pad:
            hidden_states = F.pad(hidden_states, (pad, pad, 0, 0), mode="circular")
        return super().forward(hidden_states)


def conv_stack(config: ClockReaderConfig) -> tuple[nn.Sequential, int]:
    """The backbone: [Conv → (BatchNorm) → act → (Pool)] per layer; returns (stack, output channels)."""
    layers: list[nn.Module] = []
    in_channels = config.num_channels + ((1 if config.polar else 2) if config.coord_channels else 0)
    in_channels += 2 if getattr(config, "angle_channels", False) else 0
    pool = nn.MaxPool2d if config.pool_type == "max" else nn.AvgPool2d
    specs = zip(config.conv_filters, config.conv_kernel_sizes, config.conv_strides, config.paddings, config.pool_after)
    for filters, kernel, stride, padding, pool_after in specs:
        if config.polar:
            conv = PolarConv2d(in_channels, filters, kernel, stride, bias=not config.batch_norm)
        else:
            conv = nn.Conv2d(in_channels, filters, kernel, stride, padding=conv_padding(kernel, stride, padding),
                             bias=not config.batch_norm)
        layers.append(conv)
        if config.batch_norm:
            layers.append(nn.BatchNorm2d(filters))
        layers.append(get_activation(config.activation))
        if pool_after:
            layers.append(pool(config.pool_size, config.pool_stride))
        in_channels = filters
    return nn.Sequential(*layers), in_channels


class CircularColumnAttention(nn.Module):
    """One pre-norm transformer block over the angle columns of a polar feature map: (B, A, W) → (B, A, W).

    Each head adds a learned bias for every circular offset between two columns (column j seen from column
    i: ``(j - i) mod A``), so what it learns about "the mark opposite the brand text" or "the longest tick
    among the twelve" holds at every rotation. The two residual branches start switched off (ReZero gates
    at 0), so a new block leaves a column's own evidence untouched until training finds a use for context.
    """

    def __init__(self, width: int, heads: int, columns: int):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.mlp = nn.Sequential(nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width))
        self.offset_bias = nn.Parameter(torch.zeros(heads, columns))
        self.gates = nn.Parameter(torch.zeros(2))

    def forward(self, columns: torch.Tensor) -> torch.Tensor:
        batch, count, width = columns.shape
        q, k, v = self.qkv(self.norm1(columns)).view(batch, count, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        index = torch.arange(count, device=columns.device)
        bias = self.offset_bias[:, (index[None, :] - index[:, None]).remainder(count)]  # (heads, A, A)
        mixed = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype))
        columns = columns + self.gates[0] * self.proj(mixed.transpose(1, 2).reshape(batch, count, width))
        return columns + self.gates[1] * self.mlp(self.norm2(columns))


class ClockReader(TinyVisionPreTrainedModel):
    """Reads the time off an analog clock; see the module docstring and :class:`ClockReaderConfig`."""

    config_class = ClockReaderConfig

    def __init__(self, config: ClockReaderConfig):
        super().__init__(config)
        # What the logits mean (encoding, loss, decoding, names): a plain object, no weights.
        self.head: ClockHead = build_head(config.head, interval_minutes=config.interval_minutes,
                                          angle_loss_weights=config.angle_loss_weights)
        self.features, channels = conv_stack(config)
        height, width = config.feature_map_shape
        flat_features = channels * height * width
        fc = {"activation": config.fc_activation, "dropout": config.dropout}
        if self.head.branch_widths is not None:
            # The seed's multi-head layout: the branches split where the dense layers start.
            hour_width, minute_width = self.head.branch_widths
            self.hour_fc, hour_features = dense_stack(flat_features, config.fc_hidden_sizes, **fc)
            self.hour_out = nn.Linear(hour_features, hour_width)
            self.minute_fc, minute_features = dense_stack(flat_features, config.fc_hidden_sizes, **fc)
            self.minute_out = nn.Linear(minute_features, minute_width)
        elif self.reads_columns:
            # One dense stack shared by every angle column (its radii × channels) → per target, a score
            # and an offset of the column's vote; optionally after attention between the columns.
            column_features = channels * height
            if config.column_attention_layers:
                self.column_in = nn.Linear(column_features, config.column_attention_width)
                self.column_attention = nn.Sequential(*(
                    CircularColumnAttention(config.column_attention_width, config.column_attention_heads, width)
                    for _ in range(config.column_attention_layers)))
                column_features = config.column_attention_width
            self.fc, out_features = dense_stack(column_features, config.fc_hidden_sizes, **fc)
            self.out = nn.Linear(out_features, 2 * len(COLUMN_TARGET_FREQUENCIES)
                                 + (MARK_SECTORS if config.mark_votes else 0))
            if config.mark_votes:  # per column: the sectors its direction alone predicts (logits)
                self.mark_prior = nn.Parameter(torch.zeros(width, MARK_SECTORS))
        else:
            self.fc, out_features = dense_stack(flat_features, config.fc_hidden_sizes, **fc)
            self.out = nn.Linear(out_features, self.head.num_outputs)
        self.post_init()

    @property
    def reads_columns(self) -> bool:
        """The ``angles`` head on a polar grid reads each angle as a soft-argmax over the angle columns."""
        return self.head.polar_column_readout and self.config.polar

    def column_readout(self, features: torch.Tensor
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(B, C, R, A) polar features → per target (marker, hour hand, minute hand, tick phase) the log
        softmax weight of every column and the direction it votes for, both (B, A, 4), the columns' own
        directions (A,), in degrees, and with ``mark_votes`` each column's log-probabilities of the twelve
        sectors relative to 12 o'clock (B, A, 12) (else None).

        Column j votes for its own direction θ_j plus a learned offset of at most one column, so a vote can
        fall between columns. Shifting the features by whole columns shifts every vote by the same angle:
        the readout is as rotation-equivariant as the backbone.
        """
        batch, channels, rows, cols = features.shape
        columns = features.permute(0, 3, 1, 2).reshape(batch, cols, channels * rows)
        if self.config.column_attention_layers:
            columns = self.column_attention(self.column_in(columns))
        raw = self.out(self.fc(columns)).float()  # (B, A, 2 T [+ 12])
        targets = len(COLUMN_TARGET_FREQUENCIES)
        log_weights = raw[..., :targets].log_softmax(dim=1)
        offsets = (360.0 / cols) * torch.tanh(raw[..., targets:2 * targets])
        sectors = raw[..., 2 * targets:].log_softmax(dim=-1) if self.config.mark_votes else None
        # Feature column j covers input columns [j s, (j + 1) s): its direction is their mean.
        step = self.config.polar_cols // cols
        theta = polar_angles(self.config.polar_cols).to(features.device).view(cols, step).mean(1)
        return log_weights, theta[None, :, None] + offsets, theta, sectors

    def mark_evidence(self, sectors: torch.Tensor, hide_up: bool = False, detach_prior: bool = False
                      ) -> torch.Tensor:
        """The columns' sector log-probabilities (B, A, 12) less what each column's direction alone predicts
        (the learned ``mark_prior`` table; nothing when ``hide_up``, where no column knows its direction).
        ``detach_prior`` holds the table fixed (no gradient reaches it through the result)."""
        if hide_up or not self.config.angle_channels:
            return sectors
        prior = self.mark_prior.float().log_softmax(-1)
        return sectors - (prior.detach() if detach_prior else prior)[None]

    def column_marks(self, sectors: torch.Tensor | None, directions: torch.Tensor, hide_up: bool
                     ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """``(directions (B, A), evidence (B, A, 12))`` of the columns for :meth:`decode_votes`, or None."""
        if sectors is None:
            return None
        return directions.expand(len(sectors), -1), self.mark_evidence(sectors, hide_up)

    def column_angles(self, features: torch.Tensor) -> torch.Tensor:
        """(B, C, R, A) polar features → (B, 8), the ``angles`` head's outputs: per target, the weighted mean
        of the column votes as unit vectors, taken at ``frequency × vote`` (12 for the tick phase)."""
        log_weights, votes, _, _ = self.column_readout(features)
        return vote_vectors(log_weights.exp(), votes)

    def dense_logits(self, features: torch.Tensor) -> torch.Tensor:
        """The flattened feature map through the dense stack(s): every head but the polar ``angles`` one."""
        features = features.flatten(1)
        if self.head.branch_widths is not None:
            return torch.cat((self.hour_out(self.hour_fc(features)), self.minute_out(self.minute_fc(features))), -1)
        return self.head.activate(self.out(self.fc(features)))

    def named_outputs(self, logits: torch.Tensor) -> dict[str, torch.Tensor]:
        """The head's outputs in ``logits`` (this model's ``output.logits``) by name, in their own units.

        For the ``angles`` head: ``marker_degrees``, ``hour_hand_degrees``, ``minute_hand_degrees`` and
        ``tick_phase_degrees``, each (batch,) in degrees clockwise from image up (the marker as output,
        before the decoding snaps it to the ticks). See each head's ``named`` in ``clock_heads``.
        """
        return self.head.named(logits)

    def check_inputs(self, pixel_values: torch.Tensor, on_polar_grid: bool) -> None:
        """Images (B, C, image_size, image_size), or with ``on_polar_grid`` (B, C, polar_rows, polar_cols)."""
        config = self.config
        if not on_polar_grid:
            return check_pixel_values(pixel_values, config.num_channels, config.image_size)
        grid = (config.num_channels, config.polar_rows, config.polar_cols)
        if not config.polar or pixel_values.dim() != 4 or tuple(pixel_values.shape[1:]) != grid:
            raise ValueError(f"on_polar_grid needs a polar reader and pixel_values of shape (batch, {', '.join(map(str, grid))})"
                             f", got {tuple(pixel_values.shape)}" + ("" if config.polar else " (this reader has polar=False)"))

    def up_known(self, batch: int, hide_up: bool, device) -> torch.Tensor | None:
        """(B,) 1 where the angle channels say which way is up, 0 where they are hidden: all hidden with
        ``hide_up``, a random ``up_dropout`` share of them while training, else None (all given)."""
        if not self.config.angle_channels:
            if hide_up:
                raise ValueError("hide_up needs a reader with `angle_channels` (without them it never knows where up is)")
            return None
        if hide_up:
            return torch.zeros(batch, device=device)
        if self.training and self.config.up_dropout > 0:
            return (torch.rand(batch, device=device) >= self.config.up_dropout).float()
        return None

    def backbone(self, pixel_values: torch.Tensor, hide_up: bool = False, on_polar_grid: bool = False) -> torch.Tensor:
        """Images → the conv stack's features (polar (B, C, R, A) when ``config.polar``). ``hide_up`` zeroes
        the angle channels (see ``ClockReaderConfig.up_dropout``); ``on_polar_grid``: the images are already
        sampled on the polar grid (B, C, polar_rows, polar_cols)."""
        config = self.config
        up_known = self.up_known(len(pixel_values), hide_up, pixel_values.device)
        hidden = pixel_values
        if config.polar and not on_polar_grid:
            hidden = to_polar(pixel_values, config.polar_rows, config.polar_cols)
        if config.coord_channels:
            hidden = add_radius_channel(hidden) if config.polar else add_coord_channels(hidden)
        if config.angle_channels:
            hidden = add_angle_channels(hidden, up_known)
        return self.features(hidden)

    def column_votes(self, pixel_values: torch.Tensor, hide_up: bool = False, on_polar_grid: bool = False
                     ) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, torch.Tensor] | None]:
        """The polar ``angles`` reader's column softmax weights and vote directions (degrees), both (B, A, 4),
        and with ``mark_votes`` the columns' ``(directions (B, A), evidence (B, A, 12))`` (else None)."""
        if not self.reads_columns:
            raise ValueError("column votes need the 'angles' head on a polar grid")
        self.check_inputs(pixel_values, on_polar_grid)
        features = self.backbone(pixel_values, hide_up, on_polar_grid)
        log_weights, votes, directions, sectors = self.column_readout(features)
        return log_weights.exp(), votes, self.column_marks(sectors, directions, hide_up)

    def decode_votes(self, weights: torch.Tensor, votes: torch.Tensor,
                     marks: tuple[torch.Tensor, torch.Tensor] | None = None,
                     mark_vote_weight: float | None = None, hand_fit_weight: float | None = None,
                     hand_fit_sigma: float | None = None, hour_overlap_discount: float | None = None
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        """Column weights and votes (B, A', 4) → (logits (B, 8), minutes on the dial (B,)). The columns may come
        from several reads of one dial (their weights summing to 1 per target): the angles are the weighted mean
        of every vote and 12 o'clock the heaviest point of the tick lattice over all of them. With ``marks``
        (the columns' directions (B, A') and sector evidence (B, A', 12), each read's weighted by its share),
        each lattice point's log mass also gets ``mark_vote_weight`` (default: the config's) times the columns'
        evidence for it, and ``hand_fit_weight`` times how well the hour hand fits the minute that point reads
        (:func:`hand_fit_scores`, Gaussian ``hand_fit_sigma``; both by default the config's). With
        ``hour_lattice_window`` > 0 the hour is the place, consistent with the minute and 12 o'clock, that holds the
        most hour-hand votes (:func:`hour_by_lattice`; those next to the minute hand counted
        ``hour_overlap_discount`` times, by default the config's); the logits stay the means."""
        logits = vote_vectors(weights, votes)
        weight = self.config.mark_vote_weight if mark_vote_weight is None else mark_vote_weight
        fit_weight = self.config.hand_fit_weight if hand_fit_weight is None else hand_fit_weight
        fit_sigma = self.config.hand_fit_sigma if hand_fit_sigma is None else hand_fit_sigma
        discount = self.config.hour_overlap_discount if hour_overlap_discount is None else hour_overlap_discount
        with torch.no_grad():
            named = self.head.named(logits)
            tick_phase = named["tick_phase_degrees"]
            lattice = tick_lattice(tick_phase)
            evidence = None
            if marks is not None and weight > 0:
                evidence = weight * mark_vote_scores(marks[0], marks[1].float(), lattice)
            if fit_weight > 0:
                fit = fit_weight * hand_fit_scores(weights[..., 1], votes[..., 1], lattice,
                                                   named["minute_hand_degrees"], fit_sigma)
                evidence = fit if evidence is None else evidence + fit
            marker = marker_by_ticks(weights[..., 0], votes[..., 0], tick_phase, evidence=evidence)
            minutes = self.head.decode(logits, marker)
            if self.config.hour_lattice_window > 0:
                minute = minutes.remainder(60.0)  # the decoded dial position is 60 × a whole hour + the minute
                hour, placed = hour_by_lattice(weights[..., 1], votes[..., 1], marker, minute,
                                               self.config.hour_lattice_window, named["minute_hand_degrees"],
                                               discount)
                minutes = torch.where(placed, (60.0 * hour + minute).remainder(MINUTES_PER_DIAL), minutes)
        return logits, minutes

    def forward(
        self,
        pixel_values: torch.Tensor,
        hour: torch.Tensor | None = None,
        minute: torch.Tensor | None = None,
        dial_rotation: torch.Tensor | None = None,
        hour_hand_angle: torch.Tensor | None = None,
        minute_hand_angle: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        hide_up: bool = False,
        on_polar_grid: bool = False,
        **kwargs,
    ) -> ClockReaderOutput:
        config = self.config
        self.check_inputs(pixel_values, on_polar_grid)
        features = self.backbone(pixel_values, hide_up, on_polar_grid)
        column_log_weights = sectors = None
        if self.reads_columns:
            column_log_weights, votes, directions, sectors = self.column_readout(features)
            marks = self.column_marks(sectors, directions, hide_up)
            logits, minutes = self.decode_votes(column_log_weights.exp(), votes, marks)
        else:
            logits = self.dense_logits(features)
            minutes = self.head.decode(logits)
        pred_hour, pred_minute = split_dial_minutes(minutes)

        if labels is not None:
            labels = torch.as_tensor(labels)
            if labels.dim() != 2 or labels.shape[1] != 2:
                raise ValueError(f"`labels` must be (batch, 2) rows of [hour, minute], got shape {tuple(labels.shape)}")
            hour = labels[:, 0] if hour is None else hour
            minute = labels[:, 1] if minute is None else minute
        given = {"hour": hour, "minute": minute, "dial_rotation": dial_rotation,
                 "hour_hand_angle": hour_hand_angle, "minute_hand_angle": minute_hand_angle}
        loss = None
        if any(value is not None for value in given.values()):
            missing = [name for name in self.head.required_columns if given[name] is None]
            if missing:
                raise self.head.missing_columns_error(missing)
            targets = {name: torch.as_tensor(given[name], device=logits.device) for name in self.head.required_columns}
            loss = self.head.loss(logits, targets)
            if column_log_weights is not None and config.column_loss_weight > 0:
                for index, (name, weight) in enumerate(zip(ANGLE_COLUMNS, config.angle_loss_weights)):
                    loss = loss + config.column_loss_weight * weight * column_cross_entropy(
                        column_log_weights[..., index], directions, targets[name].float())
            if sectors is not None and config.mark_vote_loss_weight > 0:
                loss = loss + config.mark_vote_loss_weight * self.mark_vote_loss(
                    sectors, directions, targets["dial_rotation"].float())
            if sectors is not None and config.mark_vote_dial_loss_weight > 0:
                loss = loss + config.mark_vote_dial_loss_weight * self.mark_vote_dial_loss(
                    column_log_weights[..., 0].exp(), votes[..., 0], sectors, directions,
                    targets["dial_rotation"].float(), hide_up)
        return ClockReaderOutput(loss=loss, logits=logits, hour=pred_hour, minute=pred_minute, minutes=minutes)

    def mark_vote_loss(self, sectors: torch.Tensor, directions: torch.Tensor, marker: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of every column's sector softmax (B, A, 12) against the sector its direction
        ``directions`` (A,) lies in relative to the true 12 o'clock ``marker`` (B,), plus the same for the
        ``mark_prior`` table (what a column's direction alone predicts), both averaged over the columns."""
        shares = sector_shares(directions[None, :].expand(len(marker), -1), marker)
        loss = -(shares * sectors).sum(-1).mean()
        if self.config.angle_channels:
            loss = loss - (shares * self.mark_prior.float().log_softmax(-1)[None]).sum(-1).mean()
        return loss

    def mark_vote_dial_loss(self, weights: torch.Tensor, votes: torch.Tensor, sectors: torch.Tensor,
                            directions: torch.Tensor, marker: torch.Tensor, hide_up: bool = False) -> torch.Tensor:
        """Cross-entropy over the twelve marks of the true lattice (``marker`` (B,) + 30 k), each scored as
        :meth:`decode_votes` scores it: the log of the marker's mass there (``weights``, ``votes`` (B, A), held
        fixed) plus ``mark_vote_weight`` times the columns' evidence (``sectors`` (B, A, 12) less the
        ``mark_prior`` table, held fixed too, so it stays what a direction alone predicts). Only the columns'
        sector outputs learn from it."""
        lattice = tick_lattice(12.0 * marker)  # the true 12 first
        evidence = self.mark_evidence(sectors, hide_up, detach_prior=True)
        scores = mark_vote_scores(directions[None, :].expand(len(marker), -1), evidence, lattice)
        logits = lattice_scores(weights.detach(), votes.detach(), lattice,
                                evidence=self.config.mark_vote_weight * scores)
        return F.cross_entropy(logits, torch.zeros(len(marker), dtype=torch.long, device=logits.device))

    def save_pretrained(self, save_directory, *args, **kwargs):
        """Also writes ``pipeline_clock.py`` beside the model code: config.json names it as the
        ``clock-reading`` custom pipeline, for Pythons where tinyvision is not installed."""
        result = super().save_pretrained(save_directory, *args, **kwargs)
        if kwargs.get("is_main_process", True):
            copy_pipeline_file(save_directory)
        return result


def copy_pipeline_file(save_directory) -> None:
    """Put ``pipeline_clock.py`` (the ``clock-reading`` pipeline) beside a saved model's code."""
    source = Path(__file__).with_name(PIPELINE_FILE)
    if source.exists():
        destination = Path(save_directory) / PIPELINE_FILE
        if source.resolve() != destination.resolve():
            shutil.copyfile(source, destination)
