"""The Tell the time tab: make a clock (drawn, or hidden in a photo-like scene) or take a photo, and read it.
Endpoints ``/render_clock`` (always) and ``/read_clock`` (when a clock reader loaded)."""

from __future__ import annotations

import copy
import dataclasses
import functools
import math
import re
from collections.abc import Mapping

import gradio as gr
import numpy as np
import torch
from images import MAX_SEED, SafeImage, as_file, open_image_sized, whole_number
from loading import LoadedModel, ModelRegistry, is_photo_reader, missing_message, missing_note, pick, reader_head
from PIL import Image, ImageDraw

from tinyvision.clock_overlay import draw_clock_reading, unit_vector
from tinyvision.data.clocks import render_clock_with_labels, sample_style
from tinyvision.metrics import common_sense_error
from tinyvision.models.pipeline_clock import dial_in_original

try:  # photo-like clock scenes, for visitors without a photo of a clock
    from tinyvision.data.clock_scenes import render_clock_scene
except ImportError:  # pragma: no cover - an older tinyvision: the "Photo-like scene" box is hidden
    render_clock_scene = None

RENDER_SIZE = 150  # the course's clock images are 150 × 150
SCENE_SIZE = (640, 480)  # "Photo-like scene": width, height of a rendered clock scene
DISPLAY_SIDE = 640  # the photo reader's overlay: the photo downscaled to this longer side (small ones upscaled to 320)
# The webcam's resolution (a PNG of this is well under the upload limit) and, on phones, the back camera.
WEBCAM = {"video": {"width": {"ideal": 1280}, "height": {"ideal": 960}, "facingMode": {"ideal": "environment"}}}
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


# --------------------------------------------------------------------------------------------- times
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


def render_clock(hour, minute, rotation, style_seed, scene=False):
    """A drawn clock (or, with ``scene``, a photo-like room with one) → (PNG path, set time, dial rotation)."""
    hour = whole_number(hour, "hour", 0, 12)
    minute = whole_number(minute, "minute", 0, 59)
    seed = whole_number(style_seed, "style seed", 0, MAX_SEED)
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
        return as_file(image, compress_level=1), display_time(hour, minute), round(float(labels["dial_rotation"]), 2)
    # The seed picks the look; the slider sets the rotation; the dial sits in the middle of the image,
    # where the overlay of the reading puts the centre of the hands.
    style = dataclasses.replace(sample_style(np.random.default_rng(seed)), rotation=rotation % 360,
                                center_offset=(0.0, 0.0))
    image, labels = render_clock_with_labels(hour, minute, size=RENDER_SIZE, style=style)
    return as_file(image), display_time(hour, minute), round(labels["dial_rotation"], 2)


# ------------------------------------------------------------------------------ single-stage readers
def read_with(entry: LoadedModel, image: Image.Image) -> dict:
    inputs = entry.processor(image, return_tensors="pt")
    with torch.inference_mode():
        output = entry.model(pixel_values=inputs["pixel_values"])
    hour, minute = int(output.hour[0]), int(output.minute[0])
    return {"hour": hour, "minute": minute, "time": f"{hour}:{minute:02d}", "logits": output.logits[0].float(),
            "minutes": float(output.minutes[0])}


def angles_marker(model, reading: dict) -> float:
    """Where the ``angles`` head of ``model`` put 12 o'clock (degrees clockwise from up) for this reading.

    Derived from what the model reported rather than decoded again: its minute is the minute hand's angle
    (the model's ``minute_hand_degrees``) past the marker, so the marker is that angle less 6° per minute. This
    holds however the model locates the marker (snapped to ticks, or the heaviest tick of its column softmax).
    """
    minute_hand = float(model.named_outputs(reading["logits"].reshape(1, -1))["minute_hand_degrees"][0])
    return (minute_hand - 6.0 * (reading["minutes"] % 60.0)) % 360


