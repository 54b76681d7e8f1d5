"""How the estimator's interval was chosen: candidate high ends scored on development cases.

    OMP_NUM_THREADS=1 python benchmarks/jsd_interval.py            # → benchmarks/results/jsd_interval.jsonl
    OMP_NUM_THREADS=1 python benchmarks/jsd_interval.py --seeds 6 --cases a,b   # more draws, some cases;
                                                                    # draws already recorded are kept, not rerun
    python benchmarks/jsd_interval.py --summary [--estimator NAME]  # coverage and width of each candidate high
                                                                    # end, the error of each point estimate
                                                                    # (rows are kept per critic: gan_core.jsd.ESTIMATOR)

Refits `estimate_jsd`'s critic exactly as it does (same seeds, same splits, the draws of
`jsd_accuracy.py`) on every development case and records the same critic's value on its
score split (the estimate), its fit split, its select split and both. Validation cases are
never read: the rule chosen here was then run on them once (`jsd_accuracy.py`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's gan_core, whichever is installed
sys.path.insert(0, str(ROOT / "benchmarks"))
from rows import FIRST_ALL_SAMPLES  # noqa: E402

from gan_core import jsd as J  # noqa: E402
from gan_core.jsd_cases import all_cases  # noqa: E402

TRUTH = json.loads((ROOT / "tests" / "data" / "jsd_truth.json").read_text())
OUT = ROOT / "benchmarks" / "results" / "jsd_interval.jsonl"
Z = 1.959964  # two-sided 95 %
BOUND_COST = J._bound_cost()


def refit(x, y, seed: int):
    """The estimator's critic fitted exactly as `estimate_jsd` fits it with its defaults, with
    its real and fake fit / select / score parts."""
    return J._split_and_fit(
        J._as_tensor(x, "real"),
        J._as_tensor(y, "fake"),
        seed=seed,
        device=None,
        fractions=J.DEFAULT_FRACTIONS,
        settings=J.CriticSettings(),
    )


def measure(seeds: int = 3, n: int = 20_000, cases: set[str] | None = None) -> None:
    done = {(r["case"], r["seed"]) for r in _rows(J.ESTIMATOR)}
    for name, case in all_cases().items():
        if case.split != "development" or (cases and name not in cases):
            continue
        for seed in range(seeds):
            if (name, seed) in done:
                continue
            x, y = case.sample(n, np.random.default_rng(1000 + seed))  # jsd_accuracy.py's draws
            critic, pr, pf = refit(x, y, seed)
            value = critic.score
            score = value(pr[2], pf[2])
            row = {
                "case": name,
                "seed": seed,
                "jsd_estimator": J.ESTIMATOR,
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


def _all(r: dict) -> float:
    """The critic's value on all samples: the score split and fit + select pooled by their counts."""
    share = J.DEFAULT_FRACTIONS[2]
    return share * r["score"] + (1 - share) * r["both"]


def _low(r: dict, *others: float) -> float:
    """The low end: the held-out value (or the least of `others`, if lower) less 1.96 se."""
    return min((r["score"], *others)) - Z * r["se"]


RULES = {  # (low end, high end) of the interval; before 2026-12-06 the low end was always _low(r)
    "value + 1.96 se (noise only)": lambda r: (_low(r), r["score"] + Z * r["se"]),
    "value + 1.96 se + the logit bound's cost": lambda r: (_low(r), r["score"] + Z * r["se"] + BOUND_COST),
    "max(value + 1.96 se, in-sample on fit + select)": lambda r: (
        _low(r),
        max(r["score"] + Z * r["se"], r["both"]) + BOUND_COST,
    ),
    "max(value, in-sample on fit + select) + 1.96 se": lambda r: (_low(r), _high(r, "both")),
    "max(value + 1.96 se, in-sample on fit)": lambda r: (_low(r), max(r["score"] + Z * r["se"], r["fit"]) + BOUND_COST),
    "max(value, in-sample on fit) + 1.96 se": lambda r: (_low(r), _high(r, "fit")),
    "low end min(value, all samples) - 1.96 se; high end as the fourth": lambda r: (_low(r, _all(r)), _high(r, "both")),
    "min / max of (value, in-sample on fit + select), 1.96 se either side": lambda r: (
        _low(r, r["both"]),
        _high(r, "both"),
    ),
}


