"""Bad input through the command-line entry points (`python -m flows.<stage>`, which DVC runs):
each case ends with exactly one `error:` line naming the field or file and what is allowed,
exit code 2, no traceback on the console (the detail is in logs/pipeline.log), and every
existing output left exactly as it was.

DVC's `-S` (tests/test_dvc_pipeline.py) and Prefect flow parameters (tests/test_pipeline_flows.py,
tests/test_sweep.py) reach the same validation.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import yaml

from gan_core.config import load_config
from tests.pipeline_helpers import ROOT
from tests.tiny import other_loss, write_tiny_params

SENTINELS = ("metrics/eval.json", "models/generator.pt", "data/prepared/dataset.npz", "plots/samples.png")


@pytest.fixture(scope="module")
def mlflow_uri(tmp_path_factory):
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"  # one store: created once


@pytest.fixture
def plain_project(tmp_path, monkeypatch, mlflow_uri):
    """For errors that end before Prefect starts (no backend needed)."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_uri)
    write_tiny_params(tmp_path / "params.yaml")
    return tmp_path


@pytest.fixture
def project(plain_project, monkeypatch, prefect_backend):
    monkeypatch.setenv("PREFECT_API_URL", prefect_backend)  # for the stage processes
    return plain_project


def _with_outputs(root) -> dict[str, bytes]:
    """Outputs of an earlier run (their bytes), to prove a failed run does not touch them."""
    before = {}
    for rel in SENTINELS:
        path = root / rel
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(f"earlier output {rel}".encode())
        before[rel] = path.read_bytes()
    return before


def _cli_before_prefect(stage: str, root, *args: str, capsys) -> tuple[int, str]:
    """Config errors end before Prefect starts: the same `main` in this process (faster)."""
    import importlib

    from flows.cli import main

    flow = getattr(importlib.import_module(f"flows.{stage}"), stage)
    old, sys.argv = sys.argv, [f"flows.{stage}", "--params", str(root / "params.yaml"), "--root", str(root), *args]
    try:
        with pytest.raises(SystemExit) as info:
            main(flow, stage)
    finally:
        sys.argv = old
    out, err = capsys.readouterr()
    return info.value.code, out + err


