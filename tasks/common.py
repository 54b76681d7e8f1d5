"""Helpers shared by tasks: config loading, retry policy, the run logger, JSON writes."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prefect import get_run_logger
from prefect.exceptions import MissingContextError

from gan_core.checkpoint import atomic_write
from gan_core.config import USER_DATA_PLACEHOLDER, Config, load_config
from gan_core.errors import ConfigError, GanPipelineError
from tasks.guard import check_flow_paths, check_inside


def load_run_config(
    params_path: str | Path, overrides: dict[str, Any] | None, root: str | Path, cfg: Config | None = None
) -> Config:
    """The run's config, after the flow's path parameters are checked (tasks/guard.py): `cfg`
    when the caller built it (the outermost entry point builds it once and passes it down),
    else params.yaml + dotted overrides, validated exactly like the file. A bad value fails
    here, before any work."""
    check_flow_paths(root, params_path, overrides)
    if cfg is None:
        return load_config(params_path, overrides or None)
    if overrides:
        raise ConfigError("overrides: give either a built config (cfg) or overrides, not both")
    if cfg.data.path and cfg.data.path != USER_DATA_PLACEHOLDER:
        check_inside("data.path", cfg.data.path)
    return cfg


def retry_transient_only(task, task_run, state) -> bool:
    """Retry crashes and I/O hiccups, never a user error (bad config, data, divergence)."""
    try:
        state.result()
    except GanPipelineError:
        return False
    except Exception:
        return True
    return False


def run_logger() -> logging.Logger | logging.LoggerAdapter:
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("gan_pipeline")


def progress_logger():
    """The root flow run's logger inside Prefect (what `--watch` shows), else the run logger."""
    try:
        from prefect.logging.loggers import flow_run_logger
        from prefect.runtime import flow_run

        root = flow_run.root_flow_run_id
        if root and root != flow_run.id:
            return flow_run_logger(flow_run_id=uuid.UUID(str(root)))
    except Exception:  # outside a flow run: the plain logger below
        pass
    return run_logger()


def write_json(path: Path, data: dict[str, Any]) -> Path:
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n"))
    return path


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


_held: dict[str, tuple[int, int]] = {}  # lock path → (fd, depth) held by this process
_held_guard = threading.Lock()


@contextlib.contextmanager
def checkout_lock(root: str | Path, what: str) -> Iterator[None]:
    """One pipeline run at a time in a checkout: its outputs (data/prepared, models, metrics,
    plots) are shared paths. A second run waits, saying so, then runs on its own results;
    the OS drops the lock of a killed run. Re-entrant within a process (train-gan's stages)."""
    path = str((Path(root) / ".run" / "pipeline.lock").resolve())
    with _held_guard:
        if path in _held:
            fd, depth = _held[path]
            _held[path] = (fd, depth + 1)
            nested = True
        else:
            nested = False
    if not nested:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            run_logger().info("%s: another run in this checkout holds %s; waiting for it to finish", what, path)
            fcntl.flock(fd, fcntl.LOCK_EX)
        with _held_guard:
            _held[path] = (fd, 1)
    try:
        yield
    finally:
        with _held_guard:
            fd, depth = _held[path]
            if depth > 1:
                _held[path] = (fd, depth - 1)
            else:
                del _held[path]
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
