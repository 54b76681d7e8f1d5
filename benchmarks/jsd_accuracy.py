"""Accuracy, interval coverage and speed of `estimate_jsd` on pairs with exactly known JSD.

    python benchmarks/jsd_accuracy.py [--seeds 3] [--n 20000] [--split all|development|validation] [--sizes ""]
                                      [--cases a,b] [--no-quadratic] [--scales 1,4,12] [--features 32]
                                      [--fractions 0.5,0.2,0.3] [--folds 2] [--batch-size 256] [--steps 1000] [--patience 6] [--hidden 48]
                                      [--conv-channels 8]
                                          # → benchmarks/results/jsd_accuracy[_split][_nN][_<flags>][_some_cases].md

Three estimators on the same samples, timed in the same run:
* naive  — one MLP critic (2 hidden layers of 128), 2,000 Adam steps, half the data to fit,
           half to score (the yardstick in the issue);
* ours   — `estimate_jsd` with its defaults (its held-out value beside it: the estimate before 2026-12-06);
* oracle — the true log-density ratio scored on the same samples (the floor at this n).
Truth: tests/data/jsd_truth.json (benchmarks/make_jsd_truth.py, 1e6 samples a side).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's gan_core, whichever is installed
import gan_core.jsd  # noqa: E402
from gan_core.jsd import estimate_jsd, score_logits  # noqa: E402
from gan_core.jsd_cases import all_cases  # noqa: E402

TRUTH = json.loads((ROOT / "tests" / "data" / "jsd_truth.json").read_text())
OUT = ROOT / "benchmarks" / "results" / "jsd_accuracy.md"


def naive(x: np.ndarray, y: np.ndarray, seed: int) -> float:
    torch.manual_seed(seed)
    x, y = x.reshape(len(x), -1), y.reshape(len(y), -1)
    x_t, y_t = torch.from_numpy(x), torch.from_numpy(y)
    hx, hy = len(x) // 2, len(y) // 2
    d = x.shape[1]
    net = torch.nn.Sequential(
        torch.nn.Linear(d, 128), torch.nn.ReLU(), torch.nn.Linear(128, 128), torch.nn.ReLU(), torch.nn.Linear(128, 1)
    )
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(seed)
    for _ in range(2000):
        i, j = torch.randint(hx, (256,), generator=g), torch.randint(hy, (256,), generator=g)
        loss = -(F.logsigmoid(net(x_t[i])).mean() + F.logsigmoid(-net(y_t[j])).mean())
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return score_logits(net(x_t[hx:]).squeeze(-1), net(y_t[hy:]).squeeze(-1)).unclipped


def oracle(p, q, x: np.ndarray, y: np.ndarray) -> float:
    """Logit of D* = log p - log q, scored on the same samples."""
    x, y = x.reshape(len(x), -1), y.reshape(len(y), -1)
    lx = torch.from_numpy(p.log_prob(x) - q.log_prob(x))
    ly = torch.from_numpy(p.log_prob(y) - q.log_prob(y))
    return score_logits(lx, ly).unclipped


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--sizes", default="1000,5000,20000,100000")
    ap.add_argument("--size-cases", default="grid25_shift_1std,ring8_radius_1std,gauss8d_shift")
    ap.add_argument("--split", choices=("all", "development", "validation"), default="all")
    ap.add_argument("--cases", default="", help="comma-separated case names (default: every case of the split)")
    ap.add_argument("--no-quadratic", action="store_true", help="without the quadratic candidate critic")
    ap.add_argument("--scales", default="", help="Fourier scales of the MLP candidates (default: the estimator's)")
    ap.add_argument("--features", type=int, default=0, help="Fourier features per candidate (default: the estimator's)")
    ap.add_argument("--fractions", default="", help="fit, select, score parts of each side (default: the estimator's)")
    ap.add_argument("--folds", type=int, default=0, help="cross-fitting folds (default: the estimator's)")
    ap.add_argument("--batch-size", type=int, default=0, help="critic minibatch per side (default: the estimator's)")
    ap.add_argument("--steps", type=int, default=0, help="most Adam steps per critic (default: the estimator's)")
    ap.add_argument(
        "--hidden", type=int, default=0, help="hidden width of the MLP candidates (default: the estimator's)"
    )
    ap.add_argument(
        "--patience",
        type=int,
        default=0,
        help="evaluations without improvement before a critic stops (default: the estimator's)",
    )
    ap.add_argument(
        "--conv-channels", type=int, default=0, help="base channels of the conv critic (default: the estimator's)"
    )
    args = ap.parse_args()
    critic_kw = {"quadratic": not args.no_quadratic}
    if args.scales:
        critic_kw["scales"] = tuple(map(float, args.scales.split(",")))
    if args.features:
        critic_kw["n_features"] = args.features
    if args.fractions:
        critic_kw["fractions"] = tuple(map(float, args.fractions.split(",")))
    if args.folds:
        critic_kw["folds"] = args.folds
    if args.batch_size:
        critic_kw["batch_size"] = args.batch_size
    if args.steps:
        critic_kw["steps"] = args.steps
    if args.patience:
        critic_kw["patience"] = args.patience
    if args.hidden:
        critic_kw["hidden"] = args.hidden
    if args.conv_channels:
        gan_core.jsd.CONV_CHANNELS = args.conv_channels  # a module constant: set for this process
    wanted = set(filter(None, args.cases.split(",")))
    cases = {k: c for k, c in all_cases().items() if args.split in ("all", c.split) and (not wanted or k in wanted)}
    rows = []
    for name, case in cases.items():
        p, q = case.p, case.q
        truth = TRUTH[name]["jsd"]
        for seed in range(args.seeds):
            rng = np.random.default_rng(1000 + seed)
            x, y = case.sample(args.n, rng)
            est, t_ours = timed(estimate_jsd, x, y, seed=seed, **critic_kw)
            nv, t_naive = timed(naive, x, y, seed)
            orc = oracle(p, q, x, y)
            covered = est.ci_low - 1e-12 <= min(max(truth, 0.0), math.log(2)) <= est.ci_high + 1e-12
            below = est.lower_bound <= max(truth, 0.0) + 1e-12  # the one-sided bound holds
            rows.append(
                {
                    "case": name,
                    "split": case.split,
                    "seed": seed,
                    "truth": truth,
                    "ours": est.unclipped,
                    "ours_err": est.unclipped - truth,
                    "held_out_err": est.as_dict()["jsd_held_out"] - truth,
                    "naive_err": nv - truth,
                    "oracle_err": orc - truth,
                    "ci_low": est.ci_low,
                    "ci_high": est.ci_high,
                    "ci_width": est.ci_high - est.ci_low,
                    "noise_width": 2 * 1.959964 * est.stderr,
                    "covered": covered,
                    "lower_bound": est.lower_bound,
                    "bound_holds": below,
                    "t_ours": t_ours,
                    "t_naive": t_naive,
                }
            )
            print(
                f"{name:24s} seed {seed}: truth {truth:.4f} ours {est.unclipped:+.4f} ({est.unclipped - truth:+.4f}, held-out {rows[-1]['held_out_err']:+.4f}, {t_ours:.1f}s) naive {nv - truth:+.4f} ({t_naive:.1f}s) oracle {orc - truth:+.4f} covered={covered} bound_holds={below}",
                flush=True,
            )
    df = pd.DataFrame(rows)
    table = df.groupby(["split", "case"], sort=False).agg(
        truth=("truth", "first"),
        ours_mean_err=("ours_err", "mean"),
        ours_max_abs_err=("ours_err", lambda e: e.abs().max()),
        held_out_mean_err=("held_out_err", "mean"),
        held_out_max_abs_err=("held_out_err", lambda e: e.abs().max()),
        naive_max_abs_err=("naive_err", lambda e: e.abs().max()),
        oracle_max_abs_err=("oracle_err", lambda e: e.abs().max()),
        ci_coverage=("covered", "mean"),
        ci_width_mean=("ci_width", "mean"),
        noise_width_mean=("noise_width", "mean"),
        lower_bound_coverage=("bound_holds", "mean"),
        t_ours_s=("t_ours", "mean"),
        t_naive_s=("t_naive", "mean"),
    )
    table["time_ratio"] = table.t_ours_s / table.t_naive_s
    size_rows = []
    for name in args.size_cases.split(",") if args.sizes else []:
        p, q = cases[name].p, cases[name].q
        for n in map(int, args.sizes.split(",")):
            rng = np.random.default_rng(7)
            x, y = p.sample(n, rng), q.sample(n, rng)
            est, t = timed(estimate_jsd, x, y, seed=0, **critic_kw)
            size_rows.append(
                {
                    "case": name,
                    "n_per_side": n,
                    "error": est.unclipped - TRUTH[name]["jsd"],
                    "ci_half_width": (est.ci_high - est.ci_low) / 2,
                    "oracle_error": oracle(p, q, x, y) - TRUTH[name]["jsd"],
                    "seconds": t,
                }
            )
            print(size_rows[-1], flush=True)
    sizes = pd.DataFrame(size_rows)
    lines = [
        f"n = {args.n} per side (the fake side of `*_unequal_n` a quarter of it), {args.seeds} sample draws per case, "
        f"torch threads = {torch.get_num_threads()}, {time.strftime('%Y-%m-%d')}. Development cases chose the settings; "
        "validation cases never did. Errors are of the estimate (ours) and of its held-out value. Coverage: the truth "
        "inside the two-sided 95% interval (noise below the smaller of the estimate and the held-out value; above, "
        "up to the critic's in-sample value too), its mean width beside the width of the noise alone; "
        "lower-bound coverage: the truth at or above the one-sided 95% lower bound.",
        "",
        table.round(4).to_markdown(),
        "",
    ]
    for split, part in df.groupby("split", sort=False):
        ratio = part.groupby("case").t_ours.mean() / part.groupby("case").t_naive.mean()
        lines.append(
            f"**{split}** ({part.case.nunique()} cases): max |error| ours {part.ours_err.abs().max():.4f}, "
            f"mean |error| {part.ours_err.abs().mean():.4f} (held-out value max {part.held_out_err.abs().max():.4f}, mean "
            f"{part.held_out_err.abs().mean():.4f}; naive max {part.naive_err.abs().max():.4f}, oracle max "
            f"{part.oracle_err.abs().max():.4f}); coverage {int(part.covered.sum())}/{len(part)} (mean width "
            f"{part.ci_width.mean():.4f}, noise alone {part.noise_width.mean():.4f}), one-sided lower bound "
            f"{int(part.bound_holds.sum())}/{len(part)}; time ours / naive "
            f"max {ratio.max():.2f}x."
        )
    if len(sizes):
        lines += ["", "Error vs n (one draw each):", "", sizes.round(4).to_markdown(index=False)]
    text = lines
    OUT.parent.mkdir(parents=True, exist_ok=True)
    stem = (
        "jsd_accuracy"
        + ("" if args.split == "all" else f"_{args.split}")
        + ("" if args.n == 20_000 else f"_n{args.n}")
        + ("_no_quadratic" if args.no_quadratic else "")
        + (f"_scales{args.scales.replace(',', '-')}" if args.scales else "")
        + (f"_features{args.features}" if args.features else "")
        + (f"_fractions{args.fractions.replace(',', '-')}" if args.fractions else "")
        + (f"_folds{args.folds}" if args.folds else "")
        + (f"_batch{args.batch_size}" if args.batch_size else "")
        + (f"_steps{args.steps}" if args.steps else "")
        + (f"_patience{args.patience}" if args.patience else "")
        + (f"_hidden{args.hidden}" if args.hidden else "")
        + (f"_conv{args.conv_channels}" if args.conv_channels else "")
        + ("_some_cases" if wanted else "")
    )
    out = OUT.with_name(f"{stem}.md")
    out.write_text("\n".join(text) + "\n")
    print("\n".join(text))


if __name__ == "__main__":
    main()
