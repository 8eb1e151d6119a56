"""The Gradio Space (spaces/tinyvision): every named endpoint through gradio_client, bad inputs, a burst of
32 concurrent requests, headless Chromium on every tab, and the Space card's front matter.

The models are tiny and made here (a briefly trained classifier; untrained clock readers, GAN and VAE, which
is all an API-shape test needs). The app listens on 127.0.0.1 on a free port; nothing leaves the machine.
"""

from __future__ import annotations

import importlib.util
import io
import math
import re
import shutil
import socket
import struct
import tempfile
import time
import zlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import LABELS, load_module, pattern_images
from PIL import Image

gradio = pytest.importorskip("gradio")
pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

ROOT = Path(__file__).resolve().parents[1]
SPACE = ROOT / "spaces" / "tinyvision"
CHROMIUM = "/usr/bin/chromium"
ENDPOINTS = ("/classify", "/classify_sketch", "/render_clock", "/read_clock", "/generate", "/interpolate",
             "/reconstruct")
CIFAR_LABELS = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
GEN_SIZE = 16  # side of the tiny GAN's / VAE's images


@pytest.fixture(scope="module")
def app():
    return load_module("tinyvision_space_app", SPACE / "app.py")


# ----------------------------------------------------------------------------------------- models
def _save_classifiers(root: Path, tiny_dataset_dir: Path) -> None:
    from tinyvision import CNNConfig, CNNForImageClassification, TinyVisionImageProcessor
    from tinyvision.tasks.classification import ClassifierArguments, train_classifier
    from tinyvision.training import TrainingArguments

    # A grayscale MLP trained for a few seconds on the learnable toy task (regions of a 12x12 image).
    train_classifier(
        ClassifierArguments(dataset_name=str(tiny_dataset_dir), model="mlp",
                            config_overrides='{"hidden_sizes": [32], "dropout": 0.0}'),
        TrainingArguments(output_dir=str(root / "fashion-mnist-mlp1"), num_train_epochs=8,
                          per_device_train_batch_size=8, optimizer="sgd", learning_rate=0.05, disable_tqdm=True,
                          seed=7, checkpoints_total_limit=1),
    )
    # An untrained colour CNN with CIFAR-10's labels (the 3-channel path and the CIFAR examples).
    torch.manual_seed(0)
    config = CNNConfig(image_size=16, num_channels=3, conv_filters=[4, 4, 4, 8, 8], fc_hidden_sizes=[8],
                       id2label=dict(enumerate(CIFAR_LABELS)))
    CNNForImageClassification(config).save_pretrained(root / "cifar10-cnn1")
    TinyVisionImageProcessor(size={"height": 16, "width": 16}, num_channels=3).save_pretrained(root / "cifar10-cnn1")


PHOTO_SIZE = 64  # the tiny photo reader's letterboxed input
PHOTO_READER = "photo reader (finds the dial)"
NEVER = 0.9999  # a detection_threshold no untrained detector reaches


def _save_clock_readers(root: Path) -> None:
    """Single-stage readers: the hybrid one in its slot, an angles one outside the slots (for the marker test);
    the two-stage photo reader in the "clock-reader" slot (always finding a dial: threshold 0) and, outside
    the slots, a copy that never finds one (threshold 0.9999: the config takes [0, 1))."""
    from tinyvision import (
        ClockPhotoReader,
        ClockPhotoReaderConfig,
        ClockReader,
        ClockReaderConfig,
        TinyVisionImageProcessor,
    )

    for folder, head in (("classic-angles", "angles"), ("clock-reader-hybrid", "hybrid")):
        torch.manual_seed(0)
        config = ClockReaderConfig(image_size=32, conv_filters=[4, 8], conv_kernel_sizes=[3, 3], conv_strides=[2, 1],
                                   pool_after=[True, True], fc_hidden_sizes=[16], head=head)
        ClockReader(config).save_pretrained(root / folder)
        TinyVisionImageProcessor(size={"height": 32, "width": 32}, num_channels=1).save_pretrained(root / folder)
    torch.manual_seed(0)
    config = ClockPhotoReaderConfig(
        image_size=PHOTO_SIZE, detector_size=32, detector_channels=[4, 4, 8, 8], detector_head_channels=8,
        reader={"image_size": 32, "num_channels": 1, "head": "angles", "angle_channels": True, "polar_rows": 8,
                "polar_cols": 32, "conv_filters": [4, 8], "conv_kernel_sizes": [3, 3], "conv_strides": [1, 1],
                "pool_after": [False, False], "fc_hidden_sizes": [8]})
    model = ClockPhotoReader(config).eval()
    with torch.no_grad():  # untrained, but with a dial of a plausible size and shape where its heatmap peaks
        last = model.detector.head[-1]
        last.weight[3:].zero_()
        last.bias[3:] = torch.tensor([math.log(0.15), 0.3, 0.1])  # radius 0.15 of the input; a slight ellipse
    processor = TinyVisionImageProcessor(size={"height": PHOTO_SIZE, "width": PHOTO_SIZE}, num_channels=1,
                                         letterbox=True)
    for folder, threshold in (("clock-reader", 0.0), ("photo-reader-never", NEVER)):
        model.config.detection_threshold = threshold
        model.save_pretrained(root / folder)
        processor.save_pretrained(root / folder)


def _has_family(family: str) -> bool:
    return importlib.util.find_spec(f"tinyvision.models.modeling_{family}") is not None


