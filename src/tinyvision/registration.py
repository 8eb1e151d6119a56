"""The one place that registers tinyvision's classes with the transformers Auto API.

Called once when ``tinyvision`` is imported. Registration makes ``AutoConfig`` /
``AutoModel*`` / ``AutoImageProcessor`` resolve our ``model_type``s in this Python;
``register_for_auto_class`` makes ``save_pretrained`` write the modeling code and ``auto_map``
into the folder, so it also loads with ``trust_remote_code=True`` where tinyvision is absent.
"""

from __future__ import annotations

from transformers import AutoConfig, AutoImageProcessor, AutoModel, AutoModelForImageClassification

from .models import (
    CNNConfig,
    CNNForImageClassification,
    MLPConfig,
    MLPForImageClassification,
    TinyVisionImageProcessor,
)

# (config, model, the Auto class its auto_map entry names, further Auto classes to register with)
IMAGE_CLASSIFIERS = (
    (MLPConfig, MLPForImageClassification),
    (CNNConfig, CNNForImageClassification),
)

_registered = False


def register_auto_classes() -> None:
    global _registered
    if _registered:
        return
    TinyVisionImageProcessor.register_for_auto_class("AutoImageProcessor")
    for config_class, model_class in IMAGE_CLASSIFIERS:
        AutoConfig.register(config_class.model_type, config_class, exist_ok=True)
        AutoModel.register(config_class, model_class, exist_ok=True)
        AutoModelForImageClassification.register(config_class, model_class, exist_ok=True)
        AutoImageProcessor.register(config_class, slow_image_processor_class=TinyVisionImageProcessor, exist_ok=True)
        config_class.register_for_auto_class()
        model_class.register_for_auto_class("AutoModelForImageClassification")
    _registered = True
