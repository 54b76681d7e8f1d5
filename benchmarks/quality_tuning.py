"""One training run with overrides on top of params.yaml, scored like gan_quality.py, plus where
the low-quality samples are (near a mode, 3–6 std out, or on bridges, > 6 std).

    OMP_NUM_THREADS=1 python benchmarks/quality_tuning.py <label> ring8 0 model.g_layers=4 train.r1=0.03

Appends a JSON row to benchmarks/results/quality_tuning.jsonl; used to choose the defaults.
Torch threads follow OMP_NUM_THREADS (1 when unset, so two runs can share 2 cores); the row
records them, and its `seconds` is the whole run's wall time, training and scoring.
"""

from __future__ import annotations

import os
import sys
import time
from functools import reduce
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from rows import append_row, run_main  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "quality_tuning.jsonl"


def main(label: str, data_name: str, seed: str, *pairs: str) -> None:
    from gan_core.config import load_config
    from gan_core.datasets import load_dataset
    from gan_core.mode_metrics import mode_metrics, nearest_mode
    from gan_core.train import fit_gan, sample

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or 1))
    cfg = load_config(ROOT / "params.yaml", [f"data.name={data_name}", f"seed={seed}", "train.progress=false", *pairs])
    changed = {
        key: reduce(getattr, key.split("."), cfg) for key in (pair.split("=", 1)[0] for pair in pairs)
    }  # as validated
    data = load_dataset(cfg.data, cfg.seed)
    t0 = time.perf_counter()
    result = fit_gan(cfg, data)
    samples = sample(result.generator, cfg.evaluate.n_metric_samples, seed=cfg.seed + 2)  # as gan_quality.py
    mix = data.mixture
    nearest, dist = nearest_mode(samples, mix)
    dist = dist / mix.stds[nearest]
    row = {
        "name": label,
        "data": data_name,
        "seed": cfg.seed,
        **changed,
        **mode_metrics(samples, mix).as_dict(),
        "median_std": round(float(np.median(dist)), 3),
        "frac_3_6_std": round(float(((dist > 3) & (dist <= 6)).mean()), 4),
        "frac_over_6_std": round(float((dist > 6).mean()), 4),
        "seconds": round(time.perf_counter() - t0),
        "threads": torch.get_num_threads(),
    }
    append_row(OUT, row)


if __name__ == "__main__":
    run_main(main)
