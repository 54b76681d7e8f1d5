"""Seconds per generator step of the default training run against variants of it, measured
in the same run (alternating rounds, median kept), so the ratio holds on a noisy machine.

    OMP_NUM_THREADS=1 python benchmarks/step_cost.py model.g_layers=3 model.d_layers=4 --steps 1000

Each positional argument is one variant: one `key=value`, or several separated by spaces in
one quoted argument, optionally after a name (`"issue-baseline train.steps=30000 ..."`, e.g.
an older set of defaults); the defaults are the baseline. Every
config trains `--steps` steps (its schedules scale with the run, so the per-step average is
that of a whole run); "per run" multiplies by the config's own `train.steps`, so variants
with other step counts compare by a whole run's compute. Used to price a change of the
defaults (BENCHMARKS.md, "GAN mode coverage" and "GAN quality by JSD̂ first").
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
    steps = f"train.steps={args.steps}"  # last, over a variant's own
    base = [f"data.name={args.data}", "train.progress=false", "device=cpu"]
    variants: dict[str, list[str]] = {"defaults": []}
    for v in args.variants:  # "[label] key=value ...": a first word without "=" names the variant
        words = v.split()
        label, sets = (words[0], words[1:]) if words and "=" not in words[0] else (v, words)
        variants[label] = sets
    try:
        configs = {name: load_config(ROOT / "params.yaml", [*base, *sets, steps]) for name, sets in variants.items()}
        run_steps = {
            name: load_config(ROOT / "params.yaml", [*base, *sets]).train.steps for name, sets in variants.items()
        }
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
    base_run = base_s * run_steps["defaults"]
    for name, ts in times.items():
        s = statistics.median(ts)
        per_run = s * run_steps[name]
        print(
            f"{name:28s} {1000 * s:7.2f} ms/step  x{s / base_s:.2f} of the defaults;"
            f" per run ({run_steps[name]} steps) {per_run:7.1f} s  x{per_run / base_run:.2f}"
        )


if __name__ == "__main__":
    main()
