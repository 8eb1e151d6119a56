"""Engine overhead: the seed's MLP and CNN trained through tinyvision's engine vs a bare PyTorch loop.

    python benchmarks/bench_training.py [--data_dir ../shared/data] [--rounds 3]

Both loops train the same model class on the same in-memory uint8 tensors (normalised per batch,
reshuffled per epoch, SGD 0.01, batch 32) in this process; each round runs bare then engine and
the best round of each counts. Prints samples/s for each and, last, the lower of the two
``engine/bare`` ratios. With ``--threads 1,2`` it also times the bare loop at each thread count
(the evidence for the engine's default of one thread per process on CPU).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch
from torch.nn import functional as F

from tinyvision import CNNConfig, CNNForImageClassification, MLPConfig, MLPForImageClassification
from tinyvision.data import TensorDataset, load_image_classification
from tinyvision.models import TinyVisionImageProcessor, normalize_uint8
from tinyvision.tasks.classification import ClassificationStep
from tinyvision.training import Engine, TrainingArguments

MEAN, STD = [0.286], [0.353]


def load_data(data_dir: str | None, num_examples: int) -> TensorDataset:
    if data_dir:
        data = load_image_classification(f"{data_dir}/fashion_mnist", validation_split=0.0)
        return data.train.select(range(num_examples))
    generator = torch.Generator().manual_seed(0)
    return TensorDataset(
        pixel_values=torch.randint(0, 256, (num_examples, 1, 28, 28), dtype=torch.uint8, generator=generator),
        labels=torch.randint(0, 10, (num_examples,), generator=generator),
    )


def build(family: str):
    torch.manual_seed(0)
    if family == "mlp":
        return MLPForImageClassification(MLPConfig())
    return CNNForImageClassification(CNNConfig())


def bare_loop(family: str, dataset: TensorDataset, batch_size: int) -> float:
    """The reference: a plain PyTorch epoch over the same tensors. Returns samples per second."""
    model = build(family)
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    images, labels = dataset.columns["pixel_values"], dataset.columns["labels"]
    start = time.perf_counter()
    permutation = torch.randperm(len(labels))
    for begin in range(0, len(labels), batch_size):
        index = permutation[begin:begin + batch_size]
        logits = model(pixel_values=normalize_uint8(images[index], MEAN, STD)).logits
        loss = F.cross_entropy(logits, labels[index])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return len(labels) / (time.perf_counter() - start)


def engine_loop(family: str, dataset: TensorDataset, batch_size: int) -> float:
    model = build(family)
    processor = TinyVisionImageProcessor(num_channels=1, image_mean=MEAN, image_std=STD)
    with tempfile.TemporaryDirectory() as output_dir:
        args = TrainingArguments(
            output_dir=output_dir, num_train_epochs=1, per_device_train_batch_size=batch_size, optimizer="sgd",
            learning_rate=0.01, checkpointing_steps="no", disable_tqdm=True, num_threads=torch.get_num_threads(),
        )
        engine = Engine(ClassificationStep(model, processor), args, dataset)
        result = engine.train()
    return result.history[0]["train_samples_per_second"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_dir", default=None, help="Folder holding fashion_mnist/ (default: random pixels).")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mlp_examples", type=int, default=16384)
    parser.add_argument("--cnn_examples", type=int, default=1024)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--threads", default="1", help="Comma-separated thread counts for the bare-loop comparison.")
    args = parser.parse_args()

    thread_counts = [int(t) for t in args.threads.split(",")]
    dataset = load_data(args.data_dir, max(args.mlp_examples, args.cnn_examples))
    ratios = {}
    for family, n in (("mlp", args.mlp_examples), ("cnn", args.cnn_examples)):
        subset = dataset.select(range(n))
        for threads in thread_counts[1:]:
            torch.set_num_threads(threads)
            print(f"{family}: bare loop, {threads} threads: {bare_loop(family, subset, args.batch_size):8.0f} samples/s")
        torch.set_num_threads(thread_counts[0])
        bare, engine = [], []
        for _ in range(args.rounds):
            bare.append(bare_loop(family, subset, args.batch_size))
            engine.append(engine_loop(family, subset, args.batch_size))
        ratios[family] = max(engine) / max(bare)
        print(f"{family}: bare loop, {thread_counts[0]} thread(s): {max(bare):8.0f} samples/s (best of {args.rounds})")
        print(f"{family}: engine,    {thread_counts[0]} thread(s): {max(engine):8.0f} samples/s (best of {args.rounds})")
        print(f"{family}: engine/bare = {ratios[family]:.3f}")
    print(f"engine/bare throughput ratio: {min(ratios.values()):.2f}")


if __name__ == "__main__":
    main()
