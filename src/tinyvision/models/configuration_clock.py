"""Configuration of the Task 2 clock reader ("Tell-the-time"): a strided CNN backbone and one of six heads.

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
  (:func:`~modeling_clock.resolve_hour`).
* ``hybrid`` — the seed's proposed next step: two FC branches; 12 hour logits (cross-entropy) and
  ``(sin, cos)`` of the minute angle (mean squared error). The minute is read with ``atan2``; the hour
  is the argmax class unless the classifier straddles a class boundary (a neighbour holds at least a
  quarter of the top probability), in which case the minute says which side of the boundary the hand
  is on (:func:`~modeling_clock.resolve_hour_classes`): a classifier leaning to 3 with weight on 2
  reads 2:59, not 3:59.
* ``angles`` (default, recommended) — 6 linear outputs: ``(sin, cos)`` of the *absolute image angles*
  of the 12 o'clock marker (``dial_rotation``), the hour hand and the minute hand, mean squared error.
  The time is read from the differences (hand − marker), the hour resolved with the minute. Needs the
  angle columns of generated clocks to train; any image can be read once trained.

Every head's decode gives a position on the dial in minutes (a float in [0, 720)); the model rounds it
to the nearest minute and returns integer ``hour`` (0–11) and ``minute`` (0–59).
"""

from __future__ import annotations

from collections.abc import Sequence

from transformers import PretrainedConfig

from .layers import (
    ACTIVATIONS,
    INITIALIZERS,
    PADDINGS,
    POOLINGS,
    check_choice,
    check_non_negative,
    check_positive_ints,
    check_probability,
    conv_output_size,
)

HEADS = ("regression", "classification", "multihead", "periodic", "hybrid", "angles")
ANGLE_COLUMNS = ("dial_rotation", "hour_hand_angle", "minute_hand_angle")
MINUTES_PER_DIAL = 720

# The custom-pipeline entry written into config.json: where ``clock-reading`` is not a registered task
# (a Python without tinyvision), transformers builds the pipeline from ``pipeline_clock.py`` in the folder.
PIPELINE_TASK = "clock-reading"
CUSTOM_PIPELINES = {
    PIPELINE_TASK: {"impl": "pipeline_clock.ClockReadingPipeline", "pt": ["AutoModel"], "type": "image"}
}


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
        "angles": 6,
    }[head]


