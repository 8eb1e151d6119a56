"""Building blocks shared by every tinyvision model family: config checks, activations, initialisers,
conv/dense stacks, and the stride-2 convolutions and Dense → transposed-conv decoder (with its config
fields) that the GAN and the VAE both use.

This file travels with saved models (``trust_remote_code``), so it imports nothing from
``tinyvision``: only torch and transformers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from transformers import initialization as init

ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu", "gelu", "leaky_relu")
INITIALIZERS = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "torch_default")
PADDINGS = ("same", "valid")
POOLINGS = ("max", "avg")
OUTPUT_ACTIVATIONS = ("sigmoid", "tanh")  # of an image decoder: [0, 1] or [-1, 1]


def check_choice(name: str, value, choices: Sequence) -> None:
    """Raise a ValueError naming the config field when ``value`` is not one of ``choices``."""
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {list(choices)}, got {value!r}")


def check_number(name: str, value, what: str = "a finite number") -> None:
    """Raise a ValueError naming the config field unless ``value`` is a finite int or float (a bool is not one)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"`{name}` must be {what}, got {value!r}")


def check_probability(name: str, value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"`{name}` must be in [0, 1), got {value!r}")


def check_non_negative(name: str, value: float) -> None:
    if value < 0 or not math.isfinite(value):
        raise ValueError(f"`{name}` must be a finite number >= 0, got {value!r}")


def check_positive_ints(name: str, values: Sequence[int], allow_empty: bool = True) -> None:
    if not allow_empty and len(values) == 0:
        raise ValueError(f"`{name}` must not be empty")
    for value in values:
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must hold positive integers, got {list(values)!r}")


def layer_paddings(padding: str | Sequence[str], num_layers: int) -> list[str]:
    """One padding for every conv layer (a single string applies to all)."""
    return [padding] * num_layers if isinstance(padding, str) else list(padding)


def check_conv_stack(config, padding_field: str) -> None:
    """Validate the conv/pool/FC fields a CNN-like config shares, naming the field that is wrong.

    ``config`` has ``conv_filters``, ``conv_kernel_sizes``, ``conv_strides``, ``pool_after``, ``pool_type``,
    ``pool_size``, ``pool_stride``, ``fc_hidden_sizes`` and the padding under ``padding_field`` (a string or
    one per conv layer).
    """
    check_choice("pool_type", config.pool_type, POOLINGS)
    check_positive_ints("conv_filters", config.conv_filters, allow_empty=False)
    check_positive_ints("conv_kernel_sizes", config.conv_kernel_sizes)
    check_positive_ints("conv_strides", config.conv_strides)
    check_positive_ints("fc_hidden_sizes", config.fc_hidden_sizes)
    check_positive_ints("pool_size", [config.pool_size])
    check_positive_ints("pool_stride", [config.pool_stride])
    n = len(config.conv_filters)
    for name in ("conv_kernel_sizes", "conv_strides", "pool_after"):
        if len(getattr(config, name)) != n:
            raise ValueError(
                f"`{name}` has {len(getattr(config, name))} entries but `conv_filters` has {n}: give one per conv layer"
            )
    padding = getattr(config, padding_field)
    if not isinstance(padding, str) and len(padding) != n:
        raise ValueError(f"`{padding_field}` has {len(padding)} entries but there are {n} conv layers")
    for value in layer_paddings(padding, n):
        check_choice(padding_field, value, PADDINGS)


def get_activation(name: str, negative_slope: float = 0.01) -> nn.Module:
    check_choice("activation", name, ACTIVATIONS)
    if name == "leaky_relu":
        return nn.LeakyReLU(negative_slope)
    return {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "elu": nn.ELU, "gelu": nn.GELU}[name]()


def _fans(weight: torch.Tensor) -> tuple[int, int]:
    receptive_field = weight[0][0].numel() if weight.dim() > 2 else 1
    return weight.shape[1] * receptive_field, weight.shape[0] * receptive_field


def init_kernel(weight: torch.Tensor, scheme: str) -> None:
    """Initialise a dense or conv kernel the way Keras names the scheme.

    Keras draws its *normal* variants from a normal truncated at two standard deviations.
    """
    fan_in, fan_out = _fans(weight)
    if scheme == "glorot_uniform":
        init.xavier_uniform_(weight)
    elif scheme == "he_uniform":
        init.kaiming_uniform_(weight, nonlinearity="relu")
    elif scheme in ("glorot_normal", "he_normal"):
        # Keras divides by .8796 to undo the variance lost to truncation at +-2 std.
        variance = 2.0 / (fan_in + fan_out) if scheme == "glorot_normal" else 2.0 / fan_in
        std = math.sqrt(variance) / 0.87962566103423978
        init.trunc_normal_(weight, mean=0.0, std=std, a=-2 * std, b=2 * std)
    else:
        raise ValueError(f"unknown initializer {scheme!r}; choose one of {list(INITIALIZERS)}")


