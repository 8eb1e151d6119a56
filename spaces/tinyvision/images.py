"""What a request brings in and takes out: hardened uploads, checked numbers, and output images as finished files.

Uploads: :func:`SafeImage` turns gradio's own decoding errors into friendly messages, :func:`open_image` decodes
any image PIL reads into a small 'L' or 'RGB' working copy, refusing images over the image processor's own
pixel limit before their pixels are decoded. Outputs: :func:`as_file` writes a PNG named by its content,
atomically, into a folder swept of files older than an hour.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import threading
import time
import warnings
from pathlib import Path

import gradio as gr
import numpy as np
import torch
from gradio.utils import get_upload_folder
from PIL import Image, ImageOps, UnidentifiedImageError

from tinyvision.models.image_processing_tinyvision import MAX_IMAGE_PIXELS as MAX_PIXELS  # width × height
from tinyvision.models.image_processing_tinyvision import convert_mode

MAX_UPLOAD = "10mb"  # gradio refuses larger files before they reach the app
WORK_SIDE = 1024  # larger images are decoded at reduced scale (JPEG) or downsized before inference
MAX_SEED = 2**31 - 1

# ------------------------------------------------------------------------------------------- uploads
TOO_BIG = ("The image is {w:,} × {h:,} pixels ({mp:.0f} megapixels); this demo reads images up to "
           f"{MAX_PIXELS / 1e6:.0f} megapixels. Please downscale it and try again.")
NOT_AN_IMAGE = "That file is not an image this demo can read. Please upload a PNG, JPEG, WebP, BMP, GIF or TIFF."
BOMB = ("The image claims far too many pixels to process safely (a possible decompression bomb); this demo reads "
        f"images up to {MAX_PIXELS / 1e6:.0f} megapixels.")
DAMAGED = "The image file is damaged or truncated and could not be decoded. Please upload another file."


def _friendly_preprocess(image_component: gr.Image):
    """Wrap one ``gr.Image``'s upload step so that unreadable files get a friendly message.

    Gradio opens every uploaded image with PIL before the app sees it; a text file, a corrupt header or a
    decompression bomb would surface there as a bare error. (Wrapping the instance, not subclassing: gradio
    writes a ``.pyi`` stub next to the module of every Component subclass.)
    """
    preprocess = image_component.preprocess

    def safe_preprocess(payload):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                return preprocess(payload)
        except gr.Error:
            raise
        except Image.DecompressionBombError:
            raise gr.Error(BOMB) from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
            raise gr.Error(NOT_AN_IMAGE) from None

    image_component.preprocess = safe_preprocess
    return image_component


def SafeImage(**kwargs) -> gr.Image:
    """A ``gr.Image`` input whose bad uploads end in a friendly message (see :func:`_friendly_preprocess`).

    ``image_mode=None``: gradio hands over the uploaded file as it is, and :func:`open_image` converts it.
    (With gr.Image's default 'RGB', gradio converts and re-saves every upload in place under a path named by
    its content, so identical uploads at the same moment can read each other's half-written file; and its
    plain ``convert("RGB")`` clips 16-bit images to white.)
    """
    kwargs.setdefault("image_mode", None)
    return _friendly_preprocess(gr.Image(**kwargs))


def open_image(path) -> Image.Image:
    """An uploaded file (path) or PIL image → a decoded 'L' or 'RGB' image no larger than WORK_SIDE.

    Refuses non-images, damaged files and images over MAX_PIXELS with a friendly ``gr.Error``; handles
    RGBA / LA / P (composited on white), 16-bit and float grayscale (rescaled), CMYK, EXIF rotation and
    animations (first frame).
    """
    return open_image_sized(path)[0]


def open_image_sized(path) -> tuple[Image.Image, tuple[int, int]]:
    """:func:`open_image` and the (width, height) of the picture as uploaded (upright, full size), for answers
    in the uploaded image's pixels although the image is decoded or downsized to at most WORK_SIDE."""
    if path is None:
        raise gr.Error("Please upload an image first.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = path if isinstance(path, Image.Image) else Image.open(path)
    except Image.DecompressionBombError:
        raise gr.Error(BOMB) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise gr.Error(NOT_AN_IMAGE) from None
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise gr.Error(TOO_BIG.format(w=width, h=height, mp=width * height / 1e6))
    if width < 1 or height < 1:
        raise gr.Error("The image is empty (0 pixels).")
    try:
        if image.format == "JPEG":
            image.draft(image.mode, (WORK_SIDE, WORK_SIDE))  # decode a big JPEG at 1/2, 1/4 or 1/8 scale
        image.load()
        turned = image.getexif().get(0x0112) in (5, 6, 7, 8)  # EXIF orientations that swap width and height
        original_size = (height, width) if turned else (width, height)
        image = ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
        raise gr.Error(DAMAGED) from None
    grayscale = image.mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F") or (
        image.mode in ("P", "PA") and _palette_is_gray(image))
    image = convert_mode(image, 1 if grayscale else 3)
    if max(image.size) > WORK_SIDE:
        image.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return image, original_size


