"""``pipeline("clock-reading", model=folder)``: any image of an analog clock → ``{"hour", "minute", "time"}``.

Registered with transformers' ``PIPELINE_REGISTRY`` when tinyvision is imported. Saved clock readers
carry this file and a ``custom_pipelines`` entry in config.json, so where tinyvision is not installed
``pipeline("clock-reading", model=folder, trust_remote_code=True)`` builds the same pipeline from the
folder. This file imports nothing from ``tinyvision``.

    >>> reader = pipeline("clock-reading", model="outputs/clock-reader")
    >>> reader(Image.open("clock.png"))
    {'hour': 4, 'minute': 20, 'time': '4:20'}

``hour`` is 0–11 as in the training labels (12 o'clock reads 0); ``time`` is ``f"{hour}:{minute:02d}"``.
"""

from __future__ import annotations

from typing import Any

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
        return self.image_processor(image, return_tensors="pt")

    def _forward(self, model_inputs):
        outputs = self.model(pixel_values=model_inputs["pixel_values"])
        return {"hour": outputs.hour, "minute": outputs.minute}

    def postprocess(self, model_outputs):
        hour, minute = int(model_outputs["hour"].reshape(-1)[0]), int(model_outputs["minute"].reshape(-1)[0])
        return {"hour": hour, "minute": minute, "time": f"{hour}:{minute:02d}"}
