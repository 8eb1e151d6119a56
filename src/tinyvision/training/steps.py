"""What differs per task: how a batch becomes a loss, and which parameters each optimizer owns.

The engine knows only this interface. A supervised task needs one optimizer; an adversarial
task declares two groups (``discriminator``, ``generator``) and steps both inside ``train_step``;
the loop itself never changes.
"""

from __future__ import annotations

import torch
from accelerate.utils import DistributedType
from torch import nn

PLAIN_BACKWARD = (DistributedType.NO, DistributedType.MULTI_CPU, DistributedType.MULTI_GPU)


class TrainStep:
    """Base class of every task's step.

    Subclasses keep their trainable modules in the attributes named by ``model_attributes``
    (the engine swaps them for their Accelerate-prepared versions) and implement
    :meth:`train_step` and :meth:`eval_step`.
    """

    model_attributes: tuple[str, ...] = ("model",)

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """One entry per optimizer: its name → the parameters it steps."""
        return {"model": [p for p in self.model.parameters() if p.requires_grad]}

    def optimizer_overrides(self, name: str) -> dict:
        """Per-optimizer hyperparameters that differ from the run's arguments (e.g. GAN betas)."""
        return {}

    def train_step(self, batch: dict, optimizers: dict, accelerator) -> dict[str, torch.Tensor]:
        """Forward, backward and step; return detached scalar metrics (must include ``loss``).

        The engine has put the models in training mode at the start of the epoch."""
        raise NotImplementedError

    def eval_step(self, batch: dict) -> dict[str, torch.Tensor]:
        """Per-example metric tensors (first dim = batch); the engine gathers them exactly once."""
        raise NotImplementedError

    def compute_metrics(self, gathered: dict[str, torch.Tensor]) -> dict[str, float]:
        """Turn gathered per-example values into numbers; the mean of each by default."""
        return {name: values.float().mean().item() for name, values in gathered.items()}

    def on_epoch_end(self, epoch: int, engine) -> None:
        """Called on the main process only, after epoch ``epoch`` (0-based) is recorded in ``engine.history``
        and before its checkpoint: no collective operations here. A no-op by default (the generative
        steps save their sample grids)."""

    def save_pretrained(self, output_dir: str, accelerator) -> None:
        """Write the final model (and its processor) with ``save_pretrained``."""
        accelerator.unwrap_model(self.model).save_pretrained(output_dir, is_main_process=accelerator.is_main_process)


def optimizer_step(loss: torch.Tensor, optimizer, accelerator, parameters=None, max_grad_norm: float | None = None):
    """backward → (clip on sync steps) → step → zero_grad, all accumulation-aware through Accelerate."""
    if accelerator.gradient_accumulation_steps == 1 and accelerator.scaler is None and \
            accelerator.distributed_type in PLAIN_BACKWARD:
        loss.backward()  # what accelerator.backward does here, minus a division by 1 and its autograd node
    else:
        accelerator.backward(loss)
    if max_grad_norm and accelerator.sync_gradients and parameters is not None:
        accelerator.clip_grad_norm_(parameters, max_grad_norm)
    optimizer.step()
    if accelerator.sync_gradients:
        # Straight to the torch optimizer: Accelerate's zero_grad wrapper inspects its signature every call.
        getattr(optimizer, "optimizer", optimizer).zero_grad(set_to_none=True)


class SupervisedStep(TrainStep):
    """``model(**inputs).loss`` with one optimizer: the classifiers and the clock reader.

    Subclasses turn a raw batch into model inputs (:meth:`model_inputs`) and say what to measure
    (:meth:`train_metrics`, :meth:`eval_step`).
    """

    def __init__(self, model: nn.Module, *, max_grad_norm: float | None = None):
        self.model = model
        self.max_grad_norm = max_grad_norm

    def model_inputs(self, batch: dict, training: bool) -> dict[str, torch.Tensor]:
        return batch

    def train_metrics(self, outputs, inputs) -> dict[str, torch.Tensor]:
        return {}

    def train_step(self, batch, optimizers, accelerator):
        inputs = self.model_inputs(batch, training=True)
        outputs = self.model(**inputs)
        optimizer_step(outputs.loss, optimizers["model"], accelerator, self.model.parameters(), self.max_grad_norm)
        with torch.no_grad():
            return {"loss": outputs.loss.detach(), **self.train_metrics(outputs, inputs)}
