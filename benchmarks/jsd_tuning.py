"""One training run with overrides on top of params.yaml, scored by the fresh-discriminator
JSD̂ first (as the evaluate stage does), then modes, the 3σ fraction and the per-mode shape.

    OMP_NUM_THREADS=1 python benchmarks/jsd_tuning.py <label> ring8 100 train.r1=0.001 train.steps=10000

    python benchmarks/jsd_tuning.py --summary        # every row as a markdown table

Appends a JSON row to benchmarks/results/jsd_tuning.jsonl; used to choose the defaults on
tuning seeds (100 and up) that the 10-seed report (`gan_quality.py`, seeds 0-9) never uses.
Torch threads follow OMP_NUM_THREADS (1 when unset); `seconds` is the training wall time
(including the JSD̂ curve: 4,000 samples per side at the sample steps that are multiples of
5,000, i.e. 10,000 and 20,000 with sample_every 2,000, with the modes covered by 2,500 samples
at the same steps, so a run that loses modes shows when).
"""

from __future__ import annotations

import os
import sys
import time
from functools import reduce
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from rows import EVAL_KEYS, append_row, eval_row, run_main  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "jsd_tuning.jsonl"


def main(label: str, data_name: str, seed: str, *pairs: str) -> None:
    from gan_core.callbacks import Callback
    from gan_core.config import load_config
    from gan_core.datasets import load_dataset
    from gan_core.evaluate import evaluate_gan, jsd_estimator
    from gan_core.jsd import estimate_jsd
    from gan_core.mode_metrics import mode_metrics
    from gan_core.train import fit_gan, sample

    class Curve(Callback):  # JSD̂ on 4,000 per side every 5,000 steps (as train.jsd_every does in the pipeline)
        points: dict = {}
        modes: dict = {}  # modes covered by 2,500 samples at the same steps (mixtures)

        def on_start(self, generator, discriminator):
            self.G = generator

        def on_samples(self, step, samples):
            if step % 5000 == 0:
                with torch.random.fork_rng(devices=[]):
                    self.points[step] = round(
                        estimate_jsd(data.heldout[:4000], sample(self.G, 4000, seed=cfg.seed + 3), seed=cfg.seed).nats,
                        4,
                    )
                    if data.mixture is not None:
                        shown = sample(self.G, 2500, seed=cfg.seed + 4)
                        self.modes[step] = mode_metrics(shown, data.mixture).modes_covered

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or 1))
    cfg = load_config(ROOT / "params.yaml", [f"data.name={data_name}", f"seed={seed}", "train.progress=false", *pairs])
    changed = {key: reduce(getattr, key.split("."), cfg) for key in (pair.split("=", 1)[0] for pair in pairs)}
    data = load_dataset(cfg.data, cfg.seed)
    t0 = time.perf_counter()
    curve = Curve()
    result = fit_gan(cfg, data, callbacks=[curve])
    seconds = time.perf_counter() - t0
    metrics, _, fake = evaluate_gan(result.generator, data, cfg)
    from gan_core.plots import mode_zoom_figure, save_figure  # the picture behind the numbers (not committed)

    save_figure(
        mode_zoom_figure(
            data.heldout, fake, data.mixture, title=f"{label} {data_name} seed {seed}: JSD {metrics['jsd']:.3f}"
        ),
        OUT.parent / f"{label}-{data_name}-{seed}-modes.png",
    )
    row = {
        "name": label,
        "data": data_name,
        "seed": cfg.seed,
        **changed,
        **eval_row(metrics),
        "jsd_estimator": jsd_estimator(cfg),
        **(
            {"g_noise_learned": [round(v, 4) for v in result.generator.log_noise.exp().tolist()]}
            if hasattr(result.generator, "log_noise")
            else {}
        ),
        "curve_n4000": curve.points,
        **({"modes_curve": curve.modes} if curve.modes else {}),
        "seconds": round(seconds),
        "threads": torch.get_num_threads(),
        "date": time.strftime("%Y-%m-%d"),
    }
    append_row(OUT, row)


def summary() -> str:
    """Every recorded row as a markdown table: JSD̂ first, then modes, 3σ fraction, shape."""
    import json

    import pandas as pd

    rows = [json.loads(line) for line in OUT.read_text().splitlines() if line.strip()]
    fixed = {
        "name",
        "data",
        "seed",
        *EVAL_KEYS,
        "jsd_corrected_n_per_side",
        "g_noise_learned",
        "curve_n4000",
        "modes_curve",
        "seconds",
        "threads",
        "date",
    }
    table = pd.DataFrame(
        [
            {
                "candidate": " ".join(f"{k}={v}" for k, v in r.items() if k not in fixed) or "defaults",
                "data": r["data"],
                "seed": r["seed"],
                "JSD̂ [CI]": f"{r['jsd']:.3f} [{r['jsd_ci_low']:.3f}, {r['jsd_ci_high']:.3f}]",
                "modes": r["modes_covered"],
                "3σ": f"{r['high_quality_fraction']:.1%}",
                "shape min/max": f"{r.get('mode_var_min', float('nan')):.2f} / {r.get('mode_var_max', float('nan')):.2f}",
                "JSD̂ after DRS": f"{r['jsd_corrected']:.4f}" if "jsd_corrected" in r else "",
                "DRS acceptance": f"{r['correction_acceptance']:.1%}" if "correction_acceptance" in r else "",
                "JSD̂ curve (n=4,000)": " ".join(
                    f"{int(k) // 1000}k:{v:.3f}"
                    + (f" ({r['modes_curve'][k]})" if k in r.get("modes_curve", {}) else "")
                    for k, v in r.get("curve_n4000", {}).items()
                ),
                "train s": r["seconds"],
            }
            for r in rows
        ]
    )
    return table.to_markdown(index=False)


if __name__ == "__main__":
    if sys.argv[1:] == ["--summary"]:
        print(summary())
    else:
        run_main(main)
