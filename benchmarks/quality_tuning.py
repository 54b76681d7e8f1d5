"""One training run with overrides on top of params.yaml, scored like gan_quality.py, plus where
the low-quality samples are (near a mode, 3–6 std out, or on bridges, > 6 std).

    OMP_NUM_THREADS=1 python benchmarks/quality_tuning.py <label> ring8 0 model.layers=4 train.r1=0.03

Appends a JSON row to benchmarks/results/quality_tuning.jsonl; used to choose the defaults.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "results" / "quality_tuning.jsonl"


def main(label: str, data_name: str, seed: str, *pairs: str) -> None:
    from gan_core.config import load_config
    from gan_core.datasets import load_dataset
    from gan_core.metrics import mode_metrics
    from gan_core.train import fit_gan, sample

    torch.set_num_threads(1)
    overrides = {"data.name": data_name, "seed": int(seed), "train.progress": False}
    changed = {}
    for pair in pairs:
        key, value = pair.split("=", 1)
        changed[key] = json.loads(value) if value[:1] in "0123456789-[{tf" else value
    cfg = load_config(ROOT / "params.yaml", {**overrides, **changed})
    data = load_dataset(cfg.data, cfg.seed)
    t0 = time.perf_counter()
    result = fit_gan(cfg, data)
    samples = sample(result.generator, cfg.evaluate.n_metric_samples, seed=int(seed) + 2)  # as gan_quality.py
    mix = data.mixture
    dist = np.sqrt(((samples[:, None] - mix.centres[None]) ** 2).sum(-1)).min(1) / mix.stds[0]
    row = {"name": label, "data": data_name, "seed": int(seed), **changed, **mode_metrics(samples, mix).as_dict(),
           "median_std": round(float(np.median(dist)), 3), "frac_3_6_std": round(float(((dist > 3) & (dist <= 6)).mean()), 4),
           "frac_over_6_std": round(float((dist > 6).mean()), 4), "seconds": round(time.perf_counter() - t0)}
    print(json.dumps(row), flush=True)
    with open(OUT, "a") as f:
        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
