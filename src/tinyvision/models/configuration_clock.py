"""Configuration of the Task 2 clock reader ("Tell-the-time"): a strided CNN backbone and one of six heads.

Backbone: the Task 1 CNN (conv → batch norm → activation → pooling, per layer) with a stride in the first
layer. By default (``polar=True``) it runs on the image resampled on a polar grid round its centre
(radius × angle, the angle axis wrapping round): a dial turned by any angle is then the same picture
shifted along the angle axis, so what the network learns about a hand or the 12 o'clock marker at one
angle holds at every angle. (Measured while choosing the default, one epoch of 20,000 generated clocks at
64×64 on this CPU, ``angles`` head: median common-sense error 1 minute on the polar grid, against 118 for
the same budget on the image itself.) The last feature map is never globally pooled: where a hand points
is exactly what such pooling would discard.

Angle convention, shared with the clock generator: degrees clockwise from image "up" (towards
row 0), in [0, 360). A target angle ``a`` is encoded as the pair ``(sin a, cos a)``.

Heads (``head``) — what the network outputs, how the targets are encoded and how a time is read back:

* ``regression`` — 1 linear output, fractional hours: ``hour + minute / 60`` (5:45 → 5.75), mean squared
  error. Decoded as ``output * 60`` minutes round the 720-minute dial (wrapped into [0, 720)).
* ``classification`` — ``720 / interval_minutes`` logits, cross-entropy on the interval that holds the
  time (``(60 * hour + minute) // interval_minutes``). Decoded as the middle minute of the argmax interval
  (``k * interval + (interval - 1) / 2``, rounded half up: 3:00–3:29 → 3:15 for 30-minute intervals).
* ``multihead`` — the seed's multi-head model: two FC branches; 12 hour logits (cross-entropy on
  ``hour``) and 1 linear minute output (mean squared error on ``minute / 60``). Decoded as
  ``argmax`` hour and the minute output ``* 60`` rounded and clipped to 0–59, with no hour resolution
  (as the seed reads it).
* ``periodic`` — the seed's label transformation: 4 tanh outputs, ``(sin, cos)`` of the hour-hand angle
  ``30 * (hour + minute / 60)`` and of the minute angle ``6 * minute`` (angles of the dial, relative
  to 12), mean squared error. Decoded with ``atan2``; the hour is resolved with the minute
  (:func:`~clock_heads.resolve_hour`).
* ``hybrid`` — the seed's proposed next step: two FC branches; 12 hour logits (cross-entropy) and
  ``(sin, cos)`` of the minute angle (mean squared error). The minute is read with ``atan2``; the hour
  is the argmax class unless the classifier straddles a class boundary (a neighbour holds at least a
  quarter of the top probability), in which case the minute says which side of the boundary the hand
  is on (:func:`~clock_heads.resolve_hour_classes`): a classifier leaning to 3 with weight on 2
  reads 2:59, not 3:59.
* ``angles`` (default, recommended) — 8 outputs: ``(sin, cos)`` of the *absolute image angles* of the
  12 o'clock marker (``dial_rotation``), the hour hand and the minute hand, and of the *tick phase*
  ``12 * dial_rotation`` (every hour mark lies on the 30° lattice the marker sits on, so all twelve pin
  down the dial's rotation modulo 30°, far more precisely than the one marker), mean squared error. On
  the polar grid each is read as a soft-argmax over the angle columns: a softmax over columns, each
  voting for its own direction plus a learned offset of at most one column, the votes averaged as unit
  vectors (at 12 times the angle for the tick phase); on the image, by a linear layer. Decoding snaps
  the marker to the nearest point of the tick lattice, reads the time from the differences (hand −
  marker) and resolves the hour with the minute. Needs the angle columns of generated clocks to train;
  any image can be read once trained.

Every head's decode gives a position on the dial in minutes (a float in [0, 720)); the model rounds it
to the nearest minute and returns integer ``hour`` (0–11) and ``minute`` (0–59). Each head is a class in
``clock_heads.CLOCK_HEADS``; ``HEADS`` below lists their names for validating a config without the model code.
"""

from __future__ import annotations

from collections.abc import Sequence

from transformers import PretrainedConfig

from .layers import (
    ACTIVATIONS,
    INITIALIZERS,
    check_choice,
    check_conv_stack,
    check_non_negative,
    check_number,
    check_positive_ints,
    check_probability,
    conv_output_size,
    layer_paddings,
)