def _save_generators(root: Path) -> list[str]:
    """Tiny untrained GAN and VAE (16x16), for the families whose modules exist in this tinyvision."""
    saved = []
    if _has_family("gan"):
        from tinyvision import GANConfig, GANModel

        torch.manual_seed(0)
        GANModel(GANConfig(image_size=GEN_SIZE, latent_dim=8, generator_dense_size=64, generator_filters=[8, 8],
                           discriminator_filters=[8, 8])).save_pretrained(root / "cat-gan")
        saved.append("gan")
    if _has_family("vae"):
        from tinyvision import VAEConfig, VAEModel

        torch.manual_seed(0)
        VAEModel(VAEConfig(image_size=GEN_SIZE, latent_dim=8, decoder_dense_size=64, decoder_filters=[8, 8],
                           encoder_filters=[8, 8])).save_pretrained(root / "cat-vae")
        saved.append("vae")
    return saved


@pytest.fixture(scope="module")
def models(tmp_path_factory, tiny_dataset_dir):
    root = tmp_path_factory.mktemp("space_models")
    _save_classifiers(root, tiny_dataset_dir)
    _save_clock_readers(root)
    families = _save_generators(root)
    return SimpleNamespace(dir=root, families=families)


def _need(models, family: str) -> None:
    if family not in models.families:
        pytest.skip(f"tinyvision has no {family.upper()} model class yet (tinyvision.models.modeling_{family} "
                    "missing): its endpoints are not tested")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(app, models):
    demo = app.build_demo(models.dir, use_hub=False)
    port = _free_port()
    app.launch(demo, host="127.0.0.1", port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{port}/", demo=demo, registry=demo.tinyvision_registry)
    finally:
        demo.close()


def _quiet_downloads(monkeypatch, folder: Path) -> None:
    """gradio_client leaves an empty folder in the system temp dir per downloaded file; put them in ``folder``.
    (Only gradio_client's view of ``tempfile`` changes: the server, in this process, keeps the real one.)"""
    import gradio_client.client

    view = SimpleNamespace(gettempdir=lambda: str(folder), TemporaryDirectory=tempfile.TemporaryDirectory)
    monkeypatch.setattr(gradio_client.client, "tempfile", view)


@pytest.fixture(scope="module")
def client(server, tmp_path_factory):
    folder = tmp_path_factory.mktemp("gradio_client")
    with pytest.MonkeyPatch.context() as monkeypatch:
        _quiet_downloads(monkeypatch, folder)
        yield Client(server.url, verbose=False, download_files=str(folder))


# ------------------------------------------------------------------------------------------ files
def _png(path: Path, image: Image.Image) -> Path:
    image.save(path, format="PNG")
    return path


def _pattern_png(tmp_path: Path, index: int, seed: int = 5) -> tuple[Path, str]:
    images, labels = pattern_images(8, seed=seed)
    return _png(tmp_path / f"pattern{index}.png", Image.fromarray(images[index][..., 0])), LABELS[labels[index]]


def _bomb_png(path: Path, side: int = 50_000) -> Path:
    """A valid-looking PNG header that claims side × side pixels (2.5 gigapixels) with almost no data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


def _assert_top5(result, labels=None):
    assert isinstance(result, dict) and isinstance(result["label"], str)
    confidences = result["confidences"]
    assert 1 <= len(confidences) <= 5
    scores = [c["confidence"] for c in confidences]
    assert all(isinstance(s, float) and 0.0 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores, reverse=True) and sum(scores) <= 1.0 + 1e-6
    assert result["label"] == confidences[0]["label"]
    if labels is not None:
        assert {c["label"] for c in confidences} <= set(labels)


# ---------------------------------------------------------------------------------------- endpoints
def test_every_named_endpoint_is_served(client, models):
    named = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    expected = {"/classify", "/classify_sketch", "/render_clock", "/read_clock"}
    expected |= {"/generate", "/interpolate"} if models.families else set()
    expected |= {"/reconstruct"} if "vae" in models.families else set()
    assert expected <= set(named), sorted(named)


def test_classify_answers_top5_and_the_trained_model_is_right(client, tmp_path):
    correct = 0
    for index in range(8):
        path, label = _pattern_png(tmp_path, index)
        result = client.predict("Fashion-MNIST · MLP1", handle_file(str(path)), False, api_name="/classify")
        _assert_top5(result, LABELS)
        assert len(result["confidences"]) == len(LABELS)  # 4 classes: top-5 shows all 4
        correct += result["label"] == label
    assert correct >= 6, f"the trained toy classifier got only {correct}/8 right"


def test_classify_colour_model_on_a_cifar_example_and_invert(client):
    example = sorted((SPACE / "examples" / "cifar10").glob("*.png"))[3]
    result = client.predict("CIFAR-10 · CNN1", handle_file(str(example)), True, api_name="/classify")
    _assert_top5(result, CIFAR_LABELS)
    assert len(result["confidences"]) == 5


def test_classify_sketch(client, tmp_path):
    canvas = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    pixels = np.zeros((200, 200, 4), dtype=np.uint8)
    pixels[40:160, 90:110] = (0, 0, 0, 255)  # a vertical stroke
    canvas = Image.fromarray(pixels, "RGBA")
    layer = _png(tmp_path / "layer.png", canvas)
    background = _png(tmp_path / "background.png", Image.new("RGBA", (200, 200), (255, 255, 255, 255)))
    composite = _png(tmp_path / "composite.png",
                     Image.alpha_composite(Image.open(background), canvas))
    value = {"background": handle_file(str(background)), "layers": [handle_file(str(layer))],
             "composite": handle_file(str(composite))}
    _assert_top5(client.predict("Fashion-MNIST · MLP1", value, api_name="/classify_sketch"), LABELS)


def test_render_clock_then_read_clock(app, client, server):
    from tinyvision.metrics import common_sense_error

    image_path, set_time, dial_rotation = client.predict(4, 20, 90, 7, api_name="/render_clock")
    assert set_time == "4:20" and isinstance(dial_rotation, float)
    assert abs((dial_rotation - 90 + 180) % 360 - 180) < 15  # the slider's rotation (perspective bends it a bit)
    with Image.open(image_path) as image:
        assert image.format == "PNG" and image.size == (150, 150)
    headline, reading, overlay, heads = client.predict(handle_file(image_path), "angles (recommended)", set_time,
                                                       dial_rotation, True, api_name="/read_clock")
    assert isinstance(headline, str) and "The clock reads" in headline
    assert set(reading) >= {"hour", "minute", "time", "error_minutes", "set_time"}
    assert 0 <= reading["hour"] <= 11 and 0 <= reading["minute"] <= 59
    assert reading["time"] == f"{reading['hour']}:{reading['minute']:02d}"
    assert reading["error_minutes"] == common_sense_error(reading["hour"], reading["minute"], 4, 20)
    with Image.open(overlay) as picture:
        assert picture.mode == "RGB" and min(picture.size) >= 300
    readers = [entry for entry in server.registry.entries if entry.spec.family == "clock" and entry.ok]
    assert heads["headers"] == ["reader", "head", "time", "error (min)"]
    assert [row[1] for row in heads["data"]] == [app.reader_head(entry.model) for entry in readers] == ["angles",
                                                                                                      "hybrid"]
    assert [row[0] for row in heads["data"]] == [PHOTO_READER, "hybrid"]
    # both readers give a time (the photo reader here always finds a dial: its threshold is 0)
    for row in heads["data"]:
        assert re.fullmatch(r"\d{1,2}:\d{2}", row[2]) and isinstance(row[3], int), row
    # An upload with no set time: no error is claimed; 12 o'clock is written 12 on the page, 0 in the JSON.
    _, reading, _, heads = client.predict(handle_file(image_path), "hybrid", "", None, False, api_name="/read_clock")
    assert "error_minutes" not in reading and len(heads["data"]) == 1 and heads["data"][0][3] is None


def test_the_drawn_12_oclock_is_the_marker_the_reader_decoded_with(app, models):
    """The overlay's blue dot must sit where the model put 12 o'clock, however the model locates it:
    decoding the same outputs with that marker gives back the model's own reading."""
    from tinyvision import ClockReader, TinyVisionImageProcessor
    from tinyvision.models.modeling_clock import decode_angles

    folder = models.dir / "classic-angles"
    entry = SimpleNamespace(model=ClockReader.from_pretrained(folder).eval(),
                            processor=TinyVisionImageProcessor.from_pretrained(folder))
    assert entry.model.reads_columns  # the polar reader, whose marker is the heaviest tick, not atan2
    for seed in range(4):
        image = Image.fromarray(np.random.default_rng(seed).integers(0, 255, (40, 40), dtype=np.uint8))
        reading = app.read_with(entry, image)
        marker = torch.tensor([app.angles_marker(entry.model, reading)])
        minutes = decode_angles(reading["logits"][None], marker).item()
        assert (minutes - reading["minutes"] + 360) % 720 - 360 == pytest.approx(0, abs=1e-3)  # round the dial


def _clock_photo(path: Path, size=(320, 200), at=(150, 30), seed: int = 0) -> Path:
    """A "photo": a rendered clock (120 px) off centre on a noisy, muted background of ``size``."""
    from tinyvision.data.clocks import render_clock

    rng = np.random.default_rng(seed)
    background = (rng.normal(120, 25, (size[1], size[0], 3)).clip(0, 255)).astype(np.uint8)
    photo = Image.fromarray(background, "RGB")
    photo.paste(render_clock(4, 20, size=120, seed=seed).convert("RGB"), at)
    return _png(path, photo)


def _in_frame(reading: dict, width: int, height: int) -> None:
    box = reading["box"]
    assert set(box) == {"xmin", "ymin", "xmax", "ymax"}
    assert 0 <= box["xmin"] <= box["xmax"] <= width and 0 <= box["ymin"] <= box["ymax"] <= height, box
    assert reading["image_size"] == [width, height]
    assert set(reading["hands"]) == {"twelve", "hour", "minute"}
    assert all(0 <= angle < 360 for angle in reading["hands"].values())
    assert len(reading["dial"]["center"]) == 2 and all(axis >= 0 for axis in reading["dial"]["axes"])


def test_the_photo_reader_loads_into_the_recommended_slot(server, app):
    entry = next(e for e in server.registry.entries if e.spec.key == "clock-reader")
    assert entry.ok and type(entry.model).__name__ == "ClockPhotoReader" and entry.label == PHOTO_READER
    assert entry.processor.letterbox and app.reader_head(entry.model) == "angles"
    hybrid = next(e for e in server.registry.entries if e.spec.key == "clock-reader-hybrid")
    assert type(hybrid.model).__name__ == "ClockReader" and hybrid.label == "hybrid"


def test_read_clock_finds_the_dial_in_a_photo(client, models, tmp_path):
    from transformers import pipeline

    from tinyvision.metrics import common_sense_error

    path = _clock_photo(tmp_path / "photo.png")
    headline, reading, overlay, heads = client.predict(handle_file(str(path)), PHOTO_READER, "4:20", None, False,
                                                       api_name="/read_clock")
    assert "The clock reads" in headline and "confidence" in headline and "No clock" not in headline
    assert reading["found"] is True and 0.0 <= reading["confidence"] <= 1.0 and reading["reader"] == PHOTO_READER
    assert 0 <= reading["hour"] <= 11 and 0 <= reading["minute"] <= 59
    assert reading["time"] == f"{reading['hour']}:{reading['minute']:02d}"
    assert reading["error_minutes"] == common_sense_error(reading["hour"], reading["minute"], 4, 20)
    _in_frame(reading, 320, 200)
    assert heads["data"] == [[PHOTO_READER, "angles", heads["data"][0][2], reading["error_minutes"]]]
    with Image.open(overlay) as picture:
        assert picture.mode == "RGB" and picture.size == (320, 200)  # the photo's shape, for display
        pixels = np.asarray(picture).astype(int)
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]  # the photo itself is gray
    assert ((green - red > 100) & (green - blue > 80)).sum() > 50, "no dial (green) drawn"
    assert ((red - green > 120) & (red - blue > 120)).sum() > 20, "no hands (red) drawn"
    assert ((blue - red > 120) & (blue - green > 80)).sum() > 5, "no 12 o'clock (blue) drawn"
    # The same answer as pipeline("clock-reading") on the same photo, box clipped to the photo.
    expected = pipeline("clock-reading", model=str(models.dir / "clock-reader"), device="cpu")(
        Image.open(path).convert("RGB"))
    assert (reading["hour"], reading["minute"], reading["found"]) == (expected["hour"], expected["minute"], True)
    assert reading["confidence"] == pytest.approx(expected["confidence"], abs=1e-4)
    assert reading["dial"]["center"] == pytest.approx(expected["dial"]["center"], abs=0.06)
    assert reading["hands"] == pytest.approx(expected["hands"], abs=0.06)
    clipped = {key: min(max(value, 0.0), 320 if key[0] == "x" else 200) for key, value in expected["box"].items()}
    assert reading["box"] == pytest.approx(clipped, abs=0.06)
    # Older names of the slot still select it (gradio_client callers of the single-stage reader).
    for alias in ("angles (recommended)", "clock-reader"):
        _, again, _, _ = client.predict(handle_file(str(path)), alias, "4:20", None, False, api_name="/read_clock")
        assert again == reading
    # A big photo is read from a downsized copy, but answered in its own pixels.
    big = _png(tmp_path / "big.png", Image.open(path).resize((2048, 1280), Image.Resampling.NEAREST))
    _, big_reading, overlay, _ = client.predict(handle_file(str(big)), PHOTO_READER, "", None, False,
                                                api_name="/read_clock")
    _in_frame(big_reading, 2048, 1280)
    scale = 2048 / 320  # the same dial, 6.4 times as many pixels
    assert big_reading["dial"]["center"] == pytest.approx([scale * v for v in reading["dial"]["center"]], rel=0.02)
    assert big_reading["dial"]["axes"] == pytest.approx([scale * v for v in reading["dial"]["axes"]], rel=0.02)
    with Image.open(overlay) as picture:
        assert picture.size == (640, 400)  # downscaled for display


