"""Helpers shared by tasks: config loading, retry policy, the run logger, JSON writes."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from prefect import get_run_logger
from prefect.exceptions import MissingContextError

from gan_core.checkpoint import atomic_write
from gan_core.config import Config, load_config
from gan_core.errors import GanPipelineError


def load_run_config(params_path: str | Path, overrides: dict[str, Any] | None) -> Config:
    """params.yaml + dotted overrides, validated exactly like the file (fails before any work)."""
    return load_config(params_path, overrides or None)


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


def write_json(path: Path, data: dict[str, Any]) -> Path:
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n"))
    return path


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}
