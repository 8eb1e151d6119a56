"""Model families. Everything here is self-contained so that saved folders load with trust_remote_code."""

from .configuration_classifier import CNNConfig, MLPConfig
from .configuration_clock import ClockReaderConfig
from .configuration_clock_photo import ClockPhotoReaderConfig
from .configuration_gan import GANConfig
from .configuration_vae import VAEConfig
from .image_processing_tinyvision import TinyVisionImageProcessor, normalize_uint8
from .modeling_classifier import CNNForImageClassification, MLPForImageClassification
from .modeling_clock import ClockReader, ClockReaderOutput
from .modeling_clock_photo import ClockPhotoReader, ClockPhotoReaderOutput
from .modeling_gan import GANModel, GANOutput
from .modeling_utils import TinyVisionPreTrainedModel
from .modeling_vae import VAEModel, VAEOutput

__all__ = [
    "CNNConfig",
    "CNNForImageClassification",
    "ClockPhotoReader",
    "ClockPhotoReaderConfig",
    "ClockPhotoReaderOutput",
    "ClockReader",
    "ClockReaderConfig",
    "ClockReaderOutput",
    "GANConfig",
    "GANModel",
    "GANOutput",
    "MLPConfig",
    "MLPForImageClassification",
    "TinyVisionImageProcessor",
    "TinyVisionPreTrainedModel",
    "VAEConfig",
    "VAEModel",
    "VAEOutput",
    "normalize_uint8",
]
