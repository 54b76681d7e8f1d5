"""Shared fixtures: tiny, fast configs (CPU, few steps, fixed seeds)."""

import os

import pytest
import torch

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no telemetry from test servers
os.environ.setdefault("DO_NOT_TRACK", "1")

from gan_core.config import build_config

torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session", autouse=True)
def allow_test_folders(tmp_path_factory):
    """Flows refuse paths outside the project unless the operator allows them
    (tasks/guard.py); the tests' temporary folders are allowed, for subprocesses too."""
    from tasks.guard import allow

    allow(tmp_path_factory.getbasetemp())


@pytest.fixture
def tiny_cfg():
    """A config that trains in well under a second on CPU."""

    def make(*overrides: str):
        base = [
            "train.steps=30",
            "train.batch_size=32",
            "train.r1=0",
            "model.hidden=16",
            "model.g_layers=2",
            "model.d_layers=2",
            "model.z_dim=4",
            "train.checkpoint_every=10",
            "train.log_every=5",
            "train.sample_every=10",
            "train.progress=false",
            "data.n_train=512",
            "data.n_heldout=256",
            "device=cpu",
        ]
        return build_config({}, base + list(overrides))

    return make


@pytest.fixture(scope="session")
def prefect_backend():
    """One temporary Prefect server for the whole session (it takes ~20 s to start); yields
    its API URL for tests that start stage processes."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield PREFECT_API_URL.value()
