"""MLflow tracking behind small helpers, attached to the training loop as a callback.

Default store: `sqlite:///<project>/mlflow.db` with artifacts under `<project>/mlartifacts`;
`MLFLOW_TRACKING_URI` overrides it (e.g. the local server `make run` starts, or a team's
server). Metrics go out in batches, asynchronously, so logging never waits on the store.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from gan_core.callbacks import Callback

EXPERIMENT = "gan-pipeline"


def tracking_uri(root: Path) -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{root / 'mlflow.db'}"


def client(root: Path) -> MlflowClient:
    uri = tracking_uri(root)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@contextlib.contextmanager
def fluent_store(root: Path) -> Iterator[None]:
    """Points MLflow's global (fluent) API at this project's store for the block only.
    `mlflow.set_tracking_uri` also writes `MLFLOW_TRACKING_URI` into the environment, so left
    set it would send a later run of another project root, in this process or a child, to
    this store."""
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    saved_env = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    saved = tracking_utils._tracking_uri, registry_utils._registry_uri
    uri = tracking_uri(root)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield
    finally:
        tracking_utils._tracking_uri, registry_utils._registry_uri = saved
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def experiment_id(c: MlflowClient, root: Path) -> str:
    exp = c.get_experiment_by_name(EXPERIMENT)
    if exp is not None:
        return exp.experiment_id
    # A local store keeps artifacts in the project; a tracking server decides where they go
    # (with --artifacts-destination, through the server: clients need no shared file system).
    local = not tracking_uri(root).startswith(("http://", "https://"))
    try:
        return c.create_experiment(EXPERIMENT, artifact_location=(root / "mlartifacts").as_uri() if local else None)
    except mlflow.exceptions.MlflowException:  # created concurrently by another run
        return c.get_experiment_by_name(EXPERIMENT).experiment_id


def git_commit(root: Path) -> str:
    try:
        return (
            subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
            ).stdout.strip()
            or "unknown"
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def file_md5(path: Path) -> str:
    """The md5 DVC records for a file output (so the tag matches `dvc.lock`)."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def start_run(
    root: Path,
    params: dict[str, Any],
    tags: dict[str, str],
    run_name: str | None = None,
    parent_run_id: str | None = None,
) -> str:
    c = client(root)
    all_tags = {"git_commit": git_commit(root), **tags}
    if parent_run_id:
        all_tags["mlflow.parentRunId"] = parent_run_id
    run = c.create_run(experiment_id(c, root), run_name=run_name, tags=all_tags)
    items = [Param(k, str(v)) for k, v in params.items()]
    for i in range(0, len(items), 100):
        c.log_batch(run.info.run_id, params=items[i : i + 100])
    return run.info.run_id


def mark_failed(paths, run_id: str, exc: BaseException) -> None:
    """The run ends FAILED with the reason as its `failure_reason` tag. Called while `exc`
    propagates: if the store cannot be reached, say so and let the original error through."""
    try:
        c = client(paths.root)
        c.set_tag(run_id, "failure_reason", str(exc)[:4000] or type(exc).__name__)
        c.set_terminated(run_id, "FAILED")
    except Exception as store_error:  # noqa: BLE001 - the user must see `exc`, not this
        logging.getLogger("gan_pipeline").warning(
            "could not mark MLflow run %s FAILED (%s: %s)", run_id, type(store_error).__name__, store_error
        )


@contextlib.contextmanager
def tracked_run(paths, run_id: str | None, *, finish: bool = True) -> Iterator[str | None]:
    """The pattern every flow shares: the run ends FAILED with the reason if the body raises
    (the original error goes on), FINISHED if it returns and `finish` (else it stays open for
    the next stage). `run_id=None` (no run of this flow's own) tracks nothing."""
    try:
        yield run_id
    except BaseException as exc:
        if run_id:
            mark_failed(paths, run_id, exc)
        raise
    if run_id and finish:
        client(paths.root).set_terminated(run_id, "FINISHED")


def run_url(root: Path, run_id: str) -> str:
    c = client(root)
    run = c.get_run(run_id)
    base = os.environ.get("MLFLOW_UI_URL", "http://127.0.0.1:5000")
    return f"{base}/#/experiments/{run.info.experiment_id}/runs/{run_id}"


class MlflowCallback(Callback):
    """Per-step diagnostics → MLflow in asynchronous batches; checkpoints noted as tags."""

    def __init__(self, root: Path, run_id: str, batch: int = 500):
        self.client, self.run_id, self.batch = client(root), run_id, batch
        self.pending: list[Metric] = []
        self.ops: list[Any] = []

    def on_step(self, step: int, metrics: dict[str, float]) -> None:
        now = int(time.time() * 1000)
        self.pending.extend(Metric(key, value, now, step) for key, value in metrics.items())
        if len(self.pending) >= self.batch:
            self._send()

    def on_checkpoint(self, step: int, path: Path) -> None:
        # Through the same asynchronous queue as the metrics: one writer, no lock contention.
        self._send(tags=[RunTag("last_checkpoint_step", str(step))])

    def on_end(self, result) -> None:
        self.flush()

    def _send(self, tags: list[RunTag] | None = None) -> None:
        if self.pending or tags:
            self.ops.append(
                self.client.log_batch(self.run_id, metrics=self.pending, tags=tags or [], synchronous=False)
            )
            self.pending = []

    def flush(self) -> None:
        """Send what is left and wait until every batch is stored."""
        self._send()
        for op in self.ops:
            if op is not None:
                op.wait()
        self.ops = []
