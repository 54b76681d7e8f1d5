"""The README's image example: 28x28 digits (scikit-learn's 8x8 digits, upscaled with
`data.image_size: 28`), the DCGAN-style pair adapted to 28x28, evaluated as the evaluate
stage does: JSD̂ with its interval, then the digit metrics (classifier-feature Fréchet
distance, class coverage).

    OMP_NUM_THREADS=1 python benchmarks/digits28.py [KEY=VALUE ...]

The run config is params.yaml with the overrides below (small enough for a CPU), then any
given on the command line; the same settings run as a pipeline with

    python -m flows.train_gan --set data.name=digits --set data.image_size=28 \\
        --set model.channels=16 --set train.batch_size=64 --set train.steps=3000

Appends a JSON row to benchmarks/results/digits28.jsonl (with a sample grid PNG beside it,
not committed).
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from rows import append_row, run_main  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "digits28.jsonl"
EXAMPLE = [
    "data.name=digits",
    "data.image_size=28",
    "model.channels=16",
    "train.batch_size=64",
    "train.steps=3000",
    "train.jsd_every=0",
    "train.progress=false",
]


def main(*pairs: str) -> None:
    from gan_core.config import load_config
    from gan_core.datasets import load_dataset
    from gan_core.evaluate import evaluate_gan
    from gan_core.plots import samples_figure, save_figure
    from gan_core.train import fit_gan

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or 1))
    cfg = load_config(ROOT / "params.yaml", [*EXAMPLE, *pairs])
    data = load_dataset(cfg.data, cfg.seed)
    t0 = time.perf_counter()
    result = fit_gan(cfg, data)
    seconds = time.perf_counter() - t0
    metrics, shown, _ = evaluate_gan(result.generator, data, cfg)
    save_figure(
        samples_figure(shown, None, f"digits 28x28: JSD̂ {metrics['jsd']:.3f}"), OUT.parent / "digits28-samples.png"
    )
    keep = [k for k in metrics if k.startswith(("jsd", "digits_"))]
    append_row(
        OUT,
        {
            "overrides": [*EXAMPLE, *pairs],
            "sample_shape": list(data.sample_shape),
            "n_train": len(data.train),
            "n_heldout": len(data.heldout),
            **{k: round(float(metrics[k]), 4) for k in keep if isinstance(metrics[k], (int, float))},
            "train_seconds": round(seconds),
            "threads": torch.get_num_threads(),
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
            "date": time.strftime("%Y-%m-%d"),
            "command": "OMP_NUM_THREADS=1 python benchmarks/digits28.py" + "".join(f" {p}" for p in pairs),
        },
    )


if __name__ == "__main__":
    run_main(main)
