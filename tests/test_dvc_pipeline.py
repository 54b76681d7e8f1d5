"""`dvc repro` in a temporary git copy of the project: stages run the same flows; a second
repro is a no-op; `dvc exp run -S` works. Tiny settings, but real processes end to end."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.pipeline_helpers import ROOT, write_tiny_params

DVC = Path(sys.executable).with_name("dvc")
PROJECT_FILES = ["gan_core", "tasks", "flows", "dvc.yaml", "params.yaml", "pyproject.toml", ".dvc/config", ".dvcignore"]


def _run(cmd, cwd, timeout=600):
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{cwd / 'mlflow.db'}", "PATH": f"{DVC.parent}:{os.environ['PATH']}"}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def repo(tmp_path):
    for name in PROJECT_FILES:
        src = ROOT / name
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name, **({"ignore": shutil.ignore_patterns("__pycache__")} if src.is_dir() else {}))
    write_tiny_params(tmp_path / "params.yaml")
    (tmp_path / ".gitignore").write_text("mlflow.db\nmlartifacts/\n/models/\n")
    git = ["git"]
    # A local identity: `dvc exp run` commits experiment refs, and a clean machine has no global one.
    for cmd in (["git", "init", "-q"], ["git", "config", "user.email", "ci@example.invalid"], ["git", "config", "user.name", "ci"], ["git", "add", "-A"], ["git", "commit", "-qm", "init"]):
        subprocess.run(cmd, cwd=tmp_path, check=True)
    return tmp_path, git


def test_dvc_repro_noop_and_experiment(repo):
    path, git = repo
    first = _run([str(DVC), "repro"], path)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert (path / "metrics" / "eval.json").exists() and (path / "dvc.lock").exists()

    t0 = time.perf_counter()
    again = _run([str(DVC), "repro"], path)
    assert again.returncode == 0 and "up to date" in again.stdout, again.stdout
    assert time.perf_counter() - t0 < 30  # a no-op: no stage runs (the benchmark measures the real time)

    subprocess.run(["git", "add", "-A"], cwd=path, check=True)
    subprocess.run(git + ["commit", "-qm", "results"], cwd=path, check=True)
    exp = _run([str(DVC), "exp", "run", "-S", "train.loss=mm", "-S", "seed=3"], path)
    assert exp.returncode == 0, exp.stdout[-3000:] + exp.stderr[-3000:]
    shown = _run([str(DVC), "exp", "show", "--no-pager", "--csv"], path)
    assert "mm" in shown.stdout and "jsd" in shown.stdout
    diff = _run([str(DVC), "metrics", "diff", "--json"], path)
    assert diff.returncode == 0 and "jsd" in diff.stdout


def test_bad_param_via_dvc_is_one_clear_line(repo):
    path, _ = repo
    out = _run([str(DVC), "exp", "run", "-S", "train.k=0"], path)
    assert out.returncode != 0
    assert "error: config: 'train.k': Input should be greater than or equal to 1 (got 0); allowed: >= 1" in out.stderr + out.stdout
