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

The code: ``loading.py`` (the model table and loading), ``images.py`` (uploads in, output files out) and one
module per tab (``tab_classify.py``, ``tab_clock.py``, ``tab_generate.py``); this file composes the tabs and
holds the command line.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

HERE = Path(__file__).resolve().parent

try:  # the Space vendors the package next to app.py; a repo checkout has it installed or under src/
    import tinyvision
except ImportError:  # pragma: no cover - depends on how the app is deployed
    _repo_src = HERE.parents[1] / "src"
    if not (_repo_src / "tinyvision" / "__init__.py").exists():
        raise
    sys.path.insert(0, str(_repo_src))
    import tinyvision  # noqa: F401

if str(HERE) not in sys.path:  # the sibling modules, also when app.py is imported by path (tests, benchmarks)
    sys.path.insert(0, str(HERE))

import gradio as gr
import torch
from images import (
    MAX_PIXELS,
    MAX_UPLOAD,
    OUTPUT_DIR,
    SafeImage,
    as_file,
    open_image,
    open_image_sized,
    sketch_to_image,
    strip,
)
from loading import (
    CLASSIFIER_PRESETS,
    CLOCK_HEADS,
    MODEL_SPECS,
    LoadedModel,
    ModelRegistry,
    ModelSpec,
    candidate_sources,
    is_photo_reader,
    load_models,
    missing_message,
    reader_head,
)
from tab_classify import build_classify_tab, default_classifier, top5
from tab_clock import angles_marker, build_clock_tab, parse_time, read_photo, read_with, render_clock
from tab_generate import build_generate_tab, vae_reconstruct

__all__ = [  # what tests, benchmarks and callers of the single-file app import from here
    "CLASSIFIER_PRESETS", "CLOCK_HEADS", "MAX_PIXELS", "MAX_UPLOAD", "MODEL_SPECS", "OUTPUT_DIR", "LoadedModel",
    "ModelRegistry", "ModelSpec", "SafeImage", "angles_marker", "as_file", "build_demo", "candidate_sources",
    "default_classifier", "is_photo_reader", "launch", "load_models", "main", "missing_message", "open_image",
    "open_image_sized", "parse_args", "parse_time", "read_photo", "read_with", "reader_head", "render_clock",
    "sketch_to_image", "strip", "top5", "vae_reconstruct",
]

logger = logging.getLogger("tinyvision.space")

DEFAULT_CONCURRENCY = 2  # inference requests run at once (the free Space CPU has 2 cores)
DEFAULT_MAX_QUEUE = 64  # requests waiting; more are refused with "queue full"
INFERENCE = "inference"  # the one concurrency group of every inference event
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
    limits = {"concurrency_limit": concurrency, "concurrency_id": INFERENCE}
    # delete_cache: gradio's cached uploads and outputs older than an hour are removed every half hour.
    with gr.Blocks(title="tinyvision", delete_cache=(1800, 3600)) as demo:
        gr.Markdown(INTRO)
        with gr.Accordion("Models loaded at start-up", open=False):
            gr.Markdown(registry.summary())
        with gr.Tabs():
            build_classify_tab(registry, limits)
            build_clock_tab(registry, limits)
            build_generate_tab(registry, limits)
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
