"""The Classify tab: an upload or a sketch → the top-5 classes. Endpoints ``/classify`` and ``/classify_sketch``."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import torch
from images import SafeImage, open_image, sketch_to_image
from loading import CLASSIFIER_DATASETS, LoadedModel, ModelRegistry, missing_message, missing_note, pick
from PIL import Image, ImageOps

EXAMPLES = Path(__file__).resolve().parent / "examples"  # one test image per class: make_examples.py
PREFERENCE = ("augmented", "cnn1", "mlp1", "mlp2")  # the preset the tab starts with: the strongest available


def top5(entry: LoadedModel, image: Image.Image) -> dict[str, float]:
    num_labels = entry.model.model.config.num_labels
    with torch.inference_mode():
        predictions = entry.model(image, top_k=min(5, num_labels))
    return {p["label"]: round(float(p["score"]), 6) for p in predictions}


def default_classifier(classifiers: dict[str, LoadedModel]) -> str:
    """The model the Classify tab starts with: Fashion-MNIST first, the strongest recipe available."""

    def rank(name: str) -> tuple[int, int]:
        spec = classifiers[name].spec
        preset = spec.key.rsplit("-", 1)[-1]
        return (spec.dataset != "fashion_mnist", PREFERENCE.index(preset) if preset in PREFERENCE else 99)

    return min(classifiers, key=rank)


def build_classify_tab(registry: ModelRegistry, limits: dict) -> None:
    """The tab, inside the open ``gr.Blocks``; ``limits``: the inference events' concurrency settings."""
    classifiers = registry.family("classifier")

    def classify(model_name, image, invert=False):
        entry = pick(classifiers, model_name, "model")
        picture = open_image(image)
        if invert:
            picture = ImageOps.invert(picture)
        return top5(entry, picture)

    def classify_sketch(model_name, sketch):
        entry = pick(classifiers, model_name, "model")
        return top5(entry, sketch_to_image(sketch, entry.model.model.config.num_channels))

    with gr.Tab("Classify", id="classify"):
        if not classifiers:
            gr.Markdown(missing_message(registry, "classifier", "image classifier"))
            return
        with gr.Row():
            with gr.Column():
                model_choice = gr.Dropdown(list(classifiers), value=default_classifier(classifiers), label="Model")
                with gr.Tabs():
                    with gr.Tab("Upload", id="upload"):
                        upload = SafeImage(type="filepath", label="Image", sources=["upload", "clipboard"],
                                           height=260, elem_classes=["pixelated", "upscale"],
                                           elem_id="classify-image")
                        invert = gr.Checkbox(False, label="Invert colours (Fashion-MNIST items are light on black)")
                        classify_button = gr.Button("Classify", variant="primary", elem_id="classify-button")
                    with gr.Tab("Sketch", id="sketch"):
                        sketch = gr.Sketchpad(type="pil", label="Draw an item", canvas_size=(420, 420),
                                              brush=gr.Brush(default_size=28, colors=["#000000"],
                                                             color_mode="fixed"),
                                              elem_id="classify-sketch")
                        sketch_button = gr.Button("Classify sketch", variant="primary",
                                                  elem_id="classify-sketch-button")
            with gr.Column():
                top5_label = gr.Label(num_top_classes=5, label="Top-5 classes", elem_id="classify-result")
        for dataset, dataset_label in CLASSIFIER_DATASETS.items():
            models = [name for name, e in classifiers.items() if e.spec.dataset == dataset]
            folder = EXAMPLES / dataset
            files = sorted(folder.glob("*.png")) if folder.is_dir() else []
            if models and files:
                gr.Examples([[str(path), models[0]] for path in files], inputs=[upload, model_choice],
                            label=f"{dataset_label} test images (click one, then Classify)",
                            examples_per_page=10, visible_columns=[0])
        note = missing_note(registry, "classifier")
        if note:
            with gr.Accordion("More models", open=False):
                gr.Markdown(note)
        classify_button.click(classify, [model_choice, upload, invert], top5_label, api_name="classify", **limits)
        sketch_button.click(classify_sketch, [model_choice, sketch], top5_label, api_name="classify_sketch",
                            **limits)
