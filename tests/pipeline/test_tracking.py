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
