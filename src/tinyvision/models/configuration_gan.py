"""Configuration of the Task 3 GAN: the seed's generator and discriminator for 64×64 RGB cat faces.

How the seed's (garbled) architecture table is read. Its three cells run together as

    Discriminator | Encoder | Generator/Decoder
    5 × Conv2D(K:3,S:2,F:128) Dense(O:1) z_m: Dense(O:32) and z_s: Dense(O:32) | 5 × Conv2D(K:3,S:2,F:128)
    Dense(O:64) | Dense(O:1024) 5 × ConvTran2D(K:3,S:2,F:128) Conv2D(K:3,F:3)

* discriminator = 5 × Conv2D(kernel 3, stride 2, 128 filters, 'same') → flatten → Dense(1), linear:
  64 → 32 → 16 → 8 → 4 → 2, so the Dense sees 2·2·128 = 512 features;
* encoder (the VAE's) = the same 5 convolutions → z_mean = Dense(32) and z_log_var = Dense(32); the
  "Dense(O:64)" in the encoder's cell is read as those two heads together (2 × 32), which is how a Keras
  encoder often writes them;
* generator = decoder = Dense(1024) → reshape to 256 × 2 × 2 (the only square shape from which five
  stride-2 transposed convolutions reach 64) → 5 × ConvTranspose2D(kernel 3, stride 2, 128 filters,
  'same': each doubles the side) → Conv2D(kernel 3, 3 filters) → the output activation;
* the GAN's noise size is not in the table: it is 32 here, the VAE's latent size, since one
  Generator/Decoder column serves both models ("the default architecture of the two models is very
  similar");
* the text adds LeakyReLU(α = 0.3) "instead of ReLU" in the discriminator (so ReLU everywhere else) and
  Gaussian noise (σ = 0.01) "after every layer (except for the input one)": after each of the five
  convolutions' activations, not on the input image nor on the Dense(1) output; the noise is active in
  training mode only, as Keras' ``GaussianNoise``;
* "MSE as loss function": a least-squares GAN with Keras-style labels (real 1, fake 0; see
  ``modeling_gan.lsgan_discriminator_loss``).

The table names no output activation and no normalisation: the default is a sigmoid (images in
[0, 1], as Géron's Keras GANs and VAEs that the seed follows) and no batch norm; both are fields.

Beyond the seed (each off by default, each an ablation row in ``reports/task3``): ``ema_decay`` keeps an
exponential moving average of the generator's weights, which is what a trained model generates with;
``diffaugment`` applies differentiable colour / translation / cutout augmentation to every image the
discriminator sees, real and generated; ``loss_type`` "hinge" replaces the least-squares losses.
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

DIFFAUGMENT_OPS = ("color", "translation", "cutout")  # applied by tinyvision.data.augment.diff_augment
GAN_LOSSES = ("lsgan", "hinge")


class GANConfig(ConvDecoderFieldsMixin, PretrainedConfig):
    r"""The seed's GAN (module docstring: how its table is read). Defaults reproduce it.

    Args:
        image_size, num_channels: the images (64×64 RGB cat faces).
        latent_dim: size of the generator's input noise, N(0, I) (32: the table gives none; see above).
        generator_dense_size: width of the generator's first Dense layer (1024), reshaped to
            ``(generator_dense_size / s², s, s)`` with ``s = image_size / 2**len(generator_filters)``.
        generator_filters: filters of each stride-2 transposed convolution (5 × 128).
        generator_kernel_size: their kernel (3).
        generator_activation: activation after the Dense and each transposed convolution (relu).
        generator_batch_norm: BatchNorm2d before each of those activations (off in the seed).
        output_kernel_size: kernel of the final Conv2D to ``num_channels`` filters (3).
        output_activation: sigmoid (images in [0, 1]) or tanh (images in [-1, 1]).
        discriminator_filters: filters of each stride-2 convolution (5 × 128).
        discriminator_kernel_size: their kernel (3).
        discriminator_activation: their activation (leaky_relu).
        discriminator_batch_norm: BatchNorm2d after each convolution but the first, before its activation
            (DCGAN's discriminator; off in the seed). The training step then scores real and generated
            batches in separate forward passes, so that no batch mixes the two.
        leaky_relu_slope: LeakyReLU's negative slope, Keras' alpha (0.3).
        discriminator_noise_std: σ of the Gaussian noise added after each convolution in training (0.01;
            0 disables it).
        real_label, fake_label: least-squares targets of the discriminator (1 and 0); the generator aims
            at ``real_label``.
        initializer: kernel init with zero biases (glorot_uniform, Keras' default; see ``layers.py``).
        ema_decay: decay of the exponential moving average of the generator's weights kept during training
            (e.g. 0.999; 0 = none, the seed). When set, the saved ``generator`` holds the averaged weights;
            the raw ones live in the training checkpoints, for resuming.
        diffaugment: comma-separated DiffAugment ops applied to real and generated images wherever the
            discriminator scores them in training: any of "color", "translation", "cutout" ("" = none).
        loss_type: "lsgan" (the seed's least squares) or "hinge" (discriminator ``relu(1 - D(x)) +
            relu(1 + D(G(z)))``, generator ``-D(G(z))``; the labels are then unused).
    """

    model_type = "tinyvision_gan"
    _decoder_prefix = "generator"

    def __init__(
        self,
        *,
        image_size: int = 64,
        num_channels: int = 3,
        latent_dim: int = 32,  # not in the seed's table: the VAE's latent size (same Generator/Decoder)
        generator_dense_size: int = 1024,
        generator_filters: Sequence[int] = (128, 128, 128, 128, 128),
        generator_kernel_size: int = 3,
        generator_activation: str = "relu",
        generator_batch_norm: bool = False,
        output_kernel_size: int = 3,
        output_activation: str = "sigmoid",
        discriminator_filters: Sequence[int] = (128, 128, 128, 128, 128),
        discriminator_kernel_size: int = 3,
        discriminator_activation: str = "leaky_relu",
        discriminator_batch_norm: bool = False,
        leaky_relu_slope: float = 0.3,
        discriminator_noise_std: float = 0.01,
        real_label: float = 1.0,
        fake_label: float = 0.0,
        initializer: str = "glorot_uniform",
        ema_decay: float = 0.0,
        diffaugment: str = "",
        loss_type: str = "lsgan",
        **kwargs,
    ):
        self.image_size = image_size
        self.num_channels = num_channels
        self.latent_dim = latent_dim
        self.generator_dense_size = generator_dense_size
        self.generator_filters = list(generator_filters)
        self.generator_kernel_size = generator_kernel_size
        self.generator_activation = generator_activation
        self.generator_batch_norm = bool(generator_batch_norm)
        self.output_kernel_size = output_kernel_size
        self.output_activation = output_activation
        self.discriminator_filters = list(discriminator_filters)
        self.discriminator_kernel_size = discriminator_kernel_size
        self.discriminator_activation = discriminator_activation
        self.discriminator_batch_norm = bool(discriminator_batch_norm)
        self.leaky_relu_slope = leaky_relu_slope
        self.discriminator_noise_std = discriminator_noise_std
        self.real_label = float(real_label)
        self.fake_label = float(fake_label)
        self.initializer = initializer
        self.ema_decay = float(ema_decay)
        self.diffaugment = ",".join(op.strip() for op in diffaugment.split(",") if op.strip()) \
            if isinstance(diffaugment, str) else ",".join(diffaugment)
        self.loss_type = loss_type
        super().__init__(**kwargs)
        self._check_image()
        self._check_decoder()
        check_positive_ints("discriminator_filters", self.discriminator_filters, allow_empty=False)
        check_positive_ints("discriminator_kernel_size", [self.discriminator_kernel_size])
        check_stride2_kernel("discriminator_kernel_size", self.discriminator_kernel_size)
        check_choice("discriminator_activation", self.discriminator_activation, ACTIVATIONS)
        check_non_negative("leaky_relu_slope", self.leaky_relu_slope)
        check_non_negative("discriminator_noise_std", self.discriminator_noise_std)
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"`ema_decay` must be in [0, 1) (0: no moving average), got {self.ema_decay}")
        for op in filter(None, self.diffaugment.split(",")):
            check_choice("diffaugment", op, DIFFAUGMENT_OPS)
        check_choice("loss_type", self.loss_type, GAN_LOSSES)
        if self.real_label == self.fake_label:
            raise ValueError(f"`real_label` and `fake_label` must differ, both are {self.real_label}")
