"""How the estimator's interval was chosen: candidate high ends scored on development cases.

    OMP_NUM_THREADS=1 python benchmarks/jsd_interval.py            # → benchmarks/results/jsd_interval.jsonl
    python benchmarks/jsd_interval.py --summary                     # coverage and width of each candidate

Refits `estimate_jsd`'s critic exactly as it does (same seeds, same splits, the draws of
`jsd_accuracy.py`) on every development case and records the same critic's value on its
score split (the estimate), its fit split, its select split and both. Validation cases are
never read: the rule chosen here was then run on them once (`jsd_accuracy.py`).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's gan_core, whichever is installed
from gan_core import jsd as J  # noqa: E402
from gan_core.jsd_cases import all_cases  # noqa: E402

TRUTH = json.loads((ROOT / "tests" / "data" / "jsd_truth.json").read_text())
OUT = ROOT / "benchmarks" / "results" / "jsd_interval.jsonl"
Z = 1.959964  # two-sided 95 %
BOUND_COST = J._bound_cost()


def measure(seeds: int = 3, n: int = 20_000) -> None:
    OUT.write_text("")
    for name, case in all_cases().items():
        if case.split != "development":
            continue
        for seed in range(seeds):
            x, y = case.sample(n, np.random.default_rng(1000 + seed))  # jsd_accuracy.py's draws
            critic, pr, pf = J._split_and_fit(  # exactly as estimate_jsd with its defaults
                J._as_tensor(x, "real"),
                J._as_tensor(y, "fake"),
                seed=seed,
                device=None,
                fractions=J.DEFAULT_FRACTIONS,
                settings=J.CriticSettings(),
            )
            value = critic.score
            score = value(pr[2], pf[2])
            row = {
                "case": name,
                "seed": seed,
                "truth": TRUTH[name]["jsd"],
                "score": score.unclipped,
                "se": score.stderr,
                "fit": value(pr[0], pf[0]).unclipped,
                "sel": value(pr[1], pf[1]).unclipped,
                "both": value(torch.cat(pr[:2]), torch.cat(pf[:2])).unclipped,
            }
            print(row, flush=True)
            with OUT.open("a") as fh:
                fh.write(json.dumps(row) + "\n")


RULES = {  # high end of the interval; the low end is always score - Z se
    "value + 1.96 se (noise only)": lambda r: r["score"] + Z * r["se"],
    "value + 1.96 se + the logit bound's cost": lambda r: r["score"] + Z * r["se"] + BOUND_COST,
    "max(value + 1.96 se, in-sample on fit + select)": lambda r: max(r["score"] + Z * r["se"], r["both"]) + BOUND_COST,
    "max(value, in-sample on fit + select) + 1.96 se": lambda r: max(r["score"], r["both"]) + Z * r["se"] + BOUND_COST,
    "max(value + 1.96 se, in-sample on fit)": lambda r: max(r["score"] + Z * r["se"], r["fit"]) + BOUND_COST,
    "max(value, in-sample on fit) + 1.96 se": lambda r: max(r["score"], r["fit"]) + Z * r["se"] + BOUND_COST,
}


def summary() -> None:
    rows = [json.loads(line) for line in OUT.read_text().splitlines()]
    clip = lambda v: min(max(v, 0.0), math.log(2))  # noqa: E731
    print(
        f"{len(rows)} development draws\n\n| high end | coverage | mean width | misses (error of the estimate) |\n|:--|--:|--:|:--|"
    )
    for label, high in RULES.items():
        held, widths, misses = 0, [], []
        for r in rows:
            lo, hi, truth = clip(r["score"] - Z * r["se"]), clip(high(r)), clip(r["truth"])
            ok = lo - 1e-12 <= truth <= hi + 1e-12
            held += ok
            widths.append(hi - lo)
            if not ok:
                misses.append(f"{r['case']} {r['seed']} ({r['score'] - r['truth']:+.4f})")
        print(f"| {label} | {held}/{len(rows)} | {sum(widths) / len(widths):.4f} | {', '.join(misses)} |")
    for key, label in (("score", "the estimate (score split)"), ("both", "in-sample (fit + select)")):
        err = [r[key] - r["truth"] for r in rows]
        print(f"\n{label}: max |error| {max(map(abs, err)):.4f}, mean |error| {sum(map(abs, err)) / len(err):.4f}")
    gap = [r["both"] - r["score"] for r in rows]
    print(f"in-sample minus estimate: {min(gap):+.4f} to {max(gap):+.4f}")


if __name__ == "__main__":
    summary() if "--summary" in sys.argv else measure()
