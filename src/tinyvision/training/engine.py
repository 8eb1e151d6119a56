"""The one training engine of tinyvision, on top of Accelerate.

A task brings a :class:`~tinyvision.training.steps.TrainStep` (its model(s), how a batch becomes a
loss, what to measure) and :class:`~tinyvision.data.TensorDataset` splits; the engine does the rest:
device placement, mixed precision, multi-process, gradient accumulation, per-epoch history,
trackers, atomic ``checkpoint-{step}`` folders with exact resume, NaN guards and the final
``save_pretrained``. It never looks inside a batch.
"""

from __future__ import annotations

import functools
import gc
import json
import logging
import math
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import accelerate.optimizer
import torch
from accelerate import Accelerator
from accelerate.utils import DistributedType, set_seed
from torch.utils.data import BatchSampler, DataLoader, Sampler, SequentialSampler
from tqdm.auto import tqdm

from ..recipes import ENGINE_DEFAULTS
from .arguments import OPTIMIZERS, TrainingArguments
from .steps import TrainStep
from .tracking import build_trackers, write_json_atomic

logger = logging.getLogger(__name__)

# accelerate's AcceleratedOptimizer.step asks importlib whether `lomo_optim` is installed, twice per
# step, uncached: 0.65 ms a step, a quarter of a small MLP's step on CPU (benchmarks/bench_training.py).
# Installed packages do not change during a run, so the answer is cached.
if not hasattr(accelerate.optimizer.is_lomo_available, "cache_info"):
    accelerate.optimizer.is_lomo_available = functools.lru_cache(maxsize=None)(accelerate.optimizer.is_lomo_available)

CHECKPOINT_PREFIX = "checkpoint-"
# Where a plain loss.backward() is what accelerator.backward would do (no scaler, no accumulation division).
PLAIN_BACKWARD = (DistributedType.NO, DistributedType.MULTI_CPU, DistributedType.MULTI_GPU)
STATE_FILE = "trainer_state.json"


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


class EpochShuffleSampler(Sampler[int]):
    """A permutation that depends only on (seed, epoch): resumes and processes agree on the order."""

    def __init__(self, num_examples: int, seed: int):
        self.num_examples = num_examples
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return iter(torch.randperm(self.num_examples, generator=generator).tolist())

    def __len__(self) -> int:
        return self.num_examples


def _whole_batch(batch):
    return batch


def batch_loader(dataset, batch_size: int, sampler: Sampler) -> DataLoader:
    """Whole batches sliced from in-memory tensors: torch calls ``dataset.__getitems__(indices)`` once
    per batch (TensorDataset slices every column at once), so no per-example indexing or collation."""
    return DataLoader(dataset, batch_sampler=BatchSampler(sampler, batch_size, drop_last=False),
                      collate_fn=_whole_batch)


def create_optimizer(name: str, params, args: TrainingArguments, **overrides) -> torch.optim.Optimizer:
    options = {
        "lr": args.learning_rate, "momentum": args.momentum, "weight_decay": args.weight_decay,
        "betas": (args.adam_beta1, args.adam_beta2), **overrides,
    }
    if name == "sgd":
        return torch.optim.SGD(params, lr=options["lr"], momentum=options["momentum"],
                               weight_decay=options["weight_decay"])
    if name == "adagrad":
        # Keras' Adagrad starts its accumulators at 0.1, torch's at 0; Keras' is what the seed tuned.
        return torch.optim.Adagrad(params, lr=options["lr"], initial_accumulator_value=0.1, eps=1e-7,
                                   weight_decay=options["weight_decay"])
    if name == "adam":
        return torch.optim.Adam(params, lr=options["lr"], betas=options["betas"], eps=1e-7,
                                weight_decay=options["weight_decay"])
    if name == "adamw":
        return torch.optim.AdamW(params, lr=options["lr"], betas=options["betas"], weight_decay=options["weight_decay"])
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=options["lr"], momentum=options["momentum"], alpha=0.9, eps=1e-7,
                                   weight_decay=options["weight_decay"])
    raise ValueError(f"unknown optimizer {name!r}; choose one of {list(OPTIMIZERS)}")