@pytest.fixture(scope="module")
def never_client(app, models, tmp_path_factory):
    """A second app whose photo reader never finds a clock (its detection_threshold is 0.9999)."""
    spec = next(s for s in app.MODEL_SPECS if s.key == "clock-reader")
    registry = app.load_models(None, use_hub=False, specs=[spec],
                               environ={spec.env_var: str(models.dir / "photo-reader-never")})
    demo = app.build_demo(registry=registry)
    port = _free_port()
    app.launch(demo, host="127.0.0.1", port=port, prevent_thread_lock=True, quiet=True)
    folder = tmp_path_factory.mktemp("gradio_client_never")
    try:
        with pytest.MonkeyPatch.context() as monkeypatch:
            _quiet_downloads(monkeypatch, folder)
            yield Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=str(folder))
    finally:
        demo.close()


def test_read_clock_says_when_it_finds_no_clock(never_client, tmp_path):
    path = _clock_photo(tmp_path / "photo.png")
    headline, reading, overlay, heads = never_client.predict(handle_file(str(path)), PHOTO_READER, "4:20", None,
                                                             True, api_name="/read_clock")
    assert headline.startswith("### No clock found") and "confidence" in headline
    assert "The clock reads" not in headline and "error" not in headline
    assert reading["found"] is False and 0.0 <= reading["confidence"] < reading["threshold"] == NEVER
    assert not {"hour", "minute", "time", "error_minutes"} & set(reading)  # no time given as a reading ...
    guess = reading["guess"]  # ... only the raw guess, named as such
    assert guess["time"] == f"{guess['hour']}:{guess['minute']:02d}" and reading["set_time"] == "4:20"
    _in_frame({**guess, "image_size": reading["image_size"]}, 320, 200)
    assert heads["data"] == [[PHOTO_READER, "angles", "no clock found", None]]
    with Image.open(overlay) as picture, Image.open(path) as photo:  # the photo as it is: no hands, no dial
        assert (np.asarray(picture.convert("RGB")) == np.asarray(photo.convert("RGB"))).all()


