"""Shared entry point for `python -m flows.<name>`: one clear line on a user error.

    python -m flows.train_gan --set train.loss=mm --set seed=3

A user error (bad config, data, checkpoint, output path, divergence) ends with one
`error: ...` line on stderr and exit code 2; the console shows no traceback, and the full
detail goes to `logs/pipeline.log` under the project root.
"""

from __future__ import annotations

import argparse
import copy
import inspect
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gan_core.config import flatten, load_config, parse_overrides
from gan_core.errors import GanPipelineError
from tasks.guard import allow

LOG_FILE = Path("logs") / "pipeline.log"
_detail = logging.getLogger("gan_pipeline.cli")  # the file only: the console shows the one line
_detail.propagate = False
_detail.addHandler(logging.NullHandler())


class _WithoutTraceback(logging.Formatter):
    """Formats a record as `inner` would, minus its traceback (kept for the log file)."""

    def __init__(self, inner: logging.Formatter | None):
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info or record.exc_text or record.stack_info:
            record = copy.copy(record)
            record.exc_info = record.exc_text = record.stack_info = None
        return self.inner.format(record)


def _console_messages_only(log_file: Path) -> None:
    """Console handlers (Prefect's included) show messages; `log_file` gets everything."""
    loggers = [logging.getLogger()] + [
        lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    for lg in loggers:
        for handler in lg.handlers:
            if (
                isinstance(handler, logging.StreamHandler)
                and not isinstance(handler, logging.FileHandler)
                and not isinstance(handler.formatter, _WithoutTraceback)
            ):
                handler.setFormatter(_WithoutTraceback(handler.formatter))
    if any(isinstance(h, logging.FileHandler) and h.baseFilename == str(log_file.resolve()) for h in _detail.handlers):
        return
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(log_file)
    except OSError:
        return  # an unwritable root is reported by the run itself, in one line
    file_handler.setLevel(logging.DEBUG)
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for lg in (logging.getLogger(), logging.getLogger("prefect"), _detail):
        if lg is logging.getLogger() or not lg.propagate:
            lg.addHandler(file_handler)


def main(flow: Callable[..., Any], description: str) -> None:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a params.yaml key (dotted), repeatable",
    )
    parser.add_argument("--params", default="params.yaml", help="parameter file (default: params.yaml)")
    parser.add_argument("--root", default=".", help="project directory for outputs (default: .)")
    args = parser.parse_args()
    _console_messages_only(Path(args.root) / LOG_FILE)
    try:
        overrides = flatten(parse_overrides(args.overrides))
        # The person at the shell is the operator: the folders they name are theirs to use.
        allow(args.root, Path(args.params).parent, *([overrides["data.path"]] if "data.path" in overrides else []))
        cfg = load_config(args.params, overrides or None)  # a bad file or override: one line, before Prefect starts
        if "cfg" in inspect.signature(flow.fn).parameters:  # built once here, passed down as an object
            flow(params_path=args.params, root=args.root, cfg=cfg)
        else:
            flow(overrides=overrides or None, params_path=args.params, root=args.root)
    except GanPipelineError as exc:
        _detail.error("%s", exc, exc_info=True)
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
