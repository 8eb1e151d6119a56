"""Publishing to the Hugging Face Hub: one ``HfApi.upload_folder`` call, for every family.

    publish(run_dir, "user/name")       # a finished run: its release is built first, then uploaded
    publish(release_dir, "user/name")   # a release folder made by build_release
    publish(dataset_dir, "user/name", repo_type="dataset")

Nothing else in :mod:`tinyvision.hub` reaches the network, and a token given to :func:`publish` is
handed to ``huggingface_hub`` and never written to disk or to a log.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from .catalogue import _REPO_ID
from .release import build_release
from .run_folder import FIGURE_SUFFIXES, is_run_folder, list_folder

logger = logging.getLogger(__name__)

__all__ = ["DATASET_ALLOW_PATTERNS", "IGNORE_PATTERNS", "MODEL_ALLOW_PATTERNS", "publish"]

# Defence in depth for upload_folder: a release folder already holds only allow-listed files.
MODEL_ALLOW_PATTERNS = ["*.safetensors", "*.json", "*.py", "*.md", *(f"*{suffix}" for suffix in FIGURE_SUFFIXES)]
DATASET_ALLOW_PATTERNS = ["*.parquet", "*.json", "*.md", *(f"*{suffix}" for suffix in FIGURE_SUFFIXES)]
IGNORE_PATTERNS = [".*", "*/.*", "*.env", "*.bin", "*.pt", "*.pth", "*.pkl", "*.pickle", "*.ckpt", "*.npy", "*.tmp",
                   "checkpoint-*", "*optimizer*", "*scheduler*", "random_states*", "token", "*/token", "*.token",
                   "stored_tokens"]


def _check_repo_id(repo_id: str) -> None:
    if not isinstance(repo_id, str) or not _REPO_ID.match(repo_id):
        raise ValueError(f"repo_id must look like 'user/name', got {repo_id!r}")


def publish(folder, repo_id: str, *, private: bool = False, create_pr: bool = False, token=None, api=None,
            repo_type: str | None = None, commit_message: str | None = None, release_dir=None):
    """Create ``repo_id`` if needed and upload ``folder`` with one ``HfApi.upload_folder`` call.

    ``folder`` is a finished training run (what every task's ``--push_to_hub`` hands over), a release
    folder (:func:`~tinyvision.hub.build_release`) or, with ``repo_type="dataset"``, a dataset folder.
    A run's release is built first, in ``release_dir`` (replacing an earlier release there) or in a
    temporary folder, so checkpoints and optimizer states can never be uploaded. ``token`` goes to
    ``huggingface_hub`` only (default: ``HF_TOKEN`` or the cached login); it is never logged or written.
    Returns the ``CommitInfo`` (``.pr_url`` with ``create_pr``).
    """
    folder = Path(folder)
    _check_repo_id(repo_id)
    upload = {"private": private, "create_pr": create_pr, "token": token, "api": api, "repo_type": repo_type,
              "commit_message": commit_message}
    if repo_type in (None, "model") and is_run_folder(folder):
        logger.info("%s is a training run: building its release first", folder)
        with tempfile.TemporaryDirectory(prefix="tinyvision-release-") as tmp:
            release = build_release(folder, release_dir or Path(tmp) / "release", repo_id=repo_id,
                                    overwrite=release_dir is not None)
            return _upload(release, repo_id, **upload)
    if release_dir is not None:
        raise ValueError(f"release_dir is for a training run folder; {folder} is not one (no run_config.json)")
    return _upload(folder, repo_id, **upload)


def _upload(folder: Path, repo_id: str, *, private: bool, create_pr: bool, token, api, repo_type: str | None,
            commit_message: str | None):
    if repo_type in (None, "model") and not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder} has no config.json: build it with tinyvision.hub.build_release first")
    if not (folder / "README.md").is_file():
        raise FileNotFoundError(f"{folder} has no README.md: every upload carries its card")
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi(token=token)
    logger.info("uploading %d files from %s to %s (%s, private=%s, create_pr=%s)", len(list_folder(folder)), folder,
                repo_id, repo_type or "model", private, create_pr)
    api.create_repo(repo_id, private=private, exist_ok=True, token=token, repo_type=repo_type)
    return api.upload_folder(
        repo_id=repo_id,
        folder_path=str(folder),
        repo_type=repo_type,
        allow_patterns=DATASET_ALLOW_PATTERNS if repo_type == "dataset" else MODEL_ALLOW_PATTERNS,
        ignore_patterns=IGNORE_PATTERNS,
        create_pr=create_pr,
        commit_message=commit_message or f"Upload {'dataset' if repo_type == 'dataset' else 'model'} with tinyvision",
        token=token,
    )

