"""tinyvision: compact vision models for the Hugging Face Hub.

Importing the package registers every model family with the transformers Auto classes.
"""

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
from .registration import register_auto_classes

__version__ = "0.1.0"

register_auto_classes()

__all__ = [
    "CNNConfig",
    "CNNForImageClassification",
    "ClockPhotoReader",
    "ClockPhotoReaderConfig",
    "ClockReader",
    "ClockReaderConfig",
    "GANConfig",
    "GANModel",
    "MLPConfig",
    "MLPForImageClassification",
    "TinyVisionImageProcessor",
    "VAEConfig",
    "VAEModel",
    "__version__",
]
