"""What the single-run tuning scripts share: append a result row, run `main` with one-line errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path


def append_row(path: Path, row: dict) -> None:
    print(json.dumps(row), flush=True)
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")


def run_main(main: Callable[..., None]) -> None:
    """`main(*argv)`; a bad override ends with one `error:` line (exit 1), no traceback."""
    from gan_core.errors import ConfigError

    try:
        main(*sys.argv[1:])
    except ConfigError as exc:
        sys.exit(f"error: {exc}")