def test_make_a_photo_like_scene_and_read_it(client):
    pytest.importorskip("tinyvision.data.clock_scenes")
    image_path, set_time, dial_rotation = client.predict(4, 20, 0, 5, True, api_name="/render_clock")
    assert set_time == "4:20" and isinstance(dial_rotation, float)
    with Image.open(image_path) as image:
        assert image.format == "PNG" and image.size == (640, 480) and image.mode == "RGB"
    again = client.predict(4, 20, 0, 5, True, api_name="/render_clock")
    assert np.array_equal(np.asarray(Image.open(again[0])), np.asarray(Image.open(image_path)))  # the seed's scene
    headline, reading, overlay, _ = client.predict(handle_file(image_path), PHOTO_READER, set_time, dial_rotation,
                                                   False, api_name="/read_clock")
    assert "The clock reads" in headline and "set to 4:20" in headline
    _in_frame(reading, 640, 480)
    with Image.open(overlay) as picture:
        assert picture.size == (640, 480)


def test_the_clock_tab_takes_photos(server):
    blocks = list(server.demo.blocks.values())
    image = next(b for b in blocks if getattr(b, "elem_id", None) == "clock-image")
    assert image.sources == ["upload", "clipboard", "webcam"]
    assert image.webcam_options.mirror is False  # a mirrored clock shows another time
    assert any(getattr(b, "elem_id", None) == "scene-checkbox" for b in blocks)
    page = "\n".join(str(b.value) for b in blocks if isinstance(b, gradio.Markdown))
    assert "Photos work now" in page and "webcam" in page


