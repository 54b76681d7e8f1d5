"""The estimator critic's shortfall from D*, separated from sampling noise: its held-out value
against the true log-density ratio scored on the very same held-out samples.

    OMP_NUM_THREADS=1 python benchmarks/jsd_shortfall.py [--cases grid64_shift_1std] [--seeds 6]
                                        # → benchmarks/results/jsd_shortfall.md

Fits the critic exactly as `estimate_jsd` does (jsd_accuracy.py's draws, its seeds and splits).
On a draw, value − true-ratio value is the critic's shortfall alone (both see the same noise);
the in-sample value's excess over the true ratio on the fit and select samples is the optimism
that the estimate on all samples sets against it. Development cases only by default.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's gan_core, whichever is installed
from gan_core import jsd as J  # noqa: E402
from gan_core.jsd_cases import all_cases  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from jsd_interval import refit  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "jsd_shortfall.md"


def _true_value(case, real: torch.Tensor, fake: torch.Tensor) -> float:
    """The JSD̂ of D* itself (logit log p/q, exact densities) on these samples."""
    x, y = (t.reshape(len(t), -1).double().numpy() for t in (real, fake))
    lx, ly = (torch.from_numpy(case.p.log_prob(v) - case.q.log_prob(v)) for v in (x, y))
    return J.score_logits(lx, ly).unclipped


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default="grid64_shift_1std")
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--n", type=int, default=20_000)
    args = ap.parse_args()
    torch.set_num_threads(1)
    lines = [
        f"n = {args.n} per side, draws 0-{args.seeds - 1} (jsd_accuracy.py's), critic '{J.ESTIMATOR}', one thread, "
        f"{time.strftime('%Y-%m-%d')}. "
        "Shortfall: the critic's held-out value minus D*'s on the same held-out samples; optimism: its in-sample "
        "value minus D*'s on the same fit + select samples.",
        "",
        "| case | draw | held-out value | D* on them | shortfall | in-sample value | D* on them | optimism |",
        "|:--|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for name in args.cases.split(","):
        case = all_cases()[name]
        short, opt = [], []
        for seed in range(args.seeds):
            x, y = case.sample(args.n, np.random.default_rng(1000 + seed))
            critic, pr, pf = refit(x, y, seed)
            held, held_true = critic.score(pr[2], pf[2]).unclipped, _true_value(case, pr[2], pf[2])
            seen_r, seen_f = torch.cat(pr[:2]), torch.cat(pf[:2])
            seen, seen_true = critic.score(seen_r, seen_f).unclipped, _true_value(case, seen_r, seen_f)
            short.append(held - held_true)
            opt.append(seen - seen_true)
            lines.append(
                f"| {name} | {seed} | {held:.4f} | {held_true:.4f} | {short[-1]:+.4f} | {seen:.4f} | {seen_true:.4f} | {opt[-1]:+.4f} |"
            )
            print(lines[-1], flush=True)
        lines.append(f"| **{name}, mean** | | | | **{np.mean(short):+.4f}** | | | **{np.mean(opt):+.4f}** |")
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
