"""``pipeline("clock-reading", model=folder)``: any image of an analog clock → ``{"hour", "minute", "time"}``.

Registered with transformers' ``PIPELINE_REGISTRY`` when tinyvision is imported. Saved clock readers
carry this file and a ``custom_pipelines`` entry in config.json, so where tinyvision is not installed
``pipeline("clock-reading", model=folder, trust_remote_code=True)`` builds the same pipeline from the
folder. This file imports nothing from ``tinyvision``.

    >>> reader = pipeline("clock-reading", model="outputs/clock-reader")
    >>> reader(Image.open("clock.png"))
    {'hour': 4, 'minute': 20, 'time': '4:20'}

``hour`` is 0–11 as in the training labels (12 o'clock reads 0); ``time`` is ``f"{hour}:{minute:02d}"``.

A two-stage photo reader (``ClockPhotoReader``: it finds the dial in a whole photo first) also returns, in the
original image's pixels:

    {'hour': 10, 'minute': 9, 'time': '10:09', 'confidence': 0.93, 'found': True,
     'box': {'xmin': 812.4, 'ymin': 140.2, 'xmax': 1101.7, 'ymax': 433.0},
     'dial': {'center': [957.1, 286.6], 'axes': [146.0, 144.1], 'angle': 12.5},
     'hands': {'twelve': 1.2, 'hour': 305.7, 'minute': 55.3}}

``confidence`` is the detector's belief that a clock is there (``found``: at least the model's
``detection_threshold``; when it is not, the time is a guess and should not be shown as a reading). ``dial``
is the dial's ellipse (centre, semi-axes, the major axis' angle in degrees clockwise from the x axis);
``hands`` the image directions (degrees clockwise from up, from the centre) of 12 o'clock and the hands of the
time read.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from transformers import Pipeline


class ClockReadingPipeline(Pipeline):
    """Image (PIL of any size and mode, array, path or URL) → the time the clock shows."""

    _load_processor = False
    _load_image_processor = True
    _load_video_processor = False  # else AutoVideoProcessor asks about the folder's remote code
    _load_feature_extractor = False
    _load_tokenizer = False

    def _sanitize_parameters(self, timeout=None, **kwargs):
        preprocess_params = {}
        if timeout is not None:
            preprocess_params["timeout"] = timeout
        return preprocess_params, {}, {}

    def __call__(self, inputs, **kwargs: Any):
        """Read one image (→ a dict) or a list of images (→ a list of dicts)."""
        return super().__call__(inputs, **kwargs)

    def preprocess(self, image, timeout=None):
        if isinstance(image, str):
            from transformers.image_utils import load_image

            image = load_image(image, timeout=timeout)
        if self.image_processor is None:
            raise ValueError("the clock-reading pipeline needs the model's image processor (preprocessor_config.json)")
        inputs = self.image_processor(image, return_tensors="pt")
        placement_of = getattr(self.image_processor, "placement_of", None)  # absent from older processors
        inputs["placement"] = placement_of(image) if placement_of is not None else None
        return inputs

    def _forward(self, model_inputs):
        outputs = self.model(pixel_values=model_inputs["pixel_values"])
        result = {"hour": outputs.hour, "minute": outputs.minute, "placement": model_inputs.get("placement")}
        if getattr(outputs, "confidence", None) is not None:
            result.update(confidence=outputs.confidence, dial_center=outputs.dial_center,
                          dial_shape=outputs.dial_shape, hand_angles=outputs.hand_angles)
        return result

    def postprocess(self, model_outputs):
        hour, minute = int(model_outputs["hour"].reshape(-1)[0]), int(model_outputs["minute"].reshape(-1)[0])
        result = {"hour": hour, "minute": minute, "time": f"{hour}:{minute:02d}"}
        if "confidence" in model_outputs:
            result.update(dial_in_original(model_outputs, self.model.config.detection_threshold))
        return result


def dial_in_original(outputs: dict, threshold: float) -> dict:
    """The photo reader's dial, mapped from the model input back to the original image's pixels."""
    scale_x, scale_y, offset_x, offset_y = outputs["placement"] or (1.0, 1.0, 0.0, 0.0)
    centre = outputs["dial_center"].reshape(-1, 2)[0].double().numpy()
    shape = outputs["dial_shape"].reshape(-1, 2, 2)[0].double().numpy()
    to_original = np.diag([1.0 / scale_x, 1.0 / scale_y])
    centre = to_original @ (centre - np.array([offset_x, offset_y]))
    shape = to_original @ shape
    half = np.sqrt((shape**2).sum(1))
    # the ellipse c + S p: semi-axes are the singular values of S, the major axis its first left singular vector
    u, axes, _ = np.linalg.svd(shape)
    angles = outputs["hand_angles"].reshape(-1, 3)[0].double().numpy()
    # directions on the model input → on the original (the letterbox scales x and y alike unless stretched)
    rays = np.stack((np.sin(np.radians(angles)), -np.cos(np.radians(angles))), -1) @ to_original.T
    directions = np.degrees(np.arctan2(rays[:, 0], -rays[:, 1])) % 360.0
    confidence = float(outputs["confidence"].reshape(-1)[0])
    return {
        "confidence": round(confidence, 4),
        "found": confidence >= threshold,
        "box": {"xmin": float(centre[0] - half[0]), "ymin": float(centre[1] - half[1]),
                "xmax": float(centre[0] + half[0]), "ymax": float(centre[1] + half[1])},
        "dial": {"center": [float(centre[0]), float(centre[1])], "axes": [float(axes[0]), float(axes[1])],
                 "angle": float(math.degrees(math.atan2(u[1, 0], u[0, 0])) % 180.0)},
        "hands": {"twelve": float(directions[0]), "hour": float(directions[1]), "minute": float(directions[2])},
    }
