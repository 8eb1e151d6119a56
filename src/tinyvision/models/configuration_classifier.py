"""Configurations of the Task 1 image classifiers: the seed's MLP and CNN, every axis a field.

Defaults reproduce the seed study (Géron-style Keras models): Glorot-uniform kernels with zero
biases, ReLU, dropout 0.2 after each hidden dense layer, 10 Fashion-MNIST classes at 28×28×1.
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
    check_positive_ints,
    check_probability,
    conv_output_size,
    layer_paddings,
)

FASHION_MNIST_LABELS = (
    "T - shirt / top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)


def _default_labels(kwargs: dict) -> None:
    if "id2label" not in kwargs and "num_labels" not in kwargs:
        kwargs["id2label"] = dict(enumerate(FASHION_MNIST_LABELS))


class _ClassifierConfigMixin:
    """Checks shared by both families: input geometry, regularisation, initialisation."""

    def _check_common(self) -> None:
        check_positive_ints("image_size", [self.image_size])
        check_choice("num_channels", self.num_channels, (1, 3))
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("initializer", self.initializer, INITIALIZERS)
        check_probability("dropout", self.dropout)
        check_probability("label_smoothing", self.label_smoothing)
        check_non_negative("l1", self.l1)
        check_non_negative("l2", self.l2)
        if self.num_labels < 2:
            raise ValueError(f"`num_labels` must be at least 2 for classification, got {self.num_labels}")


class MLPConfig(_ClassifierConfigMixin, PretrainedConfig):
    r"""The seed's multilayer perceptron: flatten → [Linear → (BatchNorm) → act → Dropout] × n → Linear.

    Args:
        image_size: height = width of the (square) input images.
        num_channels: 1 (grayscale) or 3 (RGB).
        hidden_sizes: width of each hidden layer; the seed's default is two layers of 512.
        activation: hidden activation, one of relu, tanh, sigmoid, elu, gelu, leaky_relu.
        initializer: kernel init (glorot_uniform, glorot_normal, he_uniform, he_normal: Keras'
            schemes with zero biases; torch_default: PyTorch's own Linear init).
        dropout: dropout rate after each hidden layer (0 disables it).
        batch_norm: BatchNorm1d after each hidden Linear, before the activation.
        l1, l2: Keras-style kernel penalties added to the returned loss (not weight decay).
        label_smoothing: cross-entropy label smoothing of the returned loss (0 = none, the seed's).
        id2label / num_labels: the classes (default: the 10 Fashion-MNIST classes).
    """

    model_type = "tinyvision_mlp"

    def __init__(
        self,
        *,
        image_size: int = 28,
        num_channels: int = 1,
        hidden_sizes: Sequence[int] = (512, 512),
        activation: str = "relu",
        initializer: str = "glorot_uniform",
        dropout: float = 0.2,
        batch_norm: bool = False,
        l1: float = 0.0,
        l2: float = 0.0,
        label_smoothing: float = 0.0,
        **kwargs,
    ):
        _default_labels(kwargs)
        self.image_size = image_size
        self.num_channels = num_channels
        self.hidden_sizes = list(hidden_sizes)
        self.activation = activation
        self.initializer = initializer
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.l1 = l1
        self.l2 = l2
        self.label_smoothing = label_smoothing
        super().__init__(**kwargs)
        self._check_common()
        check_positive_ints("hidden_sizes", self.hidden_sizes)


class CNNConfig(_ClassifierConfigMixin, PretrainedConfig):
    r"""The seed's CNN: a conv stack with max pooling, then a dense stack with dropout.

    Conv layer i has ``conv_filters[i]`` filters of ``conv_kernel_sizes[i]``² with stride
    ``conv_strides[i]``; a pooling layer follows it when ``pool_after[i]``. The seed's network:
    Conv(64, 7) → Pool → Conv(128, 3) ×2 → Pool → Conv(256, 3) ×2 → Pool → Dense 128 → Dense 64.

    The seed says padding is never used, but then a 28×28 input is 1×1 before its last
    convolution (a 3×3 kernel), which Keras would refuse too; so the default is 'same' padding
    and any geometry that shrinks below the kernel raises a ValueError at construction.

    Args:
        image_size, num_channels: input geometry.
        conv_filters, conv_kernel_sizes, conv_strides: one entry per conv layer.
        padding: 'same' or 'valid', for every layer or one value per layer.
        pool_after: one bool per conv layer; pool_type 'max' or 'avg'; pool_size and pool_stride.
        activation: activation of the conv layers; fc_activation: of the dense part (defaults to
            ``activation``), which the seed varies on its own.
        batch_norm: BatchNorm2d after each convolution, before its activation.
        fc_hidden_sizes: widths of the dense hidden layers; dropout after each of them.
        initializer, l1, l2, label_smoothing, id2label: as in :class:`MLPConfig`.
    """

    model_type = "tinyvision_cnn"

    def __init__(
        self,
        *,
        image_size: int = 28,
        num_channels: int = 1,
        conv_filters: Sequence[int] = (64, 128, 128, 256, 256),
        conv_kernel_sizes: Sequence[int] = (7, 3, 3, 3, 3),
        conv_strides: Sequence[int] = (1, 1, 1, 1, 1),
        padding: str | Sequence[str] = "same",
        pool_after: Sequence[bool] = (True, False, True, False, True),
        pool_type: str = "max",
        pool_size: int = 2,
        pool_stride: int = 2,
        activation: str = "relu",
        fc_activation: str | None = None,
        batch_norm: bool = False,
        fc_hidden_sizes: Sequence[int] = (128, 64),
        dropout: float = 0.2,
        initializer: str = "glorot_uniform",
        l1: float = 0.0,
        l2: float = 0.0,
        label_smoothing: float = 0.0,
        **kwargs,
    ):
        _default_labels(kwargs)
        self.image_size = image_size
        self.num_channels = num_channels
        self.conv_filters = list(conv_filters)
        self.conv_kernel_sizes = list(conv_kernel_sizes)
        self.conv_strides = list(conv_strides)
        self.padding = padding if isinstance(padding, str) else list(padding)
        self.pool_after = [bool(flag) for flag in pool_after]
        self.pool_type = pool_type
        self.pool_size = pool_size
        self.pool_stride = pool_stride
        self.activation = activation
        self.fc_activation = fc_activation or activation
        self.batch_norm = batch_norm
        self.fc_hidden_sizes = list(fc_hidden_sizes)
        self.dropout = dropout
        self.initializer = initializer
        self.l1 = l1
        self.l2 = l2
        self.label_smoothing = label_smoothing
        super().__init__(**kwargs)
        self._check_common()
        check_choice("fc_activation", self.fc_activation, ACTIVATIONS)
        check_conv_stack(self, "padding")
        _ = self.feature_map_size  # walks the geometry and raises on an impossible one

    @property
    def paddings(self) -> list[str]:
        """The padding of each conv layer."""
        return layer_paddings(self.padding, len(self.conv_filters))

    @property
    def feature_map_size(self) -> int:
        """Side of the last feature map; raises ValueError naming the first layer that cannot fit."""
        size = self.image_size
        layer_sizes = zip(self.conv_filters, self.conv_kernel_sizes, self.conv_strides, self.paddings, self.pool_after)
        for index, (_, kernel, stride, padding, pool) in enumerate(layer_sizes, start=1):
            if padding == "same" and kernel % 2 == 0 and stride > 1:
                raise ValueError(
                    f"conv layer {index}: 'same' padding with an even kernel ({kernel}) needs stride 1, got {stride}"
                )
            if padding == "valid" and size < kernel:
                raise ValueError(
                    f"conv layer {index} (kernel {kernel}x{kernel}, padding 'valid') gets a {size}x{size} input: "
                    f"the feature map shrank below the kernel (image_size={self.image_size}); "
                    "use padding='same', a larger image_size or fewer layers"
                )
            size = conv_output_size(size, kernel, stride, padding)
            if pool:
                if size < self.pool_size:
                    raise ValueError(
                        f"pooling after conv layer {index} (pool_size {self.pool_size}) gets a {size}x{size} input: "
                        f"the feature map shrank below the pooling window (image_size={self.image_size})"
                    )
                size = conv_output_size(size, self.pool_size, self.pool_stride, "valid")
        return size
