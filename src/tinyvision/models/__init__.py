"""Model families. Everything here is self-contained so that saved folders load with trust_remote_code."""

from .configuration_classifier import CNNConfig, MLPConfig
from .image_processing_tinyvision import TinyVisionImageProcessor, normalize_uint8
from .modeling_classifier import CNNForImageClassification, MLPForImageClassification, TinyVisionPreTrainedModel

__all__ = [
    "CNNConfig",
    "CNNForImageClassification",
    "MLPConfig",
    "MLPForImageClassification",
    "TinyVisionImageProcessor",
    "TinyVisionPreTrainedModel",
    "normalize_uint8",
]
