"""The Task 3 GAN as a transformers model: ``GANModel`` holds a ``generator`` and a ``discriminator``.

* ``model.generate(num_images, seed=...)`` → images in [0, 1], shape (N, C, H, W) (PIL on request);
* ``model.interpolate(start, end, steps)`` → images along the line between two latents or two seeds;
* ``model(latents=..., pixel_values=...)`` → :class:`GANOutput` with the generated images, the
  discriminator's scores and, when real ``pixel_values`` are given, both least-squares losses.

The training step (``tinyvision.tasks.generative.GANStep``) calls the two players and the pure loss
functions below directly, one optimizer each. The building blocks (:class:`ConvDownsampler`,
:class:`ConvDecoder`, :class:`LatentImageGeneratorMixin`) are shared with ``modeling_vae``. This file
imports nothing from ``tinyvision`` (trust_remote_code).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn
from transformers.utils import ModelOutput

from .configuration_gan import GANConfig
from .layers import GaussianNoise, check_pixel_values, conv_padding, get_activation
from .modeling_classifier import TinyVisionPreTrainedModel


# ----------------------------------------------------------------------------- pure functions
def lsgan_discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor, real_label: float = 1.0,
                             fake_label: float = 0.0) -> torch.Tensor:
    """Least-squares discriminator loss as Keras computes ``mse`` on the concatenated real + fake batch.

    ``mean((D(x) - real_label)²)`` over real and ``mean((D(G(z)) - fake_label)²)`` over fake, averaged
    over all real and fake scores together (equal halves: the mean of the two means).
    """
    real_errors = (real_scores.float() - real_label).pow(2).flatten()
    fake_errors = (fake_scores.float() - fake_label).pow(2).flatten()
    return torch.cat([real_errors, fake_errors]).mean()


def lsgan_generator_loss(fake_scores: torch.Tensor, real_label: float = 1.0) -> torch.Tensor:
    """Least-squares generator loss: ``mean((D(G(z)) - real_label)²)`` (the generator wants 'real')."""
    return (fake_scores.float() - real_label).pow(2).mean()


def to_unit_range(images: torch.Tensor, pixel_range: Sequence[float]) -> torch.Tensor:
    """Images in ``pixel_range`` (e.g. (-1, 1)) → [0, 1], clamped."""
    low, high = pixel_range
    return ((images - low) / (high - low)).clamp(0.0, 1.0)


def from_unit_range(images: torch.Tensor, pixel_range: Sequence[float]) -> torch.Tensor:
    """Images in [0, 1] → ``pixel_range``."""
    low, high = pixel_range
    return images * (high - low) + low


def interpolate_latents(start: torch.Tensor, end: torch.Tensor, steps: int, method: str = "linear") -> torch.Tensor:
    """``steps`` latents from ``start`` to ``end`` (both included): linear (the seed's Figure 14) or slerp."""
    if steps < 2:
        raise ValueError(f"`steps` must be at least 2 (the two endpoints), got {steps}")
    if start.shape != end.shape or start.dim() != 1:
        raise ValueError(f"start and end must be latent vectors of one shape, got {tuple(start.shape)} and "
                         f"{tuple(end.shape)}")
    weights = torch.linspace(0.0, 1.0, steps, dtype=torch.float64)
    start64, end64 = start.double(), end.double()
    if method == "linear":
        path = (1 - weights)[:, None] * start64 + weights[:, None] * end64
    elif method == "slerp":
        cosine = torch.dot(start64, end64) / (start64.norm() * end64.norm()).clamp_min(1e-12)
        omega = torch.arccos(cosine.clamp(-1.0, 1.0))
        if omega.abs() < 1e-6:  # (anti)parallel directions: slerp degenerates to the line
            path = (1 - weights)[:, None] * start64 + weights[:, None] * end64
        else:
            path = (torch.sin((1 - weights) * omega)[:, None] * start64
                    + torch.sin(weights * omega)[:, None] * end64) / torch.sin(omega)
    else:
        raise ValueError(f"`method` must be 'linear' or 'slerp', got {method!r}")
    path[0], path[-1] = start64, end64  # exact endpoints
    return path.to(start.dtype)


# -------------------------------------------------------------------------------- the networks
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


class Generator(nn.Module):
    """Latents (N, latent_dim) → images (N, C, H, W) in the config's ``pixel_range``."""

    def __init__(self, config: GANConfig):
        super().__init__()
        self.output_activation = config.output_activation
        self.decoder = ConvDecoder(
            config.latent_dim, config.generator_dense_size, config.initial_size, config.generator_filters,
            config.generator_kernel_size, config.generator_activation, batch_norm=config.generator_batch_norm,
            out_channels=config.num_channels, output_kernel_size=config.output_kernel_size,
        )

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        return apply_output_activation(self.decoder(latents), self.output_activation)


class Discriminator(nn.Module):
    """Images in the config's ``pixel_range`` → one unbounded score each (N, 1): ~1 real, ~0 fake."""

    def __init__(self, config: GANConfig):
        super().__init__()
        self.features = ConvDownsampler(
            config.num_channels, config.image_size, config.discriminator_filters, config.discriminator_kernel_size,
            config.discriminator_activation, negative_slope=config.leaky_relu_slope,
            noise_std=config.discriminator_noise_std, batch_norm=config.discriminator_batch_norm,
        )
        self.head = nn.Linear(self.features.out_features, 1)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(pixel_values))


# ------------------------------------------------------------------------------- generation API
def _to_pil(images: torch.Tensor) -> list:
    from PIL import Image

    arrays = (images.detach().float().cpu().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return [Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array) for array in arrays]


