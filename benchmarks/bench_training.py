"""Training throughput of the seed's MLP and CNN on CPU: tinyvision's engine against plain PyTorch.

    OMP_NUM_THREADS=1 python benchmarks/bench_training.py --data_dir ../shared/data [--rounds 3]

Three loops train each family, one epoch per round, in this process, on the same in-memory uint8
tensors (normalised per batch, SGD 0.01, batch 32, one thread unless ``--threads`` says otherwise):

* plain torch: a hand-written ``nn.Sequential`` of the same architecture that starts from the
  tinyvision model's initial weights: the reference the issue measured;
* bare: tinyvision's model class in the same plain loop, so the model's forward and output are timed
  apart from the engine;
* engine: ``Engine`` + ``ClassificationStep``, what ``accelerate launch scripts/train_classifier.py``
  runs on one process.

All three visit the examples in the engine's order (seed 42, a new permutation per epoch) from the same
initial weights. The bare loop and the engine draw the same dropout masks, so they compute the same
thing: the benchmark prints how far their final weights are apart (0 when every operation matches).
The plain reference draws ``nn.Dropout``'s masks, tinyvision's layers cheaper ones
(``tinyvision.models.layers.Dropout``: a sixth of the MLP's step on one core was ``bernoulli_``), so its
weights differ by the draws. Each round runs the three in turn; the best round of each counts. It
prints samples/s and, last, the lower of the two families' ``engine/bare`` and
``tinyvision/plain-torch`` throughput ratios. ``--profile`` prints torch.profiler
tables of one plain and one engine epoch instead of timing rounds.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch
from torch import nn
from torch.nn import functional as F

from tinyvision import CNNConfig, CNNForImageClassification, MLPConfig, MLPForImageClassification
from tinyvision.data import TensorDataset, load_image_classification
from tinyvision.models import TinyVisionImageProcessor, normalize_uint8
from tinyvision.tasks.classification import ClassificationStep
from tinyvision.training import Engine, TrainingArguments
from tinyvision.training.engine import EpochShuffleSampler

MEAN, STD = [0.286], [0.353]  # Fashion-MNIST's train statistics
SEED = 42  # the engine's default: its shuffling and dropout draws
LEARNING_RATE = 0.01


def load_data(data_dir: str | None, num_examples: int) -> TensorDataset:
    if data_dir:
        data = load_image_classification(f"{data_dir}/fashion_mnist", validation_split=0.0)
        return data.train.select(range(min(num_examples, len(data.train))))
    generator = torch.Generator().manual_seed(0)
    return TensorDataset(
        pixel_values=torch.randint(0, 256, (num_examples, 1, 28, 28), dtype=torch.uint8, generator=generator),
        labels=torch.randint(0, 10, (num_examples,), generator=generator),
    )


def build(family: str):
    """tinyvision's model with the seed's configuration, initialised from seed 0."""
    torch.manual_seed(0)
    if family == "mlp":
        return MLPForImageClassification(MLPConfig())
    return CNNForImageClassification(CNNConfig())


def plain_mlp() -> nn.Sequential:
    """The seed's MLP in torch.nn: 784-512-512-10, ReLU, dropout 0.2 after each hidden layer."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(28 * 28, 512), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(512, 512), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(512, 10),
    )


