"""The training engine: learning, history, trackers, checkpoints, exact resume, NaN guard, 2 processes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tinyvision import MLPConfig, MLPForImageClassification, TinyVisionImageProcessor
from tinyvision.data import load_image_classification
from tinyvision.tasks.classification import ClassificationStep
from tinyvision.training import (
    Engine,
    TrainingArguments,
    TrainingDivergedError,
    TrainStep,
    list_checkpoints,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data(tiny_dataset_dir):
    return load_image_classification(str(tiny_dataset_dir), validation_split=0.25, cache_dir=None)


def make_step(data, dropout=0.0, seed=0):
    torch.manual_seed(seed)
    model = MLPForImageClassification(MLPConfig(image_size=12, hidden_sizes=[32], dropout=dropout,
                                                id2label=data.id2label))
    processor = TinyVisionImageProcessor(size={"height": 12, "width": 12}, num_channels=1,
                                         image_mean=data.image_mean, image_std=data.image_std)
    return ClassificationStep(model, processor)


def make_args(tmp_path, **overrides):
    values = dict(output_dir=str(tmp_path), num_train_epochs=3, per_device_train_batch_size=8, optimizer="sgd",
                  learning_rate=0.05, disable_tqdm=True, seed=7)
    values.update(overrides)
    return TrainingArguments(**values)


def test_training_lowers_the_loss_and_writes_its_records(data, tmp_path):
    engine = Engine(make_step(data), make_args(tmp_path, num_train_epochs=6, report_to="jsonl"), data.train,
                    data.validation, test_dataset=data.test)
    result = engine.train()
    history = json.loads((tmp_path / "history.json").read_text())
    assert [record["epoch"] for record in history] == [1, 2, 3, 4, 5, 6]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["eval_loss"] < history[0]["eval_loss"]
    assert history[-1]["eval_accuracy"] > 0.5  # 4 classes: chance is 0.25
    assert history[-1]["eval_num_examples"] == len(data.validation)
    metrics = json.loads((tmp_path / "all_results.json").read_text())
    assert metrics == pytest.approx(result.metrics)
    # Where the time went: every phase accounted, the parts within the total.
    phases = {name: metrics[f"time_{name}_s"] for name in ("data", "training", "evaluation", "saving")}
    assert phases["training"] > 0 and phases["evaluation"] > 0 and phases["saving"] > 0
    assert sum(phases.values()) <= metrics["time_total_s"] + 1e-6
    assert metrics["test_num_examples"] == len(data.test) and metrics["global_step"] == 6 * 9
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert "config" in lines[0] and [line["epoch"] for line in lines[1:]] == [1, 2, 3, 4, 5, 6]
    assert (tmp_path / "model.safetensors").exists() and (tmp_path / "preprocessor_config.json").exists()
    run_config = json.loads((tmp_path / "run_config.json").read_text())
    assert run_config["hardware"]["device"] == "cpu" and run_config["training_args"]["seed"] == 7
    assert [p.name for p in list_checkpoints(tmp_path)] == ["checkpoint-45", "checkpoint-54"]  # limit 2


class Interrupted(Exception):
    pass


def _interrupt_at(step_number):
    def hook(step):
        if step == step_number:
            raise Interrupted(step)
    return hook


@pytest.mark.parametrize("checkpointing_steps", ["epoch", "4"])
def test_kill_and_resume_gives_the_same_final_weights(data, tmp_path, checkpointing_steps):
    full = Engine(make_step(data), make_args(tmp_path / "full", checkpointing_steps=checkpointing_steps),
                  data.train, data.validation)
    full.train()

    interrupted = Engine(make_step(data), make_args(tmp_path / "cut", checkpointing_steps=checkpointing_steps),
                         data.train, data.validation)
    interrupted.on_step_end = _interrupt_at(14)  # mid-epoch 2 (9 steps per epoch)
    with pytest.raises(Interrupted):
        interrupted.train()
    assert not (tmp_path / "cut" / "model.safetensors").exists()
    # A half-written checkpoint from the kill must be ignored.
    (tmp_path / "cut" / ".checkpoint-99.tmp").mkdir()
    (tmp_path / "cut" / "checkpoint-98").mkdir()  # no trainer_state.json: not a finished checkpoint

    resumed = Engine(make_step(data, seed=123),  # fresh weights: all of them must come from the checkpoint
                     make_args(tmp_path / "cut", checkpointing_steps=checkpointing_steps,
                               resume_from_checkpoint="latest"),
                     data.train, data.validation)
    resumed.train()
    expected = load_file(tmp_path / "full" / "model.safetensors")
    actual = load_file(tmp_path / "cut" / "model.safetensors")
    assert expected.keys() == actual.keys()
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], rtol=0, atol=0)
    full_history = json.loads((tmp_path / "full" / "history.json").read_text())
    cut_history = json.loads((tmp_path / "cut" / "history.json").read_text())
    for a, b in zip(full_history, cut_history, strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-6)
        assert a["eval_accuracy"] == b["eval_accuracy"]


def test_resume_from_a_missing_path_is_an_error(data, tmp_path):
    engine = Engine(make_step(data), make_args(tmp_path, resume_from_checkpoint=str(tmp_path / "nope")),
                    data.train)
    with pytest.raises(FileNotFoundError, match="not a finished tinyvision checkpoint"):
        engine.train()


class NaNAfter(ClassificationStep):
    def __init__(self, *args, bad_call, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls, self.bad_call = 0, bad_call

    def train_step(self, batch, engine):
        logs = super().train_step(batch, engine)
        self.calls += 1
        if self.calls >= self.bad_call:
            logs["loss"] = logs["loss"] * float("nan")
        return logs


def test_nan_loss_stops_with_a_clear_message_and_keeps_the_last_good_checkpoint(data, tmp_path):
    good = make_step(data)
    step = NaNAfter(good.model, good.processor, bad_call=12)
    engine = Engine(step, make_args(tmp_path), data.train, data.validation)
    with pytest.raises(TrainingDivergedError, match=r"loss is nan at step 12 \(epoch 2\).*checkpoint-9"):
        engine.train()
    assert [p.name for p in list_checkpoints(tmp_path)] == ["checkpoint-9"]
    assert not (tmp_path / "model.safetensors").exists()


def test_gradient_accumulation_and_max_steps(data, tmp_path):
    engine = Engine(make_step(data), make_args(tmp_path, gradient_accumulation_steps=3, max_train_steps=5,
                                               checkpointing_steps="no"), data.train, data.validation)
    result = engine.train()
    assert result.global_step == 5  # 9 batches/epoch → 3 steps/epoch → stops in epoch 2
    assert len(result.history) == 2
    assert list_checkpoints(tmp_path) == []


@pytest.mark.parametrize("field, value", [("optimizer", "lamb"), ("lr_scheduler_type", "step"),
                                          ("learning_rate", 0.0), ("per_device_train_batch_size", 0),
                                          ("checkpointing_steps", "often")])
def test_bad_training_arguments_name_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        TrainingArguments(**{field: value})


@pytest.mark.parametrize("optimizer, scheduler", [("adagrad", "cosine"), ("adam", "one_cycle"),
                                                  ("adamw", "linear"), ("rmsprop", "constant")])
def test_every_optimizer_and_schedule_trains(data, tmp_path, optimizer, scheduler):
    args = make_args(tmp_path, num_train_epochs=2, optimizer=optimizer, lr_scheduler_type=scheduler,
                     learning_rate=0.003, warmup_ratio=0.1, checkpointing_steps="no")
    result = Engine(make_step(data), args, data.train, data.validation).train()
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"] * 1.05
    assert all(torch.isfinite(torch.tensor(r["train_loss"])) for r in result.history)


TWO_PROCESS_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import torch
    from accelerate import debug_launcher

    sys.path.insert(0, sys.argv[3])
    from test_engine import make_args, make_step
    from tinyvision.data import load_image_classification

    def run():
        from accelerate import PartialState
        data = load_image_classification(sys.argv[1], validation_split=0.3, cache_dir=None)
        from tinyvision.training import Engine
        args = make_args(sys.argv[2], num_train_epochs=2)
        engine = Engine(make_step(data), args, data.train, data.validation, test_dataset=data.test)
        result = engine.train()
        if PartialState().is_main_process:
            out = {"num_processes": PartialState().num_processes, "metrics": result.metrics,
                   "eval_size": len(data.validation), "test_size": len(data.test), "train_size": len(data.train),
                   "model_after": type(engine.step.model).__name__}
            with open(sys.argv[2] + "/two_process.json", "w") as handle:
                json.dump(out, handle)

    debug_launcher(run, num_processes=2)
    """
)


