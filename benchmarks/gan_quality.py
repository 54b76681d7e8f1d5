"""Mode coverage and sample quality of the default config over seeds (ring8, grid25; NS and MM).

    python benchmarks/gan_quality.py --seeds 10 --workers 2      # appends to benchmarks/results/gan_quality.jsonl;
                                                                 # runs already recorded there are skipped
    python benchmarks/gan_quality.py --summary                   # prints the markdown table
    python benchmarks/gan_quality.py --set model.g_layers=4 --set train.r1=0.3   # a candidate, defaults untouched

Each run trains with params.yaml's defaults (only data.name, train.loss and seed change) plus
any `--set` overrides, and measures 2,500 samples with the VEEGAN/PacGAN protocol. Workers use
one thread each. Rows carry a fingerprint of the model and training settings, so a run is
skipped only when it was recorded with the same settings, and the summary shows today's
defaults (with `--set`: that candidate) unless `--all`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "gan_quality.jsonl"


VARIED = ("data.name", "train.loss", "seed")  # what the sweep itself sets per run


def _config(name: str, loss: str, seed: int, sets: tuple[str, ...] = ()):
    from gan_core.config import load_config

    return load_config(ROOT / "params.yaml", [*sets, f"data.name={name}", f"train.loss={loss}", f"seed={seed}", "train.progress=false"])


def fingerprint(cfg=None, sets: tuple[str, ...] = ()) -> str:
    """The model and training settings (today's defaults plus `sets` unless `cfg`), minus what a
    row varies (dataset, loss, seed) and the display-only keys."""
    cfg = cfg or _config("ring8", "ns", 0, sets)
    train = cfg.train.model_dump(exclude={"loss", "progress", "checkpoint_every", "log_every", "sample_every"})
    model = cfg.model.model_dump()
    if model["g_layers"] == model["d_layers"]:  # as before the depths were split: same runs, same rows
        model["layers"] = model.pop("g_layers")
        del model["d_layers"]
    blob = json.dumps({"model": model, "train": train}, sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:10]


def one(job: tuple[str, str, int, tuple[str, ...]]) -> dict:
    import torch

    torch.set_num_threads(1)
    from gan_core.datasets import load_dataset
    from gan_core.metrics import mode_metrics
    from gan_core.train import fit_gan, sample

    name, loss, seed, sets = job
    cfg = _config(name, loss, seed, sets)
    data = load_dataset(cfg.data, cfg.seed)
    t0 = time.perf_counter()
    result = fit_gan(cfg, data)
    m = mode_metrics(sample(result.generator, cfg.evaluate.n_metric_samples, seed=seed + 2), data.mixture)
    row = {"data": name, "loss": loss, "seed": seed, "config": fingerprint(cfg), "g_layers": cfg.model.g_layers, "d_layers": cfg.model.d_layers, "steps": cfg.train.steps, "train_seconds": round(time.perf_counter() - t0, 1), **m.as_dict(), **({"set": list(sets)} if sets else {})}
    with open(OUT, "a") as f:
        f.write(json.dumps(row) + "\n")
    print(row, flush=True)
    return row


def _rows() -> list[dict]:
    return [json.loads(line) for line in OUT.read_text().splitlines() if line.strip()] if OUT.exists() else []


def _done(current: str) -> set[tuple[str, str, int]]:
    return {(r["data"], r["loss"], int(r["seed"])) for r in _rows() if r.get("config") == current}


def summary(all_configs: bool = False, sets: tuple[str, ...] = ()) -> str:
    import pandas as pd

    df = pd.DataFrame(_rows())
    if not all_configs:
        df = df[df["config"] == fingerprint(sets=sets)]
    if df.empty:
        return f"no runs recorded with {'these settings' if sets else 'the current defaults'}"
    if "layers" in df:  # rows from before the split name one depth for both networks
        for side in ("g_layers", "d_layers"):
            df[side] = df[side].fillna(df["layers"]).astype(int) if side in df else df["layers"]
    agg = df.groupby(["config", "g_layers", "d_layers", "data", "loss"]).agg(
        runs=("seed", "count"), modes_mean=("modes_covered", "mean"), modes_min=("modes_covered", "min"), modes_total=("modes_total", "first"),
        hq_mean=("high_quality_fraction", "mean"), hq_min=("high_quality_fraction", "min"), train_s=("train_seconds", "mean"),
    )
    return agg.round(4).to_markdown()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0, help="resume a partial sweep (results append)")
    ap.add_argument("--mm-seeds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2)))
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                    help="override params.yaml for every run (repeatable): try a candidate without changing the defaults")
    ap.add_argument("--summary", action="store_true")
    ap.add_argument("--all", action="store_true", help="summary of every recorded config, not only today's defaults")
    args = ap.parse_args()
    from gan_core.errors import ConfigError

    sets = tuple(args.sets)
    varied = [s for s in sets if s.split("=", 1)[0].strip() in VARIED]
    if varied:
        ap.error(f"--set {varied[0]}: the sweep sets {', '.join(VARIED)} itself; allowed: any other params.yaml key")
    try:
        current = fingerprint(sets=sets)  # validates the overrides before any run starts
    except ConfigError as exc:
        ap.error(str(exc))
    if args.summary:
        print(summary(args.all, sets))
        return
    OUT.parent.mkdir(parents=True, exist_ok=True)
    jobs = [(d, "ns", s) for s in range(args.first_seed, args.seeds) for d in ("ring8", "grid25")]
    jobs += [(d, "mm", s) for s in range(args.mm_seeds) for d in ("ring8", "grid25")]
    done = _done(current)
    jobs = [(*job, sets) for job in jobs if job not in done]  # resumable: runs already recorded are kept
    print(f"{len(jobs)} runs to do ({len(done)} recorded with config {current})", flush=True)
    with ProcessPoolExecutor(args.workers) as pool:
        list(pool.map(one, jobs))
    print(summary(sets=sets))


if __name__ == "__main__":
    main()
