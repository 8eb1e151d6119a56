"""Publishing to the Hugging Face Hub (one call; works against a fake ``api`` in tests)."""

from __future__ import annotations

from pathlib import Path

# Only these files leave the machine: weights, configs, code, card and figures.
ALLOW_PATTERNS = ["*.safetensors", "*.json", "*.py", "*.md", "*.png", "*.jpg"]
IGNORE_PATTERNS = ["checkpoint-*", ".*", "*.tmp", "optimizer*", "scheduler*", "random_states*", "*.bin", "*.pt"]


def publish(folder, repo_id: str, *, private: bool = False, create_pr: bool = False, token=None, api=None):
    """Create ``repo_id`` if needed and upload ``folder`` with one ``upload_folder`` call."""
    from huggingface_hub import HfApi

    folder = Path(folder)
    if not (folder / "config.json").exists():
        raise FileNotFoundError(f"{folder} has no config.json: is it a finished run?")
    api = api or HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True, token=token)
    return api.upload_folder(
        folder_path=str(folder),
        repo_id=repo_id,
        allow_patterns=ALLOW_PATTERNS,
        ignore_patterns=IGNORE_PATTERNS,
        create_pr=create_pr,
        commit_message="Upload tinyvision model",
        token=token,
    )
