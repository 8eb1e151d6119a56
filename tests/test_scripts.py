"""The training script end to end through `accelerate launch`, as a user runs it."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import accelerate_launch
from transformers import AutoModelForImageClassification

from tinyvision import CNNConfig
from tinyvision.recipes import PRESETS, get_recipe
from tinyvision.tasks.classification import ClassifierArguments, check_config_fields, resolve_recipe
from tinyvision.training import TrainingArguments


def _launch(args, tmp_path, processes=1):
    return accelerate_launch("train_classifier.py", args, tmp_path, processes)


@pytest.mark.parametrize("processes", [1, 2])
def test_train_classifier_script_end_to_end(tiny_dataset_dir, tmp_path, processes):
    out = tmp_path / "cnn"
    result = _launch(["--dataset_name", str(tiny_dataset_dir), "--preset", "cnn1", "--num_train_epochs", "2",
                      "--config_overrides", '{"conv_filters": [4, 4, 4, 8, 8], "fc_hidden_sizes": [8, 8]}',
                      "--per_device_train_batch_size", "16", "--output_dir", str(out), "--disable_tqdm", "true"],
                     tmp_path, processes)
    assert result.returncode == 0, result.stderr[-4000:]
    metrics = json.loads((out / "all_results.json").read_text())
    assert metrics["num_processes"] == processes
    assert metrics["test_num_examples"] == 40 and metrics["eval_num_examples"] == 10
    config = json.loads((out / "config.json").read_text())
    assert config["batch_norm"] is True and config["fc_activation"] == "tanh"
    assert config["initializer"] == "he_uniform" and config["image_size"] == 12
    run = json.loads((out / "run_config.json").read_text())
    assert run["training_args"]["optimizer"] == "adam" and run["training_args"]["learning_rate"] == 0.001
    model = AutoModelForImageClassification.from_pretrained(out)
    assert model(pixel_values=torch.zeros(1, 1, 12, 12)).logits.shape == (1, 4)


def test_script_resumes_from_latest_checkpoint(tiny_dataset_dir, tmp_path):
    out = tmp_path / "mlp"
    common = ["--dataset_name", str(tiny_dataset_dir), "--output_dir", str(out), "--disable_tqdm", "true",
              "--config_overrides", '{"hidden_sizes": [16]}']
    first = _launch(common + ["--num_train_epochs", "1"], tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    second = _launch(common + ["--num_train_epochs", "2", "--resume_from_checkpoint", "latest"], tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resumed from" in second.stdout
    history = json.loads((out / "history.json").read_text())
    assert [record["epoch"] for record in history] == [1, 2]


def test_script_reports_bad_arguments(tiny_dataset_dir, tmp_path):
    result = _launch(["--dataset_name", str(tiny_dataset_dir), "--model", "cnn", "--config_overrides",
                      '{"padding": "valid", "conv_filters": [4, 4, 4, 4, 4]}', "--output_dir",
                      str(tmp_path / "x")], tmp_path)
    assert result.returncode != 0
    assert "conv layer" in result.stderr and "shrank below the kernel" in result.stderr


def test_presets_set_model_and_training_together_and_explicit_values_win():
    assert set(PRESETS) >= {"mlp1", "mlp2", "cnn1"}
    family, overrides, args, _ = resolve_recipe(ClassifierArguments(preset="mlp2"), TrainingArguments())
    assert family == "mlp" and overrides == {}
    assert (args.optimizer, args.learning_rate, args.num_train_epochs, args.per_device_train_batch_size) == (
        "adagrad", 0.01, 50, 32)
    family, overrides, args, _ = resolve_recipe(ClassifierArguments(preset="cnn1"),
                                             TrainingArguments(learning_rate=0.0005))
    assert family == "cnn" and overrides == get_recipe("classifier", "cnn1").config
    assert (args.optimizer, args.learning_rate, args.num_train_epochs) == ("adam", 0.0005, 20)
    family, _, args, classifier_args = resolve_recipe(ClassifierArguments(model="cnn"), TrainingArguments())
    assert (family, args.optimizer, args.learning_rate, args.num_train_epochs) == ("cnn", "sgd", 0.01, 20)
    assert classifier_args.augment is None
    _, overrides, args, classifier_args = resolve_recipe(ClassifierArguments(preset="augmented"), TrainingArguments())
    assert classifier_args.augment == "crop_flip" and overrides["label_smoothing"] == 0.1
    assert (args.lr_scheduler_type, args.momentum, args.per_device_train_batch_size) == ("one_cycle", 0.9, 128)
    with pytest.raises(ValueError, match="is a mlp recipe"):
        resolve_recipe(ClassifierArguments(preset="mlp1", model="cnn"), TrainingArguments())
    with pytest.raises(ValueError, match="unknown preset"):
        resolve_recipe(ClassifierArguments(preset="mlp9"), TrainingArguments())


def test_config_override_typos_are_refused():
    check_config_fields(CNNConfig, {"fc_activation": "tanh", "padding": ["same"] * 5})
    with pytest.raises(ValueError, match=r"unknown CNNConfig field\(s\) \['activaton'\]"):
        check_config_fields(CNNConfig, {"activaton": "tanh"})


@pytest.mark.parametrize("script", ["train_classifier.py", "train_clock.py", "train_gan.py", "train_vae.py"])
def test_training_scripts_print_their_help(script):
    """`--help` renders every argument's help text (argparse %-formats them: a bare % used to crash it)."""
    import subprocess
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / script
    result = subprocess.run([sys.executable, str(path), "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "--output_dir" in result.stdout and "--num_train_epochs" in result.stdout
