"""Train a Task 2 clock reader ("Tell-the-time") with the tinyvision engine.

    accelerate launch scripts/train_clock.py

With no arguments this trains the recommended ``angles`` head on freshly generated clocks and saves
the model, its image processor, config and test metrics (``all_results.json``, on 2,000 fresh clocks)
in ``outputs/clock-reader``. Other runs, e.g.:

    accelerate launch scripts/train_clock.py --head hybrid --output_dir outputs/clock-hybrid
    accelerate launch scripts/train_clock.py --head classification --interval_minutes 15
    accelerate launch scripts/train_clock.py --dataset_name path/to/course_data --head multihead  # images.npy + labels.npy
    accelerate launch scripts/train_clock.py --num_train_examples 512 --num_train_epochs 1 --image_size 64  # smoke

The trained folder reads clocks with ``pipeline("clock-reading", model="outputs/clock-reader")``.
"""

from transformers import HfArgumentParser

from tinyvision.tasks.clock import DEFAULT_OUTPUT_DIR, ClockArguments, train_clock
from tinyvision.training import TrainingArguments


def main(argv=None):
    parser = HfArgumentParser((ClockArguments, TrainingArguments))
    clock_args, training_args = parser.parse_args_into_dataclasses(args=argv)
    if training_args.output_dir == TrainingArguments.output_dir:
        training_args.output_dir = DEFAULT_OUTPUT_DIR
    result = train_clock(clock_args, training_args)
    print({k: round(v, 4) if isinstance(v, float) else v for k, v in result.metrics.items()})


if __name__ == "__main__":
    main()