def _grid_size(count: int, columns: int = 8, side: int = GEN_SIZE, padding: int = 2) -> tuple[int, int]:
    """(height, width) of the /generate grid: ``count`` tiles of ``side`` px, ``columns`` a row, padded."""
    rows = -(-count // columns)
    return rows * (side + padding) + padding, columns * (side + padding) + padding


def test_generate_is_deterministic_per_seed(client, models):
    _need(models, "gan")
    from tinyvision import GANModel
    from tinyvision.figures import grid_tiles

    first = client.predict("GAN", 3, 4, api_name="/generate")
    again = client.predict("GAN", 3, 4, api_name="/generate")
    assert isinstance(first, str)  # one PNG: the grid, not a gallery of files
    grid = np.asarray(Image.open(first))
    assert grid.shape == (*_grid_size(4, columns=4), 3)  # fewer than 8 cats: one row of them
    assert (grid == np.asarray(Image.open(again))).all()
    expected = GANModel.from_pretrained(models.dir / "cat-gan").generate(4, seed=3, return_pil=True)
    tiles = grid_tiles(grid, GEN_SIZE, 4, columns=4)
    assert all((tile.transpose(1, 2, 0) == np.asarray(e)).all() for tile, e in zip(tiles, expected))


def test_generate_16_is_one_grid_of_2_rows_of_8(client, models):
    _need(models, "gan")
    from tinyvision import GANModel
    from tinyvision.figures import grid_tiles

    with Image.open(client.predict("GAN", 5, 16, api_name="/generate")) as image:
        assert image.format == "PNG"
        grid = np.asarray(image.convert("RGB"))
    assert grid.shape == (2 * (GEN_SIZE + 2) + 2, 8 * (GEN_SIZE + 2) + 2, 3) == (*_grid_size(16), 3)
    assert (grid[:2] == 255).all() and (grid[:, :2] == 255).all()  # white padding around the tiles
    expected = GANModel.from_pretrained(models.dir / "cat-gan").generate(16, seed=5, return_pil=True)
    assert (grid[2:2 + GEN_SIZE, 2:2 + GEN_SIZE] == np.asarray(expected[0])).all()  # the first tile
    tiles = grid_tiles(grid, GEN_SIZE, 16, columns=8)
    assert all((tile.transpose(1, 2, 0) == np.asarray(e)).all() for tile, e in zip(tiles, expected))


def test_interpolate_strip_starts_and_ends_at_the_seeds(client, models):
    _need(models, "gan")
    from tinyvision import GANModel

    steps = 5
    strip = np.asarray(Image.open(client.predict("GAN", 1, 2, steps, api_name="/interpolate")))
    assert strip.shape == (GEN_SIZE, steps * GEN_SIZE + (steps - 1) * 2, 3)
    model = GANModel.from_pretrained(models.dir / "cat-gan")
    assert (strip[:, :GEN_SIZE] == np.asarray(model.generate(1, seed=1, return_pil=True)[0])).all()
    assert (strip[:, -GEN_SIZE:] == np.asarray(model.generate(1, seed=2, return_pil=True)[0])).all()


def test_vae_generate_and_reconstruct(client, models, tmp_path):
    _need(models, "vae")
    with Image.open(client.predict("VAE", 0, 2, api_name="/generate")) as grid:
        assert grid.size[::-1] == _grid_size(2, columns=2)
    cat = _png(tmp_path / "cat.png", Image.fromarray(np.random.default_rng(0).integers(0, 255, (80, 64, 3),
                                                                                      dtype=np.uint8)))
    pair = Image.open(client.predict(handle_file(str(cat)), api_name="/reconstruct"))
    assert pair.size == (2 * GEN_SIZE + 4, GEN_SIZE)


# ---------------------------------------------------------------------------------------- bad inputs
def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str | None]]:
    """name → (file, substring of the friendly error, or None when a sensible answer is expected)."""
    rng = np.random.default_rng(0)
    text = tmp_path / "notes.png"
    text.write_text("this is not an image\n" * 20)
    good = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(good, format="PNG")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.getvalue()[: len(good.getvalue()) * 2 // 3])
    garbled = bytearray(good.getvalue())
    garbled[200:400] = bytes(200)
    (tmp_path / "garbled.png").write_bytes(bytes(garbled))
    huge = tmp_path / "huge.png"
    Image.new("L", (10_000, 10_000), 0).save(huge, format="PNG", compress_level=1)
    sixteen = Image.fromarray((rng.integers(0, 65535, (40, 30))).astype(np.uint16))
    assert sixteen.mode.startswith("I;16")
    return {
        "not an image": (text, "not an image"),
        "truncated png": (truncated, "damaged"),
        "garbled png": (tmp_path / "garbled.png", "damaged"),
        "10000x10000": (huge, "megapixels"),
        "decompression bomb": (_bomb_png(tmp_path / "bomb.png"), "decompression bomb"),
        "rgba": (_png(tmp_path / "rgba.png", Image.fromarray(rng.integers(0, 255, (33, 47, 4), dtype=np.uint8),
                                                             "RGBA")), None),
        "16-bit": (_png(tmp_path / "sixteen.png", sixteen), None),
        "grayscale": (_png(tmp_path / "gray.png", Image.fromarray(rng.integers(0, 255, (28, 28), dtype=np.uint8))),
                      None),
        "1x1": (_png(tmp_path / "one.png", Image.new("RGB", (1, 1), (200, 10, 10))), None),
        "palette gif": (tmp_path / "palette.gif", None),
    }


def test_bad_inputs_get_friendly_errors_or_sensible_answers(client, tmp_path):
    files = _bad_files(tmp_path)
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (20, 20, 3), dtype=np.uint8)).convert("P").save(
        files["palette gif"][0])
    for name, (path, error) in files.items():
        for endpoint, args in (("/classify", ("Fashion-MNIST · MLP1", handle_file(str(path)), False)),
                               ("/read_clock", (handle_file(str(path)), "angles (recommended)", "", None, False))):
            if error is None:
                result = client.predict(*args, api_name=endpoint)
                if endpoint == "/classify":
                    _assert_top5(result, LABELS)
                else:
                    assert 0 <= result[1]["hour"] <= 11, name
            else:
                with pytest.raises(AppError) as info:
                    client.predict(*args, api_name=endpoint)
                assert error in str(info.value), (name, endpoint, str(info.value))
    # Nonsense parameters are refused in words too (by gradio's own bounds on sliders and numbers, or ours).
    for args, endpoint, message in (((13, 0, 0, 7), "/render_clock", "greater than maximum value 12"),
                                    ((3, 61, 0, 7), "/render_clock", "greater than maximum value 59"),
                                    ((3, 30, 0, -5), "/render_clock", "less than minimum value 0"),
                                    ((handle_file(str(files["rgba"][0])), "angles (recommended)", "25:99", None, False),
                                     "/read_clock", "must look like")):
        with pytest.raises(AppError, match=message):
            client.predict(*args, api_name=endpoint)
    # ... and the server keeps serving.
    path, _ = _pattern_png(tmp_path, 0)
    _assert_top5(client.predict("Fashion-MNIST · MLP1", handle_file(str(path)), False, api_name="/classify"))


