"""MLP and CNN: config validation, every axis builds and trains a step, save/load, Auto classes."""

from __future__ import annotations

import math

import pytest
import torch
from transformers import AutoConfig, AutoModel, AutoModelForImageClassification

from tinyvision import CNNConfig, CNNForImageClassification, MLPConfig, MLPForImageClassification
from tinyvision.models.layers import ACTIVATIONS, INITIALIZERS

SMALL_CNN = dict(image_size=16, conv_filters=[4, 8], conv_kernel_sizes=[3, 3], conv_strides=[1, 1],
                 pool_after=[True, True], fc_hidden_sizes=[8])
SMALL_MLP = dict(image_size=8, hidden_sizes=[16, 16])


def _batch(config, n=6):
    torch.manual_seed(0)
    pixels = torch.randn(n, config.num_channels, config.image_size, config.image_size)
    return pixels, torch.arange(n) % config.num_labels


def _forward_backward(model):
    pixels, labels = _batch(model.config)
    model.train()
    output = model(pixel_values=pixels, labels=labels)
    assert output.logits.shape == (len(labels), model.config.num_labels)
    assert torch.isfinite(output.loss)
    output.loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    return output


# ---------------------------------------------------------------------------------- validation
def test_seed_literal_valid_padding_is_rejected_naming_layer_and_sizes():
    with pytest.raises(ValueError, match=r"conv layer 5 .*kernel 3x3.*1x1 input"):
        CNNConfig(padding="valid")


def test_default_cnn_geometry_matches_the_seed_with_same_padding():
    config = CNNConfig()
    assert config.feature_map_size == 3  # 28 → 14 → 7 → 3 after the three 2x2 pools
    model = CNNForImageClassification(config)
    assert model.fc[0].in_features == 256 * 3 * 3


def test_per_layer_padding_and_pool_geometry():
    config = CNNConfig(padding=["valid", "same", "same", "same", "same"])
    assert config.feature_map_size == 2  # 28 → 22 → 11 → 5 → 2
    with pytest.raises(ValueError, match="pooling after conv layer 2"):
        CNNConfig(image_size=4, conv_filters=[2, 2], conv_kernel_sizes=[3, 3], conv_strides=[1, 1],
                  pool_after=[True, True], pool_size=3, pool_stride=3)


@pytest.mark.parametrize(
    "config_class, kwargs, field",
    [
        (MLPConfig, {"activation": "swish"}, "activation"),
        (MLPConfig, {"initializer": "lecun"}, "initializer"),
        (MLPConfig, {"dropout": 1.0}, "dropout"),
        (MLPConfig, {"l2": -0.1}, "l2"),
        (MLPConfig, {"hidden_sizes": [512, 0]}, "hidden_sizes"),
        (MLPConfig, {"num_channels": 2}, "num_channels"),
        (CNNConfig, {"fc_activation": "softmax"}, "fc_activation"),
        (CNNConfig, {"conv_kernel_sizes": [3, 3]}, "conv_kernel_sizes"),
        (CNNConfig, {"padding": "full"}, "padding"),
        (CNNConfig, {"pool_type": "min"}, "pool_type"),
        (CNNConfig, {"padding": ["same"] * 4}, "padding"),
    ],
)
def test_impossible_configs_fail_at_construction_naming_the_field(config_class, kwargs, field):
    with pytest.raises(ValueError, match=field):
        config_class(**kwargs)


def test_even_kernel_same_padding_needs_stride_one():
    with pytest.raises(ValueError, match="even kernel"):
        CNNConfig(image_size=16, conv_filters=[4], conv_kernel_sizes=[2], conv_strides=[2], pool_after=[False])


# ------------------------------------------------------------------------------- every axis
AXES = (
    [("mlp", {"activation": a}) for a in ACTIVATIONS]
    + [("mlp", {"initializer": i}) for i in INITIALIZERS]
    + [("mlp", {"dropout": 0.0}), ("mlp", {"batch_norm": True}), ("mlp", {"l1": 1e-4}), ("mlp", {"l2": 1e-3}),
       ("mlp", {"hidden_sizes": [32]}), ("mlp", {"hidden_sizes": [8, 8, 8]}), ("mlp", {"num_channels": 3})]
    + [("cnn", {"activation": a}) for a in ACTIVATIONS]
    + [("cnn", {"fc_activation": a}) for a in ("tanh", "sigmoid")]
    + [("cnn", {"initializer": i}) for i in INITIALIZERS]
    + [("cnn", {"batch_norm": True}), ("cnn", {"l1": 1e-4}), ("cnn", {"l2": 1e-3}), ("cnn", {"dropout": 0.0}),
       ("cnn", {"fc_hidden_sizes": []}), ("cnn", {"fc_hidden_sizes": [16, 16, 16]}), ("cnn", {"pool_type": "avg"}),
       ("cnn", {"conv_strides": [2, 1]}), ("cnn", {"padding": ["valid", "same"]}), ("cnn", {"num_channels": 3})]
)


@pytest.mark.parametrize("family, overrides", AXES, ids=[f"{f}-{o}" for f, o in AXES])
def test_every_config_axis_builds_and_trains_a_step(family, overrides):
    if family == "mlp":
        model = MLPForImageClassification(MLPConfig(**{**SMALL_MLP, **overrides}))
    else:
        model = CNNForImageClassification(CNNConfig(**{**SMALL_CNN, **overrides}))
    _forward_backward(model)