def _high(r: dict, seen: str) -> float:
    """The larger of the held-out value and the in-sample value on `seen`, plus 1.96 se and the bound's cost."""
    return max(r["score"], r[seen]) + Z * r["se"] + BOUND_COST


def _rows(estimator: str | None = None) -> list[dict]:
    """The recorded draws of `estimator`'s critic (all, if None); rows made before the critic
    was named are the width-64 critic's (benchmarks/rows.py)."""
    rows = [json.loads(line) for line in OUT.read_text().splitlines()] if OUT.exists() else []
    for r in rows:
        r.setdefault("jsd_estimator", FIRST_ALL_SAMPLES)
    return [r for r in rows if estimator in (None, r["jsd_estimator"])]


POINTS = {  # point estimates from the same critic
    "the estimate (score split)": lambda r: r["score"],
    "in-sample (fit + select)": lambda r: r["both"],
    "midpoint of the two": lambda r: (r["score"] + r["both"]) / 2,
    "all samples (score 30 %, fit + select 70 %)": _all,
}


def summary(estimator: str = J.ESTIMATOR) -> None:
    rows = _rows(estimator)
    if not rows:
        recorded = sorted({r["jsd_estimator"] for r in _rows()})
        sys.exit(f"no draws recorded with the critic '{estimator}'; recorded: {recorded} (--estimator NAME)")
    print(f"critic: {estimator}")
    clip = lambda v: min(max(v, 0.0), math.log(2))  # noqa: E731
    print(
        f"{len(rows)} development draws\n\n| interval | coverage | mean width | all-samples estimate outside | misses (error of the estimate) |\n|:--|--:|--:|--:|:--|"
    )
    for label, rule in RULES.items():
        held, widths, misses, outside = 0, [], [], 0
        for r in rows:
            (lo, hi), truth = map(clip, rule(r)), clip(r["truth"])
            ok = lo - 1e-12 <= truth <= hi + 1e-12
            held += ok
            outside += not lo - 1e-12 <= clip(_all(r)) <= hi + 1e-12
            widths.append(hi - lo)
            if not ok:
                misses.append(f"{r['case']} {r['seed']} ({r['score'] - r['truth']:+.4f})")
        print(f"| {label} | {held}/{len(rows)} | {sum(widths) / len(widths):.4f} | {outside} | {', '.join(misses)} |")
    print("\n| point estimate | max \\|error\\| | mean \\|error\\| | mean error | worst case |\n|:--|--:|--:|--:|:--|")
    for label, point in POINTS.items():
        err = [(point(r) - r["truth"], r) for r in rows]
        worst = max(err, key=lambda e: abs(e[0]))
        print(
            f"| {label} | {abs(worst[0]):.4f} | {sum(abs(e) for e, _ in err) / len(err):.4f} | "
            f"{sum(e for e, _ in err) / len(err):+.4f} | {worst[1]['case']} {worst[1]['seed']} |"
        )
    gap = [r["both"] - r["score"] for r in rows]
    print(f"in-sample minus estimate: {min(gap):+.4f} to {max(gap):+.4f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--summary", action="store_true")
    ap.add_argument("--seeds", type=int, default=3, help="sample draws per case (jsd_accuracy.py's first ones)")
    ap.add_argument("--cases", default="", help="comma-separated development cases (default: all)")
    ap.add_argument("--estimator", default=J.ESTIMATOR, help="--summary of this critic's draws (default: today's)")
    args = ap.parse_args()
    summary(args.estimator) if args.summary else measure(args.seeds, cases=set(filter(None, args.cases.split(","))))
