"""The Task 3 VAE as a transformers model: ``VAEModel`` holds an ``encoder`` and a ``decoder``.

* ``model(pixel_values)`` → :class:`VAEOutput` with ``loss`` (= ``reconstruction_loss`` + ``kl_weight`` ·
  ``kl_loss``, see ``configuration_vae``), the reconstruction in [0, 1] and the posterior;
* ``encode(pixel_values)`` → (z_mean, z_log_var); ``decode(latents)`` → images in [0, 1];
  ``reconstruct(images)`` → decode(z_mean) of tensors or PIL images (through the image processor);
* ``generate`` / ``interpolate`` as the GAN's (``modeling_utils.LatentImageGeneratorMixin``: prior samples
  z ~ N(0, I) through the decoder).

The losses are the pure functions below. This file imports nothing from ``tinyvision`` (trust_remote_code).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F
from transformers.utils import ModelOutput

from .configuration_vae import VAEConfig
from .image_processing_tinyvision import TinyVisionImageProcessor
from .layers import ConvDecoder, ConvDownsampler, apply_output_activation, check_pixel_values
from .modeling_utils import LatentImageGeneratorMixin, TinyVisionPreTrainedModel, eval_mode, to_pil, to_unit_range


# ----------------------------------------------------------------------------- pure functions
def gaussian_kl(z_mean: torch.Tensor, z_log_var: torch.Tensor) -> torch.Tensor:
    """Per-example KL(N(z_mean, exp(z_log_var)) ‖ N(0, I)), summed over the latent dimensions:
    ``-0.5 · Σ (1 + log σ² - μ² - σ²)``."""
    z_mean, z_log_var = z_mean.float(), z_log_var.float()
    return -0.5 * (1 + z_log_var - z_mean.pow(2) - z_log_var.exp()).sum(dim=-1)


MIN_VARIANCE = 1e-6  # floor of the calibrated Gaussian's σ² (a batch reconstructed exactly)


def reconstruction_error(outputs: torch.Tensor, targets: torch.Tensor, kind: str = "bce",
                         from_logits: bool = True, std: float | None = None) -> torch.Tensor:
    """Per-example mean over all pixel values of the binary cross-entropy, squared error or Gaussian NLL.

    ``targets`` are images in [0, 1]. For "bce", ``outputs`` are the decoder's logits
    (``from_logits=True``, numerically stable) or probabilities; for "mse" and "gaussian", images in
    [0, 1] (or logits, passed through a sigmoid first). "gaussian" is ``0.5·log(2πσ²) + (x - x̂)² / (2σ²)``
    with σ = ``std``, or for ``std`` None the batch's root-mean-square error (detached: at that σ the
    loss's derivative in σ is 0, so the gradient is the same as through it).
    """
    outputs, targets = outputs.float(), targets.float()
    if kind == "bce":
        if from_logits:
            errors = F.binary_cross_entropy_with_logits(outputs, targets, reduction="none")
        else:
            errors = F.binary_cross_entropy(outputs, targets, reduction="none")
    elif kind in ("mse", "gaussian"):
        errors = (torch.sigmoid(outputs) if from_logits else outputs).sub(targets).pow(2)
    else:
        raise ValueError(f"`kind` must be 'bce', 'mse' or 'gaussian', got {kind!r}")
    per_example = errors.flatten(1).mean(dim=1)
    if kind != "gaussian":
        return per_example
    variance = per_example.detach().mean().clamp_min(MIN_VARIANCE) if std is None else \
        torch.tensor(float(std) ** 2, device=per_example.device)
    return per_example / (2 * variance) + 0.5 * torch.log(2 * math.pi * variance)


def vae_loss(reconstruction: torch.Tensor, kl: torch.Tensor, num_values: int, kl_weight: float = 1.0) -> torch.Tensor:
    """Per-example loss: mean per-value reconstruction error + ``kl_weight`` · KL / ``num_values``
    (the negative ELBO per pixel value, as Géron's Keras VAE: BCE per pixel plus KL / 784 there)."""
    return reconstruction + kl_weight * kl / num_values


def reparameterize(z_mean: torch.Tensor, z_log_var: torch.Tensor) -> torch.Tensor:
    """z = μ + σ · ε with ε ~ N(0, I)."""
    return z_mean + torch.exp(0.5 * z_log_var) * torch.randn_like(z_mean)


# ------------------------------------------------------------------------------------ the model
class Encoder(nn.Module):
    """Images in the config's ``pixel_range`` → (z_mean, z_log_var), each (N, latent_dim)."""

    def __init__(self, config: VAEConfig):
        super().__init__()
        self.features = ConvDownsampler(config.num_channels, config.image_size, config.encoder_filters,
                                        config.encoder_kernel_size, config.encoder_activation)
        self.z_mean = nn.Linear(self.features.out_features, config.latent_dim)
        self.z_log_var = nn.Linear(self.features.out_features, config.latent_dim)

    def forward(self, pixel_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.features(pixel_values)
        return self.z_mean(features), self.z_log_var(features)


@dataclass
class VAEOutput(ModelOutput):
    """Batch means: ``loss`` = ``reconstruction_loss`` (per pixel value) + kl_weight · ``kl_loss`` / (C·H·W),
    with ``kl_loss`` the KL in nats per image. ``reconstruction`` is in [0, 1]; ``latents`` the z decoded."""

    loss: torch.Tensor | None = None
    reconstruction_loss: torch.Tensor | None = None
    kl_loss: torch.Tensor | None = None
    reconstruction: torch.Tensor | None = None
    z_mean: torch.Tensor | None = None
    z_log_var: torch.Tensor | None = None
    latents: torch.Tensor | None = None


class VAEModel(LatentImageGeneratorMixin, TinyVisionPreTrainedModel):
    """The seed's VAE: ``encoder`` (images → q(z|x)) and ``decoder`` (z → images)."""

    config_class = VAEConfig

    def __init__(self, config: VAEConfig):
        super().__init__(config)
        self.encoder = Encoder(config)
        self.decoder = ConvDecoder(
            config.latent_dim, config.decoder_dense_size, config.initial_size, config.decoder_filters,
            config.decoder_kernel_size, config.decoder_activation, batch_norm=config.decoder_batch_norm,
            out_channels=config.num_channels, output_kernel_size=config.output_kernel_size,
        )
        self.post_init()

    @property
    def image_processor(self) -> TinyVisionImageProcessor:
        """The processor that turns any image into this model's ``pixel_values``."""
        config = self.config
        return TinyVisionImageProcessor(size={"height": config.image_size, "width": config.image_size},
                                        num_channels=config.num_channels, image_mean=config.image_mean,
                                        image_std=config.image_std)

    def encode(self, pixel_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``pixel_values`` (the image processor's output, in ``pixel_range``) → (z_mean, z_log_var)."""
        check_pixel_values(pixel_values, self.config.num_channels, self.config.image_size)
        return self.encoder(pixel_values)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Latents (N, latent_dim) → images in [0, 1] (the decoder's mean)."""
        logits = self.decoder(latents)
        return to_unit_range(apply_output_activation(logits, self.config.output_activation), self.config.pixel_range)

    _latents_to_images = decode

    @torch.no_grad()
    def reconstruct(self, images, *, sample: bool = False, return_pil: bool = False):
        """``decode(z_mean)`` (or of a posterior sample) of a ``pixel_values`` tensor, a PIL image or a list
        of images (converted with :attr:`image_processor`). Returns images in [0, 1] (or PIL)."""
        if not isinstance(images, torch.Tensor):
            images = self.image_processor(images, return_tensors="pt")["pixel_values"]
        with eval_mode(self):
            z_mean, z_log_var = self.encode(images.to(next(self.parameters()).device))
            reconstruction = self.decode(reparameterize(z_mean, z_log_var) if sample else z_mean).float()
        return to_pil(reconstruction) if return_pil else reconstruction

    def per_example_losses(self, pixel_values: torch.Tensor, sample: bool | None = None) -> tuple[dict, VAEOutput]:
        """Per-example ``loss``, ``reconstruction_loss`` and ``kl_loss`` (shape (N,)) and the batch output."""
        config = self.config
        z_mean, z_log_var = self.encode(pixel_values)
        sample = self.training if sample is None else sample
        latents = reparameterize(z_mean, z_log_var) if sample else z_mean
        logits = self.decoder(latents)
        targets = to_unit_range(pixel_values, config.pixel_range)
        if config.reconstruction_loss == "bce":
            reconstruction_loss = reconstruction_error(logits, targets, "bce", from_logits=True)
            reconstruction = torch.sigmoid(logits)
        else:
            reconstruction = to_unit_range(apply_output_activation(logits, config.output_activation),
                                           config.pixel_range)
            reconstruction_loss = reconstruction_error(reconstruction, targets, config.reconstruction_loss,
                                                       from_logits=False, std=config.reconstruction_std)
        kl_loss = gaussian_kl(z_mean, z_log_var)
        loss = vae_loss(reconstruction_loss, kl_loss, targets[0].numel(), config.kl_weight)
        losses = {"loss": loss, "reconstruction_loss": reconstruction_loss, "kl_loss": kl_loss}
        output = VAEOutput(loss=loss.mean(), reconstruction_loss=reconstruction_loss.mean(), kl_loss=kl_loss.mean(),
                           reconstruction=reconstruction, z_mean=z_mean, z_log_var=z_log_var, latents=latents)
        return losses, output

    def forward(self, pixel_values: torch.Tensor, sample: bool | None = None, **kwargs) -> VAEOutput:
        """Encode, sample z (in training mode, or when ``sample``; else z = z_mean), decode, and return
        the loss of ``configuration_vae`` with its two parts (batch means)."""
        return self.per_example_losses(pixel_values, sample)[1]
