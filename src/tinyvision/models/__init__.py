"""Model families. Everything here is self-contained so that saved folders load with trust_remote_code."""

from .configuration_classifier import CNNConfig, MLPConfig
from .configuration_clock import ClockReaderConfig
from .image_processing_tinyvision import TinyVisionImageProcessor, normalize_uint8
from .modeling_classifier import CNNForImageClassification, MLPForImageClassification, TinyVisionPreTrainedModel
from .modeling_clock import ClockReader, ClockReaderOutput

__all__ = [
    "ClockReader",
    "ClockReaderConfig",
    "ClockReaderOutput",
    "CNNConfig",
    "CNNForImageClassification",
    "MLPConfig",
    "MLPForImageClassification",
    "TinyVisionImageProcessor",
    "TinyVisionPreTrainedModel",
    "normalize_uint8",
]
