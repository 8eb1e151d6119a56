"""Publish a finished training run to the Hugging Face Hub: model card, weights, code and figures.

    python scripts/publish.py --run_dir outputs/cnn1 --repo_id user/tinyvision-cnn1 --dry_run
    python scripts/publish.py --run_dir outputs/cnn1 --repo_id user/tinyvision-cnn1 [--private] [--create_pr]

The release folder (``<run_dir>/release`` unless ``--release_dir``) holds only allow-listed files: the
weights, configs, modeling code, metrics JSON, figures and the README.md card rendered from
``model_cards/``. ``--dry_run`` builds it and prints what would be uploaded, without touching the
network. Log in with ``hf auth login`` or set ``HF_TOKEN``; there is deliberately no ``--token``
argument (command lines end up in shell histories and process lists).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tinyvision.hub import ReleaseError, build_release, list_folder, publish


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run_dir", required=True, help="A finished run: the training script's --output_dir.")
    parser.add_argument("--repo_id", required=True, help="Hub model repo, user/name (or org/name).")
    parser.add_argument("--release_dir", default=None, help="Where to build the release (default: RUN_DIR/release).")
    parser.add_argument("--private", action="store_true", help="Create the repo as private.")
    parser.add_argument("--create_pr", action="store_true", help="Open a pull request instead of committing to main.")
    parser.add_argument("--dry_run", action="store_true", help="Build the release and list it; upload nothing.")
    return parser.parse_args(argv)


def main(argv=None, *, api=None) -> int:
    args = parse_args(argv)
    release_dir = Path(args.release_dir) if args.release_dir else Path(args.run_dir) / "release"
    try:
        # The default release folder is ours to replace; one the user named must be empty or a release.
        folder = build_release(args.run_dir, release_dir, repo_id=args.repo_id, overwrite=True)
    except (ReleaseError, FileExistsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    files = list_folder(folder)
    total = sum((folder / name).stat().st_size for name in files)
    verb = "would upload" if args.dry_run else "uploading"
    print(f"{verb} {len(files)} files ({total / 1024:,.1f} KiB) from {folder} to "
          f"https://huggingface.co/{args.repo_id} (private={args.private}, create_pr={args.create_pr}):")
    for name in files:
        print(f"  {name}")
    if args.dry_run:
        return 0
    commit = publish(folder, args.repo_id, private=args.private, create_pr=args.create_pr, api=api)
    print(f"done: {getattr(commit, 'pr_url', None) or getattr(commit, 'commit_url', None) or commit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
