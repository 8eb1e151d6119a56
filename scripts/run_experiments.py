"""A study in one command: run (resumably, shardably), merge, aggregate, plot, report.

Task 1 (``--experiment all`` = exp1 exp2 exp3 best transfer: the classifier study):

    python scripts/run_experiments.py --experiment all --model both --profile quick --seeds 2 \
        --data_dir ../shared/data --output_dir reports/task1

Task 2, the six clock-reader heads (regression; classification at 60, 15 and 5 minutes; multihead;
periodic; hybrid; angles) on generated clocks (no --data_dir needed; `all` does not include it): 8 variants
x 3 seeds; quick is about a minute a unit on one core, full uses train_clock's defaults (96 px, 40,000 clocks):

    python scripts/run_experiments.py --experiment clock_heads --seeds 3 --profile quick \
        --output_dir outputs/task2-heads

Either study:
    # split over two processes, then report:
    python scripts/run_experiments.py ... --shard 0/2 &  python scripts/run_experiments.py ... --shard 1/2
    python scripts/run_experiments.py ... --report_only
    # combine study folders from other machines:
    python scripts/run_experiments.py ... --merge other_dir1 other_dir2
"""

import argparse
import shlex
import sys

from tinyvision.experiments import expand, load_results, merge, run_study, write_report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiment", nargs="+", default=["all"],
                        help="exp1 exp2 exp3 best transfer (all = these five), clock_heads")
    parser.add_argument("--model", nargs="+", default=["both"],
                        help="mlp, cnn or both (= each experiment's own models: mlp and cnn, or clock)")
    parser.add_argument("--seeds", type=int, default=None, help="Seeds per variant (default: 5 full, 2 quick).")
    parser.add_argument("--profile", default="quick", choices=["quick", "full"])
    parser.add_argument("--data_dir", default="../shared/data", help="Folder holding fashion_mnist/ and cifar10/.")
    parser.add_argument("--output_dir", default="outputs/task1-study")
    parser.add_argument("--shard", default=None, help="Run only shard i of n (i/n); report when all are done.")
    parser.add_argument("--merge", nargs="*", default=None, help="Study folders to copy finished units from.")
    parser.add_argument("--report_only", action="store_true", help="Only aggregate and write the report.")
    parser.add_argument("--allow_partial", action="store_true",
                        help="Write the report from the units finished so far (it says how many).")
    parser.add_argument("--num_threads", type=int, default=1, help="torch threads (1 is fastest for these on CPU).")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.num_threads)
    seeds = args.seeds or (5 if args.profile == "full" else 2)
    units = expand(args.experiment, args.model, seeds, args.profile)
    if args.merge:
        print(f"merged {merge(args.merge, args.output_dir)} finished units into {args.output_dir}")
    if not args.report_only and args.merge is None:
        run_study(units, args.data_dir, args.output_dir, shard_spec=args.shard)
    results = load_results(args.output_dir)
    missing = {unit.key for unit in units} - set(results)
    if missing and not args.allow_partial:
        print(f"{len(missing)} unit(s) not finished yet: no report (run the other shards, then --report_only)")
        return
    command = "python scripts/run_experiments.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]) if a not in ("--report_only", "--allow_partial"))
    path = write_report(units, {k: v for k, v in results.items() if k in {u.key for u in units}},
                        args.output_dir, command=command, profile=args.profile)
    print(f"report: {path}")


if __name__ == "__main__":
    main()
