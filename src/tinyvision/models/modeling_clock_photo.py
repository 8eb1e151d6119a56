"""The two-stage photo clock reader: ``ClockPhotoReader`` finds the dial in a photo, makes it frontal and reads it.

``ClockPhotoReader(pixel_values, hour=None, minute=None, dial_homography=None, has_clock=None)`` takes a
batch of letterboxed photos (see ``configuration_clock_photo``) and returns a :class:`ClockPhotoReaderOutput`
with the time (``hour``, ``minute``, ``minutes``), the detector's ``confidence`` that there is a clock, the
dial's ``dial_center``, ``dial_shape`` and ``boxes`` (pixels of the letterboxed square) and the image
directions of 12 o'clock and the two hands (``hand_angles``).

Training targets come from the scene generator (``tinyvision.data.clock_scenes``): ``dial_homography``
(B, 3, 3) maps dial coordinates (radius 1 at the dial's edge, +v towards its 12 o'clock) to pixels; from it
follow the dial's centre and ellipse (the detector's targets) and, for any crop, the exact angles of the 12
o'clock marker and of the hands inside the crop (the reader's targets). While training, the reader reads
crops cut with the *true* dial, jittered; in evaluation and inference it reads the crop the detector found, so
validation metrics are those of the whole pipeline. ``has_clock`` (B,) marks scenes that hold a clock; the
detector learns an empty heatmap on the others.

This file imports nothing from ``tinyvision`` (trust_remote_code).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F
from transformers.utils import ModelOutput

from .configuration_clock_photo import ClockPhotoReaderConfig
from .layers import check_pixel_values
from .modeling_clock import ClockReader, add_coord_channels, copy_pipeline_file, split_dial_minutes
from .modeling_utils import TinyVisionPreTrainedModel

# Detector output channels: heatmap logit, centre offset (x, y) in cells, log radius / image_size, e1, e2.
DETECTOR_OUTPUTS = ("heat", "offset_x", "offset_y", "log_radius", "shape_e1", "shape_e2")


# ------------------------------------------------------------------------------------ geometry
def project(homography: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """(B, 3, 3) homographies applied to (B, N, 2) points → (B, N, 2)."""
    ones = torch.ones_like(points[..., :1])
    mapped = torch.cat((points, ones), -1) @ homography.transpose(1, 2)
    return mapped[..., :2] / mapped[..., 2:]


def dial_geometry(homography: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The dial's pivot (where dial point (0, 0) lands, (B, 2)) and its shape ``S`` (B, 2, 2): ``c + S p``
    for unit ``p`` traces the image of the unit circle (an ellipse with centre ``c``) under the homography."""
    homography = homography.double()
    inverse = torch.linalg.inv(homography)
    unit = torch.diag(torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64, device=homography.device))
    conic = inverse.transpose(1, 2) @ unit @ inverse
    quad, linear, constant = conic[:, :2, :2], conic[:, :2, 2], conic[:, 2, 2]
    centre = -torch.linalg.solve(quad, linear)
    scale = (linear * centre).sum(-1) + constant  # the conic at its centre
    values, vectors = torch.linalg.eigh(quad / (-scale)[:, None, None])
    values = values.clamp(min=1e-12)
    shape = vectors @ torch.diag_embed(values.rsqrt()) @ vectors.transpose(1, 2)
    pivot = project(homography, torch.zeros_like(centre)[:, None])[:, 0]
    return pivot.float(), shape.float()


def shape_to_params(shape: torch.Tensor) -> torch.Tensor:
    """(B, 2, 2) symmetric positive shapes → (B, 3) ``[log r, e1, e2]`` (see ``configuration_clock_photo``)."""
    values, vectors = torch.linalg.eigh(shape.double())
    logs = values.clamp(min=1e-12).log()
    log_radius = logs.mean(-1)
    log_map = vectors @ torch.diag_embed(logs - log_radius[:, None]) @ vectors.transpose(1, 2)
    return torch.stack((log_radius, 2 * log_map[:, 0, 0], 2 * log_map[:, 0, 1]), -1).float()


