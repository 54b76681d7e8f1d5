"""benchmarks/gpu_check.py: its stop / resume / evaluate sequence and step count (run here on
CPU with a tiny config), and its one-line refusal where there is no GPU."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"
TINY_RUN = ["train.checkpoint_every=10", "train.log_every=5", "train.sample_every=10", "train.jsd_every=0"]
TINY_EVAL = ["evaluate.n_jsd=400", "evaluate.jsd_steps=50", "evaluate.n_metric_samples=200", "evaluate.correction=none"]


@pytest.fixture
def gpu_check(monkeypatch):
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    load = module.load_config  # the same sequence on CPU: device and sizes made tiny
    monkeypatch.setattr(
        module,
        "load_config",
        lambda path, sets: load(path, [s.replace("device=cuda", "device=cpu") for s in sets] + TINY_RUN + TINY_EVAL),
    )
    monkeypatch.setattr(torch.cuda, "synchronize", lambda: None)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda: "cpu (test)")
    return module


def test_stops_after_the_half_way_checkpoint_resumes_and_counts_every_step_run(gpu_check):
    row = gpu_check.one("ring8", 0, "fp32", 40, ["model.hidden=16"])
    assert row["resumed_from"] == 20  # the half-way checkpoint; the stop came 5 steps after it
    assert row["steps_run"] == 25 + (40 - 20)
    seconds = row["train_seconds"]  # rounded to 0.1 s
    assert (
        row["steps_run"] / (seconds + 0.051) <= row["steps_per_second"] <= row["steps_run"] / max(seconds - 0.051, 1e-3)
    )
    assert 0.0 <= row["jsd_ci_low"] <= row["jsd"] <= row["jsd_ci_high"] and row["set"] == ["model.hidden=16"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_refuses_in_one_line_without_a_gpu():
    out = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert out.stderr.strip() == "gpu_check: no CUDA device here; this check runs on a machine with a GPU"
