"""Image processor = training path; pipeline on any image; trust_remote_code without tinyvision."""

from __future__ import annotations

import io
import json
import textwrap

import numpy as np
import pytest
import torch
from conftest import run_without_tinyvision
from PIL import Image
from transformers import AutoImageProcessor, pipeline

from tinyvision import (
    CNNConfig,
    CNNForImageClassification,
    MLPConfig,
    MLPForImageClassification,
    TinyVisionImageProcessor,
)
from tinyvision.data import load_image_classification

SMALL_CNN = dict(image_size=16, conv_filters=[4, 8], conv_kernel_sizes=[3, 3], conv_strides=[1, 1],
                 pool_after=[True, True], fc_hidden_sizes=[8], id2label={0: "a", 1: "b", 2: "c"})


@pytest.fixture
def saved_cnn(tmp_path):
    torch.manual_seed(0)
    model = CNNForImageClassification(CNNConfig(**SMALL_CNN))
    model.save_pretrained(tmp_path)
    TinyVisionImageProcessor(size={"height": 16, "width": 16}, num_channels=1, image_mean=[0.3], image_std=[0.35]
                             ).save_pretrained(tmp_path)
    return tmp_path, model


def test_processor_and_training_path_give_the_same_tensor(tiny_dataset_dir, tiny_rgb_dataset_dir):
    """The PNG bytes of the dataset, through the processor, equal the decoded uint8 tensor normalised
    by the training step's function."""
    import datasets

    for folder in (tiny_dataset_dir, tiny_rgb_dataset_dir):
        data = load_image_classification(str(folder), validation_split=0.0, cache_dir=None)
        processor = TinyVisionImageProcessor(size={"height": 12, "width": 12}, num_channels=data.num_channels,
                                             image_mean=data.image_mean, image_std=data.image_std)
        raw = datasets.load_dataset(str(folder), split="train")
        column = "image" if "image" in raw.column_names else "img"
        pil_images = [raw[i][column] for i in range(5)]
        from_processor = processor(pil_images, return_tensors="pt")["pixel_values"]
        # load_image_classification keeps train rows in a shuffled order; find them by content instead.
        train_images = data.train.columns["pixel_values"]
        for pil_image, processed in zip(pil_images, from_processor):
            array = torch.from_numpy(np.asarray(pil_image.convert("L" if data.num_channels == 1 else "RGB")).copy())
            array = array[None] if array.dim() == 2 else array.permute(2, 0, 1)
            match = (train_images == array).flatten(1).all(1).nonzero()
            assert len(match) >= 1
            training_path = processor.normalize_uint8(train_images[match[0]])[0]
            torch.testing.assert_close(processed, training_path, rtol=0, atol=0)


def test_processor_handles_any_mode_and_size():
    processor = TinyVisionImageProcessor(size={"height": 16, "width": 16}, num_channels=1)
    rng = np.random.default_rng(0)
    images = [
        Image.fromarray(rng.integers(0, 255, (33, 47, 3), dtype=np.uint8)),
        Image.fromarray(rng.integers(0, 255, (5, 9, 4), dtype=np.uint8), mode="RGBA"),
        Image.fromarray(rng.integers(0, 255, (1, 1), dtype=np.uint8)),
        Image.fromarray(rng.integers(0, 65535, (20, 20), dtype=np.uint16)),
        Image.fromarray(rng.integers(0, 255, (20, 20), dtype=np.uint8)).convert("P"),
    ]
    out = processor(images, return_tensors="pt")["pixel_values"]
    assert out.shape == (5, 1, 16, 16) and torch.isfinite(out).all()
    # 16-bit images are rescaled, not clipped to white.
    assert out[3].std() > 0.3
    rgb = TinyVisionImageProcessor(size={"height": 8, "width": 8}, num_channels=3)
    assert rgb(images[2])["pixel_values"].shape == (1, 3, 8, 8)