def create_scheduler(optimizer, args: TrainingArguments, num_training_steps: int):
    """The learning-rate schedule, or None for a constant rate (nothing to step)."""
    warmup = int(args.warmup_ratio * num_training_steps)
    if args.lr_scheduler_type == "constant" and warmup == 0:
        return None
    if args.lr_scheduler_type == "one_cycle":
        max_lr = [group["lr"] for group in optimizer.param_groups]
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=max_lr, total_steps=max(num_training_steps, 1), pct_start=args.warmup_ratio or 0.25
        )
    from transformers import get_scheduler

    name = "constant_with_warmup" if args.lr_scheduler_type == "constant" else args.lr_scheduler_type
    return get_scheduler(name, optimizer, num_warmup_steps=warmup, num_training_steps=num_training_steps)


def list_checkpoints(output_dir: str | Path) -> list[Path]:
    """Finished checkpoints, oldest first (half-written ``.tmp`` folders are ignored)."""
    folders = [
        path for path in Path(output_dir).glob(f"{CHECKPOINT_PREFIX}*")
        if path.is_dir() and path.name[len(CHECKPOINT_PREFIX):].isdigit() and (path / STATE_FILE).exists()
    ]
    return sorted(folders, key=lambda path: int(path.name[len(CHECKPOINT_PREFIX):]))


