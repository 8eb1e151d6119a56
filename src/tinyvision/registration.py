"""The one place that registers tinyvision's classes with the transformers Auto API.

Called once when ``tinyvision`` is imported. Registration makes ``AutoConfig`` /
``AutoModel*`` / ``AutoImageProcessor`` resolve our ``model_type``s in this Python;
``register_for_auto_class`` makes ``save_pretrained`` write the modeling code and ``auto_map``
into the folder, so it also loads with ``trust_remote_code=True`` where tinyvision is absent.
"""

from __future__ import annotations

from transformers import AutoConfig, AutoImageProcessor, AutoModel, AutoModelForImageClassification
from transformers.pipelines import PIPELINE_REGISTRY

from .models import (
    ClockPhotoReader,
    ClockPhotoReaderConfig,
    ClockReader,
    ClockReaderConfig,
    CNNConfig,
    CNNForImageClassification,
    GANConfig,
    GANModel,
    MLPConfig,
    MLPForImageClassification,
    TinyVisionImageProcessor,
    VAEConfig,
    VAEModel,
)
from .models.configuration_clock import PIPELINE_TASK
from .models.pipeline_clock import ClockReadingPipeline

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
    # Task 2: the clock reader (AutoModel) and its "clock-reading" pipeline. Saved folders also carry
    # pipeline_clock.py and a custom_pipelines entry, for Pythons without tinyvision.
    # The two-stage photo reader (find the dial, then read it) answers to the same pipeline.
    for config_class, model_class in ((ClockReaderConfig, ClockReader), (ClockPhotoReaderConfig, ClockPhotoReader)):
        AutoConfig.register(config_class.model_type, config_class, exist_ok=True)
        AutoModel.register(config_class, model_class, exist_ok=True)
        AutoImageProcessor.register(config_class, slow_image_processor_class=TinyVisionImageProcessor, exist_ok=True)
        config_class.register_for_auto_class()
        model_class.register_for_auto_class("AutoModel")
    PIPELINE_REGISTRY.register_pipeline(PIPELINE_TASK, pipeline_class=ClockReadingPipeline, pt_model=AutoModel,
                                        type="image")
    # Task 3: the GAN and the VAE (AutoModel; their folders also carry the image processor).
    for config_class, model_class in ((GANConfig, GANModel), (VAEConfig, VAEModel)):
        AutoConfig.register(config_class.model_type, config_class, exist_ok=True)
        AutoModel.register(config_class, model_class, exist_ok=True)
        AutoImageProcessor.register(config_class, slow_image_processor_class=TinyVisionImageProcessor,
                                    exist_ok=True)
        config_class.register_for_auto_class()
        model_class.register_for_auto_class("AutoModel")
    _registered = True
