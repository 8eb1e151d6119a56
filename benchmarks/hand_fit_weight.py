"""How much the hands' agreement should count when the reader picks which mark is 12 o'clock (and how much the
hour hand's votes next to the minute hand count).

    python benchmarks/hand_fit_weight.py --model_dir outputs/clock-reader --num_scenes 1000 --orientation world
    python benchmarks/hand_fit_weight.py --model_dir outputs/clock-reader --weights 2 --overlap_discounts 1 0.5 0.3 0.2

At ``H:m`` the hour hand points ``m / 2`` degrees past H's mark, so a reader that takes another mark for 12 also
reads a minute that puts the hour hand's place off the hand (``ClockReaderConfig.hand_fit_weight``). This reads
``--num_scenes`` fresh scenes of the project's own generator (``--orientation``, seeds of their own, never the
benchmarks' independent clocks or photo sets) once each, decodes every dial's pooled votes with each
``--weights`` × ``--sigmas`` × ``--overlap_discounts`` triple (``ClockReaderConfig.hour_overlap_discount``),
and prints the share within 5 minutes, the mean error and the misses by kind.
Writes ``results.json`` to ``--output_dir``.
"""

from __future__ import annotations

import argparse


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_dir", default="outputs/clock-reader", help="A saved photo reader.")
    parser.add_argument("--num_scenes", type=int, default=1000)
    parser.add_argument("--orientation", default="world", help="As train_clock.py's --orientation.")
    parser.add_argument("--backgrounds", default="auto", help="As train_clock.py's --backgrounds.")
    parser.add_argument("--seed", type=int, default=0, help="Seeds the scenes (seed + 1999).")
    parser.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.5, 1.0, 2.0, 4.0])
    parser.add_argument("--sigmas", type=float, nargs="+", default=[3.0], metavar="DEGREES")
    parser.add_argument("--overlap_discounts", type=float, nargs="+", default=[1.0], metavar="SHARE",
                        help="hour_overlap_discount values to decode with (1: every hour-hand vote counts alike).")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--num_proc", type=int, default=None, help="Processes rendering scenes (default: all cores).")
    parser.add_argument("--num_threads", type=int, default=1, help="torch CPU threads.")
    parser.add_argument("--output_dir", default="reports/task2/hand_fit_weight")
    args = parser.parse_args(argv)

    from clock_photos import fresh_scene_batches, load_photo_reader, write_results

    from tinyvision.metrics import common_sense_error, count_misses
    from tinyvision.tasks.clock_photo import pooled_readings

    model, processor = load_photo_reader(args)
    triples = [(weight, sigma, discount) for discount in args.overlap_discounts for sigma in args.sigmas
               for weight in args.weights]
    readings, hours, minutes = pooled_readings(
        model, processor, fresh_scene_batches(model, args, seed=args.seed + 1999),
        {triple: {"hand_fit_weight": triple[0], "hand_fit_sigma": triple[1], "hour_overlap_discount": triple[2]}
         for triple in triples})
    config = model.reader.config
    rows = []
    print(f"model {args.model_dir} (saved hand_fit_weight {config.hand_fit_weight:g}, sigma "
          f"{config.hand_fit_sigma:g}, hour_overlap_discount {config.hour_overlap_discount:g}); {len(hours)} fresh "
          f"{args.orientation} scenes with a clock")
    for (weight, sigma, discount), (pred_hour, pred_minute) in readings.items():
        errors = common_sense_error(pred_hour, pred_minute, hours, minutes).float()
        misses = count_misses(pred_hour, pred_minute, hours, minutes)
        rows.append({"hand_fit_weight": weight, "hand_fit_sigma": sigma, "hour_overlap_discount": discount,
                     "cse_mean": errors.mean().item(), "within_5_min": (errors <= 5).float().mean().item(),
                     "misses": misses})
        print(f"  weight {weight:<5g} sigma {sigma:<4g} discount {discount:<4g} within 5 min "
              f"{rows[-1]['within_5_min']:.4f}  mean {rows[-1]['cse_mean']:6.2f}  "
              + ", ".join(f"{kind} {n}" for kind, n in misses.items()))
    results = {"model_dir": args.model_dir, "num_scenes": args.num_scenes, "orientation": args.orientation,
               "seed": args.seed, "rows": rows}
    write_results(args.output_dir, results)
    return results


if __name__ == "__main__":
    main()