def default_num_threads(accelerator: Accelerator, cpu_threads: str = "share") -> int | None:
    """torch threads per process on CPU when the user gave none: the machine's cores split among the processes
    (``cpu_threads = "share"``, every step's default), or one for a step that declares ``cpu_threads = "one"``.
    None (torch's own choice) off the CPU."""
    if accelerator.device.type != "cpu":
        return None
    if cpu_threads == "share":
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        return max(1, cores // accelerator.num_processes)
    return 1


def _detached_float(value: torch.Tensor) -> torch.Tensor:
    # The steps' logs are detached float32 already; detach().float() on them is two dispatches per metric per step.
    if value.dtype == torch.float32 and not value.requires_grad:
        return value
    return value.detach().float()


class RunningSums:
    """Batch-size-weighted sums of the step metrics over an epoch: one tensor op per step."""

    def __init__(self, names=(), total=None, count: int = 0):
        self.names, self.total, self.count = tuple(names), total, count

    def add(self, logs: dict, batch_size: int) -> None:
        values = torch.stack([_detached_float(value) for value in logs.values()]) * batch_size
        if self.total is None:
            self.names, self.total = tuple(logs), values
        elif tuple(logs) != self.names:
            raise ValueError(f"train_step returned metrics {tuple(logs)} after {self.names}: keep them fixed")
        else:
            self.total += values
        self.count += batch_size

    def means(self, accelerator) -> dict[str, float]:
        """Means over every example seen by every process."""
        if self.total is None:
            return {}
        count = torch.tensor([float(self.count)], device=self.total.device)
        totals = accelerator.reduce(torch.cat([self.total, count]), reduction="sum")
        return {name: (totals[i] / totals[-1]).item() for i, name in enumerate(self.names)}

    def state_dict(self) -> dict:
        return {"names": list(self.names), "count": self.count,
                "total": None if self.total is None else self.total.tolist()}

    @classmethod
    def from_state_dict(cls, state: dict, device) -> RunningSums:
        total = None if state["total"] is None else torch.tensor(state["total"], device=device)
        return cls(state["names"], total, state["count"])


@dataclass
class TrainResult:
    history: list[dict]
    metrics: dict
    global_step: int


TIME_PHASES = ("data", "training", "evaluation", "saving")


class Engine:
    """Trains one :class:`TrainStep` on in-memory datasets. See the module docstring."""

    def __init__(self, step: TrainStep, args: TrainingArguments, train_dataset, eval_dataset=None, *,
                 test_dataset=None, run_config: dict | None = None, accelerator: Accelerator | None = None):
        self.step = step
        self.args = args = args.with_defaults(**ENGINE_DEFAULTS)
        self.train_dataset = train_dataset
        self.eval_dataset = eval_dataset
        self.test_dataset = test_dataset
        self.run_config = run_config or {}
        self.output_dir = Path(args.output_dir)
        self.accelerator = accelerator or Accelerator(
            gradient_accumulation_steps=args.gradient_accumulation_steps,
            mixed_precision=args.mixed_precision,
            log_with=build_trackers(args.report_to, args.output_dir) or None,
            project_dir=str(self.output_dir),
        )
        threads = args.num_threads or default_num_threads(self.accelerator, step.cpu_threads)
        if threads:
            torch.set_num_threads(threads)
        self.history: list[dict] = []
        self.global_step = 0
        self.on_step_end = None  # test hook: called with the global step after each optimizer step
        # Where this process's wall time goes (printed at the end, and in all_results.json as time_*_s): the
        # task's data (loading, rendering: added by tasks.common.train_run), the training loop, evaluation,
        # saving (checkpoints, sample grids, the final model and its figures).
        self.timings = dict.fromkeys(TIME_PHASES, 0.0)

    def _models(self) -> list:
        return [getattr(self.step, attribute) for attribute in self.step.model_attributes]

    # ----------------------------------------------------------------------------------- set-up
    def _prepare(self):
        args, accelerator = self.args, self.accelerator
        set_seed(args.seed)
        self.sampler = EpochShuffleSampler(len(self.train_dataset), args.seed)
        train_loader = batch_loader(self.train_dataset, args.per_device_train_batch_size, self.sampler)
        steps_per_epoch = math.ceil(
            math.ceil(len(self.train_dataset) / (args.per_device_train_batch_size * accelerator.num_processes))
            / args.gradient_accumulation_steps
        )
        total_steps = args.max_train_steps or steps_per_epoch * args.num_train_epochs
        self.num_epochs = min(args.num_train_epochs, math.ceil(total_steps / max(steps_per_epoch, 1)))
        self.total_steps = total_steps

        for attribute in self.step.model_attributes:
            setattr(self.step, attribute, accelerator.prepare(getattr(self.step, attribute)))
        self.optimizers, self.schedulers, self._clipped = {}, {}, {}
        for name, params in self.step.parameter_groups().items():
            self._clipped[name] = list(params)
            overrides = dict(self.step.optimizer_overrides(name))
            optimizer = create_optimizer(overrides.pop("optimizer", args.optimizer), params, args, **overrides)
            # Accelerate steps a prepared scheduler once per process, hence the factor.
            scheduler = create_scheduler(optimizer, args, total_steps * accelerator.num_processes)
            self.optimizers[name] = accelerator.prepare(optimizer)
            if scheduler is not None:
                self.schedulers[name] = accelerator.prepare(scheduler)
        self.train_loader = accelerator.prepare(train_loader)
        self.eval_loader = self._eval_loader(self.eval_dataset)
        for state in self.step.checkpoint_objects():
            accelerator.register_for_checkpointing(state)

    def _eval_loader(self, dataset):
        if dataset is None or len(dataset) == 0:
            return None
        return self.accelerator.prepare(
            batch_loader(dataset, self.args.per_device_eval_batch_size, SequentialSampler(range(len(dataset))))
        )

    # ----------------------------------------------------------------------------- optimisation
    def optimizer_step(self, loss: torch.Tensor, name: str = "model") -> None:
        """backward → clip to ``--max_grad_norm`` on sync steps → step optimizer ``name`` → zero its gradients.

        Accumulation-aware through Accelerate. Automatic steps get this from the loop; manual steps (the GAN)
        call it once per optimizer inside ``train_step``."""
        accelerator, optimizer = self.accelerator, self.optimizers[name]
        plain = accelerator.gradient_accumulation_steps == 1 and accelerator.scaler is None and \
            accelerator.distributed_type in PLAIN_BACKWARD
        if plain:
            loss.backward()  # what accelerator.backward does here, minus a division by 1 and its autograd node
        else:
            accelerator.backward(loss)
        if self.args.max_grad_norm and accelerator.sync_gradients:
            accelerator.clip_grad_norm_(self._clipped[name], self.args.max_grad_norm)
        if plain:
            # Every step syncs and nothing is scaled: Accelerate's step wrapper would only add its LOMO and XLA
            # checks (20 us a step on CPU, measured for benchmarks/bench_training.py) before this same call.
            getattr(optimizer, "optimizer", optimizer).step()
        else:
            optimizer.step()
        if accelerator.sync_gradients:
            # Straight to the torch optimizer: Accelerate's zero_grad wrapper inspects its signature every call.
            getattr(optimizer, "optimizer", optimizer).zero_grad(set_to_none=True)

    def _train_batch(self, batch) -> dict:
        logs = self.step.train_step(batch, self)
        if not self.step.manual_optimization:
            if len(self.optimizers) != 1:
                raise ValueError(f"{type(self.step).__name__} declares optimizers {sorted(self.optimizers)}: a step "
                                 "with more than one must set manual_optimization = True and step them itself")
            self.optimizer_step(logs["loss"], next(iter(self.optimizers)))
            logs = {name: value.detach() for name, value in logs.items()}
        return logs

    # ------------------------------------------------------------------------------ checkpoints
    def _resolve_resume(self) -> Path | None:
        request = self.args.resume_from_checkpoint
        if not request:
            return None
        if request == "latest":
            checkpoints = list_checkpoints(self.output_dir)
            if not checkpoints:
                logger.info("no checkpoint in %s; starting from scratch", self.output_dir)
                return None
            return checkpoints[-1]
        path = Path(request)
        if not (path / STATE_FILE).exists():
            raise FileNotFoundError(f"{request} is not a finished tinyvision checkpoint (no {STATE_FILE} in it)")
        return path

    def save_checkpoint(self, epoch: int, batches_done: int, running: RunningSums) -> Path:
        """Write ``checkpoint-{step}`` atomically: into a .tmp folder, then one rename."""
        with self._timed("saving"):
            return self._save_checkpoint(epoch, batches_done, running)

    def _save_checkpoint(self, epoch: int, batches_done: int, running: RunningSums) -> Path:
        accelerator = self.accelerator
        final = self.output_dir / f"{CHECKPOINT_PREFIX}{self.global_step}"
        tmp = self.output_dir / f".{final.name}.tmp"
        if accelerator.is_main_process and tmp.exists():
            shutil.rmtree(tmp)
        accelerator.wait_for_everyone()
        accelerator.save_state(str(tmp))
        # Every rank writes its own RNG state into tmp and save_state does not wait for the others: the
        # rename below must not run while a slower rank is still writing.
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            state = {
                "global_step": self.global_step, "epoch": epoch, "batches_done_in_epoch": batches_done,
                "running_sums": running.state_dict(), "history": self.history, "args": asdict(self.args),
            }
            write_json_atomic(tmp / STATE_FILE, state)
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
            limit = self.args.checkpoints_total_limit
            if limit:
                for old in list_checkpoints(self.output_dir)[:-limit]:
                    shutil.rmtree(old, ignore_errors=True)
        accelerator.wait_for_everyone()
        return final

    @contextmanager
    def _timed(self, phase: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[phase] += time.perf_counter() - start

    def time_report(self, total: float) -> str:
        """One line: seconds and share of ``total`` per phase, the rest as "other"."""
        phases = {**self.timings, "other": max(0.0, total - sum(self.timings.values()))}
        percent = 100 / total if total > 0 else 0.0
        parts = [f"{name} {seconds:,.0f} s ({seconds * percent:.0f} %)" for name, seconds in phases.items()]
        return f"where the {total / 60:.1f} minutes went: " + ", ".join(parts)

    # ------------------------------------------------------------------------------- evaluation
    def evaluate(self, loader=None, prefix: str = "eval") -> dict[str, float]:
        """Per-example metrics gathered across processes, each example counted exactly once."""
        with self._timed("evaluation"):
            return self._evaluate(loader, prefix)

    @torch.no_grad()
    def _evaluate(self, loader, prefix: str) -> dict[str, float]:
        loader = self.eval_loader if loader is None else loader
        if loader is None:
            return {}
        for model in self._models():
            model.eval()
        gathered: dict[str, list[torch.Tensor]] = {}
        for batch in loader:
            values = self.step.eval_step(batch)
            for name, tensor in self.accelerator.gather_for_metrics(values).items():
                gathered.setdefault(name, []).append(tensor.detach().float().cpu())
        merged = {name: torch.cat(tensors) for name, tensors in gathered.items()}
        metrics = self.step.compute_metrics(merged)
        metrics["num_examples"] = len(next(iter(merged.values()))) if merged else 0
        return {f"{prefix}_{name}": value for name, value in metrics.items()}

    # ---------------------------------------------------------------------------------- training
    def train(self) -> TrainResult:
        args, accelerator = self.args, self.accelerator
        self._train_start = time.perf_counter()
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self._prepare()
        start_epoch, skip_batches, running = 0, 0, RunningSums()
        resume = self._resolve_resume()
        if resume is not None:
            accelerator.load_state(str(resume))
            state = json.loads((resume / STATE_FILE).read_text())
            self.global_step, self.history = state["global_step"], state["history"]
            start_epoch, skip_batches = state["epoch"], state["batches_done_in_epoch"]
            running = RunningSums.from_state_dict(state["running_sums"], accelerator.device)
            accelerator.print(f"resumed from {resume} at epoch {start_epoch}, step {self.global_step}")
        if accelerator.log_with:
            config = {**asdict(self.args), **self.run_config}
            # Trackers such as TensorBoard's hparams take scalars only.
            config = {k: v if isinstance(v, (int, float, str, bool)) else json.dumps(v, default=str)
                      for k, v in config.items()}
            accelerator.init_trackers("tinyvision", config=config)

        checkpoint_every = int(args.checkpointing_steps) if str(args.checkpointing_steps).isdigit() else None
        progress = tqdm(total=self.total_steps, initial=self.global_step, desc="training",
                        disable=args.disable_tqdm or not accelerator.is_local_main_process)
        for epoch in range(start_epoch, self.num_epochs):
            if self.global_step >= self.total_steps:
                break
            # Through the prepared loader: Accelerate re-sets the sampler's epoch from its own counter,
            # which restarts at 0 after a resume.
            self.train_loader.set_epoch(epoch)
            for model in self._models():
                model.train()
            epoch_start = time.perf_counter()
            for batch_index, batch in enumerate(self.train_loader):
                if batch_index < skip_batches:
                    continue  # already trained on before the interruption
                if args.gradient_accumulation_steps > 1:
                    with accelerator.accumulate(*self._models()):
                        logs = self._train_batch(batch)
                else:  # every batch is a sync step; skip the context's per-step bookkeeping
                    logs = self._train_batch(batch)
                running.add(logs, len(next(iter(batch.values()))))
                if not accelerator.sync_gradients:
                    continue
                loss = logs["loss"]
                if not math.isfinite(loss.item()):  # one read; torch.isfinite is four operators, then the same read
                    last = list_checkpoints(self.output_dir)
                    raise TrainingDivergedError(
                        f"loss is {loss.item()} at step {self.global_step + 1} (epoch {epoch + 1}); "
                        f"stopping. Last good checkpoint: {last[-1] if last else 'none'}. "
                        "Try a lower --learning_rate or --max_grad_norm."
                    )
                for scheduler in self.schedulers.values():
                    scheduler.step()
                self.global_step += 1
                progress.update(1)
                if self.on_step_end is not None:
                    self.on_step_end(self.global_step)
                if checkpoint_every and self.global_step % checkpoint_every == 0:
                    self.save_checkpoint(epoch, batch_index + 1, running)
                if self.global_step >= self.total_steps:
                    break
            record = self._end_epoch(epoch, running, time.perf_counter() - epoch_start)
            progress.set_postfix({k: f"{v:.4g}" for k, v in record.items() if k.endswith(("loss", "accuracy"))})
            skip_batches, running = 0, RunningSums()
            if args.checkpointing_steps == "epoch":
                self.save_checkpoint(epoch + 1, 0, running)
        progress.close()
        return self._finish()

    def _end_epoch(self, epoch: int, running: RunningSums, seconds: float) -> dict:
        accelerator = self.accelerator
        record = {"epoch": epoch + 1, "step": self.global_step}
        record.update({f"train_{name}": value for name, value in running.means(accelerator).items()})
        examples = accelerator.reduce(torch.tensor(float(running.count), device=accelerator.device), "sum").item()
        record.update(self.evaluate())
        record["learning_rate"] = next(iter(self.optimizers.values())).param_groups[0]["lr"]
        record["epoch_time_s"] = seconds
        self.timings["training"] += seconds
        record["train_samples_per_second"] = examples / seconds if seconds else None
        self.history.append(record)
        if accelerator.is_main_process:
            write_json_atomic(self.output_dir / "history.json", self.history)
            with self._timed("saving"):
                self.step.on_epoch_end(epoch, self)  # e.g. the generative steps' per-epoch sample grids
        accelerator.log(record, step=self.global_step)
        return record

    def hardware(self) -> dict:
        """What the run ran on, for model cards and reports."""
        import platform

        device = self.accelerator.device
        info = {
            "device": device.type,
            "num_processes": self.accelerator.num_processes,
            "mixed_precision": self.accelerator.mixed_precision,
            "torch_threads": torch.get_num_threads(),
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(terse=True),
            "torch": torch.__version__,
        }
        if device.type == "cuda":
            info["gpu"] = torch.cuda.get_device_name(device)
        return info

    def _finish(self) -> TrainResult:
        accelerator = self.accelerator
        accelerator.wait_for_everyone()
        metrics: dict = {}
        if self.test_dataset is not None:
            metrics.update(self.evaluate(self._eval_loader(self.test_dataset), prefix="test"))
        if self.history:
            metrics.update({k: v for k, v in self.history[-1].items() if k.startswith(("train_", "eval_"))})
        metrics["global_step"] = self.global_step
        metrics["epochs"] = len(self.history)
        metrics["train_time_s"] = sum(record["epoch_time_s"] for record in self.history)
        metrics["num_processes"] = accelerator.num_processes
        with self._timed("saving"):
            self.step.save_pretrained(str(self.output_dir), accelerator)
        if accelerator.is_main_process:
            with self._timed("saving"):
                write_json_atomic(self.output_dir / "history.json", self.history)
                write_json_atomic(self.output_dir / "run_config.json",
                                  {"training_args": asdict(self.args), "hardware": self.hardware(), **self.run_config})
                self.step.on_train_end(self)
            total = time.perf_counter() - self._train_start + self.timings["data"]
            metrics.update({f"time_{name}_s": seconds for name, seconds in self.timings.items()})
            metrics["time_total_s"] = total
            write_json_atomic(self.output_dir / "all_results.json", metrics)
            accelerator.print(self.time_report(total))
            if self.args.push_to_hub:
                from ..hub import publish  # the one publishing path of every task (card, figures, weights)

                publish(str(self.output_dir), self.args.hub_model_id, private=self.args.hub_private_repo)
        self._release_wrappers()
        accelerator.end_training()
        return TrainResult(self.history, metrics, self.global_step)

    def _release_wrappers(self) -> None:
        """Give the step back its plain models and drop every prepared object before the process group goes.

        A DistributedDataParallel wrapper that outlives ``destroy_process_group`` can hang its process
        when it is finally collected (seen with gloo: one rank never exits), so the wrappers are freed
        here, on every rank, while the group still exists."""
        accelerator = self.accelerator
        for attribute in self.step.model_attributes:
            setattr(self.step, attribute, accelerator.unwrap_model(getattr(self.step, attribute)))
        self.optimizers, self.schedulers, self.train_loader = {}, {}, None
        accelerator.free_memory()
        gc.collect()  # free_memory collects before it empties its own lists; the wrappers' cycles go now
        accelerator.wait_for_everyone()
