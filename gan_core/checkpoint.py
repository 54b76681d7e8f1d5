"""Checkpoints in one place: one dict, one `save_checkpoint`, one `load_checkpoint`.

The dict holds the step, G (and its moving average), D, both optimisers, the RNG state,
the resolved config, the diagnostics so far and a format version. Writes are atomic
(temp file, fsync, rename); loads use `weights_only=True`, so a file can hold no code.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from gan_core.errors import CheckpointError

FORMAT_VERSION = 1
REQUIRED_KEYS = ("format_version", "step", "generator", "discriminator", "opt_g", "opt_d", "rng", "config", "history")
# Keys that may differ between a checkpoint and the run resuming it (they change no arithmetic).
RESUMABLE_DIFFERENCES = {
    "train.steps", "train.progress", "train.log_every", "train.checkpoint_every", "train.sample_every", "device",
}


def atomic_write(path: Path, write) -> None:
    """Call `write(tmp_path)`, fsync, then rename over `path`: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    path = Path(path)
    atomic_write(path, lambda tmp: torch.save({"format_version": FORMAT_VERSION, **state}, tmp))
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and check a checkpoint; any problem is one line naming the file."""
    path = Path(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint: '{path}' does not exist") from None
    except Exception as exc:
        raise CheckpointError(f"checkpoint: '{path}' is truncated or corrupt and cannot be loaded ({type(exc).__name__})") from None
    if not isinstance(state, dict) or any(k not in state for k in REQUIRED_KEYS):
        raise CheckpointError(f"checkpoint: '{path}' is not a gan-pipeline checkpoint (missing keys)")
    if state["format_version"] != FORMAT_VERSION:
        raise CheckpointError(f"checkpoint: '{path}' has format {state['format_version']}; this version reads {FORMAT_VERSION}")
    return state


def config_mismatch(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Dotted keys whose values differ in a way that makes resuming a different run."""
    out = []
    for key in sorted(set(saved) | set(current)):
        if key not in RESUMABLE_DIFFERENCES and saved.get(key) != current.get(key):
            out.append(f"{key}: checkpoint {saved.get(key)!r} vs now {current.get(key)!r}")
    return out
