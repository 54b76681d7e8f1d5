"""`dvc repro` in a temporary git copy of the project: stages run the same flows; a second
repro is a no-op; `dvc exp run -S` works. Tiny settings, but real processes end to end."""

import csv
import io
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from tests.pipeline_helpers import ROOT
from tests.tiny import write_tiny_params

DVC = Path(sys.executable).with_name("dvc")
PROJECT_FILES = [
    "gan_core",
    "tasks",
    "flows",
    "data/user",
    "dvc.yaml",
    "params.yaml",
    "pyproject.toml",
    ".dvc/config",
    ".dvcignore",
]


def _env(cwd: Path, **extra) -> dict[str, str]:
    return {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{cwd / 'mlflow.db'}",
        "PATH": f"{DVC.parent}:{os.environ['PATH']}",
        **extra,
    }


def _run(cmd, cwd, timeout=600, **extra):
    return subprocess.run(cmd, cwd=cwd, env=_env(cwd, **extra), capture_output=True, text=True, timeout=timeout)


def _make_repo(path: Path, **train) -> Path:
    """A git copy of the project at `path` with tiny params (`train` overrides on top)."""
    for name in PROJECT_FILES:
        src = ROOT / name
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if src.is_dir() else shutil.copy)(
            src, path / name, **({"ignore": shutil.ignore_patterns("__pycache__")} if src.is_dir() else {})
        )
    write_tiny_params(path / "params.yaml")
    if train:
        params = yaml.safe_load((path / "params.yaml").read_text())
        params["train"].update(train)
        (path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (path / ".gitignore").write_text("mlflow.db\nmlartifacts/\n/models/\n")
    # A local identity: `dvc exp run` commits experiment refs, and a clean machine has no global one.
    for cmd in (
        ["git", "init", "-q"],
        ["git", "config", "user.email", "ci@example.invalid"],
        ["git", "config", "user.name", "ci"],
        ["git", "add", "-A"],
        ["git", "commit", "-qm", "init"],
    ):
        subprocess.run(cmd, cwd=path, check=True)
    return path


@pytest.fixture
def repo(tmp_path):
    return _make_repo(tmp_path), ["git"]


def test_dvc_repro_noop_and_experiment(repo, prefect_backend):
    path, git = repo
    first = _run([str(DVC), "repro"], path)  # as from a fresh clone: each stage starts a temporary Prefect server
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert (path / "metrics" / "eval.json").exists() and (path / "dvc.lock").exists()

    again = _run([str(DVC), "repro"], path)  # a no-op: no stage runs (its time: benchmarks/pipeline_overhead.py)
    assert again.returncode == 0 and "up to date" in again.stdout, again.stdout

    subprocess.run(["git", "add", "-A"], cwd=path, check=True)
    subprocess.run(git + ["commit", "-qm", "results"], cwd=path, check=True)
    # The experiment's stages talk to the session's server instead (as under `make run`): the
    # same flows, without three more ~20 s server start-ups.
    exp = _run([str(DVC), "exp", "run", "-S", "train.loss=mm", "-S", "seed=3"], path, PREFECT_API_URL=prefect_backend)
    assert exp.returncode == 0, exp.stdout[-3000:] + exp.stderr[-3000:]
    shown = _run([str(DVC), "exp", "show", "--no-pager", "--csv"], path)
    rows = list(csv.DictReader(io.StringIO(shown.stdout)))

    def column(row: dict, key: str) -> str:  # `key`, or `params.yaml:key` where names clash
        return next(v for h, v in row.items() if h == key or h.endswith(f":{key}"))

    variant = [r for r in rows if column(r, "train.loss") == "mm"]  # the experiment (and the workspace it left)
    assert variant and [r for r in rows if column(r, "train.loss") == "ns"]  # beside the committed run
    for row in variant:
        assert column(row, "seed") == "3" and 0.0 <= float(column(row, "jsd")) <= math.log(2), row
    diff = _run([str(DVC), "metrics", "diff", "--json"], path)
    assert diff.returncode == 0 and "jsd" in diff.stdout


def test_bad_param_via_dvc_is_one_clear_line(repo):
    path, _ = repo
    out = _run([str(DVC), "exp", "run", "-S", "train.k=0"], path)
    assert out.returncode != 0
    assert (
        "error: config: 'train.k': Input should be greater than or equal to 1 (got 0); allowed: >= 1"
        in out.stderr + out.stdout
    )


@pytest.mark.slow
def test_kill9_during_dvc_repro_then_repro_again_equals_uninterrupted(tmp_path, prefect_backend):
    """SIGKILL the whole `dvc repro` process group mid-training; the next `dvc repro` clears
    the dead locks, resumes from the checkpoint and ends with the uninterrupted run's results."""
    train = {"steps": 2000, "checkpoint_every": 100, "log_every": 50}
    api = {"PREFECT_API_URL": prefect_backend, "OMP_NUM_THREADS": "1"}
    ref = _make_repo(tmp_path / "reference", **train)
    done = _run([str(DVC), "repro"], ref, **api)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    path = _make_repo(tmp_path / "killed", **train)
    proc = subprocess.Popen(
        [str(DVC), "repro"],
        cwd=path,
        env=_env(path, **api),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    ckpts = path / "models" / "checkpoints"
    deadline = time.monotonic() + 300
    while not any(ckpts.glob("*/last.pt")) and time.monotonic() < deadline:
        assert proc.poll() is None, "dvc repro ended before the first checkpoint"
        time.sleep(0.05)
    time.sleep(random.Random(3).uniform(0.0, 1.0))
    assert proc.poll() is None, "training finished before the kill; raise the steps"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    (ckpt,) = ckpts.glob("*/last.pt")
    step = int(torch.load(ckpt, weights_only=True)["step"])
    assert 0 < step < train["steps"]

    again = _run([str(DVC), "repro"], path, **api)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert f"resuming from step {step}" in again.stdout + again.stderr
    for name in ("models/generator.pt",):
        a, b = (torch.load(p / name, weights_only=True)["state_dict"] for p in (ref, path))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), (
            f"{name} differs after resuming from step {step}"
        )
    pd.testing.assert_frame_equal(pd.read_csv(path / "plots" / "curves.csv"), pd.read_csv(ref / "plots" / "curves.csv"))
    metrics = [json.loads((p / "metrics" / "eval.json").read_text()) for p in (ref, path)]
    assert (
        metrics[0]["jsd"] == metrics[1]["jsd"]
        and metrics[0]["high_quality_fraction"] == metrics[1]["high_quality_fraction"]
    )