def init_module(module: nn.Module, scheme: str) -> None:
    """Initialise one module: Keras-style kernels with zero biases, or torch's own defaults."""
    if isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
        if scheme == "torch_default":
            module.reset_parameters()
            return
        init_kernel(module.weight, scheme)
        if module.bias is not None:
            init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        init.ones_(module.weight)
        init.zeros_(module.bias)


def kernel_penalty(model: nn.Module, l1: float, l2: float) -> torch.Tensor | None:
    """Keras-style kernel regularisers: ``l1 * sum|W| + l2 * sum W**2`` over dense and conv kernels.

    Biases and batch-norm parameters are not penalised, as in Keras' ``kernel_regularizer``.
    """
    if l1 == 0 and l2 == 0:
        return None
    total = None
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            term = 0.0
            if l1:
                term = term + l1 * module.weight.abs().sum()
            if l2:
                term = term + l2 * module.weight.pow(2).sum()
            total = term if total is None else total + term
    return total


def conv_output_size(size: int, kernel: int, stride: int, padding: str) -> int:
    """Spatial size after a conv or pooling layer ('same' as in Keras: ceil(size / stride))."""
    if padding == "same":
        return math.ceil(size / stride)
    return (size - kernel) // stride + 1


def conv_padding(kernel: int, stride: int, padding: str):
    """Argument for ``nn.Conv2d(padding=...)`` that reproduces Keras' padding modes."""
    if padding == "valid":
        return 0
    if kernel % 2 == 1:
        return kernel // 2
    return "same"  # even kernel, stride 1 only (checked by the config)


def check_pixel_values(pixel_values: torch.Tensor, num_channels: int, image_size: int) -> None:
    """Fail with a clear message on a batch the model cannot take."""
    if not isinstance(pixel_values, torch.Tensor):
        raise TypeError(f"pixel_values must be a torch.Tensor, got {type(pixel_values).__name__}")
    if pixel_values.dim() != 4:
        raise ValueError(
            f"pixel_values must have shape (batch, {num_channels}, {image_size}, {image_size}), "
            f"got {tuple(pixel_values.shape)}"
        )
    _, channels, height, width = pixel_values.shape
    if channels != num_channels:
        raise ValueError(
            f"the model expects {num_channels} channel(s) (config.num_channels) but pixel_values has {channels}; "
            "use the model's image processor to convert images"
        )
    if (height, width) != (image_size, image_size):
        raise ValueError(
            f"the model expects {image_size}x{image_size} images (config.image_size) but got {height}x{width}; "
            "use the model's image processor to resize images"
        )
    if not pixel_values.is_floating_point():
        raise TypeError(f"pixel_values must be floating point (normalised), got dtype {pixel_values.dtype}")


def dense_stack(
    in_features: int,
    hidden_sizes: Sequence[int],
    activation: str,
    *,
    dropout: float = 0.0,
    batch_norm: bool = False,
) -> tuple[nn.Sequential, int]:
    """Linear → [BatchNorm] → activation → [Dropout] for each hidden size; returns (stack, out_features)."""
    layers: list[nn.Module] = []
    for size in hidden_sizes:
        layers.append(nn.Linear(in_features, size))
        if batch_norm:
            layers.append(nn.BatchNorm1d(size))
        layers.append(get_activation(activation))
        if dropout > 0:
            layers.append(Dropout(dropout))
        in_features = size
    return nn.Sequential(*layers), in_features


_MASK_LEVELS = 1 << 16  # the mask compares 16-bit draws: drop probabilities are multiples of 2^-16


