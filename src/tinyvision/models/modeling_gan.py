"""The Task 3 GAN as a transformers model: ``GANModel`` holds a ``generator`` and a ``discriminator``.

* ``model.generate(num_images, seed=...)`` → images in [0, 1], shape (N, C, H, W) (PIL on request);
* ``model.interpolate(start, end, steps)`` → images along the line between two latents or two seeds;
* ``model(latents=..., pixel_values=...)`` → :class:`GANOutput` with the generated images, the
  discriminator's scores and, when real ``pixel_values`` are given, both least-squares losses.

The training step (``tinyvision.tasks.generative.GANStep``) calls the two players and the pure loss
functions below directly, one optimizer each. The building blocks it shares with the VAE live in the
shared modules: ``ConvDownsampler`` and ``ConvDecoder`` in ``layers``, ``LatentImageGeneratorMixin`` (the
generation API) in ``modeling_utils``. This file imports nothing from ``tinyvision`` (trust_remote_code).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers.utils import ModelOutput

from .configuration_gan import GANConfig
from .layers import ConvDecoder, ConvDownsampler, apply_output_activation, check_pixel_values
from .modeling_utils import LatentImageGeneratorMixin, TinyVisionPreTrainedModel, to_unit_range


# ----------------------------------------------------------------------------- pure functions
# Each loss is a mean over the batch, or with ``per_example=True`` one value per example (the evaluation's
# per-example metrics): for the discriminator, example i's real and fake terms averaged (equal batches),
# whose mean is the batch loss.
def _real_and_fake(real_errors: torch.Tensor, fake_errors: torch.Tensor, per_example: bool) -> torch.Tensor:
    real_errors, fake_errors = real_errors.flatten(), fake_errors.flatten()
    if per_example:
        return (real_errors + fake_errors) / 2
    return torch.cat([real_errors, fake_errors]).mean()


def lsgan_discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor, real_label: float = 1.0,
                             fake_label: float = 0.0, per_example: bool = False) -> torch.Tensor:
    """Least-squares discriminator loss as Keras computes ``mse`` on the concatenated real + fake batch.

    ``mean((D(x) - real_label)²)`` over real and ``mean((D(G(z)) - fake_label)²)`` over fake, averaged
    over all real and fake scores together (equal halves: the mean of the two means).
    """
    return _real_and_fake((real_scores.float() - real_label).pow(2), (fake_scores.float() - fake_label).pow(2),
                          per_example)


def lsgan_generator_loss(fake_scores: torch.Tensor, real_label: float = 1.0, per_example: bool = False) -> torch.Tensor:
    """Least-squares generator loss: ``mean((D(G(z)) - real_label)²)`` (the generator wants 'real')."""
    errors = (fake_scores.float() - real_label).pow(2).flatten()
    return errors if per_example else errors.mean()


def hinge_discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor,
                             per_example: bool = False) -> torch.Tensor:
    """Hinge loss: ``relu(1 - D(x))`` over real and ``relu(1 + D(G(z)))`` over fake, one mean over both."""
    return _real_and_fake(torch.relu(1 - real_scores.float()), torch.relu(1 + fake_scores.float()), per_example)


def hinge_generator_loss(fake_scores: torch.Tensor, per_example: bool = False) -> torch.Tensor:
    """The hinge GAN's generator loss: ``-mean(D(G(z)))``."""
    losses = -fake_scores.float().flatten()
    return losses if per_example else losses.mean()


def discriminator_loss(config: GANConfig, real_scores: torch.Tensor, fake_scores: torch.Tensor,
                       per_example: bool = False) -> torch.Tensor:
    """The discriminator's loss of ``config.loss_type``."""
    if config.loss_type == "hinge":
        return hinge_discriminator_loss(real_scores, fake_scores, per_example)
    return lsgan_discriminator_loss(real_scores, fake_scores, config.real_label, config.fake_label, per_example)


def generator_loss(config: GANConfig, fake_scores: torch.Tensor, per_example: bool = False) -> torch.Tensor:
    """The generator's loss of ``config.loss_type``."""
    if config.loss_type == "hinge":
        return hinge_generator_loss(fake_scores, per_example)
    return lsgan_generator_loss(fake_scores, config.real_label, per_example)


# -------------------------------------------------------------------------------- the networks
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
        both losses (``config.loss_type``)."""
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
            output.discriminator_loss = discriminator_loss(config, output.real_scores, fake_scores)
            output.generator_loss = generator_loss(config, fake_scores)
            output.loss = output.discriminator_loss + output.generator_loss
        return output
