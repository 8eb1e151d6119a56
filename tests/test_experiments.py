"""The studies (Task 1 classifiers, Task 2 clock heads): definitions expand right, resume skips, shard + merge =
unsharded, maths (both metric directions), plots, real runs."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from tinyvision.experiments import (
    PROFILES,
    TASKS,
    Profile,
    aggregate,
    best_variant,
    expand,
    load_results,
    mean_std,
    merge,
    plot_experiment,
    run_study,
    runner,
    unique_runs,
    write_report,
)


def test_definitions_expand_to_the_right_units():
    units = expand(["exp1"], ["mlp"], seeds=3, profile="quick")
    assert len(units) == (4 + 3 + 4 + 2) * 3
    runs = unique_runs(units)
    # The default MLP is listed in all four axes but trains once per seed.
    assert len(runs) == (13 - 3) * 3
    names = {(u.axis, u.variant.name) for u in units}
    assert ("activation", "sigmoid") in names and ("regularisation", "L2 1e-3") in names
    cnn = expand(["exp1"], ["cnn"], seeds=1, profile="quick")
    sigmoid = next(u for u in cnn if u.variant.name == "sigmoid")
    assert sigmoid.variant.config == {"fc_activation": "sigmoid"}  # the CNN varies its FC part
    exp3 = expand(["exp3"], ["mlp"], seeds=1, profile="full")
    lrs = sorted({u.variant.training["learning_rate"] for u in exp3})
    assert lrs[0] <= 0.0005 and lrs[-1] >= 0.05 and len(exp3) == 15
    # "sgd 0.01" is the default recipe: same key, one run.
    default = next(u for u in expand(["exp1"], ["mlp"], 1, "full") if u.variant.name == "relu (default)")
    sgd = next(u for u in exp3 if u.variant.name == "sgd 0.01")
    assert default.key == sgd.key
    best = expand(["best", "transfer"], ["both"], seeds=1, profile="quick")
    assert [(u.variant.name, u.variant.dataset) for u in best] == [
        ("MLP1", "fashion_mnist"), ("MLP2", "fashion_mnist"), ("CNN1", "fashion_mnist"),
        ("MLP1", "cifar10"), ("MLP2", "cifar10"), ("CNN1", "cifar10")]
    assert len(expand("all", "both", 2, "quick")) == 148
    with pytest.raises(ValueError, match="unknown experiment"):
        expand(["exp9"], ["mlp"], 1, "quick")


def test_shards_partition_the_runs():
    runs = unique_runs(expand("all", "both", 2, "quick"))
    shards = [runner.shard(runs, i, 3) for i in range(3)]
    assert sorted(u.key for s in shards for u in s) == sorted(u.key for u in runs)
    with pytest.raises(ValueError, match="i/n"):
        runner.parse_shard("2-3")


def test_mean_std_over_seeds_on_known_inputs():
    mean, std = mean_std([[0.1, 0.5, 0.9], [0.3, 0.7, 1.1, 9.9]])
    np.testing.assert_allclose(mean, [0.2, 0.6, 1.0])
    np.testing.assert_allclose(std, [0.1, 0.1, 0.1])


def _fake_results(units):
    results = {}
    for unit in unique_runs(units):
        rng = np.random.default_rng(abs(hash(unit.key)) % 2**32)
        history = [{"epoch": e, "train_accuracy": 0.5 + 0.1 * e + rng.normal(0, 0.01),
                    "eval_accuracy": 0.5 + 0.08 * e, "train_loss": 1 / e, "eval_loss": 1.2 / e} for e in (1, 2, 3)]
        results[unit.key] = {"history": history, "metrics": {"test_accuracy": 0.8}, "wall_time_s": 1.0}
    return results


def test_aggregate_and_plot_on_a_fake_result_set(tmp_path):
    units = expand(["exp1"], ["mlp"], seeds=2, profile="quick")
    table = aggregate(units, _fake_results(units))
    axes = table[("exp1", "mlp")]
    assert list(axes) == ["weight initialisation", "activation", "regularisation", "batch normalisation"]
    cell = axes["activation"]["tanh"]
    assert cell["seeds"] == 2 and len(cell["eval_accuracy"][0]) == 3
    np.testing.assert_allclose(cell["eval_accuracy"][0], [0.58, 0.66, 0.74])
    np.testing.assert_allclose(cell["eval_accuracy"][1], 0, atol=1e-12)
    path = plot_experiment("exp1", "mlp", axes, tmp_path / "exp1_mlp.png")
    image = Image.open(path)
    assert image.size[0] > 1000 and image.size[1] > 800  # 3 x 2 panels
    import matplotlib.pyplot as plt  # the figure was closed: nothing leaks

    assert len(plt.get_fignums()) == 0


@pytest.fixture
def tiny_profile(monkeypatch, tiny_dataset_dir, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(tiny_dataset_dir, data_dir / "fashion_mnist")
    monkeypatch.setitem(PROFILES, "quick", Profile("quick", {"mlp": 2, "cnn": 1}, {"mlp": 48, "cnn": 24},
                                                   {"mlp": 16, "cnn": 16}, {"mlp": 2, "cnn": 1}, 48))
    return data_dir


def _two_units():
    units = [u for u in expand(["exp1"], ["mlp"], seeds=1, profile="quick")
             if u.variant.name in ("relu (default)", "sigmoid")]
    return units


def test_two_unit_real_run_resume_and_report(tiny_profile, tmp_path):
    units = _two_units()
    out = tmp_path / "study"
    ran = run_study(units, str(tiny_profile), out, show_progress=False)
    assert len(ran) == 2
    results = load_results(out)
    assert len(results) == 2
    for result in results.values():
        assert [r["epoch"] for r in result["history"]] == [1, 2]
        assert result["num_train"] == 48 and result["num_eval"] == 10  # 10 % of 96 held out
    assert not list(out.glob("units/*/run/checkpoint-*"))
    # Started again, a finished sweep skips everything; a lost result is re-run.
    assert run_study(units, str(tiny_profile), out, show_progress=False) == []
    (out / "units" / units[1].key / "result.json").unlink()
    assert [u.key for u in run_study(units, str(tiny_profile), out, show_progress=False)] == [units[1].key]
    report = write_report(units, load_results(out), out, command="pytest", profile="quick")
    text = report.read_text()
    assert "exp1_mlp.png" in text and "| activation | sigmoid | 1 |" in text
    assert (out / "exp1_mlp.png").exists()


def test_shard_and_merge_equal_an_unsharded_run(tiny_profile, tmp_path):
    units = _two_units()
    run_study(units, str(tiny_profile), tmp_path / "whole", show_progress=False)
    for index in range(2):
        ran = run_study(units, str(tiny_profile), tmp_path / f"shard{index}", shard_spec=f"{index}/2",
                        show_progress=False)
        assert len(ran) == 1
    assert merge([tmp_path / "shard0", tmp_path / "shard1"], tmp_path / "merged") == 2
    whole, merged = load_results(tmp_path / "whole"), load_results(tmp_path / "merged")
    assert whole.keys() == merged.keys()
    for key in whole:
        for a, b in zip(whole[key]["history"], merged[key]["history"], strict=True):
            assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-6)
            assert a["eval_accuracy"] == b["eval_accuracy"]
    assert json.loads(json.dumps(merged))  # plain JSON all the way


# ------------------------------------------------------------------------- Task 2: clock-reader heads
CLOCK_VARIANTS = {
    "regression": {"head": "regression"},
    "classification 60 min": {"head": "classification", "interval_minutes": 60},
    "classification 15 min": {"head": "classification", "interval_minutes": 15},
    "classification 5 min": {"head": "classification", "interval_minutes": 5},
    "multihead": {"head": "multihead"},
    "periodic": {"head": "periodic"},
    "hybrid": {"head": "hybrid"},
    "angles": {"head": "angles"},
}


def test_clock_heads_expand_to_thirteen_variants_times_seeds():
    units = expand(["clock_heads"], "both", seeds=3, profile="quick")
    runs = unique_runs(units)
    assert len(runs) == 13 * 3  # 'classification 15 min' is in two axes but trains once per seed
    upright = [u for u in runs if u.axis == "upright dials"]
    assert {u.variant.name: u.variant.config for u in runs if u not in upright} == CLOCK_VARIANTS
    # the five heads that see only the time, again on upright dials without quarter turns
    assert {u.variant.name: u.variant.config for u in upright} == {
        f"{name} (upright)": config for name, config in CLOCK_VARIANTS.items()
        if name in ("regression", "classification 15 min", "multihead", "periodic", "hybrid")}
    assert all(u.variant.data == {"max_rotation": 0.0, "augment": False} for u in upright)
    assert all(u.resolved_training()["learning_rate"] == 3e-4 for u in upright)
    same_head = {u.variant.name: u.key for u in runs if u.seed == 0}
    assert same_head["hybrid (upright)"] != same_head["hybrid"]  # the data are part of a run's identity
    assert {u.family for u in units} == {"clock"} and {u.seed for u in runs} == {0, 1, 2}
    assert [u.variant.name for u in units if u.axis == "classification interval" and u.seed == 0] == [
        "classification 60 min", "classification 15 min", "classification 5 min"]
    assert len({u.key for u in runs}) == 39
    # `all` stays the Task 1 study; a classifier family names nothing in the clock study.
    assert not any(u.experiment == "clock_heads" for u in expand("all", "both", 1, "quick"))
    with pytest.raises(ValueError, match="trains \\['clock'\\]"):
        expand(["clock_heads"], ["mlp"], 1, "quick")
    assert PROFILES["quick"].clock["image_size"] == 64 and PROFILES["full"].clock == {}  # full = train_clock's


def _fake_clock_results(units, error_of):
    results = {}
    for unit in unique_runs(units):
        base, spread = error_of[unit.variant.name], unit.seed  # seed s adds s minutes
        history = [{"epoch": e, "train_cse": (base + spread) * 4 / e, "eval_cse_mean": (base + spread) * 5 / e,
                    "eval_hour_accuracy": 0.5} for e in (1, 2, 3)]
        metrics = {"test_cse_mean": base + spread, "test_cse_median": base, "test_cse_p90": 3 * base,
                   "test_hour_accuracy": 0.9, "train_time_s": 60.0}
        results[unit.key] = {"history": history, "metrics": metrics, "wall_time_s": 60.0}
    return results


def test_aggregate_judges_the_clock_error_lower_is_better(tmp_path):
    units = expand(["clock_heads"], "both", seeds=2, profile="quick")
    error_of = {name: 10.0 * (i + 1) for i, name in enumerate(CLOCK_VARIANTS)}  # regression best, angles worst
    error_of["hybrid"] = 2.0
    error_of.update({f"{name} (upright)": 1.0 + i for i, name in enumerate(CLOCK_VARIANTS)})
    error_of["multihead (upright)"] = 0.5
    axes = aggregate(units, _fake_clock_results(units, error_of))[("clock_heads", "clock")]
    cell = axes["head"]["hybrid"]
    assert cell["seeds"] == 2 and cell["test_cse_mean"] == pytest.approx((2.5, 0.5))
    np.testing.assert_allclose(cell["eval_cse_mean"][0], [12.5, 6.25, 12.5 / 3])
    assert cell["train_time_s"] == (60.0, 0.0)
    assert best_variant(axes["head"], TASKS["clock"]) == "hybrid"  # the smallest error, not the largest
    assert best_variant(axes["classification interval"], TASKS["clock"]) == "classification 60 min"
    assert best_variant(axes["upright dials"], TASKS["clock"]) == "multihead (upright)"
    exp1 = expand(["exp1"], ["mlp"], seeds=1, profile="quick")
    assert best_variant(aggregate(exp1, _fake_results(exp1))[("exp1", "mlp")]["batch normalisation"],
                        TASKS["classification"]) in ("off (default)", "on")
    plot_experiment("clock_heads", "clock", axes, tmp_path / "clock_heads.png")
    assert Image.open(tmp_path / "clock_heads.png").size[0] > 1000  # two panels side by side


def test_two_clock_units_real_run_and_report(monkeypatch, tmp_path):
    smoke = {"image_size": 32, "num_train_examples": 64, "num_eval_examples": 16, "num_test_examples": 16}
    monkeypatch.setitem(PROFILES, "quick", Profile("quick", {"clock": 1}, None, None, {}, None, clock=smoke))
    monkeypatch.setattr(runner, "_CLOCK_DATA_CACHE", {})
    units = [u for u in expand(["clock_heads"], "both", seeds=1, profile="quick")
             if u.variant.name in ("regression", "classification 15 min")]
    assert len(units) == 3  # 'classification 15 min' is listed in both axes
    out = tmp_path / "study"
    assert len(run_study(units, str(tmp_path), out, show_progress=False)) == 2
    assert len(runner._CLOCK_DATA_CACHE) == 1  # both units trained on the clocks rendered once
    results = load_results(out)
    assert len(results) == 2
    for result in results.values():
        assert [r["epoch"] for r in result["history"]] == [1]
        assert {"train_cse", "eval_cse_mean"} <= set(result["history"][0])
        assert {"test_cse_mean", "test_cse_p90", "test_hour_accuracy"} <= set(result["metrics"])
        assert result["num_train"] == 64 and result["num_eval"] == 16
    heads = {r["unit"]["variant"]["config"]["head"] for r in results.values()}
    assert heads == {"regression", "classification"}
    assert run_study(units, str(tmp_path), out, show_progress=False) == []  # resume skips finished units
    text = write_report(units, results, out, command="pytest", profile="quick").read_text()
    assert text.startswith("# Task 2 study: clock-reader heads (quick profile)")
    assert "64 generated training clocks at 32×32" in text and "Commit: `" in text
    assert "clock_heads.png" in text and "| head | regression | 1 |" in text
    assert "| classification interval | classification 15 min | 1 |" in text
    assert "Best by test_cse_mean (lower is better)" in text
    assert (out / "clock_heads.png").exists()


def test_a_unit_finished_by_another_worker_meanwhile_is_skipped(monkeypatch, tmp_path):
    """Two workers on one folder (e.g. a re-run beside a shard): each re-checks a unit just before it."""
    units = unique_runs(expand(["exp1"], ["mlp"], 1, "quick"))[:3]
    ran = []

    def fake_run_unit(unit, data_dir, output_dir):
        ran.append(unit.key)
        for other in units:  # as if another worker finished every unit while this one ran
            (output_dir / "units" / other.key).mkdir(parents=True, exist_ok=True)
            (output_dir / "units" / other.key / runner.RESULT_FILE).write_text("{}")

    monkeypatch.setattr(runner, "run_unit", fake_run_unit)
    returned = run_study(units, "unused", tmp_path, show_progress=False)
    assert ran == [units[0].key] and returned == units[:1]


def test_data_overrides_are_refused_by_the_classifier_study(tmp_path):
    unit = unique_runs(expand(["exp1"], ["mlp"], 1, "quick"))[0]
    unit = dataclasses.replace(unit, variant=dataclasses.replace(unit.variant, data={"validation_split": 0.2}))
    with pytest.raises(ValueError, match="apply to the clock study only"):
        runner.RUN_BUILDERS["classification"](unit, str(tmp_path), tmp_path / "run", True)


def _same_run(study_run, script_run):
    """Everything that decides a run: training arguments, what it records, the data and the initial weights."""
    study_args, script_args = dataclasses.asdict(study_run.training_args), dataclasses.asdict(script_run.training_args)
    assert study_args == script_args
    assert study_run.run_config == script_run.run_config
    assert type(study_run.step) is type(script_run.step)
    for split in ("train", "validation", "test"):
        ours, theirs = getattr(study_run.splits, split), getattr(script_run.splits, split)
        assert (ours is None) == (theirs is None)
        if ours is not None:
            assert ours.columns.keys() == theirs.columns.keys()
            assert all(torch.equal(ours.columns[k], theirs.columns[k]) for k in ours.columns)
    study_weights, script_weights = study_run.step.model.state_dict(), script_run.step.model.state_dict()
    assert study_weights.keys() == script_weights.keys()
    assert all(torch.equal(study_weights[k], script_weights[k]) for k in study_weights)


def test_the_runner_builds_the_run_the_training_script_builds(monkeypatch, tmp_path, tiny_dataset_dir):
    """A study unit and `train_classifier.py` / `train_clock.py` with the unit's settings are one run."""
    from transformers import HfArgumentParser

    from tinyvision.tasks import classification, clock
    from tinyvision.training import TrainingArguments

    (tmp_path / "fashion_mnist").symlink_to(tiny_dataset_dir, target_is_directory=True)
    unit = next(u for u in expand(["exp2"], ["mlp"], 1, "quick") if u.variant.config)  # a non-default variant
    run_dir = tmp_path / "unit"
    study = runner.classifier_run(unit, str(tmp_path), run_dir)
    profile = PROFILES["quick"]
    argv = ["--dataset_name", str(tmp_path / "fashion_mnist"), "--model", "mlp",
            "--config_overrides", json.dumps(unit.variant.config),
            "--max_train_samples", str(profile.max_train_samples["mlp"]),
            "--max_eval_samples", str(profile.max_eval_samples["mlp"]),
            "--output_dir", str(run_dir), "--seed", str(unit.seed), "--num_train_epochs", str(profile.epochs["mlp"]),
            "--checkpointing_steps", "epoch", "--checkpoints_total_limit", "1", "--resume_from_checkpoint", "latest",
            "--disable_tqdm", "true", "--num_threads", str(torch.get_num_threads())]  # a unit keeps its process's
    for name, value in unit.variant.training.items():
        argv += [f"--{name}", str(value)]
    parsed = HfArgumentParser((classification.ClassifierArguments, TrainingArguments)).parse_args_into_dataclasses(argv)
    _same_run(study, classification.build(*parsed))

    smoke = {"image_size": 32, "num_train_examples": 48, "num_eval_examples": 8, "num_test_examples": 8}
    monkeypatch.setitem(PROFILES, "quick", Profile("quick", {"clock": 1}, None, None, {}, None, clock=smoke))
    monkeypatch.setattr(runner, "_CLOCK_DATA_CACHE", {})
    unit = next(u for u in expand(["clock_heads"], "both", 1, "quick") if u.variant.name == "classification 15 min")
    study = runner.clock_run(unit, str(tmp_path), run_dir)
    argv = ["--model", "reader", "--head", "classification", "--interval_minutes", "15", "--num_proc", "1",
            "--config_overrides", "{}", "--output_dir", str(run_dir), "--seed", str(unit.seed),
            "--num_train_epochs", "1", "--checkpointing_steps", "epoch", "--checkpoints_total_limit", "1",
            "--resume_from_checkpoint", "latest", "--disable_tqdm", "true", "--num_threads", str(torch.get_num_threads())]
    for name, value in smoke.items():
        argv += [f"--{name}", str(value)]
    parsed = HfArgumentParser((clock.ClockArguments, TrainingArguments)).parse_args_into_dataclasses(argv)
    _same_run(study, clock.build(*parsed))