def plain_cnn() -> nn.Sequential:
    """The seed's CNN in torch.nn: Conv 64@7 → pool → Conv 128@3 ×2 → pool → Conv 256@3 ×2 → pool → 128 → 64 → 10."""
    return nn.Sequential(
        nn.Conv2d(1, 64, 7, padding=3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(),
        nn.Conv2d(128, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(128, 256, 3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(256 * 3 * 3, 128), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(128, 64), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(64, 10),
    )


PLAIN_MODELS = {"mlp": plain_mlp, "cnn": plain_cnn}


def plain_reference(family: str, model: nn.Module) -> nn.Sequential:
    """The hand-written network of ``family`` holding ``model``'s current weights (same layers, same order)."""
    plain = PLAIN_MODELS[family]()
    target, source = plain.state_dict(), model.state_dict()
    shapes = [tuple(t.shape) for t in target.values()], [tuple(t.shape) for t in source.values()]
    if shapes[0] != shapes[1]:
        raise ValueError(f"the plain {family} does not match tinyvision's: {shapes[0]} vs {shapes[1]}")
    plain.load_state_dict(dict(zip(target, (tensor.detach().clone() for tensor in source.values()))))
    return plain


def epoch_order(num_examples: int) -> torch.Tensor:
    """The engine's order for the first epoch (seed 42)."""
    return torch.as_tensor(list(EpochShuffleSampler(num_examples, SEED)))


def plain_epoch(model: nn.Module, dataset: TensorDataset, batch_size: int, *, tinyvision_output: bool = False) -> float:
    """One epoch of the plain loop over ``dataset``; returns samples per second.

    ``tinyvision_output``: ``model`` is a tinyvision model, called with ``pixel_values`` and ``labels`` and
    returning its loss (the bare loop); otherwise it returns logits (the plain torch reference)."""
    images, labels = dataset.columns["pixel_values"], dataset.columns["labels"]
    order = epoch_order(len(labels))
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    model.train()
    torch.manual_seed(SEED)
    torch.empty((), dtype=torch.int64).random_()  # the draw a DataLoader makes when an epoch starts
    start = time.perf_counter()
    for begin in range(0, len(labels), batch_size):
        index = order[begin:begin + batch_size]
        pixel_values = normalize_uint8(images[index], MEAN, STD)
        if tinyvision_output:
            loss = model(pixel_values=pixel_values, labels=labels[index]).loss
        else:
            loss = F.cross_entropy(model(pixel_values), labels[index])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return len(labels) / (time.perf_counter() - start)


def engine_epoch(model: nn.Module, dataset: TensorDataset, batch_size: int) -> float:
    """One epoch through the engine (seed 42, no checkpoints, no evaluation); returns its samples per second."""
    processor = TinyVisionImageProcessor(num_channels=1, image_mean=MEAN, image_std=STD)
    with tempfile.TemporaryDirectory() as output_dir:
        args = TrainingArguments(
            output_dir=output_dir, seed=SEED, num_train_epochs=1, per_device_train_batch_size=batch_size,
            optimizer="sgd", learning_rate=LEARNING_RATE, checkpointing_steps="no", disable_tqdm=True,
            num_threads=torch.get_num_threads(),
        )
        result = Engine(ClassificationStep(model, processor), args, dataset).train()
    return result.history[0]["train_samples_per_second"]


def max_weight_difference(first: nn.Module, second: nn.Module) -> float:
    return max((a - b).abs().max().item() for a, b in zip(first.state_dict().values(), second.state_dict().values()))


def compare(family: str, dataset: TensorDataset, batch_size: int, rounds: int) -> dict[str, float]:
    """Best-of-``rounds`` samples/s of the three loops, and the plain model's final distance to the engine's."""
    speeds: dict[str, list[float]] = {"plain": [], "bare": [], "engine": []}
    for _ in range(rounds):
        plain = plain_reference(family, build(family))
        speeds["plain"].append(plain_epoch(plain, dataset, batch_size))
        bare = build(family)
        speeds["bare"].append(plain_epoch(bare, dataset, batch_size, tinyvision_output=True))
        model = build(family)
        speeds["engine"].append(engine_epoch(model, dataset, batch_size))
    best = {name: max(values) for name, values in speeds.items()}
    best["weight_difference"] = max_weight_difference(bare, model)
    return best


def profile(family: str, dataset: TensorDataset, batch_size: int, row_limit: int = 25) -> None:
    """torch.profiler tables of one plain epoch and one engine epoch (operators by self CPU time)."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    runs = {"plain torch": lambda: plain_epoch(plain_reference(family, build(family)), dataset, batch_size),
            "engine": lambda: engine_epoch(build(family), dataset, batch_size)}
    for name, run in runs.items():
        run()  # warm up
        with torch_profile(activities=[ProfilerActivity.CPU]) as profiler:
            run()
        print(f"--- {family}, {name}: {len(dataset)} examples, {torch.get_num_threads()} thread(s)")
        print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=row_limit))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_dir", default=None, help="Folder holding fashion_mnist/ (default: random pixels).")
    parser.add_argument("--mlp_examples", type=int, default=16384, help="Examples per MLP epoch.")
    parser.add_argument("--cnn_examples", type=int, default=1024, help="Examples per CNN epoch.")
    parser.add_argument("--families", default="mlp,cnn", help="Comma-separated: mlp, cnn.")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="Timed epochs per loop; the best counts.")
    parser.add_argument("--threads", default="1",
                        help="Comma-separated torch thread counts: all loops use the first; the plain loop is "
                             "also timed at the others.")
    parser.add_argument("--profile", action="store_true", help="Print torch.profiler tables instead of timing.")
    args = parser.parse_args()

    families = args.families.split(",")
    thread_counts = [int(t) for t in args.threads.split(",")]
    sizes = {"mlp": args.mlp_examples, "cnn": args.cnn_examples}
    dataset = load_data(args.data_dir, max(sizes[family] for family in families))
    engine_ratios, plain_ratios = {}, {}
    for family in families:
        subset = dataset.select(range(min(sizes[family], len(dataset))))
        if args.profile:
            torch.set_num_threads(thread_counts[0])
            profile(family, subset, args.batch_size)
            continue
        for threads in thread_counts[1:]:
            torch.set_num_threads(threads)
            speed = plain_epoch(plain_reference(family, build(family)), subset, args.batch_size)
            print(f"{family}: plain torch, {threads} threads: {speed:8.0f} samples/s")
        torch.set_num_threads(thread_counts[0])
        best = compare(family, subset, args.batch_size, args.rounds)
        engine_ratios[family] = best["engine"] / best["bare"]
        plain_ratios[family] = best["engine"] / best["plain"]
        label = f"{thread_counts[0]} thread(s), {len(subset)} examples, best of {args.rounds}"
        print(f"{family}: plain torch: {best['plain']:8.0f} samples/s ({label})")
        print(f"{family}: bare loop:   {best['bare']:8.0f} samples/s")
        print(f"{family}: engine:      {best['engine']:8.0f} samples/s")
        print(f"{family}: engine/bare = {engine_ratios[family]:.3f}, tinyvision/plain-torch = "
              f"{plain_ratios[family]:.3f}; final weights, engine vs bare loop: "
              f"max |difference| = {best['weight_difference']:.3g}")
    if engine_ratios:
        print(f"engine/bare throughput ratio: {min(engine_ratios.values()):.2f}")
        print(f"tinyvision/plain-torch throughput ratio: {min(plain_ratios.values()):.2f}")


if __name__ == "__main__":
    main()
