"""What differs per task: how a batch becomes a loss, and which parameters each optimizer owns.

The engine knows only this interface, and it owns the optimisation: backward, gradient clipping
(``--max_grad_norm``), the optimizer and scheduler steps. A supervised task returns its loss from
``train_step`` and the engine steps its one optimizer. An adversarial task declares two groups
(``discriminator``, ``generator``), sets ``manual_optimization = True`` and asks the engine to step
each of them inside ``train_step`` (``engine.optimizer_step(loss, name)``); the loop itself never changes.
"""

from __future__ import annotations

import torch
from torch import nn


class TrainStep:
    """Base class of every task's step.

    Subclasses keep their trainable modules in the attributes named by ``model_attributes``
    (the engine swaps them for their Accelerate-prepared versions) and implement
    :meth:`train_step` and :meth:`eval_step`.
    """

    model_attributes: tuple[str, ...] = ("model",)
    # False: train_step returns the loss (with its graph) and the engine steps the one optimizer.
    # True: train_step calls ``engine.optimizer_step(loss, name)`` for each optimizer itself.
    manual_optimization: bool = False
    # CPU threads per process when --num_threads is not given: "share" splits the machine's cores among the
    # processes (measured on the 2-core CPU, one process, 2 threads against 1: the seed's MLP 1.5x, its CNN 2x,
    # the photo clock reader 1.6x, the GAN 1.7x); "one" pins a step to a single thread.
    cpu_threads: str = "share"

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """One entry per optimizer: its name → the parameters it steps."""
        return {"model": [p for p in self.model.parameters() if p.requires_grad]}

    def optimizer_overrides(self, name: str) -> dict:
        """Per-optimizer hyperparameters that differ from the run's arguments (e.g. GAN betas)."""
        return {}

    def train_step(self, batch: dict, engine) -> dict[str, torch.Tensor]:
        """Scalar metrics of one batch, ``loss`` among them.

        Automatic optimisation: ``loss`` still carries its graph and the engine steps. Manual: the step has
        called ``engine.optimizer_step`` for each of its optimizers and returns detached values. The engine
        has put the models in training mode at the start of the epoch."""
        raise NotImplementedError

    def eval_step(self, batch: dict) -> dict[str, torch.Tensor]:
        """Per-example metric tensors (first dim = batch); the engine gathers them exactly once."""
        raise NotImplementedError

    def compute_metrics(self, gathered: dict[str, torch.Tensor]) -> dict[str, float]:
        """Turn gathered per-example values into numbers; the mean of each by default."""
        return {name: values.float().mean().item() for name, values in gathered.items()}

    def checkpoint_objects(self) -> list:
        """Extra state (objects with ``state_dict`` / ``load_state_dict``) that training checkpoints must carry
        and resuming must restore, beyond the prepared models, optimizers and schedulers: the GAN's moving
        average of its generator. None by default."""
        return []

    def on_epoch_end(self, epoch: int, engine) -> None:
        """Called on the main process only, after epoch ``epoch`` (0-based) is recorded in ``engine.history``
        and before its checkpoint: no collective operations here. A no-op by default (the generative
        steps save their sample grids)."""

    def on_train_end(self, engine) -> None:
        """Called on the main process after the final model is saved and before it is pushed to the Hub
        (the generative steps draw their figures here, so that they travel with the model)."""

    def save_pretrained(self, output_dir: str, accelerator) -> None:
        """Write the final model (and its processor) with ``save_pretrained``."""
        accelerator.unwrap_model(self.model).save_pretrained(output_dir, is_main_process=accelerator.is_main_process)


class SupervisedStep(TrainStep):
    """``model(**inputs).loss`` with one optimizer: the classifiers and the clock reader.

    Subclasses turn a raw batch into model inputs (:meth:`model_inputs`) and say what to measure
    (:meth:`train_metrics`, :meth:`eval_step`).
    """

    def __init__(self, model: nn.Module):
        self.model = model

    def model_inputs(self, batch: dict, training: bool) -> dict[str, torch.Tensor]:
        return batch

    def train_metrics(self, outputs, inputs) -> dict[str, torch.Tensor]:
        return {}

    def train_step(self, batch, engine):
        inputs = self.model_inputs(batch, training=True)
        outputs = self.model(**inputs)
        with torch.no_grad():
            return {"loss": outputs.loss, **self.train_metrics(outputs, inputs)}
