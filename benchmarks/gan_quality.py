"""Quality of the default config over seeds (ring8, grid25; NS and MM): the fresh-discriminator
JSD̂ with its interval first, then mode coverage, the 3σ fraction and the per-mode shape.

    python benchmarks/gan_quality.py --seeds 10 --workers 2      # appends to benchmarks/results/gan_quality.jsonl;
                                                                 # runs already recorded there are skipped
    python benchmarks/gan_quality.py --summary                   # prints the markdown tables (over seeds, per seed)
    python benchmarks/gan_quality.py --floor                     # JSD̂ of held-out real vs fresh real samples, same n
    python benchmarks/gan_quality.py --paired NEW OLD            # per-seed JSD̂ differences of two recorded configs
                                                                 # (each CONFIG or CONFIG:LOSS, e.g. abc:mm abc:ns)
    python benchmarks/gan_quality.py --estimators                # per seed: JSD̂ under today's estimator beside earlier ones
    python benchmarks/gan_quality.py --set model.g_layers=4 --set train.r1=0.3   # a candidate, defaults untouched
    python benchmarks/gan_quality.py --data ring8 --other-seeds 0                # one dataset, the default loss only

Seeds 0..--seeds-1 run with params.yaml's loss and seeds 0..--other-seeds-1 also with the other
one. Each run trains with params.yaml's defaults (only data.name, train.loss and seed change) plus
any `--set` overrides, and is evaluated as the evaluate stage does (`evaluate_gan`: JSD̂ on
20,000 samples per side, modes and 3σ fraction on 2,500, per-mode covariance). Workers use one
thread each. Seeds 0-9 are the reported ones; settings are chosen on other seeds
(`jsd_tuning.py`, seeds 100 and up). Rows carry a fingerprint of the model and training settings, so a run is
skipped only when it was recorded with the same settings, and the summary shows today's
defaults (with `--set`: that candidate) unless `--all`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from rows import FIRST_ALL_SAMPLES, HELD_OUT, estimator, eval_row, held_out  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "gan_quality.jsonl"


VARIED = ("data.name", "train.loss", "seed")  # what the sweep itself sets per run


def _config(name: str, loss: str | None, seed: int, sets: tuple[str, ...] = ()):
    """params.yaml plus `sets`, for one run (`loss` None: params.yaml's)."""
    from gan_core.config import load_config

    varied = [f"data.name={name}", f"seed={seed}", *([f"train.loss={loss}"] if loss else [])]
    return load_config(ROOT / "params.yaml", [*sets, *varied, "train.progress=false"])


def fingerprint(cfg=None, sets: tuple[str, ...] = (), loss: str = "ns") -> str:
    """The model and training settings (today's defaults plus `sets`, under `loss`, unless `cfg`),
    minus what a row varies (dataset, loss, seed) and the display-only keys. Under MM,
    `train.mm_from` changes nothing, so it is left out: the MM rows of a config that differs
    only there are the same runs."""
    cfg = cfg or _config("ring8", loss, 0, sets)
    train = cfg.train.model_dump(
        exclude={"loss", "progress", "checkpoint_every", "log_every", "sample_every", "jsd_every", "jsd_curve_n"}
    )
    model = cfg.model.model_dump()
    # Keys added later, at the value that changes nothing: same runs, same rows.
    for key, neutral in (
        ("r1_end", None),
        ("lr_d_end", 0.0),
        ("lr_decay_power", 1.0),
        ("k_end", None),
        ("lr_hold", 0.0),
        ("r1_hold", 0.0),
        ("r1_fall", None),
        ("mm_from", None),
        ("fine_d_train_from", 0.0),
        ("fine_d_r1", 1.0),
        ("r1_every", 1),
    ):
        if train[key] == neutral:
            del train[key]
    if model["g_noise"] == 0.0:
        del model["g_noise"]
    if cfg.train.loss == "mm":
        train.pop("mm_from", None)
    if model["fine_d_features"] == 0:  # no fine discriminator: its settings change nothing
        for key in ("fine_d_features", "fine_d_scale", "fine_d_hidden"):
            del model[key]
        for key in ("fine_d_weight", "fine_d_from", "fine_d_train_from", "fine_d_r1"):
            train.pop(key, None)  # fine_d_train_from and fine_d_r1 may be gone already (neutral)
    if model["g_layers"] == model["d_layers"]:  # as before the depths were split: same runs, same rows
        model["layers"] = model.pop("g_layers")
        del model["d_layers"]
    blob = json.dumps({"model": model, "train": train}, sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:10]


def one(job: tuple[str, str, int, tuple[str, ...]]) -> dict:
    import torch

    torch.set_num_threads(1)
    from gan_core.datasets import load_dataset
    from gan_core.evaluate import evaluate_gan
    from gan_core.train import fit_gan

    name, loss, seed, sets = job
    cfg = _config(name, loss, seed, sets)
    data = load_dataset(cfg.data, cfg.seed)
    t0 = time.perf_counter()
    result = fit_gan(cfg, data)
    train_seconds = time.perf_counter() - t0
    m = evaluate_gan(result.generator, data, cfg).metrics
    row = {
        "data": name,
        "loss": loss,
        "seed": seed,
        "config": fingerprint(cfg),
        "g_layers": cfg.model.g_layers,
        "d_layers": cfg.model.d_layers,
        "steps": cfg.train.steps,
        "train_seconds": round(train_seconds, 1),
        **eval_row(m),
        "jsd_estimator": _estimator(cfg),
        "date": time.strftime("%Y-%m-%d"),
        **({"set": list(sets)} if sets else {}),
    }
    with open(OUT, "a") as f:
        f.write(json.dumps(row) + "\n")
    print(row, flush=True)
    return row


def _rows() -> list[dict]:
    return [json.loads(line) for line in OUT.read_text().splitlines() if line.strip()] if OUT.exists() else []


def _current(sets: tuple[str, ...] = ()) -> dict[str, str]:
    """The fingerprint of today's defaults plus `sets`, per loss."""
    return {loss: fingerprint(sets=sets, loss=loss) for loss in ("ns", "mm")}


def _estimator(cfg) -> str:
    """The name of the estimator that evaluates a run of `cfg` (rows.estimator): a run recorded
    under another is rerun, and the summary shows only today's."""
    from gan_core.evaluate import jsd_estimator

    return jsd_estimator(cfg)


def _today(sets: tuple[str, ...] = ()) -> str:
    """The estimator of today's defaults plus `sets` (any dataset, loss and seed: the same)."""
    return _estimator(_config("ring8", "ns", 0, sets))


def _done(current: dict[str, str], sets: tuple[str, ...] = ()) -> set[tuple[str, str, int]]:
    today = _today(sets)
    return {
        (r["data"], r["loss"], int(r["seed"]))
        for r in _rows()
        if r.get("config") == current.get(r["loss"]) and estimator(r) == today
    }


def summary(all_configs: bool = False, sets: tuple[str, ...] = ()) -> str:
    import pandas as pd

    df = pd.DataFrame([{**r, "estimator": estimator(r), "jsd_held_out": held_out(r)} for r in _rows() if "jsd" in r])
    if not all_configs and not df.empty:
        today = _today(sets)
        df = df[(df["config"] == df["loss"].map(_current(sets))) & (df["estimator"] == today)]
    if df.empty:
        return f"no runs recorded with {'these settings' if sets else 'the current defaults'} and today's estimator"
    if "layers" in df:  # rows from before the split name one depth for both networks
        for side in ("g_layers", "d_layers"):
            df[side] = df[side].fillna(df["layers"]).astype(int) if side in df else df["layers"]
    for col in (
        "jsd",
        "jsd_ci_low",
        "jsd_ci_high",
        "mode_var_min",
        "mode_var_max",
        "jsd_corrected",
        "correction_acceptance",
    ):
        if col not in df:  # rows from before JSD̂ was recorded
            df[col] = float("nan")
    agg = df.groupby(["config", "estimator", "data", "loss"]).agg(
        runs=("seed", "count"),
        jsd_mean=("jsd", "mean"),
        jsd_worst=("jsd", "max"),
        held_out_mean=("jsd_held_out", "mean"),
        ci_low_mean=("jsd_ci_low", "mean"),
        ci_high_mean=("jsd_ci_high", "mean"),
        modes_mean=("modes_covered", "mean"),
        modes_min=("modes_covered", "min"),
        modes_total=("modes_total", "first"),
        hq_mean=("high_quality_fraction", "mean"),
        hq_min=("high_quality_fraction", "min"),
        var_min_mean=("mode_var_min", "mean"),
        var_max_mean=("mode_var_max", "mean"),
        drs_jsd_mean=("jsd_corrected", "mean"),
        drs_jsd_worst=("jsd_corrected", "max"),
        drs_acceptance=("correction_acceptance", "mean"),
        train_s=("train_seconds", "mean"),
    )
    per_seed = df.sort_values(["config", "estimator", "data", "loss", "seed"])[
        [
            "config",
            "estimator",
            "data",
            "loss",
            "seed",
            "jsd",
            "jsd_held_out",
            "jsd_ci_low",
            "jsd_ci_high",
            "modes_covered",
            "high_quality_fraction",
            "mode_var_min",
            "mode_var_max",
            "jsd_corrected",
            "correction_acceptance",
        ]
    ]
    floor = _floor_table()
    return "\n\n".join([agg.round(4).to_markdown(), per_seed.round(4).to_markdown(index=False), floor])


FLOOR = ROOT / "benchmarks" / "results" / "jsd_floor.jsonl"


def _floor_table() -> str:
    import pandas as pd

    rows = [json.loads(line) for line in FLOOR.read_text().splitlines() if line.strip()] if FLOOR.exists() else []
    if not rows:
        return "floor: not measured (python benchmarks/gan_quality.py --floor)"
    df = (
        pd.DataFrame([{**r, "estimator": estimator(r)} for r in rows])
        .groupby(["estimator", "data"])
        .agg(
            runs=("seed", "count"),
            floor_jsd_mean=("jsd", "mean"),
            floor_jsd_max=("jsd", "max"),
            floor_ci_high_max=("jsd_ci_high", "max"),
        )
    )
    return "Floor (held-out real vs fresh real samples, same n):\n\n" + df.round(4).to_markdown()


def floor(seeds: int) -> None:
    """JSD̂ of the held-out real samples against fresh real samples of the same mixture at the
    evaluation's n: what a perfect generator would score (the estimator's own noise floor)."""
    import numpy as np

    from gan_core.datasets import load_dataset
    from gan_core.jsd import estimate_jsd

    for name in ("ring8", "grid25"):
        for seed in range(seeds):
            cfg = _config(name, "ns", seed)
            data = load_dataset(cfg.data, cfg.seed)
            n = min(cfg.evaluate.n_jsd, len(data.heldout))
            fresh = data.mixture.sample(n, np.random.default_rng([seed, 7]))
            est = estimate_jsd(
                data.heldout[:n], fresh, seed=seed, confidence=cfg.evaluate.confidence, steps=cfg.evaluate.jsd_steps
            )
            row = {
                "data": name,
                "seed": seed,
                "n": n,
                "jsd": round(est.nats, 4),
                "jsd_held_out": round(est.as_dict()["jsd_held_out"], 4),
                "jsd_ci_low": round(est.ci_low, 4),
                "jsd_ci_high": round(est.ci_high, 4),
                "jsd_estimator": _estimator(cfg),
                "date": time.strftime("%Y-%m-%d"),
            }
            with open(FLOOR, "a") as f:
                f.write(json.dumps(row) + "\n")
            print(row, flush=True)


def _side(spec: str) -> tuple[str, str]:
    """`CONFIG` or `CONFIG:LOSS` (NS when the loss is not named)."""
    config, _, loss = spec.partition(":")
    return config, loss or "ns"


def paired(new: str, old: str) -> str:
    """Per-seed JSD̂ differences (new − old) of two recorded configs, each `CONFIG` (NS) or
    `CONFIG:LOSS`, over the seeds both have: how much one seed's comparison of two settings
    (or of MM and NS under one config) can move by the seed alone."""
    import numpy as np

    sides = {_side(new): new, _side(old): old}
    today = _today()
    rows = [r for r in _rows() if (r.get("config"), r.get("loss", "ns")) in sides and "jsd" in r]
    # Rows under different estimators compare by the held-out value, the one both have.
    same = len({estimator(r) for r in rows}) == 1
    jsd: dict[tuple[str, str, int], tuple[float, int, int]] = {
        (sides[r["config"], r.get("loss", "ns")], r["data"], r["seed"]): (
            r["jsd"] if same else held_out(r),
            r["modes_covered"],
            r["modes_total"],
        )
        for r in sorted(rows, key=lambda r: estimator(r) == today)  # today's estimator's row last: it wins
    }
    lines = [
        f"JSD̂ per seed, {new} − {old}"
        + ("" if ":" in new + old else " (NS)")
        + ("" if same else " (held-out values: the rows are of different estimators)")
    ]
    for data in ("ring8", "grid25"):
        seeds = sorted(s for c, d, s in jsd if c == new and d == data and (old, data, s) in jsd)
        full = [s for s in seeds if jsd[new, data, s][1] == jsd[new, data, s][2] == jsd[old, data, s][1]]
        for label, kept in (("all seeds", seeds), ("seeds where both keep every mode", full)):
            diff = np.array([jsd[new, data, s][0] - jsd[old, data, s][0] for s in kept])
            if len(diff) > 1:
                lines.append(
                    f"{data}, {label} ({len(diff)}): mean {diff.mean():+.4f}, sd {diff.std(ddof=1):.4f}; "
                    + " ".join(f"{s}:{d:+.3f}" for s, d in zip(kept, diff))
                )
    return "\n".join(lines)


def estimators(sets: tuple[str, ...] = ()) -> str:
    """Per seed of today's defaults (plus `sets`) evaluated by today's estimator: its JSD̂
    beside the JSD̂ the same run was recorded with under earlier estimators (training is
    deterministic: the same weights, only the critic that scores them differs), and today's
    minus the latest earlier one."""
    import numpy as np

    current, today = _current(sets), _today(sets)
    by: dict[tuple[str, str, int], dict[str, dict]] = {}
    for r in _rows():
        if "jsd" in r and r.get("config") == current.get(r["loss"]):
            by.setdefault((r["data"], r["loss"], int(r["seed"])), {})[estimator(r)] = r
    by = {key: runs for key, runs in sorted(by.items()) if today in runs}
    if not by:
        return "no runs of the current defaults recorded with today's estimator"
    order = {HELD_OUT: 0, FIRST_ALL_SAMPLES: 1}
    earlier = sorted({e for runs in by.values() for e in runs} - {today}, key=lambda e: (order.get(e, 2), e))
    lines = [
        "Estimators: " + "; ".join(f"({k + 1}) {e}" for k, e in enumerate(earlier)) + f"; today's: {today}",
        "",
        "| data | loss | seed | "
        + " | ".join(f"({k + 1})" for k in range(len(earlier)))
        + " | **today's** [interval] | today's − latest earlier |",
        "|:--|:--|--:|" + "--:|" * len(earlier) + "--:|--:|",
    ]
    groups: dict[tuple[str, str], list[list[float]]] = {}
    for (data, loss, seed), runs in by.items():
        new = runs[today]
        values = [runs[e]["jsd"] if e in runs else float("nan") for e in earlier]
        last = next((v for v in reversed(values) if not np.isnan(v)), float("nan"))
        groups.setdefault((data, loss), []).append([*values, new["jsd"], new["jsd"] - last])
        cells = " | ".join("—" if np.isnan(v) else f"{v:.4f}" for v in values)
        lines.append(
            f"| {data} | {loss} | {seed} | {cells} | **{new['jsd']:.4f}** "
            f"[{new['jsd_ci_low']:.4f}, {new['jsd_ci_high']:.4f}] | {new['jsd'] - last:+.4f} |"
        )
    for (data, loss), table in groups.items():
        cols = np.array(table)
        means = " | ".join("—" if np.isnan(c).all() else f"{np.nanmean(c):.4f}" for c in cols[:, :-2].T)
        lines.append(
            f"| **{data} {loss}, mean of {len(cols)}** | | | {means} | **{cols[:, -2].mean():.4f}** "
            f"(worst {cols[:, -2].max():.4f}) | {np.nanmean(cols[:, -1]):+.4f} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0, help="resume a partial sweep (results append)")
    ap.add_argument(
        "--other-seeds",
        "--mm-seeds",  # its name while NS was the default loss
        dest="other_seeds",
        type=int,
        default=3,
        help="seeds 0..N-1 also run with the other loss (MM when params.yaml's train.loss is NS, else NS)",
    )
    ap.add_argument(
        "--data",
        action="append",
        choices=("ring8", "grid25"),
        help="run only this dataset's seeds (repeatable; default both): one dataset's 10 seeds first",
    )
    ap.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2)))
    ap.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override params.yaml for every run (repeatable): try a candidate without changing the defaults",
    )
    ap.add_argument("--summary", action="store_true")
    ap.add_argument(
        "--floor", action="store_true", help="record the JSD̂ floor (held-out real vs fresh real) for --seeds seeds"
    )
    ap.add_argument("--all", action="store_true", help="summary of every recorded config, not only today's defaults")
    ap.add_argument(
        "--estimators",
        action="store_true",
        help="per seed of today's defaults: the JSD̂ recorded under the held-out estimate beside today's",
    )
    ap.add_argument(
        "--paired",
        nargs=2,
        metavar=("NEW", "OLD"),
        help="per-seed JSD̂ differences of two recorded configs, each CONFIG (NS) or CONFIG:LOSS",
    )
    args = ap.parse_args()
    from gan_core.errors import ConfigError

    sets = tuple(args.sets)
    varied = [s for s in sets if s.split("=", 1)[0].strip() in VARIED]
    if varied:
        ap.error(f"--set {varied[0]}: the sweep sets {', '.join(VARIED)} itself; allowed: any other params.yaml key")
    try:
        current = _current(sets)  # validates the overrides before any run starts
    except ConfigError as exc:
        ap.error(str(exc))
    if args.summary:
        print(summary(args.all, sets))
        return
    if args.estimators:
        print(estimators(tuple(args.sets)))
        return
    if args.paired:
        bad = [spec for spec in args.paired if _side(spec)[1] not in ("ns", "mm")]
        if bad or _side(args.paired[0]) == _side(args.paired[1]):
            ap.error(f"--paired {' '.join(args.paired)}: two different CONFIG or CONFIG:LOSS (LOSS: ns or mm)")
        print(paired(*args.paired))
        return
    if args.floor:
        import torch

        torch.set_num_threads(1)
        floor(args.seeds)
        return
    OUT.parent.mkdir(parents=True, exist_ok=True)
    loss = _config("ring8", None, 0, sets).train.loss  # params.yaml's: the reported one
    other = "ns" if loss == "mm" else "mm"
    names = tuple(args.data or ("ring8", "grid25"))
    jobs = [(d, loss, s) for s in range(args.first_seed, args.seeds) for d in names]
    jobs += [(d, other, s) for s in range(args.other_seeds) for d in names]
    done = _done(current, sets)
    jobs = [(*job, sets) for job in jobs if job not in done]  # resumable: runs already recorded are kept
    configs = " / ".join(f"{v} ({k})" for k, v in current.items()) if current["ns"] != current["mm"] else current["ns"]
    print(f"{len(jobs)} runs to do ({len(done)} recorded with config {configs})", flush=True)
    with ProcessPoolExecutor(args.workers) as pool:
        list(pool.map(one, jobs))
    print(summary(sets=sets))


if __name__ == "__main__":
    main()