def test_bad_generator_parameters(client, models):
    _need(models, "gan")
    with pytest.raises(AppError, match="greater than maximum value 16"):
        client.predict("GAN", 0, 500, api_name="/generate")
    with pytest.raises(AppError, match="greater than maximum value 12"):
        client.predict("GAN", 0, 1, 100, api_name="/interpolate")
    with pytest.raises(AppError, match="whole number"):
        client.predict("GAN", 0, 2.5, api_name="/generate")


# ------------------------------------------------------------------------------------------- load
def test_32_concurrent_requests_all_succeed(client, server, models, tmp_path):
    queue = server.demo._queue
    assert queue.max_size == 64 and queue.default_concurrency_limit == 2
    inference = [fn for fn in server.demo.fns.values() if fn.api_name in {e[1:] for e in ENDPOINTS}]
    assert inference and all(fn.concurrency_limit == 2 and fn.concurrency_id == "inference" for fn in inference)

    pattern, _ = _pattern_png(tmp_path, 1)
    clock = client.predict(5, 45, 0, 3, api_name="/render_clock")[0]
    calls = [("/classify", ("Fashion-MNIST · MLP1", handle_file(str(pattern)), False)),
             ("/read_clock", (handle_file(clock), "angles (recommended)", "5:45", None, False)),
             ("/render_clock", (7, 5, 30, 11))]
    if "gan" in models.families:
        calls.append(("/generate", ("GAN", 4, 4)))
    started = time.perf_counter()
    jobs = [client.submit(*calls[i % len(calls)][1], api_name=calls[i % len(calls)][0]) for i in range(32)]
    results = [job.result(timeout=120) for job in jobs]
    elapsed = time.perf_counter() - started
    assert len(results) == 32 and all(result is not None for result in results)
    for i, result in enumerate(results):
        endpoint = calls[i % len(calls)][0]
        if endpoint == "/classify":
            _assert_top5(result, LABELS)
        elif endpoint == "/read_clock":
            assert result[1]["set_time"] == "5:45"
        elif endpoint == "/render_clock":
            assert result[1] == "7:05"
        else:
            assert Image.open(result).size[::-1] == _grid_size(4, columns=4)
    assert elapsed < 90, f"32 tiny requests took {elapsed:.1f} s"


def test_models_are_warm_and_in_the_fast_layout_at_start_up(server):
    """Convolutional classifiers and the generators run channels-last (oneDNN's fast layout); the clock readers
    keep the pipeline's layout, so the Space reads exactly as ``pipeline("clock-reading")``."""
    for entry in server.registry.entries:
        if not entry.ok:
            continue
        module = entry.model.model if entry.spec.family == "classifier" else entry.model
        weights = [parameter for parameter in module.parameters() if parameter.dim() == 4]
        fast = entry.spec.family in ("classifier", "gan", "vae")
        layout = torch.channels_last if fast else torch.contiguous_format
        assert all(weight.is_contiguous(memory_format=layout) for weight in weights), entry.spec.key


