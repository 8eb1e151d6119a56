"""How fast the clock generator renders: clocks per second on one process and on every core.

    python benchmarks/bench_clocks.py                       # 18,000 clocks at 150x150, the course's size
    python benchmarks/bench_clocks.py --num_clocks 2000 --size 96

Prints the wall time of ``make_clock_arrays`` (raw uint8 arrays) and of ``make_clock_dataset``
(PNG-encoded ``datasets.Dataset``) with ``num_proc=1`` as the baseline and with all cores, in the same
process, and the speed-up. Run it on an otherwise idle machine: other jobs on the cores skew the figures.
"""

from __future__ import annotations

import argparse
import os
import time

import datasets  # noqa: F401  (imported up front so that its import time is not in the first measurement)

from tinyvision.data.clocks import make_clock_arrays, make_clock_dataset


def timed(function, *args, **kwargs) -> float:
    start = time.perf_counter()
    function(*args, **kwargs)
    return time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num_clocks", type=int, default=18_000)
    parser.add_argument("--size", type=int, default=150)
    parser.add_argument("--baseline_clocks", type=int, default=2_000,
                        help="Clocks for the one-process baseline (it is extrapolated to --num_clocks).")
    parser.add_argument("--skip_dataset", action="store_true", help="Only time the raw arrays.")
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    print(f"{cores} cores; {args.num_clocks:,} clocks at {args.size}x{args.size}")

    kinds = [("arrays", make_clock_arrays)] + ([] if args.skip_dataset else [("dataset", make_clock_dataset)])
    for name, function in kinds:
        one = timed(function, args.baseline_clocks, size=args.size, seed=1, num_proc=1)
        one_rate = args.baseline_clocks / one
        every = timed(function, args.num_clocks, size=args.size, seed=0, num_proc=cores)
        every_rate = args.num_clocks / every
        print(f"{name:8s} num_proc=1: {one_rate:7.1f} clocks/s (baseline, {args.baseline_clocks:,} clocks)   "
              f"num_proc={cores}: {every_rate:7.1f} clocks/s, {args.num_clocks:,} in {every:.1f} s   "
              f"speed-up {every_rate / one_rate:.2f}x")


if __name__ == "__main__":
    main()
