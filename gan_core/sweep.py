"""Sweeps: a grid of dotted-key values → member configs, and the study's aggregate table.

The `sweep` section of `params.yaml` says what to sweep; it is read apart from the run
config (`Config`), so a sweep's settings never change a single run's params or checkpoint.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from gan_core.config import SweepConfig, load_config, read_params, validate_params
from gan_core.errors import ConfigError

MAX_MEMBERS = 1000


@dataclass(frozen=True)
class Member:
    name: str  # e.g. "loss=mm,seed=0": unique within the sweep, used for the MLflow run name
    overrides: dict[str, Any]  # the sweep's overrides plus this member's grid values
    values: dict[str, Any]  # this member's grid values only


def load_sweep_config(path: str | Path = "params.yaml", **given: Any) -> SweepConfig:
    """The `sweep` section of `path`, with non-None keyword values (flow parameters) on top,
    validated with the rest of the file as one `ParamsFile`."""
    raw = read_params(path)
    sweep = dict(raw.get("sweep") or {})
    for key, value in given.items():
        if value is not None:  # given overrides add to (and win over) the file's
            sweep[key] = {**(sweep.get(key) or {}), **value} if key == "overrides" else value
    return validate_params({**raw, "sweep": sweep}).sweep


def expand_grid(sweep: SweepConfig, params_path: str | Path = "params.yaml") -> list[Member]:
    """Every combination of the grid, each validated as a run config before any work starts."""
    keys = list(sweep.grid)
    combos = list(itertools.product(*(sweep.grid[k] for k in keys)))
    if len(combos) > MAX_MEMBERS:
        raise ConfigError(f"config: 'sweep.grid' makes {len(combos)} members; allowed: at most {MAX_MEMBERS}")
    members = []
    for combo in combos:
        values = dict(zip(keys, combo))
        overrides = {**sweep.overrides, **values}
        load_config(params_path, overrides)  # one clear line naming the bad key or value
        name = ",".join(f"{k.split('.')[-1]}={v}" for k, v in values.items())
        members.append(Member(name, overrides, values))
    return members


def summarise(results: list[Mapping[str, Any]], by: list[str]) -> pd.DataFrame:
    """Aggregate member results over the other grid keys (seeds): mean ± std of JSD̂, mean CI,
    modes, high-quality fraction and time, per combination of `by` (e.g. loss and k)."""
    df = pd.DataFrame(results)
    if df.empty:
        return df
    agg: dict[str, tuple[str, str]] = {
        "members": ("jsd", "size"),
        "jsd_mean": ("jsd", "mean"),
        "jsd_worst": ("jsd", "max"),
        "jsd_std": ("jsd", "std"),
        "jsd_ci_low_mean": ("jsd_ci_low", "mean"),
        "jsd_ci_high_mean": ("jsd_ci_high", "mean"),
    }
    for col in (
        "modes_covered",
        "high_quality_fraction",
        "mode_var_min",
        "mode_var_max",
        "train_seconds",
        "eval_seconds",
    ):
        if col in df:
            agg[f"{col}_mean"] = (col, "mean")
    out = df.groupby(by, dropna=False).agg(**agg).reset_index()
    return out.sort_values("jsd_mean").reset_index(drop=True)