def test_the_benchmark_speaks_gradios_http_protocol(server, client, models, tmp_path):
    """bench_space.py's HTTPCaller (upload, queue, server-sent events, downloads) answers as gradio_client does."""
    bench = load_module("tinyvision_space_bench", SPACE / "bench_space.py")
    caller = bench.HTTPCaller(server.url)
    path, _ = _pattern_png(tmp_path, 2)
    args = ("Fashion-MNIST · MLP1", handle_file(str(path)), False)
    [label] = caller.predict(*args, api_name="/classify")
    expected = client.predict(*args, api_name="/classify")
    assert label["label"] == expected["label"]
    assert [c["label"] for c in label["confidences"]] == [c["label"] for c in expected["confidences"]]
    render = caller.predict(4, 20, 30, 7, False, api_name="/render_clock")
    assert render[1] == "4:20" and caller._urls(render)
    if "gan" in models.families:
        [grid] = caller.predict("GAN", 0, 3, api_name="/generate")
        assert len(caller._urls(grid)) == 1  # one file to download, whatever the count
    result = bench._burst(caller.predict, [("/render_clock", (4, 20, 30, 7, False))], 4)
    assert result["succeeded"] == 4 and not result["errors"]


# ---------------------------------------------------------------------------------- missing models
def test_a_missing_family_turns_its_tab_into_a_message(app, models, tmp_path, monkeypatch):
    for spec in app.MODEL_SPECS:
        monkeypatch.delenv(spec.env_var, raising=False)
    only_classifier = tmp_path / "models"
    only_classifier.mkdir()
    shutil.copytree(models.dir / "fashion-mnist-mlp1", only_classifier / "fashion-mnist-mlp1")
    demo = app.build_demo(only_classifier, use_hub=False)
    texts = [block.value for block in demo.blocks.values() if isinstance(block, gradio.Markdown)]
    page = "\n".join(str(text) for text in texts)
    assert "No clock reader is available" in page and "accelerate launch scripts/train_clock.py" in page
    assert "No GAN is available" in page and "TINYVISION_MODEL_CAT_GAN" in page and "tinyvision/cat-vae" in page
    api_names = {fn.api_name for fn in demo.fns.values()}
    assert {"classify", "classify_sketch", "render_clock"} <= api_names  # the rest still works
    assert not api_names & {"read_clock", "generate", "interpolate", "reconstruct"}
    # No models at all: still builds, every tab explains itself.
    empty = app.build_demo(tmp_path / "nothing-here", use_hub=False)
    page = "\n".join(str(b.value) for b in empty.blocks.values() if isinstance(b, gradio.Markdown))
    assert "No image classifier is available" in page and "python scripts/train_classifier.py" in page


def test_model_sources_env_override_local_folder_then_hub(app, models):
    spec = next(s for s in app.MODEL_SPECS if s.key == "fashion-mnist-mlp1")
    assert spec.env_var == "TINYVISION_MODEL_FASHION_MNIST_MLP1" and spec.hub_id.endswith("/fashion-mnist-mlp1")
    assert app.candidate_sources(spec, models.dir, environ={}) == [str(models.dir / "fashion-mnist-mlp1"),
                                                                  spec.hub_id]
    assert app.candidate_sources(spec, models.dir, use_hub=False, environ={}) == [
        str(models.dir / "fashion-mnist-mlp1")]
    assert app.candidate_sources(spec, "/no/such/dir", environ={}) == [spec.hub_id]
    assert app.candidate_sources(spec, models.dir, environ={spec.env_var: "someone/their-model"}) == [
        "someone/their-model"]
    # The override is used for loading, and a bad one is reported, not fatal.
    registry = app.load_models(None, use_hub=False, specs=[spec],
                               environ={spec.env_var: str(models.dir / "fashion-mnist-mlp1")})
    assert registry.entries[0].ok and registry.entries[0].source == str(models.dir / "fashion-mnist-mlp1")
    registry = app.load_models(None, use_hub=False, specs=[spec], environ={spec.env_var: str(models.dir / "nope")})
    assert not registry.entries[0].ok and "nope" in registry.entries[0].error


# ---------------------------------------------------------------------------------------- browser
def _browser_or_skip():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium), as .ci/run does")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright (Python) is not installed: pip install -e '.[dev]'")


def test_every_tab_in_headless_chromium(server, client, models, tmp_path):
    _browser_or_skip()
    shots = load_module("tinyvision_space_screenshots", SPACE / "screenshots.py")
    sneaker = SPACE / "examples" / "fashion_mnist" / "07_sneaker.png"
    expected_top = client.predict("Fashion-MNIST · MLP1", handle_file(str(sneaker)), False,
                                  api_name="/classify")["label"]
    cat = _png(tmp_path / "cat.png", Image.fromarray(np.random.default_rng(2).integers(0, 255, (64, 64, 3),
                                                                                      dtype=np.uint8)))
    seen = shots.capture(server.url, tmp_path / "screenshots", classify_image=sneaker, cat_image=cat, timeout_s=60)
    assert seen["missing"] == [] if models.families else seen["missing"] == ["cats"]
    assert seen["console_errors"] == []
    # Classify: the page shows the top class the API gives for the same image, with percentages.
    assert seen["classify"].splitlines()[1] == expected_top and "%" in seen["classify"]
    # Tell the time: one click rendered the default 4:20 clock and read it.
    assert seen["set_time"] == "4:20"
    assert "The clock reads" in seen["clock"] and "set to 4:20" in seen["clock"]
    assert "common-sense error" in seen["clock"]
    if "gan" in models.families:
        assert seen["cats_grid_width"] == 8 * (GEN_SIZE + 2) + 2  # the default 16 cats: two rows of 8
        assert seen["strip_width"] == 8 * GEN_SIZE + 7 * 2
    if "vae" in models.families:
        assert seen["reconstruction_width"] == 2 * GEN_SIZE + 4
    for path in seen["screenshots"]:
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width == 1280 and image.height >= 600


