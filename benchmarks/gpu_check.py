"""The CUDA path end to end, on a machine with a GPU: the default run (params.yaml) trained on
the device under `train.precision` bf16 (autocast) and auto (fp32 since 2026-12-01),
stopped half-way and resumed from its checkpoint, then evaluated as the evaluate stage does
(JSD̂ with its interval, modes, 3σ, per-mode shape, DRS), each part timed.

    python benchmarks/gpu_check.py [--data ring8] [--seed 0] [--steps N] [--set KEY=VALUE ...] [--no-eval]
                                   [--out DIR]
                                   # → DIR/gpu_check.jsonl (default benchmarks/results)

Needs only gan_core's own dependencies (torch, numpy, pydantic, pyyaml, scikit-learn), not the
pipeline's services. The rows say which GPU, torch and precision made them.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from gan_core.callbacks import Callback  # noqa: E402
from gan_core.config import load_config  # noqa: E402
from gan_core.datasets import load_dataset  # noqa: E402
from gan_core.evaluate import evaluate_gan  # noqa: E402
from gan_core.train import fit_gan  # noqa: E402

KEPT = (
    "jsd",
    "jsd_ci_low",
    "jsd_ci_high",
    "jsd_corrected",
    "modes_covered",
    "high_quality_fraction",
    "mode_var_min",
    "mode_var_max",
    "eval_seconds",
)


class _Stop(Exception):
    pass


class _StopAt(Callback):
    """Interrupts training once `step` generator steps are done (as a killed run would stop)."""

    def __init__(self, step: int):
        self.step = step

    def on_step(self, step: int, metrics: dict) -> None:
        if step >= self.step:
            raise _Stop


def one(data_name: str, seed: int, precision: str, steps: int | None, extra: list[str], evaluate: bool = True) -> dict:
    sets = [f"data.name={data_name}", f"seed={seed}", "device=cuda", f"train.precision={precision}"]
    sets += ["train.progress=false", *extra] + ([f"train.steps={steps}"] if steps else [])
    cfg = load_config(ROOT / "params.yaml", sets)
    data = load_dataset(cfg.data, cfg.seed)
    with tempfile.TemporaryDirectory() as ckpt:
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        stop = cfg.train.steps // 2 + cfg.train.log_every  # just after a checkpoint, when steps/2 is one
        try:
            fit_gan(cfg, data, checkpoint_dir=ckpt, callbacks=[_StopAt(stop)])
        except _Stop:
            pass
        torch.cuda.synchronize()
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = fit_gan(cfg, data, checkpoint_dir=ckpt)
        torch.cuda.synchronize()
        second = time.perf_counter() - t0
    metrics = evaluate_gan(result.generator, data, cfg).metrics if evaluate else {}
    return {
        "data": data_name,
        "seed": seed,
        "precision": precision,
        "steps": cfg.train.steps,
        "resumed_from": result.resumed_from,
        "steps_run": stop + result.g_steps,  # both calls: the steps after the checkpoint are run twice
        "train_seconds": round(first + second, 1),
        "steps_per_second": round((stop + result.g_steps) / (first + second), 1),
        **{k: round(float(metrics[k]), 4) for k in KEPT if k in metrics},
        **({"set": extra} if extra else {}),
        "gpu": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="ring8")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=0, help="generator steps (default: params.yaml's)")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--no-eval", action="store_true", help="train and resume only (the speeds)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("gpu_check: no CUDA device here; this check runs on a machine with a GPU")
    out = Path(args.out) / "gpu_check.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    for precision in ("bf16", "auto"):
        row = one(args.data, args.seed, precision, args.steps or None, args.sets, not args.no_eval)
        with open(out, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
