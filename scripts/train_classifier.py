"""Train a Task 1 image classifier (MLP or CNN) with the tinyvision engine.

    accelerate launch scripts/train_classifier.py --dataset_name ../shared/data/fashion_mnist \
        --preset cnn1 --num_train_epochs 20 --output_dir outputs/cnn1

Defaults are the seed study's: SGD 0.01, batch 32, 50 epochs for the MLP and 20 for the CNN;
a preset (mlp1, mlp2, cnn1) sets model and training hyperparameters together.
"""

from transformers import HfArgumentParser

from tinyvision.tasks.classification import ClassifierArguments, train_classifier
from tinyvision.training import TrainingArguments


def main(argv=None):
    parser = HfArgumentParser((ClassifierArguments, TrainingArguments))
    classifier_args, training_args = parser.parse_args_into_dataclasses(args=argv)
    if training_args.output_dir == TrainingArguments.output_dir:
        training_args.output_dir = f"outputs/{classifier_args.preset or classifier_args.model or 'mlp'}"
    result = train_classifier(classifier_args, training_args)
    print({k: round(v, 4) if isinstance(v, float) else v for k, v in result.metrics.items()})


if __name__ == "__main__":
    main()
