"""Tiny settings for pipeline tests: the project's params.yaml with small values."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TINY = {
    "device": "cpu",
    "data": {"n_train": 2000, "n_heldout": 1000},
    "model": {"hidden": 32, "g_layers": 2, "d_layers": 2, "z_dim": 4},
    "train": {
        "steps": 40,
        "batch_size": 64,
        "checkpoint_every": 20,
        "log_every": 10,
        "sample_every": 20,
        "progress": False,
        "jsd_curve_n": 200,
    },
    "evaluate": {
        "n_jsd": 400,
        "n_metric_samples": 500,
        "jsd_steps": 200,
        "correction": "none",
    },  # tests/test_correction.py covers it
}


def write_tiny_params(path: Path) -> Path:
    """Every key of the real params.yaml (DVC's -S needs them), with small values."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for key, value in TINY.items():
        if isinstance(value, dict):
            params[key].update(value)
        else:
            params[key] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def free_port() -> int:
    """A TCP port free on 127.0.0.1 (servers in tests bind loopback only)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