def test_two_process_run_counts_every_evaluation_example_once(tiny_dataset_dir, tmp_path):
    script = tmp_path / "two.py"
    script.write_text(TWO_PROCESS_SCRIPT)
    out = tmp_path / "run"
    out.mkdir()
    result = subprocess.run([sys.executable, str(script), str(tiny_dataset_dir), str(out), str(ROOT / "tests")],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-4000:]
    payload = json.loads((out / "two_process.json").read_text())
    metrics = payload["metrics"]
    assert payload["num_processes"] == 2 and metrics["num_processes"] == 2
    # The DDP wrapper is gone before the process group is (a late-collected wrapper can hang a rank).
    assert payload["model_after"] == "MLPForImageClassification"
    # 29 validation and 40 test examples split over two processes: each counted exactly once.
    assert metrics["eval_num_examples"] == payload["eval_size"] == 29
    assert metrics["test_num_examples"] == payload["test_size"] == 40
    # 67 training examples, batch 8 per process → 5 steps per epoch.
    assert metrics["global_step"] == 10
    assert (out / "model.safetensors").exists()


class ToyPlayers(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.generator = torch.nn.Linear(4, 144)
        self.discriminator = torch.nn.Linear(144, 1)

    def save_pretrained(self, output_dir, **kwargs):
        torch.save(self.state_dict(), Path(output_dir) / "players.pt")


class ToyAdversarialStep(TrainStep):
    """Two optimizers stepped inside one train_step, as a GAN does: the engine loop is unchanged."""

    manual_optimization = True

    def __init__(self, generator_lr=None):
        torch.manual_seed(0)
        self.model = ToyPlayers()
        self.generator_lr = generator_lr

    def parameter_groups(self):
        return {"discriminator": list(self.model.discriminator.parameters()),
                "generator": list(self.model.generator.parameters())}

    def optimizer_overrides(self, name):
        return {"lr": self.generator_lr} if name == "generator" and self.generator_lr is not None else {}

    def train_step(self, batch, engine):
        real = batch["pixel_values"].float().flatten(1) / 255
        noise = torch.randn(len(real), 4)
        fake = self.model.generator(noise)
        d_loss = ((self.model.discriminator(real) - 1) ** 2).mean() + (self.model.discriminator(fake.detach()) ** 2).mean()
        engine.optimizer_step(d_loss, "discriminator")
        g_loss = ((self.model.discriminator(self.model.generator(noise)) - 1) ** 2).mean()
        engine.optimizer_step(g_loss, "generator")
        for optimizer in engine.optimizers.values():  # the generator step left gradients on D: clear them
            optimizer.zero_grad(set_to_none=True)
        return {"loss": (d_loss + g_loss).detach(), "d_loss": d_loss.detach(), "g_loss": g_loss.detach()}

    def eval_step(self, batch):
        real = batch["pixel_values"].float().flatten(1) / 255
        return {"d_real": self.model.discriminator(real)[:, 0]}


@pytest.mark.parametrize("generator_lr, generator_moves", [(None, True), (0.0, False)])
def test_engine_runs_a_two_optimizer_adversarial_step(data, tmp_path, generator_lr, generator_moves):
    step = ToyAdversarialStep(generator_lr)
    before = {k: v.clone() for k, v in step.model.state_dict().items()}
    result = Engine(step, make_args(tmp_path, num_train_epochs=2, optimizer="adam", learning_rate=0.01),
                    data.train, data.validation).train()
    after = step.model.state_dict()
    assert not torch.equal(before["discriminator.weight"], after["discriminator.weight"])
    assert torch.equal(before["generator.weight"], after["generator.weight"]) is not generator_moves
    assert {"train_d_loss", "train_g_loss", "eval_d_real"} <= set(result.history[-1])
    assert (tmp_path / "players.pt").exists()


def test_default_threads_per_process_follow_the_step(monkeypatch):
    from types import SimpleNamespace

    from tinyvision.training.engine import default_num_threads

    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(8)), raising=False)
    cpu = SimpleNamespace(device=torch.device("cpu"), num_processes=2)
    assert default_num_threads(cpu) == 4  # the cores split among the processes
    assert default_num_threads(cpu, "one") == 1  # a step that pins itself to one thread
    assert default_num_threads(SimpleNamespace(device=torch.device("cpu"), num_processes=16), "share") == 1
    assert default_num_threads(SimpleNamespace(device=torch.device("cuda"), num_processes=1), "share") is None
    from tinyvision.tasks.generative import GANStep, VAEStep

    assert GANStep.cpu_threads == VAEStep.cpu_threads == ClassificationStep.cpu_threads == "share"
