"""How much the photo reader's mark votes should count when it picks which mark is 12.

    python benchmarks/mark_vote_weight.py --model_dir outputs/clock-reader --num_scenes 1000

A reader trained with ``mark_votes`` (``--config_overrides '{"reader": {"mark_votes": true}}'``) has every angle
column say where it lies relative to 12; ``ClockReaderConfig.mark_vote_weight`` sets how much that evidence counts
against the marker's own softmax. Training picks the weight on its validation scenes after the last epoch
(``tinyvision.tasks.clock_photo.MARK_VOTE_WEIGHTS``). This reads ``--num_scenes`` fresh scenes of the project's own
generator (``--orientation``, seeds of their own) and prints, per weight, the share within 5 minutes and the mean
error (with the reader's ``hour_lattice_window`` as saved, or ``--hour_lattice_window``); ``--save`` writes the best
weight into the model folder's config. Writes ``results.json`` to
``--output_dir``. It never reads the benchmarks' independent clocks or photo sets, so a weight chosen here is not
tuned on them.
"""

from __future__ import annotations

import argparse


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_dir", default="outputs/clock-reader", help="A saved photo reader with mark votes.")
    parser.add_argument("--num_scenes", type=int, default=1000)
    parser.add_argument("--orientation", default="world", help="As train_clock.py's --orientation.")
    parser.add_argument("--backgrounds", default="auto", help="As train_clock.py's --backgrounds.")
    parser.add_argument("--seed", type=int, default=0, help="Seeds the scenes (seed + 999).")
    parser.add_argument("--weights", type=float, nargs="+", default=None, help="Default: MARK_VOTE_WEIGHTS.")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--num_proc", type=int, default=None, help="Processes rendering scenes (default: all cores).")
    parser.add_argument("--num_threads", type=int, default=1, help="torch CPU threads.")
    parser.add_argument("--hour_lattice_window", type=float, default=None, metavar="DEGREES",
                        help="Read with this ClockReaderConfig.hour_lattice_window (0: the hour from the mean of its "
                             "votes); default: as the model was saved.")
    parser.add_argument("--save", action="store_true", help="Write the best weight into --model_dir's config.")
    parser.add_argument("--output_dir", default="reports/task2/mark_vote_weight")
    args = parser.parse_args(argv)

    import torch
    from clock_photos import fresh_scene_batches, set_reader_options, write_results

    from tinyvision.models import ClockPhotoReader, TinyVisionImageProcessor
    from tinyvision.tasks.clock_photo import (
        MARK_VOTE_WEIGHTS,
        choose_mark_vote_weight,
        mark_vote_weight_errors,
        set_mark_vote_weight,
    )

    torch.set_num_threads(args.num_threads)
    model = ClockPhotoReader.from_pretrained(args.model_dir).eval()
    if not model.reader.config.mark_votes:
        raise SystemExit(f"{args.model_dir}: its reader has no mark votes (train it with reader.mark_votes)")
    if args.hour_lattice_window is not None:
        set_reader_options(model, hour_lattice_window=args.hour_lattice_window)
    processor = TinyVisionImageProcessor.from_pretrained(args.model_dir)
    batches = fresh_scene_batches(model, args, seed=args.seed + 999)
    weights = MARK_VOTE_WEIGHTS if args.weights is None else args.weights
    errors = mark_vote_weight_errors(model, processor, batches, weights)
    best = choose_mark_vote_weight(errors)
    saved = model.reader.config.mark_vote_weight
    rows = [{"mark_vote_weight": weight, "within_5_min": (values <= 5).float().mean().item(),
             "cse_mean": values.mean().item()} for weight, values in errors.items()]
    window = model.reader.config.hour_lattice_window
    print(f"model {args.model_dir} (saved weight {saved:g}, hour lattice window {window:g}); {args.num_scenes} fresh "
          f"{args.orientation} scenes")
    for row in rows:
        mark = "  <- best" if row["mark_vote_weight"] == best else ""
        print(f"  weight {row['mark_vote_weight']:<6g} within 5 min {row['within_5_min']:.4f}  "
              f"mean {row['cse_mean']:6.2f}{mark}")
    if args.save:
        set_mark_vote_weight(model, best)
        model.config.save_pretrained(args.model_dir)
        print(f"saved mark_vote_weight {best:g} to {args.model_dir}/config.json")
    results = {"model_dir": args.model_dir, "num_scenes": args.num_scenes, "orientation": args.orientation,
               "seed": args.seed, "hour_lattice_window": window, "rows": rows, "best": best, "saved_before": saved,
               "saved": bool(args.save)}
    write_results(args.output_dir, results)
    return results


if __name__ == "__main__":
    main()