def draw_reading(image: Image.Image, reading: dict, model, dial_rotation: float | None) -> tuple[Image.Image, str]:
    """The clock with the predicted hands (red) and the 12 o'clock direction they assume (blue) on top.

    The hands are drawn from the middle of the image: rendered clocks are centred there, and an uploaded
    clock is assumed to be (crop it so).
    """
    scale = max(1.0, 320 / max(image.size))
    canvas = image.convert("RGB").resize((round(image.width * scale), round(image.height * scale)),
                                         Image.Resampling.LANCZOS).convert("RGBA")
    overlay = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    if model.config.head == "angles":
        marker, note = angles_marker(model, reading), "12 o'clock as the reader located it"
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


# -------------------------------------------------------------------------------------- photo reader
QUARTER_TURNS = [0, 90, 180, 270]


@functools.lru_cache(maxsize=8)
def turned_reader(model):
    """``model`` reading clocks that may be turned any way: with ``any_turn`` (one read without the upright
    prior) when its reader was trained for it (``up_dropout``), else in the four quarter turns too
    (``test_time_turns``, all weighing the same). A shallow copy with its own config: it shares every weight with
    ``model``, and requests that do not ask for it keep reading as ``model`` does, concurrently."""
    view = copy.copy(model)
    view.config = copy.deepcopy(model.config)
    if model.config.reader.get("up_dropout"):
        view.config.any_turn = True
    else:
        view.config.test_time_turns = list(QUARTER_TURNS)
        view.config.test_time_turn_weight = 1.0  # every turn alike: no way is up
    return view


def read_photo(entry: LoadedModel, image: Image.Image, original_size: tuple[int, int] | None = None,
               any_turn: bool = False) -> dict:
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
    model = turned_reader(entry.model) if any_turn else entry.model
    with torch.inference_mode():
        output = model(pixel_values=inputs["pixel_values"])
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


def read_any(entry: LoadedModel, image: Image.Image, original_size: tuple[int, int] | None = None,
             any_turn: bool = False) -> dict:
    """Either reader on ``image``; every reading has ``found`` (the single-stage readers always answer).
    ``any_turn``: the photo reader reads without its upright prior (``turned_reader``; the single-stage readers
    read any turn)."""
    if is_photo_reader(entry.model):
        return read_photo(entry, image, original_size, any_turn)
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


# ------------------------------------------------------------------------------------------- the tab
def clock_aliases(clocks: Mapping[str, LoadedModel]) -> dict[str, str]:
    """Older names of the clock readers that still select them (API callers): a slot's own label (say, "angles
    (recommended)" for the slot that now holds the photo reader) and its key ("clock-reader")."""
    aliases = {}
    for entry in clocks.values():
        for alias in (entry.spec.label, entry.spec.key):
            if alias not in clocks:
                aliases.setdefault(alias, entry.label)
    return aliases


def accept_aliases(dropdown: gr.Dropdown, aliases: Mapping[str, str]) -> gr.Dropdown:
    """Let ``dropdown`` take the older names in ``aliases`` (API callers) for the choices they stand for."""
    preprocess = dropdown.preprocess

    def aliased(payload):
        if isinstance(payload, str) and payload in aliases:
            payload = aliases[payload]
        return preprocess(payload)

    dropdown.preprocess = aliased
    return dropdown