def _palette_is_gray(image: Image.Image) -> bool:
    palette = np.asarray(image.convert("RGB"))
    return bool((palette[..., 0] == palette[..., 1]).all() and (palette[..., 1] == palette[..., 2]).all())


def sketch_to_image(sketch, num_channels: int) -> Image.Image:
    """The sketchpad's layers → the drawing, cropped to its strokes and centred on a square.

    Grayscale models (Fashion-MNIST) get light strokes on black, as their training images; colour models get
    dark strokes on white.
    """
    composite = sketch.get("composite") if isinstance(sketch, dict) else sketch
    if composite is None:
        raise gr.Error("Draw something on the sketchpad first.")
    if not isinstance(composite, Image.Image):
        composite = open_image(composite)
    rgba = composite.convert("RGBA")
    flat = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("L")
    ink = ImageOps.invert(flat)
    box = ink.point(lambda v: 255 if v > 40 else 0).getbbox()
    if box is None:
        raise gr.Error("The sketch is empty: draw something first.")
    left, top, right, bottom = box
    side = int(max(right - left, bottom - top) * 1.15) + 2
    square = Image.new("L", (side, side), 0)
    square.paste(ink.crop(box), ((side - (right - left)) // 2, (side - (bottom - top)) // 2))
    return square if num_channels == 1 else ImageOps.invert(square).convert("RGB")


# ------------------------------------------------------------------------------------------- numbers
def whole_number(value, name: str, low: int, high: int) -> int:
    """``value`` as an int in [low, high], or a ``gr.Error`` that names the parameter."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise gr.Error(f"{name} must be a whole number, got {value!r}.") from None
    if not math.isfinite(number) or number != int(number):
        raise gr.Error(f"{name} must be a whole number, got {value!r}.")
    if not low <= int(number) <= high:
        raise gr.Error(f"{name} must be between {low} and {high}, got {int(number)}.")
    return int(number)


# ------------------------------------------------------------------------------------------- outputs
# Inside gradio's own cache folder: gradio serves a file already there as it is, instead of hashing it and copying
# it into the cache on every request.
OUTPUT_DIR = Path(get_upload_folder()) / "tinyvision-space"
OUTPUT_MAX_AGE_S = 3600
_output_lock = threading.Lock()
_output_count = 0


def as_file(image: Image.Image, compress_level: int = 6) -> str:
    """Save ``image`` as a PNG named by its content, atomically, and return the path.

    Gradio writes PIL outputs into its cache in place (truncate, then write) at a path named by the
    content, so two requests with the same output at once (say, many users rendering the default clock)
    can hand out a half-written file. A finished file in gradio's cache folder (:data:`OUTPUT_DIR`) is served
    as it is. PNG, not gradio's default lossy WebP: clocks and cats are read back pixel for pixel.
    ``compress_level=1`` for photos: a 640 × 480 photo compresses 4 times faster (about 25 ms instead of 100 on
    this CPU) into a file less than a tenth larger.
    """
    global _output_count
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=compress_level)
    data = buffer.getvalue()
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUTPUT_DIR / f"{hashlib.sha256(data).hexdigest()[:32]}.png"
    if not path.exists():
        partial = path.with_name(f"{path.stem}.{threading.get_ident()}.{time.monotonic_ns()}.tmp")
        partial.write_bytes(data)
        os.replace(partial, path)
    else:
        os.utime(path)
    with _output_lock:
        _output_count += 1
        sweep = _output_count % 200 == 0
    if sweep:  # forget outputs nobody asked for within the hour
        cutoff = time.time() - OUTPUT_MAX_AGE_S
        for old in OUTPUT_DIR.glob("*.png"):
            try:
                if old.stat().st_mtime < cutoff:
                    old.unlink()
            except OSError:
                pass
    return str(path)


def pil_list(images) -> list[Image.Image]:
    """A PIL image, a list of them, or a (batch,) channels × height × width tensor in [0, 1] → PIL images."""
    if isinstance(images, Image.Image):
        return [images]
    if isinstance(images, torch.Tensor):
        array = (images.detach().float().cpu().clamp(0, 1) * 255).round().to(torch.uint8)
        array = array[None] if array.dim() == 3 else array
        array = array.permute(0, 2, 3, 1).numpy()
        return [Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a) for a in array]
    return [image if isinstance(image, Image.Image) else pil_list(image)[0] for image in images]


def strip(images: list[Image.Image], gap: int = 2) -> Image.Image:
    """Images side by side on a white background."""
    width = sum(image.width for image in images) + gap * (len(images) - 1)
    height = max(image.height for image in images)
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    x = 0
    for image in images:
        canvas.paste(image.convert("RGB"), (x, 0))
        x += image.width + gap
    return canvas
