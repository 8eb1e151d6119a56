"""``TrainingArguments``: what every task's run shares (names follow transformers' and Accelerate's scripts).

A field left at None is filled from the run's recipe, then the model family's defaults
(``tinyvision.recipes``), then the engine's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

OPTIMIZERS = ("sgd", "adagrad", "adam", "adamw", "rmsprop")
SCHEDULERS = ("constant", "linear", "cosine", "one_cycle")


@dataclass
class TrainingArguments:
    """Arguments every task shares; the names follow transformers' and Accelerate's scripts."""

    output_dir: str = field(default="outputs/run", metadata={"help": "Where checkpoints, history and the model go."})
    seed: int = field(default=42, metadata={"help": "Seed for weights, shuffling and dropout."})
    num_train_epochs: int | None = field(
        default=None, metadata={"help": "Passes over the training set (default: the preset's or task's)."}
    )
    max_train_steps: int | None = field(default=None, metadata={"help": "Stop after this many optimizer steps."})
    per_device_train_batch_size: int | None = field(
        default=None, metadata={"help": "Batch size per process (default: the preset's or task's)."}
    )
    per_device_eval_batch_size: int = field(default=512, metadata={"help": "Evaluation batch size per process."})
    gradient_accumulation_steps: int = field(default=1, metadata={"help": "Batches per optimizer step."})
    optimizer: str | None = field(
        default=None, metadata={"help": f"One of {', '.join(OPTIMIZERS)} (default: the preset's or task's)."}
    )
    learning_rate: float | None = field(
        default=None, metadata={"help": "Peak learning rate (default: the preset's or task's)."}
    )
    momentum: float | None = field(default=None, metadata={"help": "SGD / RMSprop momentum (default 0, as Keras)."})
    weight_decay: float | None = field(
        default=None, metadata={"help": "Optimizer weight decay (default 0; decoupled for adamw)."}
    )
    adam_beta1: float = field(default=0.9, metadata={"help": "Adam's beta1."})
    adam_beta2: float = field(default=0.999, metadata={"help": "Adam's beta2."})
    lr_scheduler_type: str | None = field(
        default=None, metadata={"help": f"One of {', '.join(SCHEDULERS)} (default constant)."}
    )
    warmup_ratio: float | None = field(default=None, metadata={"help": "Fraction of steps spent warming up (default 0)."})
    max_grad_norm: float | None = field(default=None, metadata={"help": "Clip gradients to this norm."})
    mixed_precision: str = field(default="no", metadata={"help": "no, fp16 or bf16 (Accelerate)."})
    checkpointing_steps: str = field(
        default="epoch", metadata={"help": "'epoch', 'no', or save every N optimizer steps."}
    )
    checkpoints_total_limit: int | None = field(default=2, metadata={"help": "Keep at most this many checkpoints."})
    resume_from_checkpoint: str | None = field(
        default=None, metadata={"help": "'latest' or a checkpoint folder to continue from."}
    )
    report_to: str = field(
        default="none", metadata={"help": "Trackers: none, jsonl, tensorboard, trackio, wandb, all (comma-separated)."}
    )
    num_threads: int | None = field(
        default=None, metadata={"help": "torch threads per process; default 1 on CPU (fastest for small models)."}
    )
    disable_tqdm: bool = field(default=False, metadata={"help": "Hide progress bars."})
    push_to_hub: bool = field(
        default=False, metadata={"help": "Publish the trained model with its model card (tinyvision.hub.publish)."})
    hub_model_id: str | None = field(default=None, metadata={"help": "Hub repo id for --push_to_hub, user/name."})
    hub_private_repo: bool = field(default=False, metadata={"help": "Create the Hub repo as private."})

    def __post_init__(self):
        self.validate()

    def with_defaults(self, **defaults) -> TrainingArguments:
        """A copy with every field that is still None filled from ``defaults`` (preset, then task)."""
        values = asdict(self)
        values.update({k: v for k, v in defaults.items() if values.get(k) is None})
        return TrainingArguments(**values)

    def validate(self) -> None:
        """Check every field that is set; None means 'the task or preset decides'."""
        if self.optimizer is not None and self.optimizer not in OPTIMIZERS:
            raise ValueError(f"`optimizer` must be one of {list(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.lr_scheduler_type is not None and self.lr_scheduler_type not in SCHEDULERS:
            raise ValueError(f"`lr_scheduler_type` must be one of {list(SCHEDULERS)}, got {self.lr_scheduler_type!r}")
        if self.learning_rate is not None and self.learning_rate <= 0:
            raise ValueError(f"`learning_rate` must be positive, got {self.learning_rate}")
        for name in ("num_train_epochs", "per_device_train_batch_size", "per_device_eval_batch_size",
                     "gradient_accumulation_steps"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"`{name}` must be at least 1, got {getattr(self, name)}")
        if self.checkpointing_steps not in ("epoch", "no") and not str(self.checkpointing_steps).isdigit():
            raise ValueError(f"`checkpointing_steps` must be 'epoch', 'no' or an integer, got {self.checkpointing_steps!r}")
        if self.max_grad_norm is not None and self.max_grad_norm <= 0:
            raise ValueError(f"`max_grad_norm` must be positive, got {self.max_grad_norm}")
        if self.push_to_hub and not self.hub_model_id:
            raise ValueError("`push_to_hub` needs `hub_model_id` (user/name)")
