"""Configuration of the two-stage photo clock reader: find the dial in a whole photo, then read it.

Stage 1, the *dial detector*, looks at the photo letterboxed into a ``image_size`` square and shrunk to
``detector_size``: a small encoder–decoder CNN whose output grid (``detector_size / 4`` cells a side) scores
every cell for "the dial's centre is here" (a heatmap, CenterNet-style) and regresses, at each cell, the
centre's offset within the cell, the dial's size and its ellipse (how the round dial is foreshortened by
perspective). Its best cell gives the dial's position, box and a confidence (the heatmap's sigmoid).

Stage 1b, the *rectifier*, makes the dial frontal: the detector finds a dial's centre and size far better
than its ellipse (at ``detector_size`` a small dial is a few cells wide), so a round crop is cut at the
detector's centre and radius (``rectifier_size`` pixels, the dial at ``rectifier_fill`` of its half side) and a
small CNN regresses, in that crop's frame, the dial's centre, size and ellipse. ``rectifier_size = 0`` skips it
(the reader then cuts the detector's own ellipse).

Stage 2, the *reader*, is the Task 2 :class:`ClockReaderConfig` (``reader`` holds its fields): the dial is
cut out of the photo with the affine map that turns the detected ellipse back into a circle (the dial made
frontal, at ``crop_fill`` of the crop's half side) and read by the polar ``angles`` reader.

Geometry conventions: pixel coordinates of the letterboxed square (x right, y down; the square spans
``[0, image_size]``); the dial's *shape* is the symmetric 2×2 matrix ``S`` with ``centre + S p`` tracing the
dial's edge for unit vectors ``p``. ``S = r · expm(½ [[e1, e2], [e2, -e1]])``: ``r`` is the geometric mean
radius, ``(e1, e2)`` the log aspect ratio times ``(cos 2φ, sin 2φ)`` of the major axis' direction ``φ``.
"""

from __future__ import annotations

from transformers import PretrainedConfig

from .configuration_clock import ClockPipelineConfigMixin, ClockReaderConfig
from .layers import check_choice, check_non_negative, check_number, check_positive_ints, check_probability

DEFAULT_READER = {
    "image_size": 96,
    "num_channels": 1,
    "head": "angles",
    "angle_channels": True,
    "mark_votes": True,
    "mark_vote_dial_loss_weight": 0.5,
    "hour_lattice_window": 6.0,
    "hand_fit_weight": 2.0,
    "hour_overlap_discount": 0.3,
}