def dropout_mask(like: torch.Tensor, p: float) -> torch.Tensor:
    """A scaled keep-mask for ``like`` (0 where dropped, 1 / keep-probability elsewhere) from 16-bit draws.

    torch's CPU ``bernoulli_`` costs a generator call and a float per element (300 us for a 32 x 512 batch,
    a sixth of the seed MLP's training step on one core); here one 64-bit draw gives four 16-bit ones (45 us)
    and the comparison is three in-place float ops. ``p`` is rounded to a multiple of 2^-16 and the scale
    uses the rounded value, so the layer stays unbiased. Seeded by torch's global generator, like
    ``nn.Dropout``."""
    threshold = round(p * _MASK_LEVELS)  # drop when the unsigned 16-bit draw is below this
    numel = like.numel()
    draws = torch.empty((numel + 3) // 4, dtype=torch.int64, device=like.device).random_(-(2**63), None)
    bits = draws.view(torch.int16)[:numel].reshape(like.shape)  # signed: unsigned draw - 32768
    # bits - (threshold - 32768 - 1) is <= 0 exactly when the draw is dropped and >= 1 when it is kept.
    mask = bits.to(like.dtype).sub_(threshold - _MASK_LEVELS // 2 - 1).clamp_(0, 1)
    return mask.mul_(_MASK_LEVELS / (_MASK_LEVELS - threshold))


class Dropout(nn.Dropout):
    """``nn.Dropout`` that draws its CPU training masks with :func:`dropout_mask` (4x fewer generator
    calls); elsewhere, in evaluation, in place, or when ``p`` rounds to 0 or 1, it is ``nn.Dropout``."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        threshold = round(self.p * _MASK_LEVELS)
        if (not self.training or self.inplace or input.device.type != "cpu" or not input.is_floating_point()
                or threshold in (0, _MASK_LEVELS)):
            return super().forward(input)
        return input * dropout_mask(input, self.p)


class GaussianNoise(nn.Module):
    """Adds N(0, stddev²) noise in training mode only, like Keras' ``GaussianNoise`` layer."""

    def __init__(self, stddev: float):
        super().__init__()
        self.stddev = stddev

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        if self.training and self.stddev > 0:
            return hidden_states + torch.randn_like(hidden_states) * self.stddev
        return hidden_states


# --------------------------------------------- the GAN's and the VAE's stride-2 convolutions and decoder
def check_stride2_kernel(name: str, kernel: int) -> None:
    """A stride-2 layer halves / doubles the side exactly for kernels of 2 or more (3: the seed's; 4: DCGAN's)."""
    if kernel < 2:
        raise ValueError(f"`{name}` must be at least 2 for a stride-2 layer to see every pixel, got {kernel}")


class ConvDecoderFieldsMixin:
    """Checks and derived sizes of the Dense → reshape → transposed-conv stack (generator or decoder).

    Subclasses name their fields with a prefix (``generator_`` or ``decoder_``) given by ``_decoder_prefix``.
    """

    _decoder_prefix = "generator"

    def _decoder_field(self, name: str):
        return getattr(self, f"{self._decoder_prefix}_{name}")

    @property
    def pixel_range(self) -> tuple[float, float]:
        """The range of images inside the model: (0, 1) after a sigmoid, (-1, 1) after a tanh."""
        return (0.0, 1.0) if self.output_activation == "sigmoid" else (-1.0, 1.0)

    @property
    def image_mean(self) -> list[float]:
        """Image-processor constants that map 0–1 pixels into :attr:`pixel_range` ((x - mean) / std)."""
        return [0.0 if self.output_activation == "sigmoid" else 0.5] * self.num_channels

    @property
    def image_std(self) -> list[float]:
        return [1.0 if self.output_activation == "sigmoid" else 0.5] * self.num_channels

    @property
    def initial_size(self) -> int:
        """Side of the feature map the Dense layer is reshaped to (2 for 64×64 and five upsamplings)."""
        return self.image_size // 2 ** len(self._decoder_field("filters"))

    @property
    def initial_channels(self) -> int:
        """Channels of that reshaped map (1024 / (2·2) = 256 by default)."""
        return self._decoder_field("dense_size") // self.initial_size**2

    def _check_image(self) -> None:
        check_positive_ints("image_size", [self.image_size])
        check_choice("num_channels", self.num_channels, (1, 3))
        check_positive_ints("latent_dim", [self.latent_dim])
        check_choice("initializer", self.initializer, INITIALIZERS)

    def _check_decoder(self) -> None:
        prefix = self._decoder_prefix
        filters = self._decoder_field("filters")
        check_positive_ints(f"{prefix}_filters", filters, allow_empty=False)
        check_positive_ints(f"{prefix}_dense_size", [self._decoder_field("dense_size")])
        check_positive_ints(f"{prefix}_kernel_size", [self._decoder_field("kernel_size")])
        check_stride2_kernel(f"{prefix}_kernel_size", self._decoder_field("kernel_size"))
        check_positive_ints("output_kernel_size", [self.output_kernel_size])
        check_choice(f"{prefix}_activation", self._decoder_field("activation"), ACTIVATIONS)
        check_choice("output_activation", self.output_activation, OUTPUT_ACTIVATIONS)
        if self.output_kernel_size % 2 == 0:
            raise ValueError(f"`output_kernel_size` must be odd ('same' padding at stride 1), got {self.output_kernel_size}")
        upsamplings = 2 ** len(filters)
        if self.image_size % upsamplings:
            raise ValueError(
                f"`image_size` ({self.image_size}) must be divisible by 2**len({prefix}_filters) = {upsamplings}: "
                f"each of the {len(filters)} stride-2 transposed convolutions doubles the side"
            )
        dense_size = self._decoder_field("dense_size")
        if dense_size % self.initial_size**2:
            raise ValueError(
                f"`{prefix}_dense_size` ({dense_size}) must be a multiple of {self.initial_size}² = "
                f"{self.initial_size**2}: it is reshaped to (channels, {self.initial_size}, {self.initial_size}) "
                f"(image_size {self.image_size} / 2**{len(filters)})"
            )


class ConvDownsampler(nn.Module):
    """Stride-2 'same' convolutions, each → [BatchNorm, not the first] → activation → [Gaussian noise], then flatten.

    The discriminator's and the encoder's body: 64 → 32 → 16 → 8 → 4 → 2 with five layers.
    """

    def __init__(self, in_channels: int, image_size: int, filters: Sequence[int], kernel_size: int,
                 activation: str, *, negative_slope: float = 0.01, noise_std: float = 0.0, batch_norm: bool = False):
        super().__init__()
        layers: list[nn.Module] = []
        size = image_size
        padding = (kernel_size - 1) // 2  # 'same' for stride 2: halves even sides (kernel 3: 1, kernel 4: 1)
        for index, out_channels in enumerate(filters):
            layers.append(nn.Conv2d(in_channels, out_channels, kernel_size, stride=2, padding=padding))
            if batch_norm and index > 0:  # DCGAN: not on the layer that sees the images
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(get_activation(activation, negative_slope))
            if noise_std > 0:
                layers.append(GaussianNoise(noise_std))
            in_channels = out_channels
            size = (size + 2 * padding - kernel_size) // 2 + 1
        self.layers = nn.Sequential(*layers)
        self.out_features = in_channels * size * size

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.layers(pixel_values).flatten(1)


class ConvDecoder(nn.Module):
    """Dense → reshape → stride-2 transposed convolutions (each doubles the side) → Conv2D to pixels.

    Returns pre-activation outputs ("logits"); the model applies its ``output_activation``.
    """

    def __init__(self, latent_dim: int, dense_size: int, initial_size: int, filters: Sequence[int],
                 kernel_size: int, activation: str, *, batch_norm: bool, out_channels: int, output_kernel_size: int):
        super().__init__()
        self.initial_channels = dense_size // initial_size**2
        self.initial_size = initial_size
        self.dense = nn.Linear(latent_dim, dense_size)
        self.dense_activation = get_activation(activation)
        layers: list[nn.Module] = []
        in_channels = self.initial_channels
        # Exactly double the side, as Keras' 'same' Conv2DTranspose(strides=2): (in - 1)·2 - 2p + k + op = 2·in
        # (kernel 3: p 1, op 1; kernel 4, DCGAN's: p 1, op 0; kernel 5: p 2, op 1).
        padding = (kernel_size - 1) // 2
        output_padding = 2 + 2 * padding - kernel_size
        for channels in filters:
            layers.append(nn.ConvTranspose2d(in_channels, channels, kernel_size, stride=2, padding=padding,
                                             output_padding=output_padding))
            if batch_norm:
                layers.append(nn.BatchNorm2d(channels))
            layers.append(get_activation(activation))
            in_channels = channels
        self.upsample = nn.Sequential(*layers)
        self.to_pixels = nn.Conv2d(in_channels, out_channels, output_kernel_size,
                                   padding=conv_padding(output_kernel_size, 1, "same"))

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        hidden = self.dense_activation(self.dense(latents))
        hidden = hidden.view(len(latents), self.initial_channels, self.initial_size, self.initial_size)
        return self.to_pixels(self.upsample(hidden))


def apply_output_activation(logits: torch.Tensor, name: str) -> torch.Tensor:
    return torch.sigmoid(logits) if name == "sigmoid" else torch.tanh(logits)
