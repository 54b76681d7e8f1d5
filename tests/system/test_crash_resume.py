"""`kill -9` during training, then the same command again: it says "resuming from step N"
and ends with exactly the generator and curves an uninterrupted run gives (CPU)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch
import yaml

from tests.pipeline_helpers import ROOT
from tests.tiny import write_tiny_params

STEPS = 2000  # a tiny model: long enough to be killed mid-way, a few seconds in all


@pytest.fixture(scope="module")
def prefect_api(prefect_backend, tmp_path_factory):
    return prefect_backend, f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


def _project(path, prefect_api):
    from gan_core.config import load_config
    from gan_core.datasets import load_dataset, save_prepared

    api, mlflow_uri = prefect_api
    path.mkdir()
    write_tiny_params(path / "params.yaml")
    params = yaml.safe_load((path / "params.yaml").read_text())
    params["train"].update(steps=STEPS, checkpoint_every=100, log_every=50)
    (path / "params.yaml").write_text(yaml.safe_dump(params))
    cfg = load_config(path / "params.yaml")
    save_prepared(
        load_dataset(cfg.data, cfg.seed), path / "data" / "prepared" / "dataset.npz"
    )  # as prepare-data writes it
    env = {**os.environ, "PREFECT_API_URL": api, "MLFLOW_TRACKING_URI": mlflow_uri, "OMP_NUM_THREADS": "1"}
    return path, env


def _fit(path, env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flows.fit_gan", "--params", str(path / "params.yaml"), "--root", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _kill_during_training(path, env, rng: random.Random) -> int:
    """Start fit-gan, SIGKILL it at a random moment after its first checkpoint; return the
    step of the checkpoint left behind."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.fit_gan", "--params", str(path / "params.yaml"), "--root", str(path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    ckpts = path / "models" / "checkpoints"
    deadline = time.monotonic() + 300
    while not any(ckpts.glob("*/last.pt")) and time.monotonic() < deadline:
        assert proc.poll() is None, "fit-gan ended before its first checkpoint"
        time.sleep(0.05)
    time.sleep(rng.uniform(0.0, 1.0))
    assert proc.poll() is None, "training finished before the kill; raise STEPS"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    (ckpt,) = ckpts.glob("*/last.pt")
    return int(torch.load(ckpt, weights_only=True)["step"])


def _outputs(path):
    state = torch.load(path / "models" / "generator.pt", weights_only=True)["state_dict"]
    return state, pd.read_csv(path / "plots" / "curves.csv")


def _check_trials(tmp_path, prefect_api, trials: int, seed: int):
    ref_path, env = _project(tmp_path / "reference", prefect_api)
    assert _fit(ref_path, env).returncode == 0
    ref_state, ref_curves = _outputs(ref_path)
    rng = random.Random(seed)
    for trial in range(trials):
        path, env = _project(tmp_path / f"trial{trial}", prefect_api)
        step = _kill_during_training(path, env, rng)
        assert 0 < step < STEPS
        again = _fit(path, env)
        assert again.returncode == 0, again.stderr[-2000:]
        assert f"resuming from step {step}" in again.stdout + again.stderr
        state, curves = _outputs(path)
        assert state.keys() == ref_state.keys()
        for key in state:
            assert torch.equal(state[key], ref_state[key]), (
                f"trial {trial}: {key} differs after resuming from step {step}"
            )
        pd.testing.assert_frame_equal(curves, ref_curves)  # every diagnostic of every step


@pytest.mark.slow  # ~1 min; the in-process interrupt + resume check (tests/test_train.py) runs by default
def test_kill9_then_rerun_equals_uninterrupted(tmp_path, prefect_api):
    _check_trials(tmp_path, prefect_api, trials=1, seed=1)


@pytest.mark.slow
def test_kill9_five_random_points(tmp_path, prefect_api):
    _check_trials(tmp_path, prefect_api, trials=5, seed=2)