@contextmanager
def eval_mode(module: nn.Module):
    """Every submodule in eval mode inside the block; each one's own mode restored after it (a training
    loop may have set the players' modes independently of the parent's)."""
    modes = [(child, child.training) for child in module.modules()]
    module.eval()
    try:
        yield module
    finally:
        for child, training in modes:
            child.training = training


class LatentImageGeneratorMixin:
    """``sample_latents`` / ``generate`` / ``interpolate`` for models that map N(0, I) latents to images.

    Subclasses implement ``_latents_to_images(latents)`` → images in [0, 1]. Latents are drawn on the CPU
    from a ``torch.Generator`` seeded with ``seed``, so a seed gives the same images on every device.
    """

    def sample_latents(self, num_images: int, *, seed: int | None = None) -> torch.Tensor:
        if num_images < 1:
            raise ValueError(f"`num_images` must be at least 1, got {num_images}")
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        return torch.randn(num_images, self.config.latent_dim, generator=generator)

    def _as_latents(self, latents) -> torch.Tensor:
        latents = torch.as_tensor(latents, dtype=torch.float32)
        if latents.dim() == 1:
            latents = latents[None]
        if latents.dim() != 2 or latents.shape[1] != self.config.latent_dim:
            raise ValueError(f"latents must have shape (num_images, {self.config.latent_dim}) (config.latent_dim), "
                             f"got {tuple(latents.shape)}")
        return latents

    @torch.no_grad()
    def generate(self, num_images: int | None = None, *, seed: int | None = None, latents=None,
                 return_pil: bool = False, batch_size: int = 256):
        """Images from ``latents`` or from ``num_images`` latents drawn with ``seed``.

        Returns a float tensor (N, C, H, W) in [0, 1] on the model's device, or a list of PIL images
        with ``return_pil=True``. The model runs in eval mode (its training mode is restored).
        """
        if latents is None:
            if num_images is None:
                raise ValueError("give `num_images` (and optionally `seed`) or `latents`")
            latents = self.sample_latents(num_images, seed=seed)
        else:
            latents = self._as_latents(latents)
            if num_images is not None and num_images != len(latents):
                raise ValueError(f"num_images={num_images} but {len(latents)} latents were given")
        with eval_mode(self):
            device = next(self.parameters()).device
            images = torch.cat([
                self._latents_to_images(chunk.to(device)).float() for chunk in latents.split(batch_size)
            ])
        return _to_pil(images) if return_pil else images

    def latent_for(self, point) -> torch.Tensor:
        """A seed (int) → the latent ``generate(1, seed=seed)`` uses; a vector → itself."""
        if isinstance(point, int):
            return self.sample_latents(1, seed=point)[0]
        return self._as_latents(point)[0]

    def interpolate(self, start, end, steps: int = 10, *, method: str = "linear", return_pil: bool = False):
        """Images along the path between two latents (vectors) or two seeds (ints), endpoints included.

        ``interpolate(3, 7, 10)[0]`` equals ``generate(1, seed=3)[0]`` and ``[-1]`` equals ``generate(1, seed=7)[0]``.
        """
        path = interpolate_latents(self.latent_for(start), self.latent_for(end), steps, method)
        return self.generate(latents=path, return_pil=return_pil)


# ------------------------------------------------------------------------------------ the model
@dataclass
class GANOutput(ModelOutput):
    """``images`` are in the config's ``pixel_range`` (what the discriminator sees); the losses need
    real ``pixel_values``; ``loss`` is their sum (a summary: each player minimises its own)."""

    loss: torch.Tensor | None = None
    discriminator_loss: torch.Tensor | None = None
    generator_loss: torch.Tensor | None = None
    images: torch.Tensor | None = None
    fake_scores: torch.Tensor | None = None
    real_scores: torch.Tensor | None = None
    latents: torch.Tensor | None = None


class GANModel(LatentImageGeneratorMixin, TinyVisionPreTrainedModel):
    """The seed's least-squares GAN: ``generator`` (latents → images) and ``discriminator`` (images → score)."""

    config_class = GANConfig
    main_input_name = "latents"

    def __init__(self, config: GANConfig):
        super().__init__(config)
        self.generator = Generator(config)
        self.discriminator = Discriminator(config)
        self.post_init()

    def _latents_to_images(self, latents: torch.Tensor) -> torch.Tensor:
        return to_unit_range(self.generator(latents), self.config.pixel_range)

    def forward(self, latents: torch.Tensor | None = None, pixel_values: torch.Tensor | None = None,
                **kwargs) -> GANOutput:
        """Generate from ``latents`` (default: N(0, I), one per real image) and score them; with real
        ``pixel_values`` (in ``pixel_range``: the image processor's output) also score those and return
        both least-squares losses."""
        config = self.config
        if pixel_values is not None:
            check_pixel_values(pixel_values, config.num_channels, config.image_size)
        if latents is None:
            if pixel_values is None:
                raise ValueError("give `latents`, real `pixel_values`, or both")
            latents = torch.randn(len(pixel_values), config.latent_dim, device=pixel_values.device)
        latents = self._as_latents(latents).to(next(self.parameters()).device)
        images = self.generator(latents)
        fake_scores = self.discriminator(images)
        output = GANOutput(images=images, fake_scores=fake_scores, latents=latents)
        if pixel_values is not None:
            output.real_scores = self.discriminator(pixel_values)
            output.discriminator_loss = lsgan_discriminator_loss(output.real_scores, fake_scores, config.real_label,
                                                                 config.fake_label)
            output.generator_loss = lsgan_generator_loss(fake_scores, config.real_label)
            output.loss = output.discriminator_loss + output.generator_loss
        return output