def params_to_shape(log_radius: torch.Tensor, e1: torch.Tensor, e2: torch.Tensor) -> torch.Tensor:
    """``r · expm(½ [[e1, e2], [e2, -e1]])`` in closed form: (B,) each → (B, 2, 2)."""
    half = 0.5 * torch.sqrt(e1 * e1 + e2 * e2 + 1e-12)
    sinhc = torch.sinh(half) / half
    cosh = torch.cosh(half)
    radius = log_radius.exp()
    shape = torch.stack((cosh + sinhc * 0.5 * e1, sinhc * 0.5 * e2, sinhc * 0.5 * e2, cosh - sinhc * 0.5 * e1), -1)
    return radius[:, None, None] * shape.view(-1, 2, 2)


def symmetric_shape(shape: torch.Tensor) -> torch.Tensor:
    """The symmetric positive ``P`` (B, 2, 2) with ``P P^T = S S^T``: the same ellipse as ``S`` (``S = P R``,
    ``R`` a rotation or reflection), without turning the crop that ``S`` would cut."""
    values, vectors = torch.linalg.eigh((shape @ shape.transpose(1, 2)).double())
    return (vectors @ torch.diag_embed(values.clamp(min=1e-12).sqrt()) @ vectors.transpose(1, 2)).to(shape.dtype)


def round_shape(shape: torch.Tensor) -> torch.Tensor:
    """The circle (B, 2, 2) of the same area as each ellipse ``S``."""
    radius = shape.det().abs().sqrt()
    return radius[:, None, None] * torch.eye(2, device=shape.device, dtype=shape.dtype)


def shape_boxes(centre: torch.Tensor, shape: torch.Tensor) -> torch.Tensor:
    """Axis-aligned boxes ``[xmin, ymin, xmax, ymax]`` (B, 4) of the ellipses ``centre + S p``."""
    half = shape.pow(2).sum(-1).sqrt()  # half width = |row 0 of S|, half height = |row 1|
    return torch.cat((centre - half, centre + half), -1)


def crop_affine(centre: torch.Tensor, shape: torch.Tensor, image_size: int, fill: float) -> torch.Tensor:
    """``affine_grid`` parameters (B, 2, 3) of the crop that shows the dial frontal, its edge at ``fill`` of the
    crop's half side: crop point ``q`` (normalised, [-1, 1]) samples the image at ``centre + S q / fill``."""
    theta = torch.empty(len(centre), 2, 3, device=centre.device, dtype=centre.dtype)
    theta[:, :, :2] = shape * (2.0 / (image_size * fill))
    theta[:, :, 2] = centre * (2.0 / image_size) - 1.0
    return theta


