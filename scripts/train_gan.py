"""Train the Task 3 GAN on 64×64 cat faces with the tinyvision engine.

    accelerate launch scripts/train_gan.py --profile cpu --output_dir outputs/gan-cpu
    accelerate launch scripts/train_gan.py --dataset_name ../shared/data/cats_64x64 --output_dir outputs/gan

Defaults are the seed's (its architecture, batch 32, 50 epochs; Adam 2e-4, β₁ 0.5); ``--profile cpu``
is the recommended recipe for a 2-core CPU (hinge loss, moving average, 24 epochs in under an hour).
Each epoch saves ``samples/epoch-NNN.png``; the run ends with ``figures/`` (final grid vs nearest real
images, evolution, interpolation, loss curves).
"""

from transformers import HfArgumentParser

from tinyvision.tasks.generative import GANArguments, train_gan
from tinyvision.training import TrainingArguments


def main(argv=None):
    parser = HfArgumentParser((GANArguments, TrainingArguments))
    gan_args, training_args = parser.parse_args_into_dataclasses(args=argv)
    if training_args.output_dir == TrainingArguments.output_dir:
        training_args.output_dir = f"outputs/gan{'-' + gan_args.profile if gan_args.profile else ''}"
    result = train_gan(gan_args, training_args)
    print({k: round(v, 4) if isinstance(v, float) else v for k, v in result.metrics.items()})


if __name__ == "__main__":
    main()
