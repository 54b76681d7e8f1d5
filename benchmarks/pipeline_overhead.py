"""What the pipeline costs around the compute: end-to-end overhead of `train-gan/default`,
peak memory, the `dvc repro` no-op, and how a sweep scales on the Dask task runner.

    python benchmarks/pipeline_overhead.py e2e             # needs `make run`'s services (starts them if absent)
    python benchmarks/pipeline_overhead.py dvc-noop
    python benchmarks/pipeline_overhead.py sweep-scaling --members 8 --workers 1 2 4

Results are appended to benchmarks/results/pipeline.jsonl and printed as markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "results" / "pipeline.jsonl"
BIN = Path(sys.executable).parent
API = "http://127.0.0.1:4200/api"


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PREFECT_API_URL": API,
        "MLFLOW_TRACKING_URI": os.environ.get("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000"),
    }


def _record(row: dict) -> dict:
    row = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        **row,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with open(OUT, "a") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(row, indent=1))
    return row


class PeakRSS:
    """Polls the summed RSS of every process whose command line mentions `needle` (the
    flow-run subprocess the deployment server starts), every 0.2 s."""

    def __init__(self, needle: str):
        self.needle, self.peak, self._stop = needle, 0, threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            total = 0
            for p in psutil.process_iter(["cmdline", "memory_info"]):
                cmd = " ".join(p.info["cmdline"] or [])
                if self.needle in cmd and "pipeline_overhead" not in cmd and p.info["memory_info"]:
                    total += p.info["memory_info"].rss
            self.peak = max(self.peak, total)
            self._stop.wait(0.2)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.thread.join()


def e2e(args) -> dict:
    """Wall time of `prefect deployment run train-gan/default --watch` vs training + evaluation
    seconds measured inside it; peak RSS of the flow-run process."""
    subprocess.run([sys.executable, "-m", "flows.services", "start"], cwd=ROOT, check=True)
    from mlflow.tracking import MlflowClient

    cmd = [str(BIN / "prefect"), "deployment", "run", "train-gan/default", "--watch"]
    if args.overrides:
        cmd += ["--param", f"overrides={json.dumps(args.overrides)}"]
    with PeakRSS("prefect.engine") as rss:
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True)
        wall = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    client = MlflowClient(_env()["MLFLOW_TRACKING_URI"])
    exp = client.get_experiment_by_name("gan-pipeline")
    run = client.search_runs(
        [exp.experiment_id], "tags.entry = 'train-gan'", order_by=["attributes.start_time DESC"], max_results=1
    )[0]
    train_s, eval_s = run.data.metrics["train_seconds"], run.data.metrics["eval_seconds"]
    compute = train_s + eval_s
    return _record(
        {
            "benchmark": "e2e train-gan/default",
            "overrides": args.overrides or {},
            "wall_s": round(wall, 1),
            "train_s": round(train_s, 1),
            "eval_s": round(eval_s, 1),
            "overhead_s": round(wall - compute, 1),
            "overhead_fraction": round((wall - compute) / wall, 4),
            "peak_rss_mib": round(rss.peak / 2**20),
            "jsd": run.data.metrics.get("jsd"),
            "mlflow_run_id": run.info.run_id,
        }
    )


def dvc_noop(args) -> dict:
    """`dvc repro` a second time on an unchanged pipeline (tiny params, in a temporary git copy)."""
    from tests.pipeline_helpers import write_tiny_params

    tmp = Path(tempfile.mkdtemp(prefix="gan-dvc-noop-"))
    subprocess.run(["git", "clone", "-q", str(ROOT), str(tmp / "repo")], check=True)
    repo = tmp / "repo"
    write_tiny_params(repo / "params.yaml")
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp / 'mlflow.db'}",
        "PATH": f"{BIN}:{os.environ['PATH']}",
    }  # stages call `python`
    first = subprocess.run([str(BIN / "dvc"), "repro", "-q"], cwd=repo, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        out = subprocess.run([str(BIN / "dvc"), "repro"], cwd=repo, env=env, check=True, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
    assert "up to date" in out.stdout, out.stdout
    shutil.rmtree(tmp, ignore_errors=True)
    return _record(
        {
            "benchmark": "dvc repro no-op",
            "seconds": [round(t, 2) for t in times],
            "median_s": round(sorted(times)[len(times) // 2], 2),
        }
    )


def sweep_scaling(args) -> dict:
    """The same `members`-member sweep run with 1 (serial), 2, ... Dask worker processes."""
    subprocess.run([sys.executable, "-m", "flows.services", "start"], cwd=ROOT, check=True)
    overrides = {"train.steps": args.steps, "evaluate.n_jsd": 5000, "evaluate.jsd_steps": 500, "train.progress": False}
    grid = {"train.loss": ["mm", "ns"], "seed": list(range(args.members // 2))}
    rows = {}
    for workers in args.workers:
        code = (
            "import json,sys,time; from flows.sweep_gan import sweep_gan\n"
            f"t=time.perf_counter(); out=sweep_gan(grid={grid!r}, overrides={overrides!r}, workers={workers}, name='scaling-w{workers}-'+time.strftime('%H%M%S'))\n"
            "print('RESULT', json.dumps({'seconds': time.perf_counter()-t, 'finished': out['finished']}))\n"
        )
        proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(), capture_output=True, text=True)
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
        assert proc.returncode == 0 and line, proc.stdout[-2000:] + proc.stderr[-3000:]
        rows[workers] = json.loads(line[7:])
        print(f"workers={workers}: {rows[workers]['seconds']:.1f}s", flush=True)
    serial = rows[min(rows)]["seconds"]
    return _record(
        {
            "benchmark": "sweep scaling",
            "members": args.members,
            "steps": args.steps,
            "seconds": {w: round(r["seconds"], 1) for w, r in rows.items()},
            "speedup_vs_1_worker": {w: round(serial / r["seconds"], 2) for w, r in rows.items()},
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    p = sub.add_parser("e2e")
    p.add_argument("--overrides", type=json.loads, default=None, help="JSON, e.g. '{\"train.steps\": 2000}'")
    p = sub.add_parser("dvc-noop")
    p.add_argument("--repeats", type=int, default=3)
    p = sub.add_parser("sweep-scaling")
    p.add_argument("--members", type=int, default=8)
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = ap.parse_args()
    {"e2e": e2e, "dvc-noop": dvc_noop, "sweep-scaling": sweep_scaling}[args.what](args)


if __name__ == "__main__":
    main()