HEADS = ("regression", "classification", "multihead", "periodic", "hybrid", "angles")
ANGLE_COLUMNS = ("dial_rotation", "hour_hand_angle", "minute_hand_angle")
MINUTES_PER_DIAL = 720
DEFAULT_ANGLE_LOSS_WEIGHTS = (2.0, 1.0, 1.0, 1.0)  # marker, hour hand, minute hand, tick phase

# The custom-pipeline entry written into config.json: where ``clock-reading`` is not a registered task
# (a Python without tinyvision), transformers builds the pipeline from ``pipeline_clock.py`` in the folder.
PIPELINE_TASK = "clock-reading"


def custom_pipelines_entry() -> dict:
    """A fresh copy each time: transformers rewrites the entry it is given in place."""
    return {PIPELINE_TASK: {"impl": "pipeline_clock.ClockReadingPipeline", "pt": ["AutoModel"], "type": "image"}}


def _pipeline_task_registered() -> bool:
    try:
        from transformers.pipelines import PIPELINE_REGISTRY
    except ImportError:  # pragma: no cover - transformers without pipelines
        return False
    return PIPELINE_TASK in PIPELINE_REGISTRY.supported_tasks


def head_num_outputs(head: str, interval_minutes: int) -> int:
    """Width of the ``logits`` each head returns (both branches concatenated for two-branch heads)."""
    return {
        "regression": 1,
        "classification": MINUTES_PER_DIAL // interval_minutes,
        "multihead": 12 + 1,
        "periodic": 4,
        "hybrid": 12 + 2,
        "angles": 8,
    }[head]


class ClockPipelineConfigMixin:
    """The ``clock-reading`` custom-pipeline entry of a clock reader's config (every clock reader has one)."""

    @property
    def custom_pipelines(self) -> dict:
        """What ``transformers.pipeline`` reads to build a pipeline from the folder's own code.

        Empty where ``clock-reading`` is a registered task (tinyvision imported: the registry's
        pipeline is used without ``trust_remote_code``); the entry pointing at ``pipeline_clock.py``
        elsewhere. config.json always carries the entry (see :meth:`to_dict`).
        """
        return {} if _pipeline_task_registered() else custom_pipelines_entry()

    @custom_pipelines.setter
    def custom_pipelines(self, value) -> None:
        """``Pipeline.save_pretrained`` assigns the registered entry; it is derived, so nothing is kept."""

    def to_dict(self) -> dict:
        output = super().to_dict()
        output["custom_pipelines"] = custom_pipelines_entry()
        return output