# -------------------------------------------------------------------------------------- the card
def test_space_card_front_matter(app):
    from huggingface_hub import SpaceCard

    card = SpaceCard.load(SPACE / "README.md")
    data = card.data.to_dict()
    assert data["sdk"] == "gradio" and data["app_file"] == "app.py"
    assert data["sdk_version"] == gradio.__version__
    assert data["models"] == [spec.hub_id for spec in app.MODEL_SPECS]
    for tab in ("classify", "tell-the-time", "generate-cats"):
        assert f"screenshots/{tab}.png" in card.text and (SPACE / "screenshots" / f"{tab}.png").is_file()
    requirements = (SPACE / "requirements.txt").read_text().splitlines()
    assert f"gradio=={gradio.__version__}" in requirements
    assert not any(line.strip().lower().startswith("tinyvision") for line in requirements)  # not on PyPI


def test_space_requirements_pin_tinyvision_dependencies_as_pyproject_does():
    """The Space installs tinyvision's dependencies itself: each one it names carries pyproject's bounds (a
    transformers floor raised in one file and not the other would let the Space build on a version that fails)."""
    import re
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    name = re.compile(r"^[A-Za-z0-9_.-]+")
    wanted = {name.match(spec).group().lower(): spec.replace(" ", "") for spec in pyproject}
    lines = [line.split("#")[0].strip() for line in (SPACE / "requirements.txt").read_text().splitlines()]
    named = {name.match(line).group().lower(): line.replace(" ", "") for line in lines
             if line and not line.startswith("-")}
    shared = set(wanted) & set(named)
    assert {"torch", "transformers", "accelerate", "datasets"} <= shared
    assert {package: named[package] for package in shared} == {package: wanted[package] for package in shared}


def test_examples_are_one_small_png_per_class():
    for dataset in ("fashion_mnist", "cifar10"):
        files = sorted((SPACE / "examples" / dataset).glob("*.png"))
        assert [int(path.name[:2]) for path in files] == list(range(10))
        assert sum(path.stat().st_size for path in files) < 100_000


def test_read_clock_reads_turned_clocks_in_four_quarter_turns(client, models, tmp_path):
    from transformers import pipeline

    path = _clock_photo(tmp_path / "photo.png")
    _, plain, _, _ = client.predict(handle_file(str(path)), PHOTO_READER, "4:20", None, False, False,
                                    api_name="/read_clock")
    _, turned, _, _ = client.predict(handle_file(str(path)), PHOTO_READER, "4:20", None, False, True,
                                     api_name="/read_clock")
    expected = pipeline("clock-reading", model=str(models.dir / "clock-reader"), device="cpu",
                        model_kwargs={"test_time_turns": [0, 90, 180, 270]})(Image.open(path).convert("RGB"))
    assert (turned["hour"], turned["minute"]) == (expected["hour"], expected["minute"])
    assert turned["hands"] == pytest.approx(expected["hands"], abs=0.06)
    assert turned["hands"] != plain["hands"]  # the four turns pool other votes than the upright reads
    _, again, _, _ = client.predict(handle_file(str(path)), PHOTO_READER, "4:20", None, False, False,
                                    api_name="/read_clock")
    assert again == plain  # the plain reader is untouched by the turned view


def test_turned_reader_shares_the_weights_not_the_config(app, models):
    import tab_clock  # the app put the Space's folder on the path

    from tinyvision import ClockPhotoReader

    model = ClockPhotoReader.from_pretrained(models.dir / "clock-reader", test_time_turn_weight=0.2)
    view = tab_clock.turned_reader(model)
    assert view.config.test_time_turns == [0, 90, 180, 270] and model.config.test_time_turns == [0]
    assert view.config.test_time_turn_weight == 1.0 and model.config.test_time_turn_weight == 0.2  # no way is up
    assert all(a is b for a, b in zip(view.parameters(), model.parameters()))
    assert tab_clock.turned_reader(model) is view


def test_turned_reader_reads_with_any_turn_when_the_reader_was_trained_for_it(app, tmp_path):
    import tab_clock  # the app put the Space's folder on the path

    from tinyvision import ClockPhotoReader, ClockPhotoReaderConfig

    reader = {"image_size": 32, "num_channels": 1, "head": "angles", "angle_channels": True, "polar_rows": 8,
              "polar_cols": 32, "conv_filters": [4, 8], "conv_kernel_sizes": [3, 3], "conv_strides": [1, 1],
              "pool_after": [False, False], "fc_hidden_sizes": [8], "up_dropout": 0.25}
    model = ClockPhotoReader(ClockPhotoReaderConfig(image_size=64, detector_size=32, detector_channels=[4, 4, 8, 8],
                                                    detector_head_channels=8, reader=reader))
    view = tab_clock.turned_reader(model)
    assert view.config.any_turn and view.config.test_time_turns == [0]
    assert not model.config.any_turn and all(a is b for a, b in zip(view.parameters(), model.parameters()))
