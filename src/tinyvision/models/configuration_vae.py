"""Configuration of the Task 3 VAE: the seed's encoder and decoder for 64×64 RGB cat faces.

The seed's table (read as explained in ``configuration_gan``): encoder = 5 × Conv2D(kernel 3, stride 2,
128 filters, 'same') → flatten (2·2·128 = 512) → z_mean = Dense(32) and z_log_var = Dense(32) (the
"Dense(O:64)" of the encoder's cell = those two heads together); decoder = the GAN's generator:
Dense(1024) → reshape 256 × 2 × 2 → 5 × ConvTranspose2D(kernel 3, stride 2, 128) → Conv2D(kernel 3, 3).
Activations are ReLU (the text reserves LeakyReLU and the Gaussian noise for the discriminator).

Loss (the seed names none for the VAE; this follows Géron's Keras VAE, which the seed builds on): the
per-image negative ELBO divided by the number of pixel values D = C·H·W,

    loss = reconstruction_loss + kl_weight · KL(q(z|x) ‖ N(0, I)) / D

with ``reconstruction_loss`` the mean over the D values of the binary cross-entropy between the
decoder's sigmoid output and the image in [0, 1] (``"bce"``, a Bernoulli likelihood: the exact ELBO
for ``kl_weight`` 1), their squared error (``"mse"``), or the Gaussian negative log-likelihood
``0.5·log(2πσ²) + (x - x̂)² / (2σ²)`` (``"gaussian"``), averaged over the batch. The Gaussian's σ is
``reconstruction_std``, or when that is None the σ that minimises the loss for the batch, σ² = its mean squared
error (the "calibrated decoder" of σ-VAE, Rybkin et al. 2021): the weight of the squared error against the
KL then follows how well the decoder already reconstructs, instead of the Bernoulli's fixed one, which is what
makes BCE samples blurry.
"""

from __future__ import annotations

from collections.abc import Sequence

from transformers import PretrainedConfig

from .layers import (
    ACTIVATIONS,
    ConvDecoderFieldsMixin,
    check_choice,
    check_non_negative,
    check_positive_ints,
    check_stride2_kernel,
)

RECONSTRUCTION_LOSSES = ("bce", "mse", "gaussian")


class VAEConfig(ConvDecoderFieldsMixin, PretrainedConfig):
    r"""The seed's VAE (module docstring: how its table is read and which loss is used).

    Args:
        image_size, num_channels: the images (64×64 RGB cat faces).
        latent_dim: size of z (32: z_m and z_s are Dense(O:32) in the table).
        encoder_filters, encoder_kernel_size: the stride-2 convolutions (5 × 128, kernel 3).
        encoder_activation: their activation (relu).
        decoder_dense_size, decoder_filters, decoder_kernel_size, decoder_activation, decoder_batch_norm,
            output_kernel_size, output_activation: the decoder, as the GAN's ``generator_*`` fields.
        reconstruction_loss: "bce" (per-pixel binary cross-entropy; needs the sigmoid output), "mse" or
            "gaussian" (negative log-likelihood with standard deviation ``reconstruction_std``).
        reconstruction_std: σ of the "gaussian" loss in [0, 1] pixel units; None (default): the batch's
            root-mean-square error, the σ that minimises the loss (σ-VAE's calibrated decoder).
        kl_weight: weight of KL / D in the loss (1: the ELBO; >1 a β-VAE).
        initializer: kernel init with zero biases (glorot_uniform, Keras' default).
    """

    model_type = "tinyvision_vae"
    _decoder_prefix = "decoder"

    def __init__(
        self,
        *,
        image_size: int = 64,
        num_channels: int = 3,
        latent_dim: int = 32,
        encoder_filters: Sequence[int] = (128, 128, 128, 128, 128),
        encoder_kernel_size: int = 3,
        encoder_activation: str = "relu",
        decoder_dense_size: int = 1024,
        decoder_filters: Sequence[int] = (128, 128, 128, 128, 128),
        decoder_kernel_size: int = 3,
        decoder_activation: str = "relu",
        decoder_batch_norm: bool = False,
        output_kernel_size: int = 3,
        output_activation: str = "sigmoid",
        reconstruction_loss: str = "bce",
        reconstruction_std: float | None = None,
        kl_weight: float = 1.0,
        initializer: str = "glorot_uniform",
        **kwargs,
    ):
        self.image_size = image_size
        self.num_channels = num_channels
        self.latent_dim = latent_dim
        self.encoder_filters = list(encoder_filters)
        self.encoder_kernel_size = encoder_kernel_size
        self.encoder_activation = encoder_activation
        self.decoder_dense_size = decoder_dense_size
        self.decoder_filters = list(decoder_filters)
        self.decoder_kernel_size = decoder_kernel_size
        self.decoder_activation = decoder_activation
        self.decoder_batch_norm = bool(decoder_batch_norm)
        self.output_kernel_size = output_kernel_size
        self.output_activation = output_activation
        self.reconstruction_loss = reconstruction_loss
        self.reconstruction_std = reconstruction_std
        self.kl_weight = kl_weight
        self.initializer = initializer
        super().__init__(**kwargs)
        self._check_image()
        self._check_decoder()
        check_positive_ints("encoder_filters", self.encoder_filters, allow_empty=False)
        check_positive_ints("encoder_kernel_size", [self.encoder_kernel_size])
        check_stride2_kernel("encoder_kernel_size", self.encoder_kernel_size)
        check_choice("encoder_activation", self.encoder_activation, ACTIVATIONS)
        check_choice("reconstruction_loss", self.reconstruction_loss, RECONSTRUCTION_LOSSES)
        check_non_negative("kl_weight", self.kl_weight)
        if self.reconstruction_std is not None and self.reconstruction_loss != "gaussian":
            raise ValueError("`reconstruction_std` is the σ of reconstruction_loss='gaussian', got it with "
                             f"{self.reconstruction_loss!r}")
        if self.reconstruction_std is not None and not self.reconstruction_std > 0:
            raise ValueError(f"`reconstruction_std` must be > 0 or None (calibrated per batch), "
                             f"got {self.reconstruction_std!r}")
        if self.reconstruction_loss == "bce" and self.output_activation != "sigmoid":
            raise ValueError(
                "`reconstruction_loss` 'bce' needs `output_activation` 'sigmoid' (a Bernoulli mean in [0, 1]), "
                f"got {self.output_activation!r}; use reconstruction_loss='mse' with tanh"
            )
