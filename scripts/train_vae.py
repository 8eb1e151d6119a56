"""Train the Task 3 VAE on 64×64 cat faces with the tinyvision engine.

    accelerate launch scripts/train_vae.py --profile cpu --output_dir outputs/vae-cpu
    accelerate launch scripts/train_vae.py --dataset_name ../shared/data/cats_64x64 --output_dir outputs/vae

Defaults are the seed's (its architecture, batch 8, 50 epochs; Adam 1e-3); ``--profile cpu``
is a smaller recipe for a 2-core CPU. Each epoch saves ``samples/epoch-NNN.png``; the run ends with
``figures/`` (final grid vs nearest real images, evolution, interpolation, loss curves).
"""

from transformers import HfArgumentParser

from tinyvision.tasks.generative import VAEArguments, train_vae
from tinyvision.training import TrainingArguments


def main(argv=None):
    parser = HfArgumentParser((VAEArguments, TrainingArguments))
    vae_args, training_args = parser.parse_args_into_dataclasses(args=argv)
    if training_args.output_dir == TrainingArguments.output_dir:
        training_args.output_dir = f"outputs/vae{'-' + vae_args.profile if vae_args.profile else ''}"
    result = train_vae(vae_args, training_args)
    print({k: round(v, 4) if isinstance(v, float) else v for k, v in result.metrics.items()})


if __name__ == "__main__":
    main()