def _cli(stage: str, root, *args: str) -> tuple[int, str]:
    """Run `python -m flows.<stage>` as a user would: a fresh process (against the shared
    Prefect test backend); returns (exit code, stdout + stderr)."""
    proc = subprocess.run(
        [sys.executable, "-m", f"flows.{stage}", "--params", str(root / "params.yaml"), "--root", str(root), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc.returncode, proc.stdout + proc.stderr


def _assert_one_line(code: int, output: str, *expected: str) -> str:
    assert code == 2
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, output
    for text in expected:
        assert text in errors[0], errors[0]
    assert "Traceback" not in output, output
    return errors[0]


CONFIG_CASES = [
    (["--set", "train.los=mm"], ["unknown key 'train.los'", "did you mean 'train.loss'"]),
    (["--set", "train.lr_g=abc"], ["'train.lr_g'", "'abc'"]),
    (["--set", "seed=1.5"], ["'seed'", "1.5"]),
    (["--set", "train.k=0"], ["'train.k'", ">= 1"]),
    (["--set", "train.steps=-5"], ["'train.steps'", ">= 1"]),
    (["--set", "train.batch_size=0"], ["'train.batch_size'", ">= 1"]),
    (["--set", "data.name=moons"], ["unknown dataset 'moons'", "ring8, grid25, digits"]),
    (["--set", "train.loss=wgan"], ["'train.loss'", "'ns'", "'mm'"]),
    (["--set", "device=tpu"], ["'device'", "auto, cpu, cuda, cuda:N"]),
    (["--set", "train.lr_decay=cosine"], ["'train.lr_decay'", "'none'", "'linear'"]),
    (["--set", "evaluate.confidence=1.5"], ["'evaluate.confidence'", "< 1"]),
    (["--set", "train.k"], ["must look like key=value"]),
]


@pytest.mark.parametrize("args, expected", CONFIG_CASES, ids=[c[0][-1] for c in CONFIG_CASES])
def test_bad_override_one_line(plain_project, capsys, args, expected):
    project = plain_project
    before = _with_outputs(project)
    code, output = _cli_before_prefect("fit_gan", project, *args, capsys=capsys)
    _assert_one_line(code, output, *expected)
    assert {rel: (project / rel).read_bytes() for rel in SENTINELS} == before


@pytest.mark.parametrize(
    "text, expected",
    [
        ("train: {k: [1\n", ["not valid YAML", "line"]),
        ("- just\n- a list\n", ["must hold a mapping"]),
        ("trian: {k: 2}\n", ["unknown key 'trian'", "did you mean 'train'"]),
        ("train: {k: two}\n", ["'train.k'", "'two'"]),
    ],
    ids=["truncated-yaml", "not-a-mapping", "unknown-section", "wrong-type-in-file"],
)
def test_bad_params_file_one_line(plain_project, capsys, text, expected):
    project = plain_project
    (project / "params.yaml").write_text(text)
    before = _with_outputs(project)
    code, output = _cli_before_prefect("prepare_data", project, capsys=capsys)
    _assert_one_line(code, output, *expected)
    assert {rel: (project / rel).read_bytes() for rel in SENTINELS} == before


def _data_file(root, kind: str):
    path = root / "user" / ("pts.npy" if kind != "wrong-suffix" else "pts.csv")
    path.parent.mkdir(exist_ok=True)
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        np.save(path, np.random.default_rng(0).normal(size=(500, 2)))
        path.write_bytes(path.read_bytes()[:300])
    elif kind == "wrong-shape":
        np.save(path, np.arange(500.0))
    elif kind == "nan":
        x = np.random.default_rng(0).normal(size=(500, 2))
        x[7, 1] = np.nan
        np.save(path, x)
    elif kind == "wrong-suffix":
        path.write_text("1,2\n3,4\n")
    elif kind == "strings":
        np.save(path, np.array([["a", "b"]] * 50))
    return path


@pytest.mark.parametrize(
    "kind, expected",
    [
        ("missing", ["data.path", "does not exist"]),
        ("empty", ["is empty (0 bytes)"]),
        ("truncated", ["cannot be read as a numpy array"]),
        ("wrong-shape", ["has shape (500,)", "allowed: (n, d)"]),
        ("nan", ["NaN/Inf", "sample 7"]),
        ("wrong-suffix", ["suffix '.csv'", "allowed: .npy, .npz"]),
        ("strings", ["dtype", "allowed: a numeric array"]),
    ],
)
def test_bad_data_file_one_line(project, kind, expected):
    path = project / "user" / "absent.npy" if kind == "missing" else _data_file(project, kind)
    before = _with_outputs(project)
    code, output = _cli(
        "prepare_data",
        project,
        "--set",
        "data.name=mine",
        "--set",
        f"data.path={path}",
    )
    line = _assert_one_line(code, output, *expected)
    assert str(path) in line
    assert {rel: (project / rel).read_bytes() for rel in SENTINELS} == before


def _checkpoint_path(root, overrides: dict):
    from gan_core.datasets import load_prepared
    from gan_core.identity import run_identity

    cfg = load_config(root / "params.yaml", overrides or None)
    data = load_prepared(root / "data" / "prepared" / "dataset.npz")
    return root / "models" / "checkpoints" / run_identity(cfg.flat(), data.digest)["id"] / "last.pt"


@pytest.mark.parametrize(
    "damage, expected",
    [
        ("truncated", ["truncated or corrupt"]),
        ("tampered", ["truncated or corrupt"]),
        ("foreign", ["another config, refusing to resume", "train.loss"]),
    ],
)
def test_bad_checkpoint_one_line(project, damage, expected):
    from gan_core.datasets import load_dataset, save_prepared
    from gan_core.train import fit_gan

    cfg = load_config(project / "params.yaml")
    save_prepared(load_dataset(cfg.data, cfg.seed), project / "data" / "prepared" / "dataset.npz")
    ckpt = _checkpoint_path(project, {})
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    if damage == "tampered":
        ckpt.write_bytes(b"PK\x03\x04 not a checkpoint " * 100)
    else:  # a real checkpoint of another config (the other train.loss), whole or cut in half
        other = load_config(project / "params.yaml", {"train.loss": other_loss()})
        fit_gan(other, load_dataset(other.data, other.seed), checkpoint_dir=project / "other")
        good = (project / "other" / "last.pt").read_bytes()
        ckpt.write_bytes(good if damage == "foreign" else good[: len(good) // 2])
    kept = ckpt.read_bytes()
    before = _with_outputs(project)
    code, output = _cli(
        "fit_gan",
        project,
    )
    line = _assert_one_line(code, output, *expected)
    assert str(ckpt) in line
    assert ckpt.read_bytes() == kept  # the refused checkpoint is left for the user to inspect
    assert {rel: (project / rel).read_bytes() for rel in SENTINELS} == before


def test_unwritable_output_one_line(project):
    (project / "data").write_text("a file where the data folder should be")
    code, output = _cli(
        "prepare_data",
        project,
    )
    _assert_one_line(code, output, "output: cannot write", "data/prepared/dataset.npz")
    assert (project / "data").read_text().startswith("a file")


def test_no_traceback_in_a_real_process(tmp_path):
    """The same, end to end in a fresh process: exit 2, one line, the detail in the log file."""
    write_tiny_params(tmp_path / "params.yaml")
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    params["train"]["k"] = 0
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    proc = subprocess.run(
        [sys.executable, "-m", "flows.fit_gan", "--params", str(tmp_path / "params.yaml"), "--root", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: config: 'train.k': Input should be greater than or equal to 1 (got 0); allowed: >= 1"
    ]
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "ConfigError" in (tmp_path / "logs" / "pipeline.log").read_text()
