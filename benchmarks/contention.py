"""Training throughput when the machine is shared: one training alone, then two at once.

    python benchmarks/contention.py                 # 20 s per measurement, 2 rounds
    python benchmarks/contention.py --seconds 30 --rounds 3

Each measurement runs fresh worker processes (the default ring8 MLP pair, the default
config's per-step work) for a fixed wall time and counts the generator steps they made
after a short warm-up. Three thread policies are compared in the same run:
- `torch default`: what a plain PyTorch process does (one thread per core, OpenMP's
  spinning wait policy);
- `passive, all cores`: one thread per core, idle threads sleeping (OMP_WAIT_POLICY=PASSIVE);
- `project`: what the pipeline's processes do by default (GAN_THREADS, else OMP_NUM_THREADS,
  else 1 thread; OMP_WAIT_POLICY=PASSIVE set before torch loads, in flows/ and tasks/).
The ratio is steps/s of each of two concurrent trainings over steps/s alone (fair share on
a machine that both fill: 0.5). Appends a JSON row to benchmarks/results/contention.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "contention.jsonl"
POLICIES = {
    "torch default": {"OMP_WAIT_POLICY": None, "GAN_THREADS": None, "OMP_NUM_THREADS": None},
    "passive, all cores": {
        "OMP_WAIT_POLICY": "PASSIVE",
        "GAN_THREADS": str(len(os.sched_getaffinity(0))),
        "OMP_NUM_THREADS": None,
    },
    "project (passive, 1 thread)": {
        "OMP_WAIT_POLICY": "PASSIVE",
        "GAN_THREADS": None,
        "OMP_NUM_THREADS": None,
    },  # the defaults
}
WARMUP_S = 3.0


def worker(seconds: float, project_threads: bool) -> None:
    """Train until `seconds` of wall time have passed; print the steps/s after the warm-up."""
    sys.path.insert(0, str(ROOT))
    import torch

    from gan_core.callbacks import Callback
    from gan_core.config import load_config
    from gan_core.datasets import load_dataset
    from gan_core.runtime import use_threads
    from gan_core.train import fit_gan

    if project_threads:
        use_threads()

    class Clock(Callback):
        def on_start(self, generator, discriminator):
            self.t0, self.mark = time.perf_counter(), None

        def on_step(self, step, metrics):
            now = time.perf_counter()
            if self.mark is None and now - self.t0 >= WARMUP_S:
                self.mark = (step, now)
            if now - self.t0 >= WARMUP_S + seconds:
                rate = (step - self.mark[0]) / (now - self.mark[1])
                print(json.dumps({"steps_per_s": rate, "threads": torch.get_num_threads()}), flush=True)
                raise SystemExit(0)

    cfg = load_config(
        ROOT / "params.yaml",
        ["train.progress=false", "train.jsd_every=0", "train.steps=1000000", "device=cpu", "data.n_train=20000"],
    )
    fit_gan(cfg, load_dataset(cfg.data, cfg.seed), callbacks=[Clock()])


def measure(policy: dict[str, str | None], copies: int, seconds: float) -> list[float]:
    env = dict(os.environ)
    for key, value in policy.items():
        env.pop(key, None)
        if value is not None:
            env[key] = value
    args = [sys.executable, __file__, "--worker", "--seconds", str(seconds)] + (
        ["--project-threads"] if policy["OMP_WAIT_POLICY"] else []
    )
    procs = [subprocess.Popen(args, env=env, stdout=subprocess.PIPE, text=True) for _ in range(copies)]
    outs = [p.communicate(timeout=seconds * 20 + 300)[0] for p in procs]
    return [json.loads(o.strip().splitlines()[-1])["steps_per_s"] for o in outs]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--project-threads", action="store_true")
    args = parser.parse_args()
    if args.worker:
        return worker(args.seconds, args.project_threads)
    rows = {}
    for name, policy in POLICIES.items():
        alone, pair = [], []
        for _ in range(args.rounds):
            alone += measure(policy, 1, args.seconds)
            pair += measure(policy, 2, args.seconds)
        a, p = statistics.median(alone), statistics.median(pair)
        rows[name] = {
            "alone_steps_per_s": round(a, 1),
            "shared_steps_per_s": round(p, 1),
            "ratio": round(p / a, 3),
            "alone_runs": [round(x, 1) for x in alone],
            "shared_runs": [round(x, 1) for x in pair],
        }
        print(
            f"{name:>14}: alone {a:7.1f} steps/s, with a second training {p:7.1f} steps/s each → {p / a:.2f}× (fair share 0.50)",
            flush=True,
        )
    row = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "cores_given": len(os.sched_getaffinity(0)),
        "seconds": args.seconds,
        "rounds": args.rounds,
        "command": "python benchmarks/contention.py"
        + (f" --seconds {args.seconds:g}" if args.seconds != 20 else "")
        + (f" --rounds {args.rounds}" if args.rounds != 2 else ""),
        "policies": rows,
    }
    with OUT.open("a") as f:
        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