def cut_dials(pixel_values: torch.Tensor, centre: torch.Tensor, shape: torch.Tensor, crop_size: int,
              fill: float) -> torch.Tensor:
    """The frontal crops (B, C, crop_size, crop_size) of the dials ``centre + S p`` (outside the image: 0)."""
    theta = crop_affine(centre.float(), shape.float(), pixel_values.shape[-1], fill).to(pixel_values.dtype)
    grid = F.affine_grid(theta, [len(pixel_values), pixel_values.shape[1], crop_size, crop_size], align_corners=False)
    return F.grid_sample(pixel_values, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def polar_dials(pixel_values: torch.Tensor, centre: torch.Tensor, shape: torch.Tensor, rows: int, cols: int,
                fill: float, supersample: int) -> torch.Tensor:
    """The reader's polar grid (B, C, rows, cols) of the dials ``centre + S p`` sampled straight from the photo:
    cell (i, j) is the mean of ``supersample``² bilinear samples spread evenly over the cell round radius
    (i + 0.5) / rows of the crop's half side and direction 360 j / cols (the points ``to_polar`` reads on the
    crop ``cut_dials`` cuts, without that crop's own resampling in between)."""
    device, s = pixel_values.device, supersample
    offsets = (torch.arange(s, device=device, dtype=torch.float32) + 0.5) / s - 0.5  # symmetric within a cell
    radius = ((torch.arange(rows, device=device)[:, None] + 0.5 + offsets) / rows).reshape(-1)
    theta = (2.0 * math.pi / cols) * (torch.arange(cols, device=device)[:, None] + offsets).reshape(-1)
    points = torch.stack((radius[:, None] * torch.sin(theta), -radius[:, None] * torch.cos(theta)), -1)
    affine = crop_affine(centre.float(), shape.float(), pixel_values.shape[-1], fill)  # crop point → image point
    grid = torch.einsum("bij,rcj->brci", affine[:, :, :2], points) + affine[:, None, None, :, 2]
    samples = F.grid_sample(pixel_values, grid.to(pixel_values.dtype), mode="bilinear", padding_mode="zeros",
                            align_corners=False)
    return F.avg_pool2d(samples, s) if s > 1 else samples


def crop_angles(homography: torch.Tensor, centre: torch.Tensor, shape: torch.Tensor,
                dial_angles: torch.Tensor) -> torch.Tensor:
    """Directions (degrees clockwise from up, in the crop) of rays drawn on the dial at ``dial_angles`` (B, K)
    degrees, from the projected dial centre to the point at half the radius, seen through the crop of
    ``centre + S p`` (the Task 2 generator's label convention, for any crop)."""
    radians = torch.deg2rad(dial_angles.double())
    points = torch.cat((torch.zeros_like(radians[:, :1, None]).expand(-1, 1, 2),
                        torch.stack((0.5 * torch.sin(radians), 0.5 * torch.cos(radians)), -1)), 1)
    pixels = project(homography.double(), points)  # (B, 1 + K, 2)
    rays = (pixels[:, 1:] - pixels[:, :1]) @ torch.linalg.inv(shape.double()).transpose(1, 2)
    return torch.rad2deg(torch.atan2(rays[..., 0], -rays[..., 1])).remainder(360.0).float()


def reading_directions(minute_degrees: torch.Tensor, minutes: torch.Tensor) -> torch.Tensor:
    """(B, 3) crop directions (degrees clockwise from up) of 12 o'clock, the hour hand and the minute hand of the
    time read: the minute hand where the reader saw it, 12 where that minute puts it (the mark the decoding chose,
    not the mean of the marker's votes) and the hour hand where the time puts it, so that hands drawn from them
    show the time the model reports. ``minute_degrees`` (B,) the minute hand's direction, ``minutes`` (B,) the
    dial position read (before rounding)."""
    minutes = minutes.float().remainder(720.0)
    twelve = (minute_degrees.float() - 6.0 * minutes.remainder(60.0)).remainder(360.0)
    return torch.stack((twelve, (twelve + minutes / 2.0).remainder(360.0), minute_degrees.float().remainder(360.0)), -1)


def image_directions(shape: torch.Tensor, crop_degrees: torch.Tensor) -> torch.Tensor:
    """Crop directions (B, K) in degrees → the same directions in the image (the crop's linear map is S)."""
    radians = torch.deg2rad(crop_degrees.float())
    rays = torch.stack((torch.sin(radians), -torch.cos(radians)), -1) @ shape.float().transpose(1, 2)
    return torch.rad2deg(torch.atan2(rays[..., 0], -rays[..., 1])).remainder(360.0)


def heatmap_targets(centre: torch.Tensor, radius: torch.Tensor, has_clock: torch.Tensor, grid: int,
                    cell: float, sigma: float) -> torch.Tensor:
    """Gaussian peaks (B, G, G) at the dial centres (sigma: ``sigma`` radii, at least 0.8 cell); 0 without a clock."""
    coords = torch.arange(grid, device=centre.device, dtype=torch.float32) + 0.5
    spread = (sigma * radius / cell).clamp(min=0.8)[:, None, None]
    cx, cy = (centre[:, 0] / cell)[:, None, None], (centre[:, 1] / cell)[:, None, None]
    peaks = torch.exp(-((coords[None, None, :] - cx) ** 2 + (coords[None, :, None] - cy) ** 2) / (2 * spread**2))
    # the cell holding the centre is exactly 1 (the focal loss' positive)
    cell_x = (centre[:, 0] / cell).floor().long().clamp(0, grid - 1)
    cell_y = (centre[:, 1] / cell).floor().long().clamp(0, grid - 1)
    peaks[torch.arange(len(centre)), cell_y, cell_x] = 1.0
    return peaks * has_clock.float()[:, None, None]


def focal_loss(logits: torch.Tensor, targets: torch.Tensor, num_positive: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss on a heatmap, per positive."""
    probs = logits.sigmoid().clamp(1e-6, 1 - 1e-6)
    positive = targets.eq(1.0).float()
    pos = -(F.logsigmoid(logits) * (1 - probs) ** 2 * positive).sum()
    neg = -(F.logsigmoid(-logits) * probs**2 * (1 - targets) ** 4 * (1 - positive)).sum()
    return (pos + neg) / num_positive.clamp(min=1.0)


# ------------------------------------------------------------------------------------ detector
def _conv(in_channels: int, out_channels: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride, padding=dilation, dilation=dilation,
                                   bias=False), nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class DialDetector(nn.Module):
    """Encoder (four stride-2 stages) – decoder (to stride 4, with lateral connections and a global context)
    – head: per cell of the stride-4 grid, the outputs named in ``DETECTOR_OUTPUTS``."""

    def __init__(self, config: ClockPhotoReaderConfig):
        super().__init__()
        c1, c2, c3, c4 = config.detector_channels
        width = config.detector_head_channels
        self.stage1 = nn.Sequential(_conv(config.num_channels + 2, c1, 2))
        self.stage2 = nn.Sequential(_conv(c1, c2, 2), _conv(c2, c2))
        self.stage3 = nn.Sequential(_conv(c2, c3, 2), _conv(c3, c3))
        self.stage4 = nn.Sequential(_conv(c3, c4, 2), _conv(c4, c4, dilation=2))
        self.context = nn.Linear(c4, width)
        self.lateral4, self.lateral3, self.lateral2 = nn.Conv2d(c4, width, 1), nn.Conv2d(c3, width, 1), \
            nn.Conv2d(c2, width, 1)
        self.head = nn.Sequential(_conv(width, width), nn.Conv2d(width, len(DETECTOR_OUTPUTS), 1))

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        x2 = self.stage2(self.stage1(add_coord_channels(pixel_values)))
        x3 = self.stage3(x2)
        x4 = self.stage4(x3)
        p4 = self.lateral4(x4) + self.context(x4.mean((2, 3)))[:, :, None, None]
        p3 = self.lateral3(x3) + F.interpolate(p4, size=x3.shape[-2:], mode="nearest")
        p2 = self.lateral2(x2) + F.interpolate(p3, size=x2.shape[-2:], mode="nearest")
        return self.head(F.relu(p2))


class DialRectifier(nn.Module):
    """Stage 1b: on a round crop cut at the detected centre and radius, regress the dial's centre offset (2),
    log size (1) and ellipse (e1, e2) in that crop's frame (the units of the round crop's dial)."""

    def __init__(self, config: ClockPhotoReaderConfig):
        super().__init__()
        layers, channels = [], config.num_channels + 2
        for width in config.rectifier_channels:
            layers.append(_conv(channels, width, 2))
            channels = width
        self.features = nn.Sequential(*layers)
        cells = config.rectifier_size // 2 ** len(config.rectifier_channels)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(channels * cells * cells, 64), nn.ReLU(inplace=True),
                                  nn.Linear(64, 5))

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(add_coord_channels(crops)))


def rectified_dial(centre: torch.Tensor, shape: torch.Tensor, outputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The rectifier's ``outputs`` (B, 5) on the crop of the dial ``(centre, shape)`` → the dial in the image."""
    outputs = outputs.float()
    local = params_to_shape(outputs[:, 2], outputs[:, 3].clamp(-3, 3), outputs[:, 4].clamp(-3, 3))
    centre = centre + (shape @ outputs[:, :2, None])[..., 0]
    return centre, symmetric_shape(shape @ local)


def rectifier_targets(centre: torch.Tensor, shape: torch.Tensor, true_centre: torch.Tensor,
                      true_shape: torch.Tensor) -> torch.Tensor:
    """What the rectifier should say (B, 5) on the crop of ``(centre, shape)`` about the true dial."""
    inverse = torch.linalg.inv(shape.double())
    offset = (inverse @ (true_centre - centre).double()[..., None])[..., 0]
    local = shape_to_params(symmetric_shape(inverse @ true_shape.double()))
    return torch.cat((offset.float(), local), -1)


# ------------------------------------------------------------------------------------ model
@dataclass
class ClockPhotoReaderOutput(ModelOutput):
    """Outputs of :class:`ClockPhotoReader` (pixels are those of the letterboxed square).

    Args:
        loss: detector + reader loss, when targets were given.
        logits: the reader's ``angles`` outputs on the crop, (B, 8).
        hour, minute: the time read (int64, 0–11 and 0–59); minutes: the dial position before rounding.
        confidence: the detector's confidence that the photo shows a clock where it points, in [0, 1].
        dial_center: (B, 2) the dial's centre (its pivot); dial_shape: (B, 2, 2) its ellipse ``S`` (both
            as the rectifier refined them, when the model has one).
        boxes: (B, 4) ``[xmin, ymin, xmax, ymax]`` of the dial.
        hand_angles: (B, 3) image directions (degrees clockwise from up, from the centre) of 12 o'clock,
            the hour hand and the minute hand of the time read (:func:`reading_directions`).
        heatmap: (B, G, G) the detector's logits.
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    hour: torch.LongTensor | None = None
    minute: torch.LongTensor | None = None
    minutes: torch.FloatTensor | None = None
    confidence: torch.FloatTensor | None = None
    dial_center: torch.FloatTensor | None = None
    dial_shape: torch.FloatTensor | None = None
    boxes: torch.FloatTensor | None = None
    hand_angles: torch.FloatTensor | None = None
    heatmap: torch.FloatTensor | None = None
    detector_loss: torch.FloatTensor | None = None
    reader_loss: torch.FloatTensor | None = None
    rectifier_loss: torch.FloatTensor | None = None


class ClockPhotoReader(TinyVisionPreTrainedModel):
    """Finds an analog clock in a photo and reads it; see the module docstring."""

    config_class = ClockPhotoReaderConfig

    def __init__(self, config: ClockPhotoReaderConfig):
        super().__init__(config)
        self.detector = DialDetector(config)
        self.rectifier = DialRectifier(config) if config.rectifier_size else None
        self.reader = ClockReader(config.reader_config)
        self.post_init()
        nn.init.constant_(self.detector.head[-1].bias, 0.0)
        nn.init.constant_(self.detector.head[-1].bias[:1], -2.19)  # heatmap prior 0.1 (CenterNet)
        if self.rectifier is not None:  # starts by trusting the detector
            nn.init.zeros_(self.rectifier.head[-1].weight)
            nn.init.zeros_(self.rectifier.head[-1].bias)

    @property
    def cell_size(self) -> float:
        """Pixels of the letterboxed square per detector grid cell."""
        return self.config.image_size / self.config.grid_size

    def detect(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """The detector's raw grid (B, 6, G, G) for letterboxed ``pixel_values``."""
        size = self.config.detector_size
        small = pixel_values if pixel_values.shape[-1] == size else F.interpolate(
            pixel_values, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        return self.detector(small)

    def decode_detection(self, grid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(confidence (B,), centre (B, 2), shape (B, 2, 2)) from the best cell of the detector's grid."""
        batch, _, cells, _ = grid.shape
        heat = grid[:, 0].flatten(1)
        best_logit, index = heat.max(1)
        cell_y, cell_x = index // cells, index % cells
        values = grid.flatten(2).gather(2, index[:, None, None].expand(batch, grid.shape[1], 1))[..., 0].float()
        centre = torch.stack((cell_x + 0.5 + values[:, 1], cell_y + 0.5 + values[:, 2]), -1) * self.cell_size
        log_radius = values[:, 3].clamp(-5.0, 1.0) + math.log(self.config.image_size)
        shape = params_to_shape(log_radius, values[:, 4].clamp(-3, 3), values[:, 5].clamp(-3, 3))
        return best_logit.float().sigmoid(), centre, shape

    def detection_loss(self, grid: torch.Tensor, centre: torch.Tensor, shape: torch.Tensor,
                       has_clock: torch.Tensor) -> torch.Tensor:
        """Focal loss on the heatmap + L1 on the regressions at the 3 × 3 cells round each true centre."""
        config, cells, cell = self.config, self.config.grid_size, self.cell_size
        params = shape_to_params(shape)
        radius = params[:, 0].exp()
        heat_target = heatmap_targets(centre, radius, has_clock, cells, cell, config.heatmap_sigma)
        loss = focal_loss(grid[:, 0].float(), heat_target, has_clock.float().sum())
        rows = has_clock.nonzero(as_tuple=True)[0]
        if len(rows) == 0:
            return loss
        scaled = centre[rows] / cell
        base_x, base_y = scaled[:, 0].floor().long(), scaled[:, 1].floor().long()
        target_size = torch.stack((params[rows, 0] - math.log(config.image_size), params[rows, 1], params[rows, 2]), -1)
        regression = grid.new_zeros(()).float()
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                cx, cy = (base_x + dx).clamp(0, cells - 1), (base_y + dy).clamp(0, cells - 1)
                predicted = grid[rows, 1:, cy, cx].float()  # (R, 5)
                target_offset = torch.stack((scaled[:, 0] - cx - 0.5, scaled[:, 1] - cy - 0.5), -1)
                regression = regression + F.l1_loss(predicted[:, :2], target_offset) \
                    + F.l1_loss(predicted[:, 2:], target_size)
        return loss + regression / 9.0

    def jitter(self, centre: torch.Tensor, shape: torch.Tensor, amount: float | None = None,
               aspect: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Training crops: the true dial moved and rescaled by ``amount`` radii (default ``crop_jitter``: what
        the earlier stages err by) and, with ``aspect``, its ellipse's log aspect jittered as much."""
        amount = self.config.crop_jitter if amount is None else amount
        if amount <= 0:
            return centre, shape
        radius = shape.det().abs().sqrt()
        centre = centre + amount * radius[:, None] * torch.randn_like(centre)
        scale = torch.exp(amount * torch.randn_like(radius))
        shape = shape * scale[:, None, None]
        if aspect:
            noise = amount * torch.randn_like(centre)
            shape = symmetric_shape(shape @ params_to_shape(torch.zeros_like(radius), noise[:, 0], noise[:, 1]))
        return centre, shape

    def rectify(self, pixel_values: torch.Tensor, centre: torch.Tensor, shape: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The rectifier on the round crop of ``(centre, shape)``: (its raw outputs, refined centre, shape)."""
        shape = round_shape(shape)
        crops = cut_dials(pixel_values, centre, shape, self.config.rectifier_size, self.config.rectifier_fill)
        outputs = self.rectifier(crops)
        return (outputs, *rectified_dial(centre, shape, outputs))

    def locate(self, pixel_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(confidence, centre, shape) of each image's dial as inference finds it, without reading it: the
        detector's best cell, refined by the rectifier (``forward``'s ``confidence``, ``dial_center`` and
        ``dial_shape`` outside training)."""
        confidence, centre, shape = self.decode_detection(self.detect(pixel_values))
        if self.rectifier is not None:
            _, centre, shape = self.rectify(pixel_values, centre.detach(), shape.detach())
        return confidence, centre, shape

    @property
    def reads_polar(self) -> bool:
        """Whether the reader's polar grid is sampled straight from the photo (``polar_supersample`` > 0)."""
        return self.config.polar_supersample > 0

    def reader_inputs(self, pixel_values: torch.Tensor, centre: torch.Tensor, shape: torch.Tensor) -> torch.Tensor:
        """What the reader reads of the dials ``(centre, shape)``: their frontal crops, or their polar grids."""
        # the reader stage's own config: config.reader_config would build (and validate) a new one per call
        config, reader = self.config, self.reader.config
        if self.reads_polar:
            return polar_dials(pixel_values, centre, shape, reader.polar_rows, reader.polar_cols, config.crop_fill,
                               config.polar_supersample)
        return cut_dials(pixel_values, centre, shape, reader.image_size, config.crop_fill)

    def mirrored(self, inputs: torch.Tensor) -> torch.Tensor:
        """``reader_inputs`` of the dials mirrored left-right (on the polar grid: column j becomes -j)."""
        return inputs.flip(-1).roll(1, -1) if self.reads_polar else inputs.flip(-1)

    def turned(self, inputs: torch.Tensor, degrees: int) -> torch.Tensor:
        """``reader_inputs`` of the dials turned clockwise by a quarter turn ``degrees`` (on the polar grid: the
        columns shifted)."""
        if self.reads_polar:
            return inputs.roll(degrees * inputs.shape[-1] // 360, -1)
        return torch.rot90(inputs, -degrees // 90, (-2, -1))  # a clockwise quarter turn: k = -1 over (h, w)

    @property
    def augments_reads(self) -> bool:
        """Whether inference reads each dial more than once (only the polar ``angles`` reader pools its votes)."""
        scales, turns = self.config.test_time_scales, self.config.test_time_turns
        return self.reader.reads_columns and (len(scales) > 1 or scales[0] != 1.0 or self.config.test_time_flip
                                              or turns != [0])

    def read_dials(self, pixel_values: torch.Tensor, centre: torch.Tensor, shape: torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits, minutes) of the dials ``(centre, shape)`` read once per ``test_time_scales`` (and mirrored,
        with ``test_time_flip``; and turned, with ``test_time_turns``), all the reads' column votes pooled: a
        mirrored crop's vote for direction θ is a vote for -θ in the crop, a crop turned clockwise by τ votes
        for θ + τ. Mirroring keeps "up" up, so the reader's prior for upright dials holds; turning moves it
        (each turned read weighing ``test_time_turn_weight`` against an upright one, the reads' shares summing
        to 1)."""
        return self.reader.decode_votes(*self.pooled_votes(pixel_values, centre, shape))

    def pooled_votes(self, pixel_values: torch.Tensor, centre: torch.Tensor, shape: torch.Tensor):
        """The column weights, votes and mark votes of every read :meth:`read_dials` makes, side by side and
        back in the frame of the crop as cut (the inputs of ``ClockReader.decode_votes``)."""
        config, reader = self.config, self.reader
        crops = torch.cat([self.reader_inputs(pixel_values, centre, shape * scale) for scale in config.test_time_scales])
        if config.test_time_flip:
            crops = torch.cat((crops, self.mirrored(crops)))
        sense = torch.ones(len(crops), 1, 1, device=crops.device)  # +1: a plain crop, -1: a mirrored one
        if config.test_time_flip:
            sense[len(crops) // 2:] = -1.0
        crops = torch.cat([self.turned(crops, turn) for turn in config.test_time_turns])
        turn = torch.tensor(config.test_time_turns, device=crops.device, dtype=torch.float32)
        turn = turn.repeat_interleave(len(sense))[:, None, None]
        # each read's share of the pooled votes: a turned read weighs test_time_turn_weight against an upright one,
        # every scale (and mirror) of a turn alike, one dial's shares summing to 1
        shares = torch.tensor([1.0 if t == 0 else config.test_time_turn_weight for t in config.test_time_turns],
                              device=crops.device, dtype=crops.dtype)
        shares = (shares / shares.sum() * len(pixel_values) / len(sense)).repeat_interleave(len(sense))
        sense = sense.repeat(len(config.test_time_turns), 1, 1)
        weights, votes, marks = reader.column_votes(crops, hide_up=config.any_turn, on_polar_grid=self.reads_polar)
        # back to the crop as cut: undo the turn, then the mirror (votes are read as angles: no need to wrap them)
        votes = sense * (votes - turn)

        def side_by_side(values: torch.Tensor) -> torch.Tensor:
            # (reads * B, A, ...) → (B, reads * A, ...): every read's columns side by side
            return torch.cat(values.split(len(pixel_values)), 1)

        if marks is not None:
            directions, evidence = marks
            # a mirrored crop's column h sectors past 12 is the cut crop's column -h sectors past it
            mirrored = sense[:, 0, 0] < 0
            backwards = (-torch.arange(evidence.shape[-1], device=evidence.device)).remainder(evidence.shape[-1])
            evidence = torch.where(mirrored[:, None, None], evidence[..., backwards], evidence)
            marks = (side_by_side(sense[:, :, 0] * (directions - turn[:, :, 0])),
                     side_by_side(evidence * shares[:, None, None]))
        return side_by_side(weights * shares[:, None, None]), side_by_side(votes), marks

    def forward(
        self,
        pixel_values: torch.Tensor,
        hour: torch.Tensor | None = None,
        minute: torch.Tensor | None = None,
        dial_homography: torch.Tensor | None = None,
        has_clock: torch.Tensor | None = None,
        **kwargs,
    ) -> ClockPhotoReaderOutput:
        config = self.config
        check_pixel_values(pixel_values, config.num_channels, config.image_size)
        grid = self.detect(pixel_values)
        confidence, centre, shape = self.decode_detection(grid)
        batch = len(pixel_values)
        loss = detector_loss = reader_loss = rectifier_loss = None
        reader_targets = None
        if dial_homography is not None:
            if hour is None or minute is None:
                raise ValueError("training the photo reader needs `hour` and `minute` with `dial_homography`")
            has = torch.ones(batch, dtype=torch.bool, device=grid.device) if has_clock is None else has_clock.bool()
            eye = torch.eye(3, device=grid.device, dtype=torch.float32).expand(batch, 3, 3)
            homography = torch.where(has[:, None, None], dial_homography.float(), eye)
            true_centre, true_shape = dial_geometry(homography)
            detector_loss = self.detection_loss(grid, true_centre, true_shape, has)
        if self.rectifier is not None:
            first_centre, first_shape = centre.detach(), shape.detach()
            if dial_homography is not None and self.training:  # round crops round the true dial, as detected
                moved = self.jitter(true_centre, true_shape, self.config.rectifier_jitter, aspect=False)
                first_centre = torch.where(has[:, None], moved[0], first_centre)
                first_shape = torch.where(has[:, None, None], moved[1], first_shape)
            rectifier_outputs, centre, shape = self.rectify(pixel_values, first_centre, first_shape)
            if dial_homography is not None and has.any():
                targets = rectifier_targets(first_centre, round_shape(first_shape), true_centre, true_shape)
                rectifier_loss = F.smooth_l1_loss(rectifier_outputs[has].float(), targets[has], beta=0.05)
        crop_centre, crop_shape = centre.detach(), shape.detach()
        if dial_homography is not None:
            if self.training:
                jittered = self.jitter(true_centre, true_shape)
                crop_centre = torch.where(has[:, None], jittered[0], crop_centre)
                crop_shape = torch.where(has[:, None, None], jittered[1], crop_shape)
            hour_f, minute_f = hour.float().remainder(12), minute.float()
            dial_angles = torch.stack((torch.zeros_like(hour_f), 30.0 * hour_f + minute_f / 2.0, 6.0 * minute_f), -1)
            angles = crop_angles(homography, crop_centre, crop_shape, dial_angles)
            reader_targets = (has, angles)
        augmented = not self.training and self.augments_reads
        crops = None if augmented and reader_targets is None else self.reader_inputs(pixel_values, crop_centre,
                                                                                   crop_shape)
        polar = self.reads_polar
        logits = torch.zeros(batch, self.reader.head.num_outputs, device=grid.device)
        minutes = torch.zeros(batch, device=grid.device)
        if reader_targets is None and augmented:
            logits, minutes = self.read_dials(pixel_values, crop_centre, crop_shape)
        elif reader_targets is None:
            read = self.reader(pixel_values=crops, hide_up=config.any_turn, on_polar_grid=polar)
            logits, minutes = read.logits, read.minutes
        else:
            has, angles = reader_targets
            rows = has.nonzero(as_tuple=True)[0]
            others = (~has).nonzero(as_tuple=True)[0]
            if len(rows):
                read = self.reader(pixel_values=crops[rows], dial_rotation=angles[rows, 0],
                                   hour_hand_angle=angles[rows, 1], minute_hand_angle=angles[rows, 2],
                                   hide_up=config.any_turn and not self.training, on_polar_grid=polar)
                reader_loss = read.loss
                logits = logits.index_copy(0, rows, read.logits.float())
                minutes = minutes.index_copy(0, rows, read.minutes.float())
            if len(others) and not self.training and not augmented:  # augmented: read_dials reads them below
                read = self.reader(pixel_values=crops[others], hide_up=config.any_turn, on_polar_grid=polar)
                logits = logits.index_copy(0, others, read.logits.float())
                minutes = minutes.index_copy(0, others, read.minutes.float())
            loss = config.detector_loss_weight * detector_loss
            if rectifier_loss is not None:
                loss = loss + config.rectifier_loss_weight * rectifier_loss
            if reader_loss is not None:
                loss = loss + config.reader_loss_weight * reader_loss
            if augmented:  # evaluation reads as inference does
                logits, minutes = (value.float() for value in self.read_dials(pixel_values, crop_centre, crop_shape))
        hour_read, minute_read = split_dial_minutes(minutes)
        crop_degrees = reading_directions(self.reader.named_outputs(logits)["minute_hand_degrees"], minutes)
        return ClockPhotoReaderOutput(
            loss=loss, logits=logits, hour=hour_read, minute=minute_read, minutes=minutes, confidence=confidence,
            dial_center=centre, dial_shape=shape, boxes=shape_boxes(centre, shape),
            hand_angles=image_directions(shape, crop_degrees), heatmap=grid[:, 0],
            detector_loss=detector_loss, reader_loss=reader_loss, rectifier_loss=rectifier_loss,
        )

    def save_pretrained(self, save_directory, *args, **kwargs):
        """Like the Task 2 reader: also writes ``pipeline_clock.py`` for Pythons without tinyvision."""
        result = super().save_pretrained(save_directory, *args, **kwargs)
        if kwargs.get("is_main_process", True):
            copy_pipeline_file(save_directory)
        return result