class ClockPhotoReaderConfig(ClockPipelineConfigMixin, PretrainedConfig):
    r"""Two-stage clock reader for photographs.

    Args:
        image_size: side of the letterboxed square the image processor makes of any photo.
        num_channels: 1 (grayscale) or 3.
        detector_size: the detector sees the square shrunk to this side (a multiple of 16).
        detector_channels: widths of the detector's four stride-2 stages (stride 2, 4, 8, 16).
        detector_head_channels: width of the decoder (stride 4) and its head.
        crop_fill: the dial's radius as a fraction of the crop's half side (the Task 2 renderer draws its
            dials at 0.62–0.9).
        detection_threshold: below this confidence the reader says it found no clock.
        heatmap_sigma: the Gaussian of a dial's centre on the heatmap, in dial radii (at least one cell).
        crop_jitter: during training the reader sees crops cut with the true dial, jittered by this much
            (centre shift and log-scale, in dial radii) so that it tolerates the detector's errors.
            The aspect of the ellipse is jittered by the same amount (the rectifier's errors).
        rectifier_size: side of the rectifier's round crop (0: no rectifier).
        rectifier_channels: widths of its stride-2 conv stages.
        rectifier_fill: the detected radius as a fraction of the rectifier crop's half side (room for the
            long axis of a foreshortened dial and for the detector's error).
        rectifier_jitter: during training the rectifier's crop is cut round the true dial moved and rescaled
            by this much (in dial radii), the size of the detector's errors.
        reader_loss_weight, detector_loss_weight, rectifier_loss_weight: weights of the stages' losses.
        test_time_scales: outside training the reader reads the found dial once per scale here (the crop's
            dial radius times each) and pools the votes of every read; ``[1.0]``: one read.
        test_time_flip: outside training, also read each of those crops mirrored left-right (its votes
            mirrored back), which doubles the reads.
        test_time_turns: outside training, also read each of those crops turned clockwise by these quarter turns
            (degrees, from 0, 90, 180, 270; their votes turned back), every read weighing the same. ``[0]`` (the
            default) keeps the reader's "most dials are upright" prior; ``[0, 90, 180, 270]`` spreads it evenly
            over four directions, so a dial's own 12 o'clock cue decides: for clocks that may be turned any way
            (the seed's), at the price of upright dials without such a cue. Multiplies the reads by its length.
        test_time_turn_weight: how much each turned read (a turn other than 0) weighs against the upright one
            when ``test_time_turns`` pools them, in [0, 1]. 1 (default): all weigh the same; smaller keeps more of
            the upright prior (0: the turned reads count for nothing).
        any_turn: outside training, read every dial as one that may be turned any way: the reader is not told
            which way is up (its angle channels are hidden), so 12 is where the dial's own cue puts it, not where
            most dials have it. Needs a reader trained for it (``reader.up_dropout`` > 0); one read, unlike
            ``test_time_turns``. False (default): the reader's "most dials are upright" prior holds.
        polar_supersample: 0 (default): the reader reads the dial's frontal crop (``reader.image_size`` pixels a
            side), resampled again on its polar grid. k ≥ 1: the polar grid is sampled straight from the photo,
            each cell the mean of k × k bilinear samples spread over it, so a large dial is not first shrunk to
            the crop (whose pixels then miss thin lines) and a small one is interpolated once. Needs the reader's
            polar grid (``reader.polar``; with ``test_time_turns`` other than 0, ``reader.polar_cols`` a multiple
            of 4).
        reader: the :class:`ClockReaderConfig` fields of the reader (its ``image_size`` is the crop's side;
            the head must be ``angles``: its angle targets come from the dial's homography).
    """

    model_type = "tinyvision_clock_photo"

    def __init__(
        self,
        *,
        image_size: int = 256,
        num_channels: int = 1,
        detector_size: int = 128,
        detector_channels=(16, 32, 64, 96),
        detector_head_channels: int = 32,
        crop_fill: float = 0.78,
        detection_threshold: float = 0.3,
        heatmap_sigma: float = 0.25,
        crop_jitter: float = 0.06,
        reader_loss_weight: float = 1.0,
        detector_loss_weight: float = 1.0,
        rectifier_size: int = 64,
        rectifier_channels=(16, 32, 64, 64),
        rectifier_fill: float = 0.55,
        rectifier_jitter: float = 0.08,
        rectifier_loss_weight: float = 1.0,
        initializer: str = "he_uniform",
        test_time_scales=(0.93, 1.0, 1.07),
        test_time_flip: bool = True,
        test_time_turns=(0,),
        test_time_turn_weight: float = 1.0,
        any_turn: bool = False,
        polar_supersample: int = 0,
        reader: dict | None = None,
        **kwargs,
    ):
        kwargs.pop("custom_pipelines", None)
        self.image_size = image_size
        self.num_channels = num_channels
        self.detector_size = detector_size
        self.detector_channels = list(detector_channels)
        self.detector_head_channels = detector_head_channels
        self.crop_fill = float(crop_fill)
        self.detection_threshold = float(detection_threshold)
        self.heatmap_sigma = float(heatmap_sigma)
        self.crop_jitter = float(crop_jitter)
        self.reader_loss_weight = float(reader_loss_weight)
        self.detector_loss_weight = float(detector_loss_weight)
        self.rectifier_size = rectifier_size
        self.rectifier_channels = list(rectifier_channels)
        self.rectifier_fill = float(rectifier_fill)
        self.rectifier_jitter = float(rectifier_jitter)
        self.rectifier_loss_weight = float(rectifier_loss_weight)
        self.initializer = initializer
        self.test_time_scales = list(test_time_scales) if isinstance(test_time_scales, (list, tuple)) else \
            test_time_scales
        self.test_time_flip = test_time_flip
        self.test_time_turns = list(test_time_turns) if isinstance(test_time_turns, (list, tuple)) else \
            test_time_turns
        self.test_time_turn_weight = test_time_turn_weight
        self.any_turn = any_turn
        self.polar_supersample = polar_supersample
        reader = dict(DEFAULT_READER if reader is None else reader)
        reader.pop("custom_pipelines", None)
        for key in ("transformers_version", "model_type", "architectures", "auto_map"):
            reader.pop(key, None)
        reader.setdefault("num_channels", num_channels)
        self.reader = reader
        super().__init__(**kwargs)
        self._validate()

    def _validate(self) -> None:
        check_positive_ints("image_size", [self.image_size])
        check_choice("num_channels", self.num_channels, (1, 3))
        check_positive_ints("detector_size", [self.detector_size])
        if self.detector_size % 16 or self.detector_size > self.image_size:
            raise ValueError(f"`detector_size` must be a multiple of 16 and at most image_size={self.image_size}, "
                             f"got {self.detector_size}")
        if len(self.detector_channels) != 4:
            raise ValueError(f"`detector_channels` needs 4 widths (strides 2, 4, 8, 16), got {self.detector_channels}")
        check_positive_ints("detector_channels", self.detector_channels, allow_empty=False)
        check_positive_ints("detector_head_channels", [self.detector_head_channels])
        if not 0.1 <= self.crop_fill <= 1.0:
            raise ValueError(f"`crop_fill` must be in [0.1, 1], got {self.crop_fill}")
        check_probability("detection_threshold", self.detection_threshold)
        if self.heatmap_sigma <= 0:
            raise ValueError(f"`heatmap_sigma` must be positive, got {self.heatmap_sigma}")
        for name in ("crop_jitter", "reader_loss_weight", "detector_loss_weight", "rectifier_jitter",
                     "rectifier_loss_weight"):
            check_non_negative(name, getattr(self, name))
        if isinstance(self.rectifier_size, bool) or not isinstance(self.rectifier_size, int) or \
                self.rectifier_size < 0 or (self.rectifier_size and self.rectifier_size < 2 ** len(self.rectifier_channels)):
            raise ValueError(f"`rectifier_size` must be 0 (no rectifier) or an int of at least "
                             f"2 ** len(rectifier_channels), got {self.rectifier_size!r}")
        check_positive_ints("rectifier_channels", self.rectifier_channels, allow_empty=False)
        if not 0.1 <= self.rectifier_fill <= 1.0:
            raise ValueError(f"`rectifier_fill` must be in [0.1, 1], got {self.rectifier_fill}")
        scales = self.test_time_scales
        if not isinstance(scales, list) or not scales or not all(
                isinstance(scale, (int, float)) and not isinstance(scale, bool) and 0.5 <= scale <= 2.0
                for scale in scales):
            raise ValueError(f"`test_time_scales` must be a non-empty list of crop scales in [0.5, 2] (1.0: the dial "
                             f"as found), got {self.test_time_scales}")
        if not isinstance(self.test_time_flip, bool):
            raise ValueError(f"`test_time_flip` must be a bool, got {self.test_time_flip!r}")
        turns = self.test_time_turns
        if not isinstance(turns, list) or not turns or len(set(turns)) != len(turns) or not all(
                turn in (0, 90, 180, 270) and not isinstance(turn, bool) for turn in turns):
            raise ValueError(f"`test_time_turns` must be a non-empty list of distinct quarter turns from 0, 90, 180, "
                             f"270 (degrees clockwise), got {self.test_time_turns}")
        weight = self.test_time_turn_weight
        what = "a number in [0, 1] (the weight of a turned read against the upright one)"
        check_number("test_time_turn_weight", weight, what)
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"`test_time_turn_weight` must be {what}, got {weight!r}")
        if weight == 0 and 0 not in turns:
            raise ValueError(f"`test_time_turn_weight` 0 leaves no read to pool: `test_time_turns` {turns} has no "
                             f"upright read (0)")
        reader = self.reader_config
        if not isinstance(self.any_turn, bool):
            raise ValueError(f"`any_turn` must be a bool, got {self.any_turn!r}")
        if self.any_turn and not reader.up_dropout:
            raise ValueError("`any_turn` needs a reader trained to read without being told which way is up "
                             "(`reader.up_dropout` > 0); this one was not: use test_time_turns=[0, 90, 180, 270]")
        samples = self.polar_supersample
        if isinstance(samples, bool) or not isinstance(samples, int) or not 0 <= samples <= 8:
            raise ValueError(f"`polar_supersample` must be an int in [0, 8] (0: read the frontal crop), got {samples!r}")
        if samples and not reader.polar:
            raise ValueError("`polar_supersample` samples the reader's polar grid; this reader has `reader.polar` False")
        if samples and turns != [0] and reader.polar_cols % 4:
            raise ValueError(f"`polar_supersample` with quarter turns in `test_time_turns` needs `reader.polar_cols` a "
                             f"multiple of 4 (a turn shifts the polar columns), got {reader.polar_cols}")
        if reader.head != "angles":
            raise ValueError(f"the photo reader's `reader.head` must be 'angles' (its targets come from the dial's "
                             f"homography), got {reader.head!r}")
        if reader.num_channels != self.num_channels:
            raise ValueError(f"`reader.num_channels` ({reader.num_channels}) must equal num_channels "
                             f"({self.num_channels})")

    @property
    def reader_config(self) -> ClockReaderConfig:
        """The reader stage's configuration (validated)."""
        return ClockReaderConfig(**self.reader)

    @property
    def grid_size(self) -> int:
        """Cells a side of the detector's output grid (stride 4 of ``detector_size``)."""
        return self.detector_size // 4
