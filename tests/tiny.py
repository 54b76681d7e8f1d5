"""The one tiny configuration of the test suite: CPU, tiny networks, a few steps, small
evaluations. Tests in process build it with the `tiny_cfg` fixture; tests that start
commands, flows or DVC write it into a params.yaml with `write_tiny_params`."""

from __future__ import annotations

from pathlib import Path

import yaml

from gan_core.config import Config, build_config, parse_overrides
from tests.pipeline_helpers import ROOT

TINY: dict[str, object] = {
    "device": "cpu",
    "data.n_train": 2000,
    "data.n_heldout": 1000,
    "model.hidden": 32,
    "model.fine_d_hidden": 32,
    "model.g_layers": 2,
    "model.d_layers": 2,
    "model.z_dim": 4,
    "train.steps": 30,
    "train.batch_size": 64,
    "train.checkpoint_every": 10,
    "train.log_every": 10,
    "train.sample_every": 10,
    "train.progress": False,
    "train.jsd_curve_n": 200,
    "evaluate.n_jsd": 400,
    "evaluate.n_metric_samples": 500,
    "evaluate.jsd_steps": 200,
    "evaluate.correction": "none",  # tests/unit/test_correction.py covers it
}


def tiny_config(*overrides: str) -> Config:
    """The defaults (params.yaml's, tests/unit/test_config.py) with TINY and then `overrides` (dotted key=value) on top."""
    return build_config({}, [*(f"{key}={value}" for key, value in TINY.items()), *overrides])


def other_loss() -> str:
    """The generator loss the defaults do not use: a config one key away from them."""
    return "ns" if tiny_config().train.loss == "mm" else "mm"


def write_tiny_params(path: Path) -> Path:
    """Every key of the real params.yaml (DVC's -S needs them), with TINY's values."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section, values in parse_overrides(TINY).items():
        if isinstance(values, dict):
            params[section].update(values)
        else:
            params[section] = values
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path
