"""The Task 1 image classifiers as transformers models: ``MLPForImageClassification`` and
``CNNForImageClassification``. Both take ``pixel_values`` (and optional ``labels``) and return an
``ImageClassifierOutput`` whose loss is cross-entropy plus the config's L1/L2 kernel penalties.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers.modeling_outputs import ImageClassifierOutput

from .configuration_classifier import CNNConfig, MLPConfig
from .layers import check_pixel_values, conv_padding, dense_stack, get_activation, kernel_penalty
from .modeling_utils import TinyVisionPreTrainedModel


def _classification_output(model, logits: torch.Tensor, labels: torch.Tensor | None) -> ImageClassifierOutput:
    loss = None
    if labels is not None:
        loss = nn.functional.cross_entropy(logits, labels.long(), label_smoothing=model.config.label_smoothing)
        penalty = kernel_penalty(model, model.config.l1, model.config.l2)
        if penalty is not None:
            loss = loss + penalty
    return ImageClassifierOutput(loss=loss, logits=logits)


class MLPForImageClassification(TinyVisionPreTrainedModel):
    config_class = MLPConfig

    def __init__(self, config: MLPConfig):
        super().__init__(config)
        in_features = config.num_channels * config.image_size**2
        self.hidden, out_features = dense_stack(
            in_features, config.hidden_sizes, config.activation, dropout=config.dropout, batch_norm=config.batch_norm
        )
        self.classifier = nn.Linear(out_features, config.num_labels)
        self.post_init()

    def forward(
        self, pixel_values: torch.Tensor, labels: torch.Tensor | None = None, **kwargs
    ) -> ImageClassifierOutput:
        check_pixel_values(pixel_values, self.config.num_channels, self.config.image_size)
        logits = self.classifier(self.hidden(pixel_values.flatten(1)))
        return _classification_output(self, logits, labels)


class CNNForImageClassification(TinyVisionPreTrainedModel):
    config_class = CNNConfig

    def __init__(self, config: CNNConfig):
        super().__init__(config)
        layers: list[nn.Module] = []
        in_channels = config.num_channels
        pool = nn.MaxPool2d if config.pool_type == "max" else nn.AvgPool2d
        conv_specs = zip(config.conv_filters, config.conv_kernel_sizes, config.conv_strides, config.paddings)
        for (filters, kernel, stride, padding), pool_after in zip(conv_specs, config.pool_after):
            layers.append(nn.Conv2d(in_channels, filters, kernel, stride, padding=conv_padding(kernel, stride, padding)))
            if config.batch_norm:
                layers.append(nn.BatchNorm2d(filters))
            layers.append(get_activation(config.activation))
            if pool_after:
                layers.append(pool(config.pool_size, config.pool_stride))
            in_channels = filters
        self.features = nn.Sequential(*layers)
        flat_features = in_channels * config.feature_map_size**2
        self.fc, out_features = dense_stack(
            flat_features, config.fc_hidden_sizes, config.fc_activation, dropout=config.dropout
        )
        self.classifier = nn.Linear(out_features, config.num_labels)
        self.post_init()

    def forward(
        self, pixel_values: torch.Tensor, labels: torch.Tensor | None = None, **kwargs
    ) -> ImageClassifierOutput:
        check_pixel_values(pixel_values, self.config.num_channels, self.config.image_size)
        logits = self.classifier(self.fc(self.features(pixel_values).flatten(1)))
        return _classification_output(self, logits, labels)
