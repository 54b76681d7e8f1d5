"""Run identity: everything that changes a training run's result (DESIGN.md §4).

    identity = hash(training config with train.steps, the prepared data's content, the training code)

A checkpoint lives under its identity and is resumed only into the same identity; the saved
generator carries it, so evaluation can refuse a generator that another run made. Keys that
change no arithmetic (display, logging, measuring) are left out, so changing them resumes.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

# Config keys that change nothing a run computes: shown, logged or measured only. (`device`
# too: a run may resume on another device; results are reproducible per device.)
DISPLAY_ONLY = frozenset(
    {
        "device",
        "train.progress",
        "train.log_every",
        "train.checkpoint_every",
        "train.sample_every",
        "train.jsd_every",
        "train.jsd_curve_n",
    }
)
# The sources whose edits change what training computes (the data's code is covered by the
# prepared data's content hash).
TRAINING_CODE = ("callbacks.py", "checkpoint.py", "config.py", "losses.py", "models.py", "runtime.py", "train.py")


def _sha(blob: bytes, n: int = 12) -> str:
    return hashlib.sha256(blob).hexdigest()[:n]


def training_config(flat: dict[str, Any]) -> dict[str, Any]:
    """The dotted keys that change the training arithmetic (no `evaluate.*`, no display keys)."""
    return {k: v for k, v in sorted(flat.items()) if k not in DISPLAY_ONLY and not k.startswith("evaluate.")}


@lru_cache(maxsize=1)
def code_version() -> str:
    """Hash of the training sources of this installed package (edits change it; a clean
    checkout and its copy give the same)."""
    return code_hash(Path(__file__).resolve().parent)


def code_hash(package: Path) -> str:
    """Hash of the TRAINING_CODE files in the folder `package`."""
    h = hashlib.sha256()
    for name in TRAINING_CODE:
        h.update(name.encode() + b"\0" + (package / name).read_bytes() + b"\0")
    return h.hexdigest()[:12]


def array_digest(*arrays: np.ndarray) -> str:
    """Content hash of arrays (dtype, shape and bytes)."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def run_identity(flat: dict[str, Any], data_digest: str) -> dict[str, str]:
    """{"id", "config", "data", "code"}: the id is the hash of the other three."""
    parts = {
        "config": _sha(json.dumps(training_config(flat), sort_keys=True, default=str).encode()),
        "data": data_digest,
        "code": code_version(),
    }
    return {"id": _sha(json.dumps(parts, sort_keys=True).encode()), **parts}


def identity_difference(saved: dict[str, str], current: dict[str, str]) -> str:
    """Which parts differ, in words ('' when the identities are the same)."""
    names = {"config": "training config", "data": "prepared data", "code": "training code"}
    return ", ".join(names[k] for k in ("config", "data", "code") if saved.get(k) != current.get(k))
