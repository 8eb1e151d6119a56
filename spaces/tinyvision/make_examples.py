"""Write the Classify tab's example images: one test-set image per class of Fashion-MNIST and CIFAR-10.

    python spaces/tinyvision/make_examples.py --data_dir ../shared/data

Takes the first test image of each class (deterministic), saved losslessly as PNG under
``spaces/tinyvision/examples/{fashion_mnist,cifar10}/NN_<label>.png``. The files are committed, so the
Space needs neither data set. (Cat photos are not shipped: the licence of the 64x64 cat faces is not
stated; upload your own cat to the VAE tab.)
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATASETS = {"fashion_mnist": "image", "cifar10": "img"}


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", default=str(HERE.parents[1].parent / "shared" / "data"))
    parser.add_argument("--out_dir", default=str(HERE / "examples"))
    args = parser.parse_args(argv)
    import datasets

    for name, column in DATASETS.items():
        test = datasets.load_dataset(str(Path(args.data_dir) / name), split="test")
        names = test.features["label"].names
        out = Path(args.out_dir) / name
        out.mkdir(parents=True, exist_ok=True)
        seen = set()
        for row in test:
            label = row["label"]
            if label in seen:
                continue
            seen.add(label)
            row[column].save(out / f"{label:02d}_{slug(names[label])}.png")
            if len(seen) == len(names):
                break
        print(f"{name}: {len(seen)} examples in {out}")


if __name__ == "__main__":
    main()