class ClockReaderConfig(PretrainedConfig):
    r"""The clock reader: the Task 1 CNN adapted to larger inputs, flattened (no global pooling), then a head.

    Conv layer i has ``conv_filters[i]`` filters of ``conv_kernel_sizes[i]``² with stride ``conv_strides[i]``
    (stride in the early layers shrinks large inputs cheaply), optional BatchNorm2d before the activation,
    and a pooling layer after it when ``pool_after[i]``. The last feature map is flattened, keeping where
    in the image each feature fired: global average pooling would throw away exactly where the hands point.

    Args:
        image_size, num_channels: input geometry (the image processor resizes any image to it).
        conv_filters, conv_kernel_sizes, conv_strides: one entry per conv layer.
        conv_padding: 'same' or 'valid', for every layer or one value per layer.
        pool_after: one bool per conv layer; pool_type 'max' or 'avg'; pool_size and pool_stride.
        batch_norm: BatchNorm2d after each convolution, before its activation.
        activation: of the conv layers. fc_activation: of the dense layers; default ``tanh`` for the
            ``periodic`` head (the seed's choice) and ``activation`` otherwise.
        fc_hidden_sizes: widths of the dense hidden layers (each branch of a two-branch head has its own).
        dropout: after each dense hidden layer.
        initializer: Keras-style kernel init (see ``layers.INITIALIZERS``).
        head: one of ``regression``, ``classification``, ``multihead``, ``periodic``, ``hybrid``, ``angles``
            (see the module docstring for how each encodes its targets and decodes a time).
        interval_minutes: width of a class of the ``classification`` head; must divide 720 (1, 5, 15, 30, 60...).
        angle_loss_weights: weights of the marker, hour-hand and minute-hand terms of the ``angles`` loss.
    """

    model_type = "tinyvision_clock"

    def __init__(
        self,
        *,
        image_size: int = 96,
        num_channels: int = 1,
        conv_filters: Sequence[int] = (32, 64, 64, 128, 128),
        conv_kernel_sizes: Sequence[int] = (5, 3, 3, 3, 3),
        conv_strides: Sequence[int] = (2, 1, 1, 1, 1),
        conv_padding: str | Sequence[str] = "same",
        pool_after: Sequence[bool] = (True, False, True, False, True),
        pool_type: str = "max",
        pool_size: int = 2,
        pool_stride: int = 2,
        batch_norm: bool = True,
        activation: str = "relu",
        fc_activation: str | None = None,
        fc_hidden_sizes: Sequence[int] = (256,),
        dropout: float = 0.0,
        initializer: str = "he_uniform",
        head: str = "angles",
        interval_minutes: int = 30,
        angle_loss_weights: Sequence[float] = (1.0, 1.0, 1.0),
        **kwargs,
    ):
        # The pipeline entry is derived, never stored (see ``custom_pipelines``).
        kwargs.pop("custom_pipelines", None)
        self.image_size = image_size
        self.num_channels = num_channels
        self.conv_filters = list(conv_filters)
        self.conv_kernel_sizes = list(conv_kernel_sizes)
        self.conv_strides = list(conv_strides)
        self.conv_padding = conv_padding if isinstance(conv_padding, str) else list(conv_padding)
        self.pool_after = [bool(flag) for flag in pool_after]
        self.pool_type = pool_type
        self.pool_size = pool_size
        self.pool_stride = pool_stride
        self.batch_norm = batch_norm
        self.activation = activation
        self.fc_activation = fc_activation or ("tanh" if head == "periodic" else activation)
        self.fc_hidden_sizes = list(fc_hidden_sizes)
        self.dropout = dropout
        self.initializer = initializer
        self.head = head
        self.interval_minutes = interval_minutes
        self.angle_loss_weights = [float(w) for w in angle_loss_weights]
        super().__init__(**kwargs)
        self._validate()

    def _validate(self) -> None:
        check_choice("head", self.head, HEADS)
        check_positive_ints("image_size", [self.image_size])
        check_choice("num_channels", self.num_channels, (1, 3))
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("fc_activation", self.fc_activation, ACTIVATIONS)
        check_choice("initializer", self.initializer, INITIALIZERS)
        check_choice("pool_type", self.pool_type, POOLINGS)
        check_probability("dropout", self.dropout)
        check_positive_ints("conv_filters", self.conv_filters, allow_empty=False)
        check_positive_ints("conv_kernel_sizes", self.conv_kernel_sizes)
        check_positive_ints("conv_strides", self.conv_strides)
        check_positive_ints("fc_hidden_sizes", self.fc_hidden_sizes)
        check_positive_ints("pool_size", [self.pool_size])
        check_positive_ints("pool_stride", [self.pool_stride])
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
        if len(self.angle_loss_weights) != 3:
            raise ValueError(
                f"`angle_loss_weights` needs 3 values (marker, hour hand, minute hand), got {self.angle_loss_weights}"
            )
        for weight in self.angle_loss_weights:
            check_non_negative("angle_loss_weights", weight)
        n = len(self.conv_filters)
        for name in ("conv_kernel_sizes", "conv_strides", "pool_after"):
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"`{name}` has {len(getattr(self, name))} entries but `conv_filters` has {n}: give one per conv layer"
                )
        if not isinstance(self.conv_padding, str) and len(self.conv_padding) != n:
            raise ValueError(f"`conv_padding` has {len(self.conv_padding)} entries but there are {n} conv layers")
        for padding in self.paddings:
            check_choice("conv_padding", padding, PADDINGS)
        self.feature_map_size  # walks the geometry and raises on an impossible one

    # ------------------------------------------------------------------------------- geometry
    @property
    def paddings(self) -> list[str]:
        """The padding of each conv layer."""
        if isinstance(self.conv_padding, str):
            return [self.conv_padding] * len(self.conv_filters)
        return list(self.conv_padding)

    @property
    def feature_map_size(self) -> int:
        """Side of the last feature map; raises ValueError naming the first layer that cannot fit."""
        size = self.image_size
        layers = zip(self.conv_kernel_sizes, self.conv_strides, self.paddings, self.pool_after)
        for index, (kernel, stride, padding, pool) in enumerate(layers, start=1):
            if padding == "same" and kernel % 2 == 0 and stride > 1:
                raise ValueError(
                    f"conv layer {index}: 'same' padding with an even kernel ({kernel}) needs stride 1, got {stride}"
                )
            if padding == "valid" and size < kernel:
                raise ValueError(
                    f"conv layer {index} (kernel {kernel}x{kernel}, padding 'valid') gets a {size}x{size} input: "
                    f"the feature map shrank below the kernel (image_size={self.image_size}); "
                    "use conv_padding='same', a larger image_size or fewer layers"
                )
            size = conv_output_size(size, kernel, stride, padding)
            if pool:
                if size < self.pool_size:
                    raise ValueError(
                        f"pooling after conv layer {index} (pool_size {self.pool_size}) gets a {size}x{size} input: "
                        f"the feature map shrank below the pooling window (image_size={self.image_size}); "
                        "use a larger image_size, smaller conv_strides or fewer pooling layers"
                    )
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

    # --------------------------------------------------------------------- custom pipeline
    @property
    def custom_pipelines(self) -> dict:
        """What ``transformers.pipeline`` reads to build a pipeline from the folder's own code.

        Empty where ``clock-reading`` is a registered task (tinyvision imported: the registry's
        pipeline is used without ``trust_remote_code``); the entry pointing at ``pipeline_clock.py``
        elsewhere. config.json always carries the entry (see :meth:`to_dict`).
        """
        return {} if _pipeline_task_registered() else CUSTOM_PIPELINES

    @custom_pipelines.setter
    def custom_pipelines(self, value) -> None:
        """``Pipeline.save_pretrained`` assigns the registered entry; it is derived, so nothing is kept."""

    def to_dict(self) -> dict:
        output = super().to_dict()
        output["custom_pipelines"] = CUSTOM_PIPELINES
        return output
