"""Seconds per generator step of the default training run against variants of it, measured
in the same run (alternating rounds, median kept), so the ratio holds on a noisy machine.

    OMP_NUM_THREADS=1 python benchmarks/step_cost.py model.g_layers=3 model.d_layers=4 --steps 1000

Each positional `key=value` is one variant (one override each); the defaults are the baseline.
Used to price a change of the defaults (BENCHMARKS.md, "GAN mode coverage").
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    import torch

    from gan_core.config import load_config
    from gan_core.datasets import load_dataset
    from gan_core.errors import ConfigError
    from gan_core.train import fit_gan

    ap = argparse.ArgumentParser()
    ap.add_argument("variants", nargs="*", help="key=value overrides, one variant each")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--data", default="ring8")
    args = ap.parse_args()
    torch.set_num_threads(1)
    base = [f"data.name={args.data}", f"train.steps={args.steps}", "train.progress=false", "device=cpu"]
    try:
        configs = {"defaults": load_config(ROOT / "params.yaml", base)}
        configs |= {v: load_config(ROOT / "params.yaml", [*base, v]) for v in args.variants}
    except ConfigError as exc:
        sys.exit(f"error: {exc}")
    data = load_dataset(configs["defaults"].data, 0)
    times: dict[str, list[float]] = {name: [] for name in configs}
    for _ in range(args.rounds):
        for name, cfg in configs.items():
            t0 = time.perf_counter()
            fit_gan(cfg, data)
            times[name].append((time.perf_counter() - t0) / args.steps)
    base_s = statistics.median(times["defaults"])
    for name, ts in times.items():
        s = statistics.median(ts)
        print(f"{name:24s} {1000 * s:7.2f} ms/step  x{s / base_s:.2f} of the defaults")


if __name__ == "__main__":
    main()
