"""The Task 1 study: definitions expand right, resume skips, shard + merge = unsharded, maths, plots, a run."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from tinyvision.experiments import (
    PROFILES,
    Profile,
    aggregate,
    expand,
    load_results,
    mean_std,
    merge,
    plot_experiment,
    run_study,
    unique_runs,
    write_report,
)
from tinyvision.experiments import runner


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
    import matplotlib.pyplot as plt  # noqa: F401  (the figure was closed; nothing leaks)

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
