"""tinyvision demo: classify clothes and objects, tell the time on analog clocks, generate cats.

    python spaces/tinyvision/app.py --models_dir outputs/ [--host 127.0.0.1] [--port 7860]

Models come from one table, :data:`MODEL_SPECS`: each entry has a Hub repo id, an environment variable
that overrides it (a Hub id or a local folder) and local folder names looked up under ``--models_dir``.
For each entry the app tries, in order: the environment variable (if set, nothing else), the first local
folder that holds a ``config.json``, then the Hub id (skipped with ``--offline`` or ``HF_HUB_OFFLINE=1``
when it is not in the cache). A clock slot holds a single-stage ``ClockReader`` or the two-stage
``ClockPhotoReader`` (it finds the dial in a whole photo first), told apart by ``config.json``'s
``model_type``. Everything is loaded once, at start-up. A family with no model turns its
tab into a message that says how to train or fetch one; the other tabs work as usual.

Named endpoints (``gradio_client``): ``/classify``, ``/classify_sketch``, ``/render_clock``,
``/read_clock``, ``/generate``, ``/interpolate``, ``/reconstruct``. Every inference event shares one
concurrency group (``--concurrency`` requests at a time, one torch thread each by default) behind a queue of
``--max_queue`` requests, so a burst of users queues instead of oversubscribing the CPU.

Tests and benchmarks build the app with :func:`build_demo` and start it with :func:`launch`.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import logging
import math
import os
import re
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Mapping
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

HERE = Path(__file__).resolve().parent

try:  # the Space vendors the package next to app.py; a repo checkout has it installed or under src/
    import tinyvision  # noqa: F401
except ImportError:  # pragma: no cover - depends on how the app is deployed
    _repo_src = HERE.parents[1] / "src"
    if not (_repo_src / "tinyvision" / "__init__.py").exists():
        raise
    sys.path.insert(0, str(_repo_src))
    import tinyvision  # noqa: F401

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError  # noqa: E402

from tinyvision.clock_overlay import draw_clock_reading, unit_vector  # noqa: E402
from tinyvision.data.clocks import render_clock_with_labels, sample_style  # noqa: E402
from tinyvision.metrics import common_sense_error  # noqa: E402
from tinyvision.models.image_processing_tinyvision import convert_mode  # noqa: E402
from tinyvision.models.pipeline_clock import dial_in_original  # noqa: E402

try:  # photo-like clock scenes, for visitors without a photo of a clock
    from tinyvision.data.clock_scenes import render_clock_scene
except ImportError:  # pragma: no cover - an older tinyvision: the "Photo-like scene" box is hidden
    render_clock_scene = None

logger = logging.getLogger("tinyvision.space")

# ------------------------------------------------------------------------------------------ limits
MAX_UPLOAD = "10mb"  # gradio refuses larger files before they reach the app
MAX_PIXELS = 40_000_000  # width × height; anything larger is refused before its pixels are decoded
WORK_SIDE = 1024  # larger images are decoded at reduced scale (JPEG) or downsized before inference
MAX_IMAGES = 16  # generate: images per request
MAX_STEPS = 12  # interpolate: images per strip
MAX_SEED = 2**31 - 1
RENDER_SIZE = 150  # the course's clock images are 150 × 150
SCENE_SIZE = (640, 480)  # "Photo-like scene": width, height of a rendered clock scene
DISPLAY_SIDE = 640  # the photo reader's overlay: the photo downscaled to this longer side (small ones upscaled to 320)
DEFAULT_CONCURRENCY = 2  # inference requests run at once (the free Space CPU has 2 cores)
DEFAULT_MAX_QUEUE = 64  # requests waiting; more are refused with "queue full"
HUB_ORG = os.environ.get("TINYVISION_HUB_ORG", "tinyvision")


# ------------------------------------------------------------------------------------ model table
@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """One model slot of the demo."""

    key: str  # slug: the Hub repo name and the default local folder name
    family: str  # classifier | clock | gan | vae
    label: str  # shown in the UI
    local: tuple[str, ...]  # folders under --models_dir, first one with a config.json wins
    how: str  # command that trains it
    dataset: str | None = None  # classifiers: fashion_mnist or cifar10
    head: str | None = None  # clock readers: the head the slot is meant for

    @property
    def hub_id(self) -> str:
        return f"{HUB_ORG}/{self.key}"

    @property
    def env_var(self) -> str:
        return "TINYVISION_MODEL_" + re.sub(r"[^A-Z0-9]+", "_", self.key.upper())


CLASSIFIER_DATASETS = {"fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10"}
CLASSIFIER_PRESETS = {"mlp1": "MLP1", "mlp2": "MLP2", "cnn1": "CNN1", "augmented": "CNN augmented"}
CLOCK_HEADS = {"angles": "angles (recommended)", "hybrid": "hybrid", "multihead": "multi-head",
               "periodic": "periodic", "classification": "classification", "regression": "regression"}


def _model_specs() -> list[ModelSpec]:
    specs = []
    for dataset, dataset_label in CLASSIFIER_DATASETS.items():
        slug = dataset.replace("_", "-")
        for preset, preset_label in CLASSIFIER_PRESETS.items():
            key = f"{slug}-{preset}"
            specs.append(ModelSpec(
                key, "classifier", f"{dataset_label} · {preset_label}",
                local=tuple(dict.fromkeys((key, f"{dataset}/{preset}", f"{slug}/{preset}"))),
                how=f"python scripts/train_classifier.py --dataset_name ../shared/data/{dataset} --preset {preset} "
                    f"--output_dir outputs/{key}",
                dataset=dataset,
            ))
    for head, head_label in CLOCK_HEADS.items():
        key = "clock-reader" if head == "angles" else f"clock-reader-{head}"
        specs.append(ModelSpec(
            key, "clock", head_label, local=(key, "clock-reader-angles") if head == "angles" else (key,),
            how="accelerate launch scripts/train_clock.py" + (
                "" if head == "angles" else f" --model reader --head {head} --output_dir outputs/{key}"),
            head=head,
        ))
    specs.append(ModelSpec("cat-gan", "gan", "GAN", local=("cat-gan", "gan-cpu", "gan"),
                           how="accelerate launch scripts/train_gan.py --profile cpu --output_dir outputs/cat-gan"))
    specs.append(ModelSpec("cat-vae", "vae", "VAE", local=("cat-vae", "vae-cpu", "vae"),
                           how="accelerate launch scripts/train_vae.py --profile cpu --output_dir outputs/cat-vae"))
    return specs


MODEL_SPECS: list[ModelSpec] = _model_specs()


@dataclasses.dataclass
class LoadedModel:
    spec: ModelSpec
    source: str | None = None  # where it came from (folder or Hub id)
    model: object = None  # a pipeline (classifiers) or a PreTrainedModel
    processor: object = None  # clock readers: their image processor
    error: str | None = None  # why it is missing
    label: str = ""

    @property
    def ok(self) -> bool:
        return self.model is not None


@dataclasses.dataclass
class ModelRegistry:
    entries: list[LoadedModel]

    def family(self, family: str, *, loaded: bool = True) -> dict[str, LoadedModel]:
        return {e.label: e for e in self.entries if e.spec.family == family and e.ok == loaded}

    def summary(self) -> str:
        lines = []
        for entry in self.entries:
            if entry.ok:
                lines.append(f"- **{entry.label}** ({entry.spec.family}) — `{entry.source}`")
        return "\n".join(lines) or "- none"


def _hub_offline(use_hub: bool) -> bool:
    return not use_hub or os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on")


def candidate_sources(spec: ModelSpec, models_dir: str | Path | None, *, use_hub: bool = True,
                      environ: Mapping[str, str] | None = None) -> list[str]:
    """Where ``spec`` may be loaded from, in order (see the module docstring)."""
    environ = os.environ if environ is None else environ
    override = environ.get(spec.env_var, "").strip()
    if override:
        return [override]
    sources = []
    if models_dir is not None:
        for name in spec.local:
            folder = Path(models_dir).expanduser() / name
            if (folder / "config.json").is_file():
                sources.append(str(folder))
                break
    if use_hub:
        sources.append(spec.hub_id)
    return sources


# The model class of each family (tinyvision's own, so no remote code is ever run).
FAMILY_CLASSES = {
    "clock": ("tinyvision.models.modeling_clock", "ClockReader"),
    "gan": ("tinyvision.models.modeling_gan", "GANModel"),
    "vae": ("tinyvision.models.modeling_vae", "VAEModel"),
}
# Other classes a family's slot may hold, told apart by config.json's model_type: any clock slot may hold the
# two-stage photo reader (it finds the dial in a whole photo, then reads it).
FAMILY_VARIANTS = {
    "clock": (("tinyvision.models.modeling_clock_photo", "ClockPhotoReader"),),
}
PHOTO_READER_TYPE = "tinyvision_clock_photo"
PHOTO_LABEL = "photo reader (finds the dial)"


def _import_class(module_name: str, class_name: str):
    import importlib

    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise ImportError(f"this tinyvision ({tinyvision.__version__}) has no {class_name}") from error


def family_class(family: str):
    """The model class of ``family``; ImportError when this tinyvision does not have it."""
    return _import_class(*FAMILY_CLASSES[family])


def family_classes(family: str) -> dict:
    """``model_type`` → model class for every class a slot of ``family`` may hold (variants this tinyvision
    lacks are left out; ImportError when it lacks the family's own class)."""
    classes = {}
    for module_name, class_name in (FAMILY_CLASSES[family], *FAMILY_VARIANTS.get(family, ())):
        try:
            model_class = _import_class(module_name, class_name)
        except ImportError:
            if (module_name, class_name) == FAMILY_CLASSES[family]:
                raise
            continue
        classes[model_class.config_class.model_type] = model_class
    return classes


def is_photo_reader(model) -> bool:
    """Whether a clock model is the two-stage photo reader (it locates the dial itself)."""
    return getattr(model.config, "model_type", None) == PHOTO_READER_TYPE


def reader_head(model) -> str:
    """The head a clock model reads with (the photo reader's is its reader stage's)."""
    return model.config.reader_config.head if is_photo_reader(model) else model.config.head


def _load_one(spec: ModelSpec, source: str, offline: bool):
    from transformers import AutoConfig, AutoImageProcessor, pipeline

    local = Path(source).expanduser().is_dir()
    hub = {} if local else {"local_files_only": offline}
    # trust_remote_code=False: tinyvision's registered classes load the folder; its code copy never runs.
    kwargs = {"trust_remote_code": False, **hub}
    if spec.family == "classifier":
        classifier = pipeline("image-classification", model=source, device="cpu", **kwargs)
        classifier.model.eval()
        return classifier, None
    classes = family_classes(spec.family)
    model_type = AutoConfig.from_pretrained(source, **kwargs).model_type
    if model_type not in classes:
        raise ValueError(f"{source} holds a {model_type!r} model, not a {' or '.join(map(repr, classes))} one")
    model = classes[model_type].from_pretrained(source, **hub).eval()
    processor = AutoImageProcessor.from_pretrained(source, **kwargs) if spec.family == "clock" else None
    return model, processor


def load_models(models_dir: str | Path | None = "outputs", *, use_hub: bool = True,
                environ: Mapping[str, str] | None = None, specs: list[ModelSpec] | None = None) -> ModelRegistry:
    """Load every model of ``specs`` that can be found; remember why the others are missing."""
    offline = _hub_offline(use_hub)
    entries = []
    for spec in specs or MODEL_SPECS:
        entry = LoadedModel(spec, label=spec.label)
        sources = candidate_sources(spec, models_dir, use_hub=use_hub, environ=environ)
        errors = []
        for source in sources:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    entry.model, entry.processor = _load_one(spec, source, offline)
                entry.source = source
                break
            except Exception as error:  # noqa: BLE001 - any failure means "not available", with the reason
                first_line = (str(error).splitlines() or [""])[0][:200]
                errors.append(f"{source}: {type(error).__name__}: {first_line}")
        if entry.ok and spec.family == "clock":
            if is_photo_reader(entry.model):  # the recommended slot's photo reader, or one put in another slot
                entry.label = PHOTO_LABEL if spec.head == reader_head(entry.model) else f"{spec.key} ({PHOTO_LABEL})"
            elif entry.model.config.head != spec.head:
                entry.label = f"{spec.key} ({entry.model.config.head} head)"
        if not entry.ok:
            entry.error = "; ".join(errors) if errors else "no local folder found and the Hub is off"
            logger.info("model %s not loaded: %s", spec.key, entry.error)
        entries.append(entry)
    return ModelRegistry(entries)


def missing_message(registry: ModelRegistry, family: str, what: str) -> str:
    """The text a tab shows instead of its controls when none of its models loaded."""
    specs = [e.spec for e in registry.entries if e.spec.family == family]
    lines = [f"### No {what} is available",
             f"This tab needs a trained {what}. Train one in a checkout of the tinyvision repository and start "
             "the app with `--models_dir outputs/`:", "", "```bash"]
    lines += [spec.how for spec in specs[:4]]
    lines += ["```", "", "or point the app at a model on the Hub (or any local folder) with an environment variable:",
              "", "| model | Hub id | environment variable |", "|---|---|---|"]
    lines += [f"| {spec.label} | `{spec.hub_id}` | `{spec.env_var}` |" for spec in specs]
    return "\n".join(lines)


def _missing_note(registry: ModelRegistry, family: str) -> str:
    missing = registry.family(family, loaded=False)
    if not missing:
        return ""
    rows = "\n".join(f"- {e.spec.label}: `{e.spec.how}` (or set `{e.spec.env_var}`)" for e in missing.values())
    return f"Not loaded here ({len(missing)}):\n\n{rows}"


# -------------------------------------------------------------------------------------- images in
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


def _accept_aliases(dropdown: gr.Dropdown, aliases: Mapping[str, str]) -> gr.Dropdown:
    """Let ``dropdown`` take the older names in ``aliases`` (API callers) for the choices they stand for."""
    preprocess = dropdown.preprocess

    def aliased(payload):
        if isinstance(payload, str) and payload in aliases:
            payload = aliases[payload]
        return preprocess(payload)

    dropdown.preprocess = aliased
    return dropdown


def SafeImage(**kwargs) -> gr.Image:  # noqa: N802 - used like a component class
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


def _int(value, name: str, low: int, high: int) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise gr.Error(f"{name} must be a whole number, got {value!r}.") from None
    if not math.isfinite(number) or number != int(number):
        raise gr.Error(f"{name} must be a whole number, got {value!r}.")
    if not low <= int(number) <= high:
        raise gr.Error(f"{name} must be between {low} and {high}, got {int(number)}.")
    return int(number)


# ------------------------------------------------------------------------------------- images out
OUTPUT_DIR = Path(tempfile.gettempdir()) / "tinyvision-space"
OUTPUT_MAX_AGE_S = 3600
_output_lock = threading.Lock()
_output_count = 0


def as_file(image: Image.Image, compress_level: int = 6) -> str:
    """Save ``image`` as a PNG named by its content, atomically, and return the path.

    Gradio writes PIL outputs into its cache in place (truncate, then write) at a path named by the
    content, so two requests with the same output at once (say, many users rendering the default clock)
    can hand out a half-written file. Returning a finished file instead makes gradio copy it with an
    atomic rename. PNG, not gradio's default lossy WebP: clocks and cats are read back pixel for pixel.
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


# ----------------------------------------------------------------------------------- task: classify
def top5(entry: LoadedModel, image: Image.Image) -> dict[str, float]:
    num_labels = entry.model.model.config.num_labels
    with torch.inference_mode():
        predictions = entry.model(image, top_k=min(5, num_labels))
    return {p["label"]: round(float(p["score"]), 6) for p in predictions}


def default_classifier(classifiers: dict[str, LoadedModel]) -> str:
    """The model the Classify tab starts with: Fashion-MNIST first, the strongest recipe available."""
    preference = ("augmented", "cnn1", "mlp1", "mlp2")

    def rank(name: str) -> tuple[int, int]:
        spec = classifiers[name].spec
        preset = spec.key.rsplit("-", 1)[-1]
        return (spec.dataset != "fashion_mnist", preference.index(preset) if preset in preference else 99)

    return min(classifiers, key=rank)


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


# -------------------------------------------------------------------------------------- task: clock
def parse_time(text) -> tuple[int, int] | None:
    """'4:05', '12:30' or '0:30' → (hour 0–11, minute); blank → None."""
    if text is None or not str(text).strip():
        return None
    match = re.fullmatch(r"\s*(\d{1,2})\s*[:h.]\s*(\d{1,2})\s*", str(text))
    if not match or not (0 <= int(match[1]) <= 12 and 0 <= int(match[2]) <= 59):
        raise gr.Error(f"The set time must look like 4:05 (hour 0–12, minute 0–59), got {text!r}.")
    return int(match[1]) % 12, int(match[2])


def display_time(hour: int, minute: int) -> str:
    return f"{hour % 12 or 12}:{minute:02d}"


def read_with(entry: LoadedModel, image: Image.Image) -> dict:
    inputs = entry.processor(image, return_tensors="pt")
    with torch.inference_mode():
        output = entry.model(pixel_values=inputs["pixel_values"])
    hour, minute = int(output.hour[0]), int(output.minute[0])
    return {"hour": hour, "minute": minute, "time": f"{hour}:{minute:02d}", "logits": output.logits[0].float(),
            "minutes": float(output.minutes[0])}


def angles_marker(reading: dict) -> float:
    """Where the ``angles`` head put 12 o'clock (degrees clockwise from up) for this reading.

    Derived from what the model reported rather than decoded again: its minute is the minute hand's
    angle (outputs 4 and 5) past the marker, so the marker is that angle less 6° per minute. This holds
    however the model locates the marker (snapped to ticks, or the heaviest tick of its column softmax).
    """
    from tinyvision.models.modeling_clock import sincos_to_degrees

    logits = reading["logits"].reshape(1, -1).float()
    minute_hand = float(sincos_to_degrees(logits[:, 4], logits[:, 5])[0])
    return (minute_hand - 6.0 * (reading["minutes"] % 60.0)) % 360


def draw_reading(image: Image.Image, reading: dict, head: str, dial_rotation: float | None) -> tuple[Image.Image, str]:
    """The clock with the predicted hands (red) and the 12 o'clock direction they assume (blue) on top.

    The hands are drawn from the middle of the image: rendered clocks are centred there, and an uploaded
    clock is assumed to be (crop it so).
    """
    scale = max(1.0, 320 / max(image.size))
    canvas = image.convert("RGB").resize((round(image.width * scale), round(image.height * scale)),
                                         Image.Resampling.LANCZOS).convert("RGBA")
    overlay = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    if head == "angles":
        marker, note = angles_marker(reading), "12 o'clock as the reader located it"
    elif dial_rotation is not None and math.isfinite(float(dial_rotation)):
        marker, note = float(dial_rotation), "12 o'clock from the rendered dial"
    else:
        marker, note = 0.0, "12 o'clock assumed at the top (this head does not locate the dial)"
    cx, cy, radius = canvas.width / 2, canvas.height / 2, 0.45 * min(canvas.size)
    hour, minute = reading["hour"], reading["minute"]
    width = max(2, round(radius / 18))
    for angle, length, color, thickness in (
        (marker + 30 * (hour + minute / 60), 0.5, (230, 30, 30, 210), round(width * 1.7)),
        (marker + 6 * minute, 0.82, (230, 30, 30, 210), width),
    ):
        dx, dy = unit_vector(angle)
        draw.line([(cx, cy), (cx + dx * length * radius, cy + dy * length * radius)], fill=color, width=thickness)
    dx, dy = unit_vector(marker)
    mx, my, r = cx + dx * 0.92 * radius, cy + dy * 0.92 * radius, width * 1.6
    draw.ellipse([mx - r, my - r, mx + r, my + r], fill=(30, 90, 230, 230))
    draw.ellipse([cx - width, cy - width, cx + width, cy + width], fill=(230, 30, 30, 230))
    return Image.alpha_composite(canvas, overlay).convert("RGB"), note


def read_photo(entry: LoadedModel, image: Image.Image, original_size: tuple[int, int] | None = None) -> dict:
    """The photo reader on ``image``: one preprocessing pass (the letterbox), one forward, and the dial mapped
    back to the picture as uploaded (``original_size``; default ``image.size``) with the pipeline's own
    :func:`dial_in_original`.

    Returns the ``clock-reading`` pipeline's answer (``hour``, ``minute``, ``time``, ``confidence``, ``found``,
    ``box``, ``dial``, ``hands``) with the ``box`` clipped to the image, plus ``threshold`` (the model's
    ``detection_threshold``) and ``image_size`` (the frame of every coordinate: the uploaded picture's pixels).
    """
    width, height = image.size
    original_width, original_height = original_size or image.size
    inputs = entry.processor(image, return_tensors="pt")
    with torch.inference_mode():
        output = entry.model(pixel_values=inputs["pixel_values"])
    scale_x, scale_y, offset_x, offset_y = entry.processor.placement(width, height)
    # the model saw the working copy (at most WORK_SIDE); answer in the uploaded picture's pixels
    placement = (scale_x * width / original_width, scale_y * height / original_height, offset_x, offset_y)
    threshold = float(entry.model.config.detection_threshold)
    dial = dial_in_original({"placement": placement, "dial_center": output.dial_center,
                             "dial_shape": output.dial_shape, "hand_angles": output.hand_angles,
                             "confidence": output.confidence}, threshold)
    bounds = {"x": original_width, "y": original_height}  # the box: the part of the dial inside the picture
    dial["box"] = {key: round(min(max(value, 0.0), bounds[key[0]]), 1) for key, value in dial["box"].items()}
    dial["dial"] = {"center": [round(v, 1) for v in dial["dial"]["center"]],
                    "axes": [round(v, 1) for v in dial["dial"]["axes"]], "angle": round(dial["dial"]["angle"], 1)}
    dial["hands"] = {key: round(value, 1) for key, value in dial["hands"].items()}
    hour, minute = int(output.hour[0]), int(output.minute[0])
    return {"hour": hour, "minute": minute, "time": f"{hour}:{minute:02d}", **dial, "threshold": threshold,
            "image_size": [original_width, original_height]}


def read_any(entry: LoadedModel, image: Image.Image, original_size: tuple[int, int] | None = None) -> dict:
    """Either reader on ``image``; every reading has ``found`` (the single-stage readers always answer)."""
    if is_photo_reader(entry.model):
        return read_photo(entry, image, original_size)
    return {**read_with(entry, image), "found": True}


def display_copy(image: Image.Image) -> Image.Image:
    """``image`` in RGB with its longer side at most DISPLAY_SIDE (and at least 320: small ones are enlarged)."""
    side = max(image.size)
    scale = DISPLAY_SIDE / side if side > DISPLAY_SIDE else max(1.0, 320 / side)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    image = image.convert("RGB")
    if size == image.size:
        return image
    if scale < 1:  # fast and clean: reduce by whole factors first, then resample
        return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return image.resize(size, Image.Resampling.LANCZOS)


def draw_photo_reading(image: Image.Image, reading: dict) -> Image.Image:
    """The photo (downscaled for display) with, when a clock was found, the dial's ellipse and box (green), the
    predicted hour and minute hands from the dial's centre (red) and a blue dot at 12 o'clock
    (:func:`tinyvision.clock_overlay.draw_clock_reading`); without a clock, the photo alone."""
    return draw_clock_reading(display_copy(image), reading, original_size=reading["image_size"])


# ---------------------------------------------------------------------------------- task: generate
def _pil_list(images) -> list[Image.Image]:
    if isinstance(images, Image.Image):
        return [images]
    if isinstance(images, torch.Tensor):
        array = (images.detach().float().cpu().clamp(0, 1) * 255).round().to(torch.uint8)
        array = array[None] if array.dim() == 3 else array
        array = array.permute(0, 2, 3, 1).numpy()
        return [Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a) for a in array]
    return [image if isinstance(image, Image.Image) else _pil_list(image)[0] for image in images]


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


def vae_reconstruct(model, image: Image.Image) -> tuple[Image.Image, Image.Image]:
    """(the VAE's reconstruction of ``image``, the input as the model saw it: cropped and resized)."""
    config = model.config
    side = config.image_size
    image = ImageOps.fit(image.convert("RGB" if config.num_channels == 3 else "L"), (side, side),
                         Image.Resampling.LANCZOS)
    with torch.inference_mode():
        result = model.reconstruct(image)  # the model's own image processor maps it into its pixel range
    return _pil_list(result)[0], image


# --------------------------------------------------------------------------------------------- UI
CSS = """
.pixelated img { image-rendering: pixelated; }
/* small images (28 to 64 px) fill their box instead of sitting in a corner of it */
.upscale img { width: 100% !important; height: 100% !important; object-fit: contain; }
#clock-headline h3 { margin: 0.2em 0; }
footer { display: none !important; }
"""
THEME = gr.themes.Soft(
    primary_hue="indigo",
    font=["ui-sans-serif", "system-ui", "sans-serif"],  # no web fonts: the demo works on a closed network
    font_mono=["ui-monospace", "Consolas", "monospace"],
)
CLOCK_TAB_TEXT = (
    "**Photos work now**: upload a photo of an analog clock, paste one or take one with your webcam, then press "
    "**Read the time**. The photo reader first finds the dial (drawn in green), then reads it (the hands in red, "
    "12 o'clock as a blue dot); when it finds no clock it says so instead of making up a time. No photo at hand? "
    "Set a time and a style and **Make a clock**, tick *Photo-like scene* to hide it in a room, and the reader "
    "tells the time at once.")
CLOCK_TAB_TEXT_NO_PHOTO = (
    "Set a time and a style, **Make a clock**, and the reader tells the time; or upload, paste or take a photo of "
    "an analog clock and press **Read the time**. The readers loaded here expect the clock to fill the picture, "
    "centred (crop your photo so); the photo reader, which finds the dial in a whole photo, is not loaded "
    "(`accelerate launch scripts/train_clock.py` trains it).")
# The webcam's resolution (a PNG of this is well under the upload limit) and, on phones, the back camera.
WEBCAM = {"video": {"width": {"ideal": 1280}, "height": {"ideal": 960}, "facingMode": {"ideal": "environment"}}}
INTRO = """# tinyvision
Small vision models from the [tinyvision](https://huggingface.co/tinyvision) library, running on CPU:
**classify** Fashion-MNIST and CIFAR-10 images, **tell the time** on analog clocks in any orientation, and
**generate cats** with a GAN and a VAE."""


def build_demo(models_dir: str | Path | None = "outputs", *, use_hub: bool = True,
               registry: ModelRegistry | None = None, concurrency: int = DEFAULT_CONCURRENCY,
               max_queue: int = DEFAULT_MAX_QUEUE, environ: Mapping[str, str] | None = None) -> gr.Blocks:
    """The whole demo as a ``gr.Blocks`` (models loaded here, once, unless ``registry`` is given)."""
    if registry is None:
        registry = load_models(models_dir, use_hub=use_hub, environ=environ)
    classifiers = registry.family("classifier")
    clocks = registry.family("clock")
    generators = {**registry.family("gan"), **registry.family("vae")}
    vaes = registry.family("vae")
    limits = {"concurrency_limit": concurrency, "concurrency_id": "inference"}
    # Older names of the clock readers still select them (API callers): a slot's own label (say, "angles
    # (recommended)" for the slot that now holds the photo reader) and its key ("clock-reader").
    clock_aliases = {}
    for entry in clocks.values():
        for alias in (entry.spec.label, entry.spec.key):
            if alias not in clocks:
                clock_aliases.setdefault(alias, entry.label)

    # -------------------------------------------------------------- handlers (closures over the registry)
    def _pick(family: dict[str, LoadedModel], name, what: str) -> LoadedModel:
        if name in family:
            return family[name]
        if family is clocks and clock_aliases.get(name) in family:
            return family[clock_aliases[name]]
        raise gr.Error(f"Unknown {what} {name!r}; choose one of: {', '.join(family)}.")

    def classify(model_name, image, invert=False):
        entry = _pick(classifiers, model_name, "model")
        picture = open_image(image)
        if invert:
            picture = ImageOps.invert(picture)
        return top5(entry, picture)

    def classify_sketch(model_name, sketch):
        entry = _pick(classifiers, model_name, "model")
        if sketch is None:
            raise gr.Error("Draw something on the sketchpad first.")
        return top5(entry, sketch_to_image(sketch, entry.model.model.config.num_channels))

    def render_clock(hour, minute, rotation, style_seed, scene=False):
        hour = _int(hour, "hour", 0, 12)
        minute = _int(minute, "minute", 0, 59)
        seed = _int(style_seed, "style seed", 0, MAX_SEED)
        try:
            rotation = float(rotation)
        except (TypeError, ValueError):
            raise gr.Error(f"rotation must be a number of degrees, got {rotation!r}.") from None
        if not math.isfinite(rotation):
            raise gr.Error("rotation must be a finite number of degrees.")
        if scene:
            if render_clock_scene is None:
                raise gr.Error("This tinyvision cannot render photo-like scenes (tinyvision.data.clock_scenes).")
            # A room-like photo with the clock somewhere in it, turned and tilted as the seed has it (the
            # rotation slider is for the drawn clocks).
            image, labels = render_clock_scene(hour, minute, width=SCENE_SIZE[0], height=SCENE_SIZE[1], seed=seed,
                                               orientation="world")
            return (as_file(image, compress_level=1), display_time(hour, minute),
                    round(float(labels["dial_rotation"]), 2))
        # The seed picks the look; the slider sets the rotation; the dial sits in the middle of the image,
        # where the overlay of the reading puts the centre of the hands.
        style = dataclasses.replace(sample_style(np.random.default_rng(seed)), rotation=rotation % 360,
                                    center_offset=(0.0, 0.0))
        image, labels = render_clock_with_labels(hour, minute, size=RENDER_SIZE, style=style)
        return as_file(image), display_time(hour, minute), round(labels["dial_rotation"], 2)

    def read_clock(image, reader_name=None, set_time="", dial_rotation=None, compare=False):
        entry = _pick(clocks, reader_name or next(iter(clocks)), "clock reader")
        picture, original_size = open_image_sized(image)
        truth = parse_time(set_time)
        reading = read_any(entry, picture, original_size)
        photo = is_photo_reader(entry.model)
        if not reading["found"]:
            # No clock: say so, and give no time (the raw guess stays in the JSON, named as such).
            result = {"found": False, "confidence": reading["confidence"], "threshold": reading["threshold"],
                      "guess": {key: reading[key] for key in ("hour", "minute", "time", "box", "dial", "hands")},
                      "image_size": reading["image_size"], "reader": entry.label}
            headline = (f"### No clock found (confidence {reading['confidence']:.2f}, below the reader's threshold "
                        f"of {reading['threshold']:.4g})\n\nThe {entry.label} sees no analog clock in this picture, "
                        "so it gives no time. Try a photo in which the clock's face is larger, sharper or less "
                        "tilted.")
            if truth is not None:
                result["set_time"] = f"{truth[0]}:{truth[1]:02d}"
            overlay = draw_photo_reading(picture, reading)
        else:
            result = {key: reading[key] for key in ("hour", "minute", "time")}
            if photo:
                result.update({key: reading[key] for key in ("confidence", "found", "box", "dial", "hands",
                                                             "image_size")})
            result["reader"] = entry.label
            headline = f"### The clock reads **{display_time(reading['hour'], reading['minute'])}**"
            if truth is not None:
                error = int(common_sense_error(reading["hour"], reading["minute"], *truth))
                result["set_time"], result["error_minutes"] = f"{truth[0]}:{truth[1]:02d}", error
                headline += f" · set to {display_time(*truth)} · common-sense error **{error} min**"
            if photo:
                overlay = draw_photo_reading(picture, reading)
                headline += (f"\n\nReader: {entry.label}, clock found with confidence {reading['confidence']:.2f}. "
                             "Overlay: the dial it found (green), the predicted hands (red), blue dot: 12 o'clock as "
                             "the reader located it.")
            else:
                overlay, note = draw_reading(picture, reading, entry.model.config.head, dial_rotation)
                headline += f"\n\nReader: {entry.label}. Overlay: predicted hands in red; blue dot: {note}."
        rows = []
        for other in (clocks.values() if compare else [entry]):
            other_reading = reading if other is entry else read_any(other, picture, original_size)
            found = other_reading["found"]
            error = (int(common_sense_error(other_reading["hour"], other_reading["minute"], *truth))
                     if truth is not None and found else None)
            rows.append([other.label, reader_head(other.model),
                         display_time(other_reading["hour"], other_reading["minute"]) if found else "no clock found",
                         error])
        return headline, result, as_file(overlay, compress_level=1 if photo else 6), rows

    def generate(model_name, seed, count):
        entry = _pick(generators, model_name, "generator")
        seed, count = _int(seed, "seed", 0, MAX_SEED), _int(count, "count", 1, MAX_IMAGES)
        images = _pil_list(entry.model.generate(count, seed=seed, return_pil=True))
        return [(as_file(image), f"seed {seed} · #{i}") for i, image in enumerate(images)]

    def interpolate(model_name, seed_a, seed_b, steps):
        entry = _pick(generators, model_name, "generator")
        seed_a, seed_b = _int(seed_a, "start seed", 0, MAX_SEED), _int(seed_b, "end seed", 0, MAX_SEED)
        steps = _int(steps, "steps", 2, MAX_STEPS)
        # the strip starts at generate(1, seed=seed_a)[0] and ends at generate(1, seed=seed_b)[0]
        return as_file(strip(_pil_list(entry.model.interpolate(seed_a, seed_b, steps, return_pil=True))))

    def reconstruct(image):
        if not vaes:
            raise gr.Error("No VAE is loaded.")
        entry = next(iter(vaes.values()))
        reconstruction, resized = vae_reconstruct(entry.model, open_image(image))
        return as_file(strip([resized, reconstruction], gap=4))

    # ------------------------------------------------------------------------------------ layout
    # delete_cache: gradio's cached uploads and outputs older than an hour are removed every half hour.
    with gr.Blocks(title="tinyvision", delete_cache=(1800, 3600)) as demo:
        gr.Markdown(INTRO)
        with gr.Accordion("Models loaded at start-up", open=False):
            gr.Markdown(registry.summary())
        with gr.Tabs():
            # ---------------------------------------------------------------------------- Classify
            with gr.Tab("Classify", id="classify"):
                if not classifiers:
                    gr.Markdown(missing_message(registry, "classifier", "image classifier"))
                else:
                    with gr.Row():
                        with gr.Column():
                            model_choice = gr.Dropdown(list(classifiers), value=default_classifier(classifiers),
                                                       label="Model")
                            with gr.Tabs():
                                with gr.Tab("Upload", id="upload"):
                                    upload = SafeImage(type="filepath", label="Image",
                                                       sources=["upload", "clipboard"], height=260,
                                                       elem_classes=["pixelated", "upscale"],
                                                       elem_id="classify-image")
                                    invert = gr.Checkbox(False, label="Invert colours (Fashion-MNIST items are "
                                                                      "light on black)")
                                    classify_button = gr.Button("Classify", variant="primary",
                                                                elem_id="classify-button")
                                with gr.Tab("Sketch", id="sketch"):
                                    sketch = gr.Sketchpad(type="pil", label="Draw an item", canvas_size=(420, 420),
                                                          brush=gr.Brush(default_size=28, colors=["#000000"],
                                                                         color_mode="fixed"),
                                                          elem_id="classify-sketch")
                                    sketch_button = gr.Button("Classify sketch", variant="primary",
                                                              elem_id="classify-sketch-button")
                        with gr.Column():
                            top5_label = gr.Label(num_top_classes=5, label="Top-5 classes",
                                                  elem_id="classify-result")
                    for dataset, dataset_label in CLASSIFIER_DATASETS.items():
                        models = [name for name, e in classifiers.items() if e.spec.dataset == dataset]
                        folder = HERE / "examples" / dataset
                        files = sorted(folder.glob("*.png")) if folder.is_dir() else []
                        if models and files:
                            gr.Examples([[str(path), models[0]] for path in files], inputs=[upload, model_choice],
                                        label=f"{dataset_label} test images (click one, then Classify)",
                                        examples_per_page=10, visible_columns=[0])
                    note = _missing_note(registry, "classifier")
                    if note:
                        with gr.Accordion("More models", open=False):
                            gr.Markdown(note)
                    classify_button.click(classify, [model_choice, upload, invert], top5_label, api_name="classify",
                                          **limits)
                    sketch_button.click(classify_sketch, [model_choice, sketch], top5_label,
                                        api_name="classify_sketch", **limits)

            # ------------------------------------------------------------------------ Tell the time
            with gr.Tab("Tell the time", id="clock"):
                photo_readers = [name for name, e in clocks.items() if is_photo_reader(e.model)]
                gr.Markdown(CLOCK_TAB_TEXT if photo_readers or not clocks else CLOCK_TAB_TEXT_NO_PHOTO)
                with gr.Row():
                    with gr.Column():
                        hour = gr.Slider(1, 12, value=4, step=1, label="Hour")
                        minute = gr.Slider(0, 59, value=20, step=1, label="Minute")
                        rotation = gr.Slider(-180, 180, value=30, step=1, label="Rotation of the dial (degrees)",
                                             info="Drawn clocks; a photo-like scene turns and tilts its own dial.")
                        style_seed = gr.Number(3, precision=0, minimum=0, maximum=MAX_SEED, label="Style seed")
                        scene = gr.Checkbox(False, label=f"Photo-like scene ({SCENE_SIZE[0]} × {SCENE_SIZE[1]}: a "
                                                         "room with the clock somewhere in it)",
                                            visible=render_clock_scene is not None, elem_id="scene-checkbox")
                        make_button = gr.Button("Make a clock" + (" and read it" if clocks else ""),
                                                variant="primary", elem_id="make-clock-button")
                    with gr.Column():
                        # Webcam: not mirrored (a mirrored clock reads another time); the back camera on phones.
                        clock_image = SafeImage(type="filepath", label="Clock (upload, paste or take a photo)",
                                                sources=["upload", "clipboard", "webcam"], height=300, format="png",
                                                webcam_options=gr.WebcamOptions(mirror=False, constraints=WEBCAM),
                                                elem_id="clock-image")
                        with gr.Row():
                            set_time = gr.Textbox("", label="Set time (for the error; blank if unknown)",
                                                  elem_id="set-time")
                            dial_rotation = gr.Number(None, label="Dial rotation (°)", visible=False)
                render_event = make_button.click(render_clock, [hour, minute, rotation, style_seed, scene],
                                                 [clock_image, set_time, dial_rotation], api_name="render_clock",
                                                 **limits)
                if not clocks:
                    gr.Markdown(missing_message(registry, "clock", "clock reader"))
                else:
                    with gr.Row():
                        reader_choice = _accept_aliases(
                            gr.Dropdown(list(clocks), value=next(iter(clocks)), label="Reader"), clock_aliases)
                        compare = gr.Checkbox(False, label="Compare every available head")
                        read_button = gr.Button("Read the time", variant="primary", elem_id="read-clock-button")
                    headline = gr.Markdown(label="Headline", elem_id="clock-headline")
                    with gr.Row():
                        overlay = gr.Image(label="What the reader sees", height=320, format="png",
                                           elem_id="clock-overlay")
                        with gr.Column():
                            reading = gr.JSON(label="Reading")
                            heads = gr.Dataframe(headers=["reader", "head", "time", "error (min)"],
                                                 datatype=["str", "str", "str", "number"], label="Heads",
                                                 interactive=False)
                    read_inputs = [clock_image, reader_choice, set_time, dial_rotation, compare]
                    read_outputs = [headline, reading, overlay, heads]
                    read_button.click(read_clock, read_inputs, read_outputs, api_name="read_clock", **limits)
                    render_event.success(read_clock, read_inputs, read_outputs, api_visibility="private", **limits)
                    # a picture of the visitor's own (upload, paste, webcam): its time is unknown
                    clock_image.input(lambda: ("", None), None, [set_time, dial_rotation], queue=False,
                                      api_visibility="private")
                    note = _missing_note(registry, "clock")
                    if note:
                        with gr.Accordion("More readers", open=False):
                            gr.Markdown(note)

            # ------------------------------------------------------------------------ Generate cats
            with gr.Tab("Generate cats", id="cats"):
                if not generators:
                    gr.Markdown(missing_message(registry, "gan", "GAN") + "\n\n"
                                + missing_message(registry, "vae", "VAE"))
                else:
                    with gr.Row():
                        generator_choice = gr.Radio(list(generators), value=next(iter(generators)), label="Model")
                        seed = gr.Number(0, precision=0, minimum=0, maximum=MAX_SEED, label="Seed")
                        count = gr.Slider(1, MAX_IMAGES, value=16, step=1, label="Number of cats")
                        generate_button = gr.Button("Generate", variant="primary", elem_id="generate-button")
                    gallery = gr.Gallery(label="Cats", columns=8, height=330, format="png", elem_classes="pixelated",
                                         elem_id="cats-gallery")
                    generate_button.click(generate, [generator_choice, seed, count], gallery, api_name="generate",
                                          **limits)
                    gr.Markdown("#### Interpolation: walk in a straight line between the latents of two seeds")
                    with gr.Row():
                        seed_a = gr.Number(1, precision=0, minimum=0, maximum=MAX_SEED, label="Start seed")
                        seed_b = gr.Number(2, precision=0, minimum=0, maximum=MAX_SEED, label="End seed")
                        steps = gr.Slider(2, MAX_STEPS, value=8, step=1, label="Steps")
                        interpolate_button = gr.Button("Interpolate", variant="primary",
                                                       elem_id="interpolate-button")
                    strip_image = gr.Image(label="Interpolation", format="png", height=180,
                                           elem_classes=["pixelated", "upscale"], elem_id="cats-strip")
                    interpolate_button.click(interpolate, [generator_choice, seed_a, seed_b, steps], strip_image,
                                             api_name="interpolate", **limits)
                    gr.Markdown("#### Reconstruction: the VAE encodes your cat and decodes it again")
                    if not vaes:
                        gr.Markdown(missing_message(registry, "vae", "VAE"))
                    else:
                        with gr.Row():
                            cat_image = SafeImage(type="filepath", label="Your cat (cropped to the face, 64×64)",
                                                  sources=["upload", "clipboard"], height=220,
                                                  elem_classes=["pixelated", "upscale"], elem_id="cat-image")
                            with gr.Column():
                                reconstruct_button = gr.Button("Reconstruct", variant="primary",
                                                               elem_id="reconstruct-button")
                                reconstruction = gr.Image(label="Input · reconstruction", format="png", height=220,
                                                          elem_classes=["pixelated", "upscale"],
                                                          elem_id="cat-reconstruction")
                        reconstruct_button.click(reconstruct, cat_image, reconstruction, api_name="reconstruct",
                                                 **limits)
                    note = _missing_note(registry, "gan") + _missing_note(registry, "vae")
                    if note:
                        with gr.Accordion("More models", open=False):
                            gr.Markdown(note)
    demo.queue(default_concurrency_limit=concurrency, max_size=max_queue)
    demo.tinyvision_registry = registry
    return demo


def launch(demo: gr.Blocks, *, host: str = "127.0.0.1", port: int | None = 7860, prevent_thread_lock: bool = False,
           quiet: bool = False):
    """Start the server with the demo's theme, upload limit and error policy."""
    return demo.launch(
        server_name=host,
        server_port=port,
        max_file_size=MAX_UPLOAD,
        allowed_paths=[str(OUTPUT_DIR)],  # the finished output files of as_file()
        show_error=False,  # only gr.Error messages (written for users) reach the page; others are logged
        theme=THEME,
        css=CSS,
        ssr_mode=False,
        prevent_thread_lock=prevent_thread_lock,
        quiet=quiet,
        footer_links=["api"],
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="The tinyvision Gradio demo.")
    parser.add_argument("--models_dir", default=os.environ.get("TINYVISION_MODELS_DIR", "outputs"),
                        help="Folder of local model folders (training --output_dirs), tried before the Hub.")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    parser.add_argument("--offline", action="store_true", help="Never ask the Hub; local folders only.")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY,
                        help="Inference requests served at once (one torch thread each).")
    parser.add_argument("--max_queue", type=int, default=DEFAULT_MAX_QUEUE, help="Requests that may wait.")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per request.")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(max(1, args.threads))
    started = time.perf_counter()
    demo = build_demo(args.models_dir, use_hub=not args.offline, concurrency=args.concurrency,
                      max_queue=args.max_queue)
    loaded = [e for e in demo.tinyvision_registry.entries if e.ok]
    logger.info("loaded %d model(s) in %.1f s: %s", len(loaded), time.perf_counter() - started,
                ", ".join(f"{e.spec.key} <- {e.source}" for e in loaded) or "none")
    launch(demo, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