def test_default_models_match_the_seed():
    mlp = MLPForImageClassification(MLPConfig())
    assert [m.out_features for m in mlp.modules() if isinstance(m, torch.nn.Linear)] == [512, 512, 10]
    assert [m.p for m in mlp.modules() if isinstance(m, torch.nn.Dropout)] == [0.2, 0.2]
    cnn = CNNForImageClassification(CNNConfig())
    convs = [m for m in cnn.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size[0]) for c in convs] == [(64, 7), (128, 3), (128, 3), (256, 3), (256, 3)]
    assert [m.out_features for m in cnn.fc.modules() if isinstance(m, torch.nn.Linear)] == [128, 64]
    _forward_backward(cnn)


def test_glorot_uniform_weights_and_zero_biases_by_default():
    model = MLPForImageClassification(MLPConfig())
    first = model.hidden[0]
    bound = math.sqrt(6 / (784 + 512))
    assert first.weight.abs().max() <= bound
    assert first.weight.abs().max() > 0.95 * bound
    assert torch.all(first.bias == 0)


def test_he_normal_is_truncated_with_keras_std():
    torch.manual_seed(0)
    model = MLPForImageClassification(MLPConfig(initializer="he_normal", hidden_sizes=[2048]))
    weight = model.hidden[0].weight
    std = math.sqrt(2 / 784)
    assert abs(weight.std().item() - std) / std < 0.03
    assert weight.abs().max() <= 2 * std / 0.8796 + 1e-6


def test_l1_l2_penalties_are_added_to_the_loss_as_keras_kernel_regularizers():
    base = MLPForImageClassification(MLPConfig(**SMALL_MLP, dropout=0.0))
    reg = MLPForImageClassification(MLPConfig(**SMALL_MLP, dropout=0.0, l1=0.01, l2=0.001))
    reg.load_state_dict(base.state_dict())
    pixels, labels = _batch(base.config)
    kernels = [m.weight for m in base.modules() if isinstance(m, torch.nn.Linear)]
    expected = 0.01 * sum(w.abs().sum() for w in kernels) + 0.001 * sum(w.pow(2).sum() for w in kernels)
    difference = reg(pixel_values=pixels, labels=labels).loss - base(pixel_values=pixels, labels=labels).loss
    torch.testing.assert_close(difference, expected)


# ------------------------------------------------------------------------------- bad input
def test_wrong_channels_and_size_get_clear_errors():
    model = CNNForImageClassification(CNNConfig(**SMALL_CNN))
    with pytest.raises(ValueError, match="1 channel"):
        model(pixel_values=torch.randn(2, 3, 16, 16))
    with pytest.raises(ValueError, match="16x16"):
        model(pixel_values=torch.randn(2, 1, 20, 20))
    with pytest.raises(ValueError, match="shape"):
        model(pixel_values=torch.randn(1, 16, 16))
    with pytest.raises(TypeError, match="floating point"):
        model(pixel_values=torch.zeros(2, 1, 16, 16, dtype=torch.uint8))


# --------------------------------------------------------------------------- save and load
@pytest.mark.parametrize("family", ["mlp", "cnn"])
def test_save_load_gives_identical_outputs_through_auto_classes(family, tmp_path):
    if family == "mlp":
        model = MLPForImageClassification(MLPConfig(**SMALL_MLP, batch_norm=True))
    else:
        model = CNNForImageClassification(CNNConfig(**SMALL_CNN, batch_norm=True))
    _forward_backward(model)  # moves batch-norm running stats away from their initial values
    model.eval()
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    assert AutoConfig.from_pretrained(tmp_path).model_type == model.config.model_type
    pixels, _ = _batch(model.config)
    for auto in (AutoModelForImageClassification, AutoModel):
        loaded = auto.from_pretrained(tmp_path)
        assert type(loaded) is type(model)
        loaded.eval()
        torch.testing.assert_close(loaded(pixel_values=pixels).logits, model(pixel_values=pixels).logits,
                                   rtol=0, atol=0)


def test_dropout_draws_cheap_masks_that_drop_p_keep_the_mean_and_carry_the_gradient():
    from tinyvision.models.layers import Dropout, dropout_mask

    torch.manual_seed(0)
    mask = dropout_mask(torch.empty(1000, 1000), 0.2)
    zero, scale = mask.unique().tolist()
    assert zero == 0.0 and scale == pytest.approx(65536 / (65536 - 13107))  # p = 0.2 rounds to 13107 / 65536
    assert (mask == 0).float().mean().item() == pytest.approx(0.2, abs=2e-3)
    assert mask.mean().item() == pytest.approx(1.0, abs=3e-3)  # unbiased: the scale uses the rounded p
    odd = dropout_mask(torch.empty(3, 7), 0.5)  # numel not a multiple of 4
    assert odd.shape == (3, 7) and set(odd.unique().tolist()) <= {0.0, 2.0}  # 0.5 is exact at 16 bits

    layer = Dropout(0.2)
    x = torch.randn(64, 512, requires_grad=True)
    torch.manual_seed(1)
    y = layer(x)
    y.backward(torch.ones_like(y))
    kept = y != 0
    assert 0.75 < kept.float().mean().item() < 0.85
    torch.testing.assert_close(x.grad, kept.float() * scale)  # d(x * mask)/dx = mask
    torch.manual_seed(1)
    torch.testing.assert_close(layer(x), y)  # seeded by torch's global generator
    layer.eval()
    assert torch.equal(layer(x), x)
    # p that rounds to 0 at 16 bits is nn.Dropout's (same draws, same output under the same seed)
    tiny, reference = Dropout(1e-6).train(), torch.nn.Dropout(1e-6).train()
    torch.manual_seed(2)
    expected = reference(x)
    torch.manual_seed(2)
    assert torch.equal(tiny(x), expected)
    assert isinstance(MLPForImageClassification(MLPConfig()).hidden[2], Dropout)
