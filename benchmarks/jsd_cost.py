"""Time of `estimate_jsd` against the naive critic's, alone on the machine, repeated.

    OMP_NUM_THREADS=1 python benchmarks/jsd_cost.py [--reps 3] [--split validation] [--cases a,b] [--batch-size 256] [--hidden 48]
                                          # → benchmarks/results/jsd_cost[_split][_batchB][_hiddenH][_some_cases].md (and .jsonl, one row a rep)

`jsd_accuracy.py` times each estimate once per draw; on a 2-core VM one process's time for
the same work varies by a third from one run to the next, so the worst case's ratio there
moves by as much. Here each case's first draw (n = 20,000 a side, as in `jsd_accuracy.py`) is
timed `--reps` times, the estimator and the naive critic alternating (which goes first
alternates too), one thread, after one untimed warm-up. Per case: the ratio of the mean
times, of the median times and of the fastest times.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's gan_core, whichever is installed
sys.path.insert(0, str(ROOT / "benchmarks"))
from jsd_accuracy import naive  # noqa: E402

from gan_core.jsd import estimate_jsd  # noqa: E402
from gan_core.jsd_cases import all_cases  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "jsd_cost.md"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--split", choices=("all", "development", "validation"), default="validation")
    ap.add_argument("--cases", default="", help="comma-separated case names (default: every case of the split)")
    ap.add_argument("--batch-size", type=int, default=0, help="critic minibatch per side (default: the estimator's)")
    ap.add_argument(
        "--hidden", type=int, default=0, help="hidden width of the MLP candidates (default: the estimator's)"
    )
    args = ap.parse_args()
    kw = {k: v for k, v in (("batch_size", args.batch_size), ("hidden", args.hidden)) if v}
    wanted = set(filter(None, args.cases.split(",")))
    stem = (
        "jsd_cost"
        + ("" if args.split == "validation" else f"_{args.split}")
        + "".join(f"_{k.split('_')[0]}{v}" for k, v in kw.items())
        + ("_some_cases" if wanted else "")
    )
    out = OUT.with_name(stem + ".md")
    torch.set_num_threads(1)
    cases = {k: c for k, c in all_cases().items() if args.split in ("all", c.split) and (not wanted or k in wanted)}
    first = next(iter(cases.values())).sample(1000, np.random.default_rng(0))
    estimate_jsd(*first, steps=20), naive(*first, 0)  # warm-up, untimed
    rows, lines = [], []
    for name, case in cases.items():
        x, y = case.sample(args.n, np.random.default_rng(1000))  # jsd_accuracy.py's first draw
        times: dict[str, list[float]] = {"ours": [], "naive": []}
        for rep in range(args.reps):
            order = ("ours", "naive") if rep % 2 == 0 else ("naive", "ours")
            for who in order:
                t0 = time.perf_counter()
                estimate_jsd(x, y, seed=0, **kw) if who == "ours" else naive(x, y, 0)
                times[who].append(time.perf_counter() - t0)
            rows.append({"case": name, "rep": rep, "ours_s": times["ours"][-1], "naive_s": times["naive"][-1]})
            print(json.dumps(rows[-1]), flush=True)
        o, v = times["ours"], times["naive"]
        per_rep = [a / b for a, b in zip(o, v)]
        lines.append(
            f"| {name} | {statistics.mean(o):.2f} | {statistics.mean(v):.2f} | {statistics.mean(o) / statistics.mean(v):.2f} | "
            f"{statistics.median(o) / statistics.median(v):.2f} | {min(o) / min(v):.2f} | "
            f"{min(per_rep):.2f}–{max(per_rep):.2f} |"
        )
    head = [
        f"n = {args.n} per side, critic settings {kw or 'default'}, {args.reps} timed reps per case (estimator and naive critic alternating), one thread, "
        f"{time.strftime('%Y-%m-%d %H:%M')}, nothing else running. Times in seconds.",
        "",
        "| case | ours, mean | naive, mean | ratio of means | ratio of medians | ratio of fastest | per-rep ratios |",
        "|:--|--:|--:|--:|--:|--:|:--|",
    ]
    text = "\n".join(head + lines) + "\n"
    out.write_text(text)
    out.with_suffix(".jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(text)


if __name__ == "__main__":
    main()
