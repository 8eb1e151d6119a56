"""The speed benchmarks compare like with like: the plain torch reference is the same network, and the
three training loops of bench_training.py end at the same weights. No timing is asserted."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import load_module

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _benchmark(name: str):
    return load_module(name, BENCHMARKS / f"{name}.py")


@pytest.fixture(scope="module")
def bench():
    return _benchmark("bench_training")


@pytest.mark.parametrize("family", ["mlp", "cnn"])
def test_plain_reference_is_the_same_network_with_the_same_initial_weights(bench, family):
    model = bench.build(family)
    plain = bench.plain_reference(family, model)
    assert sum(p.numel() for p in plain.parameters()) == sum(p.numel() for p in model.parameters())
    assert bench.max_weight_difference(plain, bench.build(family)) == 0  # build() is deterministic
    pixel_values = torch.randn(4, 1, 28, 28)
    model.eval(), plain.eval()
    with torch.no_grad():
        torch.testing.assert_close(plain(pixel_values), model(pixel_values=pixel_values).logits, rtol=0, atol=0)


@pytest.mark.parametrize("family", ["mlp", "cnn"])
def test_plain_bare_and_engine_loops_train_to_the_same_weights(bench, family):
    dataset = bench.load_data(None, 40)  # two batches of 32 and 8
    best = bench.compare(family, dataset, batch_size=32, rounds=1)
    assert best["weight_difference"] == 0  # the bare loop and the engine: the same draws, the same weights
    assert all(best[name] > 0 for name in ("plain", "bare", "engine"))
    # The plain reference differs from tinyvision's model only in how dropout draws its masks.
    plain, model = bench.plain_reference(family, bench.build(family)), bench.build(family)
    for network in (plain, model):
        for module in network.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = 0.0
    bench.plain_epoch(plain, dataset, 32)
    bench.plain_epoch(model, dataset, 32, tinyvision_output=True)
    assert bench.max_weight_difference(plain, model) == 0


def test_keras_bench_skips_without_keras_and_runs_the_tinyvision_side(tmp_path, monkeypatch, capsys):
    bench_keras = _benchmark("bench_keras")
    assert bench_keras.keras_python(SimpleNamespace(keras_python="/some/python")) == "/some/python"
    monkeypatch.setattr(bench_keras, "keras_python", lambda args: None)
    assert bench_keras.main(["--num_examples", "8"]) is None
    assert "skipped" in capsys.readouterr().out

    arrays = tmp_path / "arrays.npz"
    assert bench_keras.write_arrays(None, 40, str(arrays)) == 40
    args = bench_keras.parse_args(["--arrays", str(arrays), "--num_train_epochs", "1"])
    result = bench_keras.run_tinyvision(args)
    assert len(result["epoch_seconds"]) == 1 and np.isfinite(result["train_loss"])


@pytest.mark.parametrize("keras_threads, expected_omp", [(None, "1"), (2, "2"), (0, None)])
def test_keras_side_threads_follow_keras_threads(keras_threads, expected_omp, monkeypatch):
    bench_keras = _benchmark("bench_keras")
    launched = []
    monkeypatch.setattr(bench_keras.subprocess, "Popen",
                        lambda command, env, **kwargs: launched.append((command, env)) or SimpleNamespace())
    argv = ["--threads", "1"] + ([] if keras_threads is None else ["--keras_threads", str(keras_threads)])
    args = bench_keras.parse_args(argv)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    bench_keras.start("python", "keras", args, "arrays.npz")
    bench_keras.start("python", "tinyvision", args, "arrays.npz")
    (keras_command, keras_env), (torch_command, torch_env) = launched
    assert keras_env.get("OMP_NUM_THREADS") == expected_omp  # 0: TensorFlow picks its own thread pools
    assert keras_command[keras_command.index("--keras_threads") + 1] == str(1 if keras_threads is None else keras_threads)
    assert torch_env["OMP_NUM_THREADS"] == "1" and "--keras_threads" not in torch_command


def test_threads_zero_leaves_each_side_its_own_default(tmp_path, monkeypatch):
    bench_keras = _benchmark("bench_keras")
    launched = []
    monkeypatch.setattr(bench_keras.subprocess, "Popen",
                        lambda command, env, **kwargs: launched.append((command, env)) or SimpleNamespace())
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    args = bench_keras.parse_args(["--threads", "0"])
    bench_keras.start("python", "keras", args, "arrays.npz")
    bench_keras.start("python", "tinyvision", args, "arrays.npz")
    assert all("OMP_NUM_THREADS" not in env for _, env in launched)  # neither side is pinned

    arrays = tmp_path / "arrays.npz"
    bench_keras.write_arrays(None, 40, str(arrays))
    seen = []
    monkeypatch.setattr("tinyvision.training.engine.default_num_threads",
                        lambda accelerator, cpu_threads="share": seen.append(cpu_threads) or 1)
    bench_keras.run_tinyvision(bench_keras.parse_args(["--arrays", str(arrays), "--num_train_epochs", "1",
                                                       "--threads", "0"]))
    assert seen == ["share"]  # the engine chose the threads, as train_classifier.py's would


@pytest.mark.parametrize("reuse_fakes, generator_passes", [(False, 2), (True, 1)])
def test_gan_step_benchmark_times_the_step_it_names(reuse_fakes, generator_passes, monkeypatch):
    from tinyvision.models import GANConfig
    from tinyvision.models.modeling_gan import Generator

    bench_gan = _benchmark("bench_gan_step")
    config = GANConfig(image_size=32, generator_filters=[8] * 4, discriminator_filters=[8] * 4,
                       generator_dense_size=32, latent_dim=8, generator_batch_norm=True, discriminator_batch_norm=True)
    model, optimizers = bench_gan.make(config, channels_last=False)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    passes = []
    forward = Generator.forward
    monkeypatch.setattr(Generator, "forward",
                        lambda self, latents: passes.append(len(latents)) or forward(self, latents))
    bench_gan.step(model, optimizers, torch.rand(4, 3, 32, 32) * 2 - 1, reuse_fakes)
    assert passes == [4] * generator_passes
    changed = {k.split(".")[0] for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed == {"generator", "discriminator"}
    assert all(p.requires_grad for p in model.parameters())


def test_median_epoch_leaves_out_each_runs_first_epoch():
    bench_keras = _benchmark("bench_keras")
    runs = [{"epoch_seconds": [9.0, 4.0, 5.0]}, {"epoch_seconds": [30.0, 7.0]}]
    assert bench_keras.median_epoch_seconds(runs) == 5.0  # median of 4, 5, 7: the 9 and 30 of warm-up left out
    assert bench_keras.median_epoch_seconds([{"epoch_seconds": [6.0]}, {"epoch_seconds": [8.0]}]) == 7.0


def test_main_prints_best_median_and_process_ratios(monkeypatch, capsys):
    bench_keras = _benchmark("bench_keras")
    epochs = {"tinyvision": iter([[8.0, 4.0], [7.0, 6.0]]), "keras": iter([[12.0, 9.0], [10.0, 8.0]])}
    monkeypatch.setattr(bench_keras, "keras_python", lambda args: "python")
    monkeypatch.setattr(bench_keras, "write_arrays", lambda data_dir, num_examples, path: num_examples)
    monkeypatch.setattr(bench_keras, "spawn", lambda python, side, args, arrays: {
        "epoch_seconds": next(epochs[side]), "process_seconds": 20.0 if side == "tinyvision" else 30.0,
        "framework": side, "train_loss": 0.5, "train_accuracy": 0.8})
    result = bench_keras.main(["--num_examples", "100", "--rounds", "2"])
    assert result["epoch_ratio"] == 8.0 / 4.0  # best epochs: Keras 8 s, tinyvision 4 s
    assert result["median_epoch_ratio"] == 8.5 / 5.0  # later epochs: Keras 9, 8; tinyvision 4, 6
    assert result["process_ratio"] == 1.5
    assert "(median epoch): 1.70" in capsys.readouterr().out


def test_photo_reader_step_benchmark_builds_each_variant_and_steps_it(monkeypatch, capsys):
    """Each variant is the default photo reader config with its fields set (``reader.`` ones on the reader);
    unknown fields are refused by name; every variant takes a warm-up step and rounds × steps timed ones, each
    ending in an optimizer step; the baseline's ratio is 1."""
    bench = _benchmark("bench_photo_reader_step")
    config = bench.variant_config(bench.parse_variant("detector_size=96, reader.polar_rows=16"))
    assert config.detector_size == 96 and config.reader["polar_rows"] == 16
    assert config.reader["mark_votes"] is True and config.reader["hour_overlap_discount"] == 0.3  # default reader kept
    assert bench.variant_config(bench.parse_variant("")).to_dict() == bench.variant_config({}).to_dict()
    with pytest.raises(ValueError, match="polar_rows"):
        bench.variant_config(bench.parse_variant("polar_rows=3"))  # a reader field without its prefix
    with pytest.raises(ValueError, match="reader.polar_row'"):
        bench.variant_config(bench.parse_variant("reader.polar_row=3"))
    with pytest.raises(ValueError, match="name=value"):
        bench.parse_variant("detector_size")
    steps = []
    step = torch.optim.AdamW.step
    monkeypatch.setattr(torch.optim.AdamW, "step", lambda self, *a, **k: steps.append(1) or step(self, *a, **k))
    results = bench.main(["--batch_size", "2", "--rounds", "2", "--steps", "1", "--num_threads", "1",
                          "--variants", "", "detector_size=96,reader.polar_rows=16"])
    assert [row["variant"] for row in results["rows"]] == ["default", "detector_size=96,reader.polar_rows=16"]
    assert results["rows"][0]["ratio"] == 1.0 and len(steps) == 2 * (1 + 2 * 1)
    assert all(row["seconds_per_step"] > 0 for row in results["rows"])
    assert "detector_size=96,reader.polar_rows=16" in capsys.readouterr().out