def test_processor_rejects_decompression_bombs_and_non_images():
    processor = TinyVisionImageProcessor(size={"height": 16, "width": 16}, num_channels=1)
    huge = Image.new("L", (10_000, 10_000))
    with pytest.raises(ValueError, match="larger than"):
        processor(huge)
    with pytest.raises(TypeError, match="cannot read an image"):
        processor("not an image")


def test_pipeline_on_rgb_rgba_and_grayscale_images_of_odd_sizes(saved_cnn):
    folder, model = saved_cnn
    classifier = pipeline("image-classification", model=str(folder))
    rng = np.random.default_rng(0)
    for mode, shape in (("RGB", (37, 53, 3)), ("RGBA", (61, 29, 4)), ("L", (13, 90))):
        image = Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8), mode=mode)
        predictions = classifier(image, top_k=3)
        assert len(predictions) == 3
        assert {p["label"] for p in predictions} == {"a", "b", "c"}
        assert abs(sum(p["score"] for p in predictions) - 1) < 1e-4
        # Same answer as the model applied by hand to the processor's output.
        processor = AutoImageProcessor.from_pretrained(folder)
        model.eval()
        with torch.no_grad():
            probs = model(**processor(image.convert("RGB"), return_tensors="pt")).logits.softmax(-1)[0]
        assert predictions[0]["label"] == model.config.id2label[int(probs.argmax())]
        assert abs(predictions[0]["score"] - probs.max().item()) < 1e-5


REMOTE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np, torch
    from PIL import Image
    from transformers import AutoModelForImageClassification, pipeline

    folder = sys.argv[1]
    model = AutoModelForImageClassification.from_pretrained(folder, trust_remote_code=True).eval()
    pixels = torch.load(sys.argv[2])
    logits = model(pixel_values=pixels).logits
    classifier = pipeline("image-classification", model=folder, trust_remote_code=True)
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 30, 3), dtype=np.uint8))
    print(json.dumps({"module": type(model).__module__, "logits": logits.tolist(), "top": classifier(image)[0]}))
    """
)


@pytest.mark.parametrize("family", ["mlp", "cnn"])
def test_trust_remote_code_load_where_tinyvision_cannot_be_imported(family, tmp_path):
    torch.manual_seed(0)
    if family == "mlp":
        model = MLPForImageClassification(MLPConfig(image_size=8, hidden_sizes=[16], batch_norm=True))
        size = 8
    else:
        model = CNNForImageClassification(CNNConfig(**SMALL_CNN))
        size = 16
    model.eval()
    folder = tmp_path / "model"
    model.save_pretrained(folder)
    TinyVisionImageProcessor(size={"height": size, "width": size}, num_channels=1).save_pretrained(folder)
    config = json.loads((folder / "config.json").read_text())
    assert set(config["auto_map"]) == {"AutoConfig", "AutoModel", "AutoModelForImageClassification"}
    for name in ("modeling_classifier.py", "configuration_classifier.py", "layers.py", "modeling_utils.py",
                 "image_processing_tinyvision.py"):
        assert (folder / name).exists(), name
    pixels = torch.randn(3, 1, size, size)
    torch.save(pixels, tmp_path / "pixels.pt")
    payload = run_without_tinyvision(REMOTE_SCRIPT, folder, tmp_path / "pixels.pt", cwd=tmp_path)
    assert payload["module"].startswith("transformers_modules")
    with torch.no_grad():
        torch.testing.assert_close(torch.tensor(payload["logits"]), model(pixel_values=pixels).logits)
    assert payload["top"]["label"] in model.config.id2label.values()


def test_corrupt_image_bytes_get_a_clear_error():
    processor = TinyVisionImageProcessor(size={"height": 16, "width": 16}, num_channels=1)
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)).save(buffer, "PNG")
    truncated = buffer.getvalue()[: len(buffer.getvalue()) // 2]
    with pytest.raises(ValueError, match="could not read the image"):
        processor(Image.open(io.BytesIO(truncated)))  # the header parses; the pixels do not
    with pytest.raises(ValueError, match="could not read the image"):
        processor(truncated)
    with pytest.raises(ValueError, match="could not read the image"):
        processor(b"not a png at all")