class ClockReaderConfig(ClockPipelineConfigMixin, PretrainedConfig):
    r"""The clock reader: the Task 1 CNN adapted to larger inputs, flattened (no global pooling), then a head.

    Conv layer i has ``conv_filters[i]`` filters of ``conv_kernel_sizes[i]``² with stride ``conv_strides[i]``
    (stride in the early layers shrinks large inputs cheaply), optional BatchNorm2d before the activation,
    and a pooling layer after it when ``pool_after[i]``. The last feature map is flattened, keeping where
    in the image each feature fired: global average pooling would throw away exactly where the hands point.

    Args:
        image_size, num_channels: input geometry (the image processor resizes any image to it).
        polar: resample the image on a polar grid round its centre first (``polar_rows`` radii from the
            centre to the edge × ``polar_cols`` angles clockwise from up) and convolve with the angle axis
            wrapping round. A rotated dial is then a shifted one, so what the network learns at one angle
            holds at every angle. The ``angles`` head then reads each angle as a soft-argmax over the angle
            columns (a distribution over directions, averaged as unit vectors); the other heads flatten.
        conv_filters, conv_kernel_sizes, conv_strides: one entry per conv layer.
        conv_padding: 'same' or 'valid', for every layer or one value per layer.
        pool_after: one bool per conv layer; pool_type 'max' or 'avg'; pool_size and pool_stride.
        batch_norm: BatchNorm2d after each convolution, before its activation.
        coord_channels: append constant coordinate channels (CoordConv) so the convolutions know where
            each pixel lies: x and y in [-1, 1] on the image, the radius in [0, 1] on the polar grid.
        angle_channels: on the polar grid, also append the sine and cosine of each column's direction. The
            grid is then no longer blind to which way is up: a reader of real (mostly upright) clocks can learn
            that 12 o'clock is usually at the top, where the dial does not mark it. Off (the seed's study, any
            orientation) keeps the reader exactly rotation-equivariant.
        up_dropout: training only, with ``angle_channels``: the share of training images whose angle channels
            are zeroed, so the reader also learns to read a dial without being told which way is up (then only
            the dial's own 12 o'clock cue says where 12 is). A reader trained with it reads that way when called
            with ``hide_up=True`` (the photo reader's ``any_turn``). 0 (default): never.
        activation: of the conv layers. fc_activation: of the dense layers; default ``tanh`` for the
            ``periodic`` head (the seed's choice) and ``activation`` otherwise.
        fc_hidden_sizes: widths of the dense hidden layers (each branch of a two-branch head has its own).
        dropout: after each dense hidden layer.
        initializer: Keras-style kernel init (see ``layers.INITIALIZERS``).
        head: one of ``regression``, ``classification``, ``multihead``, ``periodic``, ``hybrid``, ``angles``
            (see the module docstring for how each encodes its targets and decodes a time).
        interval_minutes: width of a class of the ``classification`` head; must divide 720 (1, 5, 15, 30, 60...).
        angle_loss_weights: weights of the marker, hour-hand, minute-hand and tick-phase terms of the
            ``angles`` loss.
        column_loss_weight: on the polar grid, the ``angles`` loss also adds, for the marker and the two
            hands (each with its ``angle_loss_weights``), this times the cross-entropy of its softmax over
            the angle columns against the true direction (shared by the two nearest columns): a sharper
            signal than the squared error for *which* mark is the 12.
        column_attention_layers: with the ``angles`` head on the polar grid, this many transformer blocks
            (``column_attention_width`` wide, ``column_attention_heads`` heads, a learned bias per circular
            offset) let every angle column see all the others before it votes: a column alone sees about
            50 degrees of the dial, too little to tell the 12 from its neighbours on a tilted dial. 0 (the
            seed's study and the photo reader's default) keeps the purely convolutional readout: on the photo
            reader's dial crops two blocks did not pay at the CPU budget (2 epochs of 12,000 crops, 1,000
            test scenes: mean error 37.1 vs 37.5 min, within 5 min 79.3 vs 79.7 %).
        mark_votes: with the ``angles`` head on the polar grid, every angle column also says where it lies
            relative to 12 o'clock (a softmax over the twelve hour sectors): the column at a "3" says "three
            marks past 12", the one at a thick quarter bar "3, 6 or 9". When the reader picks which mark is 12,
            each lattice point then also scores the evidence of all the columns (each column's log-probability
            of the sector that point implies, less what its direction alone predicts, a learned table: so the
            "most dials are upright" prior of ``angle_channels`` is counted once, not once per column). The
            marker's own softmax alone sees only the columns at one mark.
        mark_vote_loss_weight: training: the weight of the columns' sector cross-entropy (and the table's).
        mark_vote_weight: reading: how much the columns' evidence counts against the log of the marker
            softmax's mass at each lattice point (0: the marker softmax alone, as without ``mark_votes``).
        mark_vote_dial_loss_weight: training: the weight of a cross-entropy over the twelve marks of the true
            tick lattice, each scored by the rule that reading uses (the log of the marker softmax's mass
            there, held fixed, plus ``mark_vote_weight`` times all the columns' evidence for it), the true 12
            the target. The sector cross-entropy trains each column alone, so the columns that all see one
            numeral each vote it in full; this loss trains their summed evidence to pick the mark the marker
            softmax alone gets wrong. 0 (the default) leaves it out; the photo reader's default
            reader (``DEFAULT_READER``) uses 0.5.
        hour_lattice_window: reading (polar ``angles`` reader): with the minute read, the hour hand can only
            point at twelve places, ``12 o'clock + 30 h + minute / 2`` degrees. With a window > 0 the hour is
            the ``h`` whose place holds the most of the hour hand's column votes within this many degrees
            (the minute and 12 o'clock as without it); where no vote lies that near any of them, or with 0
            (the default, the seed's study), the hour comes from the weighted mean of those votes. The mean
            of a softmax split between the hour hand and the minute hand (or a hand's tail) points at
            neither; the heaviest consistent place is one of them. Less than 15 (half the places' spacing).
            The photo reader's default reader uses 6.
        hand_fit_weight: reading (polar ``angles`` reader): how much the hands' agreement counts when it picks
            which mark is 12 o'clock. At ``H:m`` the hour hand points ``m / 2`` degrees past H's mark, so each
            candidate 12 (a point of the tick lattice) implies a minute and twelve places for the hour hand;
            taking the mark ``k`` hours away for 12 moves those places by ``2.5 k`` degrees off the hand (15 at
            a half turn), wherever the dial is turned. Each candidate's score (the log of the marker's mass,
            plus the mark votes) gets this weight times the log of the hour hand's column votes at its best
            place (Gaussian within ``hand_fit_sigma``). 0 (the default, the seed's study) leaves it out; the
            photo reader's default reader uses 2.
        hand_fit_sigma: reading: the width (degrees, > 0) of that Gaussian; the default 3 is about how closely
            the reader places the hour hand.
        hour_overlap_discount: reading (with ``hour_lattice_window`` > 0; without it, unused): the share (in
            (0, 1]) of the hour hand's votes that counts at a place within ``HOUR_OVERLAP_DEGREES`` (20) of the
            minute hand. A reader that does not find the hour hand (a thin shaft, a moon round the centre) puts
            most of its votes on the minute hand and some on the hand it half saw; discounted, the minute hand's
            place wins only with more than 1 / discount times the next place's votes. Where the hands truly
            overlap the next place holds next to nothing and the reading stands. 1 (the default, the seed's
            study) counts every vote alike; the photo reader's default reader uses 0.3.
    """

    model_type = "tinyvision_clock"

    def __init__(
        self,
        *,
        image_size: int = 96,
        num_channels: int = 1,
        polar: bool = True,
        polar_rows: int = 24,
        polar_cols: int = 192,
        conv_filters: Sequence[int] = (32, 48, 96, 96),
        conv_kernel_sizes: Sequence[int] = (5, 3, 3, 3),
        conv_strides: Sequence[int] = (2, 1, 1, 1),
        conv_padding: str | Sequence[str] = "same",
        pool_after: Sequence[bool] = (False, True, False, False),
        pool_type: str = "max",
        pool_size: int = 2,
        pool_stride: int = 2,
        batch_norm: bool = True,
        coord_channels: bool = True,
        angle_channels: bool = False,
        up_dropout: float = 0.0,
        activation: str = "relu",
        fc_activation: str | None = None,
        fc_hidden_sizes: Sequence[int] = (128,),
        dropout: float = 0.0,
        initializer: str = "he_uniform",
        head: str = "angles",
        interval_minutes: int = 30,
        angle_loss_weights: Sequence[float] = DEFAULT_ANGLE_LOSS_WEIGHTS,
        column_loss_weight: float = 1.0,
        column_attention_layers: int = 0,
        column_attention_width: int = 128,
        column_attention_heads: int = 4,
        mark_votes: bool = False,
        mark_vote_loss_weight: float = 0.5,
        mark_vote_weight: float = 0.05,
        mark_vote_dial_loss_weight: float = 0.0,
        hour_lattice_window: float = 0.0,
        hand_fit_weight: float = 0.0,
        hand_fit_sigma: float = 3.0,
        hour_overlap_discount: float = 1.0,
        **kwargs,
    ):
        # The pipeline entry is derived, never stored (see ``custom_pipelines``).
        kwargs.pop("custom_pipelines", None)
        self.image_size = image_size
        self.num_channels = num_channels
        self.polar = bool(polar)
        self.polar_rows = polar_rows
        self.polar_cols = polar_cols
        self.conv_filters = list(conv_filters)
        self.conv_kernel_sizes = list(conv_kernel_sizes)
        self.conv_strides = list(conv_strides)
        self.conv_padding = conv_padding if isinstance(conv_padding, str) else list(conv_padding)
        self.pool_after = [bool(flag) for flag in pool_after]
        self.pool_type = pool_type
        self.pool_size = pool_size
        self.pool_stride = pool_stride
        self.batch_norm = batch_norm
        self.coord_channels = bool(coord_channels)
        self.angle_channels = bool(angle_channels)
        self.up_dropout = up_dropout
        self.activation = activation
        self.fc_activation = fc_activation or ("tanh" if head == "periodic" else activation)
        self.fc_hidden_sizes = list(fc_hidden_sizes)
        self.dropout = dropout
        self.initializer = initializer
        self.head = head
        self.interval_minutes = interval_minutes
        self.angle_loss_weights = [float(w) for w in angle_loss_weights]
        self.column_loss_weight = float(column_loss_weight)
        self.column_attention_layers = column_attention_layers
        self.column_attention_width = column_attention_width
        self.column_attention_heads = column_attention_heads
        self.mark_votes = bool(mark_votes)
        self.mark_vote_loss_weight = mark_vote_loss_weight
        self.mark_vote_weight = mark_vote_weight
        self.mark_vote_dial_loss_weight = mark_vote_dial_loss_weight
        self.hour_lattice_window = hour_lattice_window
        self.hand_fit_weight = hand_fit_weight
        self.hand_fit_sigma = hand_fit_sigma
        self.hour_overlap_discount = hour_overlap_discount
        super().__init__(**kwargs)
        self._validate()

    def _validate(self) -> None:
        check_choice("head", self.head, HEADS)
        check_positive_ints("image_size", [self.image_size])
        check_positive_ints("polar_rows", [self.polar_rows])
        check_positive_ints("polar_cols", [self.polar_cols])
        check_choice("num_channels", self.num_channels, (1, 3))
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("fc_activation", self.fc_activation, ACTIVATIONS)
        check_choice("initializer", self.initializer, INITIALIZERS)
        check_probability("dropout", self.dropout)
        check_probability("up_dropout", self.up_dropout)
        if self.up_dropout and not self.angle_channels:
            raise ValueError("`up_dropout` needs `angle_channels` (it hides the channels that say which way is up)")
        check_conv_stack(self, "conv_padding")
        if (
            isinstance(self.interval_minutes, bool)
            or not isinstance(self.interval_minutes, int)
            or self.interval_minutes < 1
            or MINUTES_PER_DIAL % self.interval_minutes
        ):
            raise ValueError(
                f"`interval_minutes` must be a positive divisor of 720 (e.g. 1, 5, 15, 30, 60), "
                f"got {self.interval_minutes!r}"
            )
        if len(self.angle_loss_weights) != 4:
            raise ValueError(
                "`angle_loss_weights` needs 4 values (marker, hour hand, minute hand, tick phase), "
                f"got {self.angle_loss_weights}"
            )
        for weight in self.angle_loss_weights:
            check_non_negative("angle_loss_weights", weight)
        check_non_negative("column_loss_weight", self.column_loss_weight)
        if isinstance(self.column_attention_layers, bool) or not isinstance(self.column_attention_layers, int) \
                or self.column_attention_layers < 0:
            raise ValueError(f"`column_attention_layers` must be an int >= 0, got {self.column_attention_layers!r}")
        check_positive_ints("column_attention_width", [self.column_attention_width])
        check_positive_ints("column_attention_heads", [self.column_attention_heads])
        if self.column_attention_width % self.column_attention_heads:
            raise ValueError(f"`column_attention_width` ({self.column_attention_width}) must be divisible by "
                             f"`column_attention_heads` ({self.column_attention_heads})")
        if self.column_attention_layers and not (self.polar and self.head == "angles"):
            raise ValueError("`column_attention_layers` needs the `angles` head on the polar grid (it mixes the "
                             "angle columns that head reads)")
        check_non_negative("mark_vote_loss_weight", self.mark_vote_loss_weight)
        check_non_negative("mark_vote_weight", self.mark_vote_weight)
        if self.mark_votes and not (self.polar and self.head == "angles"):
            raise ValueError("`mark_votes` needs the `angles` head on the polar grid (its angle columns vote)")
        check_non_negative("mark_vote_dial_loss_weight", self.mark_vote_dial_loss_weight)
        if self.mark_vote_dial_loss_weight > 0 and not self.mark_votes:
            raise ValueError("`mark_vote_dial_loss_weight` > 0 needs `mark_votes` (it trains the columns' votes)")
        check_number("hour_lattice_window", self.hour_lattice_window, "a number of degrees")
        check_non_negative("hour_lattice_window", self.hour_lattice_window)
        if self.hour_lattice_window >= 15.0:
            raise ValueError(f"`hour_lattice_window` must be below 15 degrees (half the 30 between the hour hand's "
                             f"places), got {self.hour_lattice_window}")
        if self.hour_lattice_window > 0 and not (self.polar and self.head == "angles"):
            raise ValueError("`hour_lattice_window` > 0 needs the `angles` head on the polar grid (it reads the "
                             "hour hand's column votes)")
        for name in ("hand_fit_weight", "hand_fit_sigma"):
            check_number(name, getattr(self, name))
        check_non_negative("hand_fit_weight", self.hand_fit_weight)
        if self.hand_fit_sigma <= 0:
            raise ValueError(f"`hand_fit_sigma` must be above 0 degrees, got {self.hand_fit_sigma}")
        if self.hand_fit_weight > 0 and not (self.polar and self.head == "angles"):
            raise ValueError("`hand_fit_weight` > 0 needs the `angles` head on the polar grid (it reads the hands' "
                             "column votes)")
        check_number("hour_overlap_discount", self.hour_overlap_discount, "a share")
        if not 0.0 < self.hour_overlap_discount <= 1.0:
            raise ValueError(f"`hour_overlap_discount` must be in (0, 1] (the share of the hour hand's votes that "
                             f"counts next to the minute hand), got {self.hour_overlap_discount}")
        if self.polar and any(padding != "same" for padding in self.paddings):
            raise ValueError("`conv_padding` must be 'same' when `polar` is true (the angle axis wraps round)")
        if self.angle_channels and not self.polar:
            raise ValueError("`angle_channels` needs `polar` (on the image, `coord_channels` already says where up is)")
        if self.polar and any(kernel % 2 == 0 for kernel in self.conv_kernel_sizes):
            raise ValueError(f"`conv_kernel_sizes` must be odd when `polar` is true, got {self.conv_kernel_sizes}")
        _ = self.feature_map_shape  # walks the geometry and raises on an impossible one

    # ------------------------------------------------------------------------------- geometry
    @property
    def paddings(self) -> list[str]:
        """The padding of each conv layer."""
        return layer_paddings(self.conv_padding, len(self.conv_filters))

    @property
    def input_shape(self) -> tuple[int, int]:
        """(height, width) the conv stack sees: the polar grid (radius × angle) or the image."""
        return (self.polar_rows, self.polar_cols) if self.polar else (self.image_size, self.image_size)

    @property
    def feature_map_shape(self) -> tuple[int, int]:
        """(height, width) of the last feature map; raises ValueError naming the first layer that cannot fit."""
        return tuple(self._walk(side, name) for side, name in zip(self.input_shape, ("height", "width")))

    def _walk(self, size: int, axis: str) -> int:
        where = f"polar_rows={self.polar_rows}, polar_cols={self.polar_cols}" if self.polar else \
            f"image_size={self.image_size}"
        layers = zip(self.conv_kernel_sizes, self.conv_strides, self.paddings, self.pool_after)
        for index, (kernel, stride, padding, pool) in enumerate(layers, start=1):
            if padding == "same" and kernel % 2 == 0 and stride > 1:
                raise ValueError(
                    f"conv layer {index}: 'same' padding with an even kernel ({kernel}) needs stride 1, got {stride}"
                )
            if padding == "valid" and size < kernel:
                raise ValueError(
                    f"conv layer {index} (kernel {kernel}x{kernel}, padding 'valid') gets a {size}-pixel {axis}: "
                    f"the feature map shrank below the kernel ({where}); "
                    "use conv_padding='same', a larger input or fewer layers"
                )
            if self.polar and axis == "width" and size % stride:
                raise ValueError(f"conv layer {index}: stride {stride} does not divide the {size} angle columns; "
                                 "pick `polar_cols` divisible by every stride and pooling step")
            size = conv_output_size(size, kernel, stride, padding)
            if pool:
                if size < self.pool_size:
                    raise ValueError(
                        f"pooling after conv layer {index} (pool_size {self.pool_size}) gets a {size}-pixel {axis}: "
                        f"the feature map shrank below the pooling window ({where}); "
                        "use a larger input, smaller conv_strides or fewer pooling layers"
                    )
                if self.polar and axis == "width" and size % self.pool_stride:
                    raise ValueError(f"pooling after conv layer {index} does not divide the {size} angle columns; "
                                     "pick `polar_cols` divisible by every stride and pooling step")
                size = conv_output_size(size, self.pool_size, self.pool_stride, "valid")
        return size

    @property
    def num_outputs(self) -> int:
        """Width of the model's ``logits`` for this head."""
        return head_num_outputs(self.head, self.interval_minutes)

    @property
    def required_columns(self) -> tuple[str, ...]:
        """The batch columns this head trains on."""
        return ANGLE_COLUMNS if self.head == "angles" else ("hour", "minute")
