"""Shared fixtures: small datasets made on the spot (tests never need ../shared or the Hub)."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

LABELS = ["left", "middle", "right", "top"]
ROOT = Path(__file__).resolve().parents[1]


def load_module(name: str, path: Path):
    """Import a file that is not in a package (a benchmark, the Space's app) as module ``name``."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def accelerate_launch(script: str, args, cwd, processes: int = 1, timeout: int = 600):
    """Run ``accelerate launch scripts/<script> args`` on the CPU as a user would, offline.

    Several processes get a port of their own, so a rendezvous never collides with a port
    an earlier launch left in TIME_WAIT."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ACCELERATE_USE_CPU": "1"}
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--num_machines", "1",
                "--mixed_precision", "no", "--dynamo_backend", "no"]
    if processes > 1:
        launcher += ["--multi_gpu", "--num_processes", str(processes), "--main_process_port", str(_free_port())]
    else:
        launcher += ["--num_processes", "1"]
    return subprocess.run(launcher + [str(ROOT / "scripts" / script), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd, env=env)


def pattern_images(num_examples: int, size: int = 12, channels: int = 1, seed: int = 0):
    """A learnable toy task: class k puts a bright blob in region k of a noisy image."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(LABELS), num_examples)
    images = rng.integers(0, 60, (num_examples, size, size, channels), dtype=np.uint8)
    half = size // 2
    regions = [(slice(None), slice(0, half)), (slice(half // 2, half + half // 2), slice(half // 2, half + half // 2)),
               (slice(None), slice(half, None)), (slice(0, half), slice(None))]
    for image, label in zip(images, labels):
        rows, cols = regions[label]
        image[rows, cols] = np.clip(image[rows, cols].astype(int) + 150, 0, 255).astype(np.uint8)
    return images, labels


def write_image_dataset(folder, *, num_train=96, num_test=40, size=12, channels=1, image_column="image"):
    """A Hub-style parquet folder (train/test) with an Image column and a ClassLabel column."""
    import datasets

    features = datasets.Features({image_column: datasets.Image(), "label": datasets.ClassLabel(names=LABELS)})
    for split, n, seed in (("train", num_train, 0), ("test", num_test, 1)):
        images, labels = pattern_images(n, size, channels, seed)
        rows = []
        for image in images:
            buffer = io.BytesIO()
            Image.fromarray(image[..., 0] if channels == 1 else image).save(buffer, format="PNG")
            rows.append({"bytes": buffer.getvalue(), "path": None})
        dataset = datasets.Dataset.from_dict({image_column: rows, "label": labels.tolist()}, features=features)
        dataset.to_parquet(str(folder / f"{split}-00000-of-00001.parquet"))
    return folder


@pytest.fixture(scope="session")
def tiny_dataset_dir(tmp_path_factory):
    return write_image_dataset(tmp_path_factory.mktemp("tiny_gray"))


@pytest.fixture(scope="session")
def tiny_rgb_dataset_dir(tmp_path_factory):
    return write_image_dataset(tmp_path_factory.mktemp("tiny_rgb"), channels=3, image_column="img")


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)
    yield


# --------------------------------------------------------------- code that runs without tinyvision
_WITHOUT_TINYVISION = '''
import importlib.abc
import sys


class BlockTinyvision(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "tinyvision" or name.startswith("tinyvision."):
            raise ImportError("tinyvision is not installed here")


sys.meta_path.insert(0, BlockTinyvision())
try:
    import tinyvision  # noqa: F401
    raise SystemExit("tinyvision should not be importable")
except ImportError:
    pass
'''


def run_without_tinyvision(body: str, *args, cwd, timeout: int = 300):
    """Run ``body`` (a script whose last stdout line is JSON) in a fresh interpreter where importing
    tinyvision fails, offline, with ``args`` as ``sys.argv[1:]``; return the decoded JSON.

    This is how a user without the library meets a released folder: only ``trust_remote_code``.
    """
    import json
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    script = Path(cwd) / "without_tinyvision.py"
    script.write_text(_WITHOUT_TINYVISION + textwrap.dedent(body))
    env = {"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "HOME": str(cwd), "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, str(script), *map(str, args)], capture_output=True, text=True,
                            cwd=cwd, env=env, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
