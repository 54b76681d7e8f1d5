"""Shared fixtures: tiny, fast configs (CPU, few steps, fixed seeds)."""

import os

import pytest
import torch

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no telemetry from test servers
os.environ.setdefault("DO_NOT_TRACK", "1")

from tests.tiny import tiny_config

torch.set_num_threads(min(2, torch.get_num_threads()))


def pytest_collection_modifyitems(config, items):
    """Tests marked `gpu` run where a CUDA device is present and are skipped, saying why, elsewhere."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def allow_test_folders(tmp_path_factory):
    """Flows refuse paths outside the project unless the operator allows them
    (tasks/guard.py); the tests' temporary folders are allowed, for subprocesses too."""
    from tasks.guard import allow

    allow(tmp_path_factory.getbasetemp())


@pytest.fixture
def tiny_cfg():
    """The suite's one tiny config (tests/tiny.py), with dotted overrides on top."""
    return tiny_config


@pytest.fixture(scope="session")
def prefect_backend():
    """One temporary Prefect server for the whole session (it takes ~20 s to start); yields
    its API URL for tests that start stage processes."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield PREFECT_API_URL.value()
