"""tasks.tracking's run pattern, on a throwaway SQLite store: every flow ends its run FINISHED
or FAILED with the reason, and the original error always reaches the caller."""

import os

import pytest
from mlflow.tracking import MlflowClient

from tasks.paths import Paths
from tasks.tracking import start_run, tracked_run


@pytest.fixture
def store(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return Paths.at(tmp_path), MlflowClient(uri)


def test_a_run_ends_finished_failed_or_open_as_asked(store):
    paths, client = store
    ok, failed, open_ = (start_run(paths.root, {"seed": 0}, {}) for _ in range(3))
    with tracked_run(paths, ok):
        pass
    with pytest.raises(ValueError, match="the real problem"):
        with tracked_run(paths, failed):
            raise ValueError("the real problem")
    with tracked_run(paths, open_, finish=False):  # the next stage finishes it
        pass
    assert client.get_run(ok).info.status == "FINISHED"
    assert (
        client.get_run(failed).info.status == "FAILED"
        and client.get_run(failed).data.tags["failure_reason"] == "the real problem"
    )
    assert client.get_run(open_).info.status == "RUNNING"


def test_no_run_of_its_own_tracks_nothing(store):
    paths, _ = store
    with pytest.raises(KeyError):
        with tracked_run(paths, None):
            raise KeyError("x")
    with tracked_run(paths, None) as run_id:
        assert run_id is None


def test_a_project_store_never_leaks_into_the_next_projects_runs(tmp_path, monkeypatch):
    """MLflow's fluent API is pointed at a project's store only for the block that needs it:
    a later run for another root (in this process or a child) goes to that root's store."""
    import mlflow

    from tasks.tracking import fluent_store, tracking_uri

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    first, second = tmp_path / "first", tmp_path / "second"
    with fluent_store(first):
        assert mlflow.get_tracking_uri() == f"sqlite:///{first / 'mlflow.db'}"
    assert "MLFLOW_TRACKING_URI" not in os.environ and "MLFLOW_REGISTRY_URI" not in os.environ
    assert tracking_uri(second) == f"sqlite:///{second / 'mlflow.db'}"
    run = start_run(second, {"seed": 0}, {})
    assert MlflowClient(f"sqlite:///{second / 'mlflow.db'}").get_run(run).info.status == "RUNNING"
    assert not (first / "mlflow.db").exists()


class _FakeClient:
    """Records what tasks.tracking sends; stands in for MlflowClient (no store, no server)."""

    def __init__(self):
        self.batches: list[tuple[str, list, list, bool]] = []

    def log_batch(self, run_id, metrics=(), params=(), tags=(), synchronous=True):
        self.batches.append((run_id, list(metrics), list(tags), synchronous))
        return None  # what a synchronous call returns; an asynchronous one returns a waitable


def test_training_metrics_reach_the_tracker_in_batches_with_checkpoints_between(tiny_cfg, tmp_path, monkeypatch):
    """The MLflow callback on a real (tiny) training, against a fake tracker: every step's
    diagnostics arrive exactly once, in order, in batches of at most `batch`, asynchronously,
    with each checkpoint's step as a tag in the stream."""
    import tasks.tracking
    from gan_core.datasets import load_dataset
    from gan_core.train import DIAGNOSTICS, fit_gan

    fake = _FakeClient()
    monkeypatch.setattr(tasks.tracking, "client", lambda root: fake)
    cfg = tiny_cfg()  # tests/tiny.py: 30 steps, checkpoints every 10
    fit_gan(
        cfg,
        load_dataset(cfg.data, cfg.seed),
        checkpoint_dir=tmp_path,
        callbacks=[tasks.tracking.MlflowCallback(tmp_path, "run-1", batch=40)],
    )
    metrics = [m for _, ms, _, _ in fake.batches for m in ms]
    assert [(m.step, m.key) for m in metrics] == [(s, k) for s in range(1, 31) for k in DIAGNOSTICS]
    assert all(run == "run-1" and not sync and len(ms) <= 40 for run, ms, _, sync in fake.batches)
    tags = [(t.key, t.value) for _, _, ts, _ in fake.batches for t in ts]
    assert tags == [("last_checkpoint_step", str(step)) for step in (10, 20, 30)]
