"""What the benchmark scripts share: the evaluation keys a row records, append a result row,
run `main` with one-line errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

EVAL_KEYS = (  # the evaluation's numbers a benchmark row records (metrics/eval.json keys)
    "jsd",
    "jsd_ci_low",
    "jsd_ci_high",
    "jsd_lower_bound",
    "jsd_held_out",
    "modes_covered",
    "modes_total",
    "high_quality_fraction",
    "mode_var_min",
    "mode_var_max",
    "mode_var_worst",
    "jsd_corrected",
    "jsd_corrected_ci_low",
    "jsd_corrected_ci_high",
    "correction_acceptance",
    "high_quality_fraction_corrected",
    "mode_var_min_corrected",
    "eval_seconds",
)


HELD_OUT = "held-out"  # rows from before 2026-12-06: `jsd` is the held-out value
FIRST_ALL_SAMPLES = "all samples; critic batch 512, hidden 64, steps 2000, patience 3"  # 2026-12-06, unnamed in rows


def estimator(row: dict) -> str:
    """Which estimator a row's `jsd` is of (gan_core.jsd.estimator_name): rows name it since
    the critic's settings changed after 2026-12-06; before, rows without `jsd_held_out` are
    held-out values, and rows with it are the all-samples estimate of the batch-512 critic."""
    if "jsd_estimator" in row:
        return row["jsd_estimator"]
    return FIRST_ALL_SAMPLES if "jsd_held_out" in row else HELD_OUT


def held_out(row: dict) -> float:
    """The critic's held-out value, the one quantity every row has, whichever its estimator."""
    return row.get("jsd_held_out", row["jsd"])


def eval_row(metrics: dict) -> dict:
    """The EVAL_KEYS present in `metrics`, floats rounded to 4 places."""
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items() if k in EVAL_KEYS}


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