def build_clock_tab(registry: ModelRegistry, limits: dict) -> None:
    """The tab, inside the open ``gr.Blocks``; ``limits``: the inference events' concurrency settings."""
    clocks = registry.family("clock")
    reader_heads = {label: reader_head(entry.model) for label, entry in clocks.items()}  # (a photo reader builds a config)

    def read_clock(image, reader_name=None, set_time="", dial_rotation=None, compare=False, any_turn=False):
        # reader_name is one of the dropdown's choices: its preprocess has mapped older names already
        entry = pick(clocks, reader_name or next(iter(clocks)), "clock reader")
        picture, original_size = open_image_sized(image)
        truth = parse_time(set_time)
        reading = read_any(entry, picture, original_size, bool(any_turn))
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
                overlay, note = draw_reading(picture, reading, entry.model, dial_rotation)
                headline += f"\n\nReader: {entry.label}. Overlay: predicted hands in red; blue dot: {note}."
        rows = []
        for other in (clocks.values() if compare else [entry]):
            other_reading = reading if other is entry else read_any(other, picture, original_size, bool(any_turn))
            found = other_reading["found"]
            error = (int(common_sense_error(other_reading["hour"], other_reading["minute"], *truth))
                     if truth is not None and found else None)
            rows.append([other.label, reader_heads[other.label],
                         display_time(other_reading["hour"], other_reading["minute"]) if found else "no clock found",
                         error])
        return headline, result, as_file(overlay, compress_level=1 if photo else 6), rows

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
                scene = gr.Checkbox(False, label=f"Photo-like scene ({SCENE_SIZE[0]} × {SCENE_SIZE[1]}: a room with "
                                                 "the clock somewhere in it)",
                                    visible=render_clock_scene is not None, elem_id="scene-checkbox")
                make_button = gr.Button("Make a clock" + (" and read it" if clocks else ""), variant="primary",
                                        elem_id="make-clock-button")
            with gr.Column():
                # Webcam: not mirrored (a mirrored clock reads another time); the back camera on phones.
                clock_image = SafeImage(type="filepath", label="Clock (upload, paste or take a photo)",
                                        sources=["upload", "clipboard", "webcam"], height=300, format="png",
                                        webcam_options=gr.WebcamOptions(mirror=False, constraints=WEBCAM),
                                        elem_id="clock-image")
                with gr.Row():
                    set_time = gr.Textbox("", label="Set time (for the error; blank if unknown)", elem_id="set-time")
                    dial_rotation = gr.Number(None, label="Dial rotation (°)", visible=False)
        render_event = make_button.click(render_clock, [hour, minute, rotation, style_seed, scene],
                                         [clock_image, set_time, dial_rotation], api_name="render_clock", **limits)
        if not clocks:
            gr.Markdown(missing_message(registry, "clock", "clock reader"))
            return
        with gr.Row():
            reader_choice = accept_aliases(gr.Dropdown(list(clocks), value=next(iter(clocks)), label="Reader"),
                                           clock_aliases(clocks))
            compare = gr.Checkbox(False, label="Compare every available head")
            any_turn = gr.Checkbox(False, label="The clock may be turned any way",
                                   info="The photo reader also reads it in four quarter turns, so the dial's own 12 "
                                        "o'clock marker decides, not 'most clocks are upright'. Slower; worse on "
                                        "upright clocks without a distinct 12.",
                                   visible=bool(photo_readers), elem_id="any-turn-checkbox")
            read_button = gr.Button("Read the time", variant="primary", elem_id="read-clock-button")
        headline = gr.Markdown(label="Headline", elem_id="clock-headline")
        with gr.Row():
            overlay = gr.Image(label="What the reader sees", height=320, format="png", elem_id="clock-overlay")
            with gr.Column():
                reading = gr.JSON(label="Reading")
                heads = gr.Dataframe(headers=["reader", "head", "time", "error (min)"],
                                     datatype=["str", "str", "str", "number"], label="Heads", interactive=False)
        read_inputs = [clock_image, reader_choice, set_time, dial_rotation, compare, any_turn]
        read_outputs = [headline, reading, overlay, heads]
        read_button.click(read_clock, read_inputs, read_outputs, api_name="read_clock", **limits)
        render_event.success(read_clock, read_inputs, read_outputs, api_visibility="private", **limits)
        # a picture of the visitor's own (upload, paste, webcam): its time is unknown
        clock_image.input(lambda: ("", None), None, [set_time, dial_rotation], queue=False, api_visibility="private")
        note = missing_note(registry, "clock")
        if note:
            with gr.Accordion("More readers", open=False):
                gr.Markdown(note)
