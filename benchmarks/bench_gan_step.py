"""Time one adversarial step of the cpu-profile GAN: fresh noise vs reused fakes, contiguous vs channels-last.

    python benchmarks/bench_gan_step.py --num_threads 2

Each variant is its own model (same initial weights) stepping on the same random batch of 32; the variants take
turns, ``--rounds`` times ``--steps`` steps each after two warm-up steps, and the median round is printed per
step with its ratio to the baseline (fresh noise, contiguous), all in one process. The step is the one
``GANStep.train_step`` takes: a discriminator step on real and fake batches scored apart (batch norm), then a
generator step through the frozen discriminator, with fresh noise or with the discriminator step's fakes.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from tinyvision.models import GANConfig, GANModel
from tinyvision.models.modeling_gan import discriminator_loss, generator_loss
from tinyvision.recipes import get_recipe

VARIANTS = {"fresh noise": (False, False), "reused fakes": (False, True),
            "fresh noise, channels-last": (True, False), "reused fakes, channels-last": (True, True)}


def make(config: GANConfig, channels_last: bool):
    torch.manual_seed(0)
    model = GANModel(config)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizers = {name: torch.optim.Adam(getattr(model, name).parameters(), 2e-4, betas=(0.5, 0.999))
                  for name in ("generator", "discriminator")}
    return model, optimizers


def step(model, optimizers, real, reuse_fakes: bool) -> None:
    config, count = model.config, len(real)
    if reuse_fakes:
        fakes = model.generator(torch.randn(count, config.latent_dim))
        detached = fakes.detach()
    else:
        with torch.no_grad():
            detached = model.generator(torch.randn(count, config.latent_dim))
    scores = torch.cat([model.discriminator(real), model.discriminator(detached)])
    optimizers["discriminator"].zero_grad()
    discriminator_loss(config, scores[:count], scores[count:]).backward()
    optimizers["discriminator"].step()
    if not reuse_fakes:
        fakes = model.generator(torch.randn(count, config.latent_dim))
    model.discriminator.requires_grad_(False)
    optimizers["generator"].zero_grad()
    generator_loss(config, model.discriminator(fakes)).backward()
    optimizers["generator"].step()
    model.discriminator.requires_grad_(True)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num_threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch_size", type=int, default=32)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.num_threads)
    config = GANConfig(**get_recipe("gan", "cpu").config)
    real = torch.rand(args.batch_size, config.num_channels, config.image_size, config.image_size) * 2 - 1
    runs = {name: make(config, channels_last) for name, (channels_last, _) in VARIANTS.items()}
    times = {name: [] for name in VARIANTS}
    for _ in range(args.rounds):
        for name, (channels_last, reuse_fakes) in VARIANTS.items():
            batch = real.contiguous(memory_format=torch.channels_last) if channels_last else real
            model, optimizers = runs[name]
            for _ in range(2):
                step(model, optimizers, batch, reuse_fakes)
            start = time.perf_counter()
            for _ in range(args.steps):
                step(model, optimizers, batch, reuse_fakes)
            times[name].append((time.perf_counter() - start) / args.steps)
    medians = {name: statistics.median(values) for name, values in times.items()}
    baseline = medians["fresh noise"]
    print(f"cpu-profile GAN step, batch {args.batch_size}, {args.num_threads} thread(s), median of {args.rounds} "
          f"x {args.steps} steps")
    for name, value in medians.items():
        print(f"  {name:28s} {value * 1000:7.1f} ms/step   ratio to fresh noise {value / baseline:.2f}")
    return medians


if __name__ == "__main__":
    main()
