"""The Generate cats tab: a grid of cats, an interpolation strip, and the VAE's reconstruction of an upload.
Endpoints ``/generate`` and ``/interpolate`` (a GAN or a VAE loaded) and ``/reconstruct`` (a VAE loaded)."""

from __future__ import annotations

import gradio as gr
import torch
from images import MAX_SEED, SafeImage, as_file, open_image, pil_list, strip, whole_number
from loading import LoadedModel, ModelRegistry, missing_message, missing_note, pick
from PIL import Image, ImageOps

from tinyvision.figures import image_grid, to_uint8

MAX_IMAGES = 16  # generate: images per request
GRID_COLUMNS = 8  # generate: cats per row of the grid
GRID_PADDING = 2  # generate: white pixels between (and around) the grid's tiles
MAX_STEPS = 12  # interpolate: images per strip


def vae_reconstruct(model, image: Image.Image) -> tuple[Image.Image, Image.Image]:
    """(the VAE's reconstruction of ``image``, the input as the model saw it: cropped and resized)."""
    config = model.config
    side = config.image_size
    image = ImageOps.fit(image.convert("RGB" if config.num_channels == 3 else "L"), (side, side),
                         Image.Resampling.LANCZOS)
    with torch.inference_mode():
        result = model.reconstruct(image)  # the model's own image processor maps it into its pixel range
    return pil_list(result)[0], image


def _build_reconstruction(vae: LoadedModel, limits: dict) -> None:
    def reconstruct(image):
        reconstruction, resized = vae_reconstruct(vae.model, open_image(image))
        return as_file(strip([resized, reconstruction], gap=4))

    with gr.Row():
        cat_image = SafeImage(type="filepath", label="Your cat (cropped to the face, 64×64)",
                              sources=["upload", "clipboard"], height=220, elem_classes=["pixelated", "upscale"],
                              elem_id="cat-image")
        with gr.Column():
            reconstruct_button = gr.Button("Reconstruct", variant="primary", elem_id="reconstruct-button")
            reconstruction = gr.Image(label="Input · reconstruction", format="png", height=220,
                                      elem_classes=["pixelated", "upscale"], elem_id="cat-reconstruction")
    reconstruct_button.click(reconstruct, cat_image, reconstruction, api_name="reconstruct", **limits)


def build_generate_tab(registry: ModelRegistry, limits: dict) -> None:
    """The tab, inside the open ``gr.Blocks``; ``limits``: the inference events' concurrency settings."""
    generators = {**registry.family("gan"), **registry.family("vae")}
    vaes = registry.family("vae")

    def generate(model_name, seed, count):
        entry = pick(generators, model_name, "generator")
        seed, count = whole_number(seed, "seed", 0, MAX_SEED), whole_number(count, "count", 1, MAX_IMAGES)
        # One PNG, not a gallery of ``count`` files: the page (or client) downloads one file instead of 16.
        # Tile i (row i // columns, column i % columns) is generate(count, seed=seed)[i], pixel for pixel.
        images = to_uint8(entry.model.generate(count, seed=seed)).numpy()
        grid = image_grid(images, columns=min(count, GRID_COLUMNS), padding=GRID_PADDING)
        return as_file(Image.fromarray(grid))

    def interpolate(model_name, seed_a, seed_b, steps):
        entry = pick(generators, model_name, "generator")
        seed_a = whole_number(seed_a, "start seed", 0, MAX_SEED)
        seed_b = whole_number(seed_b, "end seed", 0, MAX_SEED)
        steps = whole_number(steps, "steps", 2, MAX_STEPS)
        # the strip starts at generate(1, seed=seed_a)[0] and ends at generate(1, seed=seed_b)[0]
        return as_file(strip(pil_list(entry.model.interpolate(seed_a, seed_b, steps, return_pil=True))))

    with gr.Tab("Generate cats", id="cats"):
        if not generators:
            gr.Markdown(missing_message(registry, "gan", "GAN") + "\n\n" + missing_message(registry, "vae", "VAE"))
            return
        with gr.Row():
            generator_choice = gr.Radio(list(generators), value=next(iter(generators)), label="Model")
            seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="Seed")
            count = gr.Slider(1, MAX_IMAGES, value=16, step=1, label="Number of cats")
            generate_button = gr.Button("Generate", variant="primary", elem_id="generate-button")
        grid_image = gr.Image(label="Cats", format="png", height=330, elem_classes=["pixelated", "upscale"],
                              elem_id="cats-grid")
        generate_button.click(generate, [generator_choice, seed, count], grid_image, api_name="generate", **limits)
        gr.Markdown("#### Interpolation: walk in a straight line between the latents of two seeds")
        with gr.Row():
            seed_a = gr.Number(1, precision=0, minimum=0, maximum=MAX_SEED, label="Start seed")
            seed_b = gr.Number(2, precision=0, minimum=0, maximum=MAX_SEED, label="End seed")
            steps = gr.Slider(2, MAX_STEPS, value=8, step=1, label="Steps")
            interpolate_button = gr.Button("Interpolate", variant="primary", elem_id="interpolate-button")
        strip_image = gr.Image(label="Interpolation", format="png", height=180, elem_classes=["pixelated", "upscale"],
                               elem_id="cats-strip")
        interpolate_button.click(interpolate, [generator_choice, seed_a, seed_b, steps], strip_image,
                                 api_name="interpolate", **limits)
        gr.Markdown("#### Reconstruction: the VAE encodes your cat and decodes it again")
        if vaes:
            _build_reconstruction(next(iter(vaes.values())), limits)
        else:
            gr.Markdown(missing_message(registry, "vae", "VAE"))
        note = missing_note(registry, "gan") + missing_note(registry, "vae")
        if note:
            with gr.Accordion("More models", open=False):
                gr.Markdown(note)
