"""The seed's MLP trained by tinyvision and by Keras 3 on TensorFlow, side by side on the same arrays.

    OMP_NUM_THREADS=1 python benchmarks/bench_keras.py --data_dir ../shared/data \
        [--keras_python /path/to/venv-with-tensorflow/bin/python] [--num_train_epochs 2] [--num_examples 60000]

Keras comes from the optional ``peer`` extra (``pip install -e .[peer]``) or from any other Python
that has it (``--keras_python``); without either the script says so and exits 0.

The parent reads Fashion-MNIST through tinyvision's loader once and writes the uint8 arrays to a
temporary ``.npz``. Each side then runs as a fresh process of this script (``--side``), so that its
whole-process time counts start-up, imports, loading the arrays, building the model and training:

* tinyvision: ``Engine`` + ``ClassificationStep`` on ``MLPForImageClassification(MLPConfig())``;
* Keras: ``Sequential`` of Rescaling → Flatten → Dense 512 → Dropout → Dense 512 → Dropout → Dense 10
  (Glorot-uniform kernels, zero biases), ``fit`` with shuffling and the accuracy metric.

Both: the seed's MLP (784-512-512-10, ReLU, dropout 0.2), batch 32, SGD 0.01, the same per-batch
uint8 → ``(x / 255 - mean) / std`` normalisation, the same thread count, no validation and no
checkpoints. It prints each epoch's time, both whole-process times and the ratios, tinyvision over
Keras: throughput of the best epoch (the first of each side includes warm-up, tracing for Keras),
and whole-process speed. With ``--rounds N`` the sides take turns N times (a shared machine's load
changes over minutes) and each side's best epoch and fastest process count. ``--side_by_side`` runs
the two at the same time instead, one per core, so that both meet the same drift of a virtual
machine's speed (measured here: Keras' best epoch moved between 6.1 and 10.7 s across runs).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

START = time.perf_counter()  # before the framework imports: each side imports its own
MEAN, STD = 0.286, 0.353  # Fashion-MNIST's train statistics, as in bench_training.py
RESULT_PREFIX = "RESULT "


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_dir", default=None, help="Folder holding fashion_mnist/ (default: random pixels).")
    parser.add_argument("--num_examples", type=int, default=60000, help="Training examples (the first N of train).")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--learning_rate", type=float, default=0.01)
    parser.add_argument("--num_train_epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1,
                        help="Compute threads of each side (torch; TensorFlow intra- and inter-op); 0: each side's own "
                             "default, what a user who sets nothing gets (tinyvision's engine: the machine's cores; "
                             "TensorFlow: its own thread pools).")
    parser.add_argument("--keras_threads", type=int, default=None,
                        help="The Keras side's threads when they differ from --threads; 0: TensorFlow's own default "
                             "(every core, as a user who sets nothing gets).")
    parser.add_argument("--rounds", type=int, default=1,
                        help="Runs of each side, alternating; the best epoch and the fastest process of each count.")
    parser.add_argument("--side_by_side", action="store_true",
                        help="Run the two sides at the same time, one per core (needs 2 x --threads cores), so both "
                             "see the same minutes of a machine whose speed drifts; by default they take turns.")
    parser.add_argument("--keras_python", default=None,
                        help="A Python with keras and tensorflow (default: this one, when it has them).")
    parser.add_argument("--side", choices=("tinyvision", "keras"), default=None, help=argparse.SUPPRESS)
    parser.add_argument("--arrays", default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ----------------------------------------------------------------------------------------------- data
def write_arrays(data_dir: str | None, num_examples: int, path: str) -> int:
    """The training images (N, 1, 28, 28) uint8 and labels (N,) int64 into ``path``; returns N."""
    if data_dir:
        from tinyvision.data import load_image_classification

        train = load_image_classification(f"{data_dir}/fashion_mnist", validation_split=0.0).train
        images = train.columns["pixel_values"][:num_examples].numpy()
        labels = train.columns["labels"][:num_examples].numpy()
    else:
        generator = np.random.default_rng(0)
        images = generator.integers(0, 256, (num_examples, 1, 28, 28), dtype=np.uint8)
        labels = generator.integers(0, 10, num_examples, dtype=np.int64)
    np.savez(path, images=images, labels=labels)
    return len(labels)


# ---------------------------------------------------------------------------------------------- sides
def run_tinyvision(args) -> dict:
    import torch

    from tinyvision import MLPConfig, MLPForImageClassification
    from tinyvision.data import TensorDataset
    from tinyvision.models import TinyVisionImageProcessor
    from tinyvision.tasks.classification import ClassificationStep
    from tinyvision.training import Engine, TrainingArguments

    arrays = np.load(args.arrays)
    dataset = TensorDataset(pixel_values=torch.from_numpy(arrays["images"]), labels=torch.from_numpy(arrays["labels"]))
    torch.manual_seed(0)
    model = MLPForImageClassification(MLPConfig())
    processor = TinyVisionImageProcessor(num_channels=1, image_mean=[MEAN], image_std=[STD])
    with tempfile.TemporaryDirectory() as output_dir:
        training_args = TrainingArguments(
            output_dir=output_dir, num_train_epochs=args.num_train_epochs, per_device_train_batch_size=args.batch_size,
            optimizer="sgd", learning_rate=args.learning_rate, checkpointing_steps="no", disable_tqdm=True,
            num_threads=args.threads or None,  # 0: the engine's own default
        )
        result = Engine(ClassificationStep(model, processor), training_args, dataset).train()
    return {
        "epoch_seconds": [record["epoch_time_s"] for record in result.history],
        "train_loss": result.history[-1]["train_loss"],
        "train_accuracy": result.history[-1]["train_accuracy"],
        "framework": f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)",
    }


def run_keras(args) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    threads = keras_thread_count(args)
    if threads:  # 0: leave TensorFlow's default thread pools alone
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    import keras

    arrays = np.load(args.arrays)
    images, labels = arrays["images"][:, 0], arrays["labels"]  # Keras takes (N, 28, 28)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape=images.shape[1:]),
        keras.layers.Rescaling(scale=1 / (255 * STD), offset=-MEAN / STD),  # per batch, inside the model
        keras.layers.Flatten(),
        keras.layers.Dense(512, activation="relu"),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(512, activation="relu"),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.SGD(args.learning_rate),
                  metrics=["accuracy"])

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.started)

    timer = EpochTimer()
    history = model.fit(images, labels, batch_size=args.batch_size, epochs=args.num_train_epochs, shuffle=True,
                        verbose=0, callbacks=[timer])
    return {
        "epoch_seconds": timer.seconds,
        "train_loss": history.history["loss"][-1],
        "train_accuracy": history.history["accuracy"][-1],
        "framework": f"keras {keras.__version__}, tensorflow {tf.__version__}, jit_compile={model.jit_compile}",
    }


def keras_thread_count(args) -> int:
    """The Keras side's thread count (0: TensorFlow's default)."""
    return args.threads if args.keras_threads is None else args.keras_threads


def run_side(args) -> None:
    """Child process: train one side and print its result as one JSON line."""
    result = {"tinyvision": run_tinyvision, "keras": run_keras}[args.side](args)
    result["in_process_seconds"] = time.perf_counter() - START
    print(RESULT_PREFIX + json.dumps(result), flush=True)


# --------------------------------------------------------------------------------------------- parent
def keras_python(args) -> str | None:
    """The interpreter that runs the Keras side, or None when there is none."""
    if args.keras_python:
        return args.keras_python
    import importlib.util

    if importlib.util.find_spec("keras") and importlib.util.find_spec("tensorflow"):
        return sys.executable
    return None


def start(python: str, side: str, args, arrays: str) -> tuple[subprocess.Popen, float]:
    command = [python, os.path.abspath(__file__), "--side", side, "--arrays", arrays,
               "--batch_size", str(args.batch_size), "--learning_rate", str(args.learning_rate),
               "--num_train_epochs", str(args.num_train_epochs), "--threads", str(args.threads)]
    threads = args.threads
    if side == "keras":
        threads = keras_thread_count(args)
        command += ["--keras_threads", str(threads)]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    if not threads:
        env.pop("OMP_NUM_THREADS")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    return process, time.perf_counter()


def finish(side: str, process: subprocess.Popen, started: float) -> dict:
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    lines = [line for line in stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if process.returncode != 0 or not lines:
        raise RuntimeError(f"the {side} side failed (exit {process.returncode}):\n{stderr[-3000:]}")
    return {**json.loads(lines[-1][len(RESULT_PREFIX):]), "process_seconds": seconds}


def spawn(python: str, side: str, args, arrays: str) -> dict:
    return finish(side, *start(python, side, args, arrays))


def report(name: str, result: dict, num_examples: int) -> None:
    epochs = ", ".join(f"{seconds:.2f}" for seconds in result["epoch_seconds"])
    best = min(result["epoch_seconds"])
    print(f"{name}: {result['framework']}")
    print(f"{name}: s/epoch [{epochs}], best {best:.2f} s = {num_examples / best:.0f} samples/s; whole process "
          f"{result['process_seconds']:.1f} s; last epoch train loss {result['train_loss']:.4f}, "
          f"accuracy {result['train_accuracy']:.4f}")


def median_epoch_seconds(runs: list[dict]) -> float:
    """The median epoch time over every run of one side, each run's first epoch left out when it has more (it
    holds warm-up, and tracing for Keras). Unlike the best epoch, it does not depend on one lucky epoch of a
    machine whose speed drifts; like it, both sides are measured the same way."""
    epochs = [seconds for run in runs for seconds in (run["epoch_seconds"][1:] or run["epoch_seconds"])]
    return float(np.median(epochs))


def main(argv=None):
    args = parse_args(argv)
    if args.side:
        return run_side(args)
    python = keras_python(args)
    if python is None:
        print("bench_keras: skipped: keras and tensorflow are not installed here (pip install -e .[peer], or pass "
              "--keras_python with a Python that has them)")
        return None
    with tempfile.TemporaryDirectory() as folder:
        arrays = os.path.join(folder, "fashion_mnist_train.npz")
        num_examples = write_arrays(args.data_dir, args.num_examples, arrays)
        print(f"{num_examples} examples, {args.num_train_epochs} epochs, batch {args.batch_size}, SGD "
              f"{args.learning_rate}, threads: tinyvision {args.threads or 'default (the engine chooses)'}, keras-tf "
              f"{keras_thread_count(args) or 'default (TensorFlow chooses)'}, "
              f"{'side by side' if args.side_by_side else 'taking turns'}")
        runs = {"tinyvision": [], "keras-tf": []}
        sides = (("tinyvision", "tinyvision", sys.executable), ("keras-tf", "keras", python))
        for _ in range(args.rounds):
            if args.side_by_side:  # both at once: the same minutes of the machine for each
                started = {name: start(interpreter, side, args, arrays) for name, side, interpreter in sides}
                for name, side, _ in sides:
                    runs[name].append(finish(side, *started[name]))
                    report(name, runs[name][-1], num_examples)
                continue
            for name, side, interpreter in sides:
                runs[name].append(spawn(interpreter, side, args, arrays))
                report(name, runs[name][-1], num_examples)
    tinyvision, keras = (min(runs[name], key=lambda run: min(run["epoch_seconds"])) for name in runs)
    epoch_ratio = min(keras["epoch_seconds"]) / min(tinyvision["epoch_seconds"])
    process_ratio = min(run["process_seconds"] for run in runs["keras-tf"]) / \
        min(run["process_seconds"] for run in runs["tinyvision"])
    median_ratio = median_epoch_seconds(runs["keras-tf"]) / median_epoch_seconds(runs["tinyvision"])
    if args.rounds > 1:
        print(f"best of {args.rounds} rounds per side:")
    print(f"tinyvision/keras-tf per-epoch throughput ratio (best epoch): {epoch_ratio:.2f}")
    print(f"tinyvision/keras-tf per-epoch throughput ratio (median epoch): {median_ratio:.2f}")
    print(f"tinyvision/keras-tf whole-process speed ratio: {process_ratio:.2f}")
    return {"tinyvision": tinyvision, "keras": keras, "epoch_ratio": epoch_ratio, "median_epoch_ratio": median_ratio,
            "process_ratio": process_ratio}


if __name__ == "__main__":
    main()
