"""Training throughput: the gan_core loop against a bare PyTorch GAN loop, same work.

    python benchmarks/throughput.py                       # ring8 MLP pair, 2,000 steps, 3 rounds
    python benchmarks/throughput.py --data digits --steps 300
    python benchmarks/throughput.py --compile             # does torch.compile help here?

The bare loop is written here in the pytorch/examples dcgan style: a DataLoader over the
in-memory tensor, BCE-with-logits, a D step then a G step, the losses read with `.item()`
every step, nothing else. Both loops train the same models (`build_models`, same seed),
batch, k, device and number of steps, with plain Algorithm 1 (r1 = 0, no EMA, no lr
decay, no fine discriminator: the bare loop does none of these), both in fp32. gan_core runs as the pipeline runs it: with
checkpoints, diagnostics and history; "tracking on" adds the MLflow callback, sending every
per-step diagnostic to an MLflow tracking server on 127.0.0.1 (what `make run` sets up; the
benchmark starts one on a temporary SQLite store). The same with no server, the SQLite file
written from the training process itself, is shown too. Variants alternate in rounds and the median of the rounds is kept,
so each ratio is measured in the same run on the same, equally noisy machine.

On CUDA, gan_core with `train.precision: bf16` (bf16 autocast) is timed too.

The last line is `ratio=<gan_core with tracking / bare>` (higher is faster; goal >= 0.95).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from gan_core.config import Config, load_config  # noqa: E402
from gan_core.datasets import Dataset, load_dataset  # noqa: E402
from gan_core.models import build_models  # noqa: E402
from gan_core.runtime import resolve_device, seed_everything  # noqa: E402
from gan_core.train import fit_gan  # noqa: E402


def bare_loop(cfg: Config, data: Dataset, compile_models: bool = False) -> float:
    """pytorch/examples-style GAN loop; returns seconds for cfg.train.steps generator steps."""
    tc, device = cfg.train, resolve_device(cfg.device)
    t0 = time.perf_counter()
    seed_everything(cfg.seed)
    G, D = (m.to(device) for m in build_models(cfg.model, data.sample_shape))
    real = torch.as_tensor(data.train)
    if data.kind == "vector":
        mean, std = real.mean(0).to(device), real.std(0).to(device)
        G.set_data_stats(mean, std)
        D.set_data_stats(mean, std)
    if compile_models:
        G, D = torch.compile(G), torch.compile(D)
    loader = DataLoader(TensorDataset(real), batch_size=tc.batch_size, shuffle=True, drop_last=True)
    criterion = nn.BCEWithLogitsLoss()
    opt_d = torch.optim.Adam(D.parameters(), lr=tc.lr_d, betas=(tc.beta1, tc.beta2))
    opt_g = torch.optim.Adam(G.parameters(), lr=tc.lr_g, betas=(tc.beta1, tc.beta2))
    ones = torch.ones(tc.batch_size, device=device)
    zeros = torch.zeros(tc.batch_size, device=device)
    g_losses, d_losses = [], []
    batches = iter(loader)
    for _ in range(tc.steps):
        for _ in range(tc.k):
            try:
                (x,) = next(batches)
            except StopIteration:
                batches = iter(loader)
                (x,) = next(batches)
            x = x.to(device)
            fake = G(torch.randn(tc.batch_size, cfg.model.z_dim, device=device))
            opt_d.zero_grad()
            err_d = criterion(D(x), ones) + criterion(D(fake.detach()), zeros)
            err_d.backward()
            opt_d.step()
        opt_g.zero_grad()
        err_g = criterion(D(G(torch.randn(tc.batch_size, cfg.model.z_dim, device=device))), ones)
        err_g.backward()
        opt_g.step()
        d_losses.append(err_d.item())
        g_losses.append(err_g.item())
    _sync(device)
    return time.perf_counter() - t0


def lean_loop(cfg: Config, data: Dataset) -> float:
    """The same loop without the usual costs: in-memory indexing, no per-step host sync.
    Not the reference of the ratio; shown so the remaining gap to the leanest loop is visible."""
    tc, device = cfg.train, resolve_device(cfg.device)
    t0 = time.perf_counter()
    seed_everything(cfg.seed)
    G, D = (m.to(device) for m in build_models(cfg.model, data.sample_shape))
    real = torch.as_tensor(data.train, device=device)
    if data.kind == "vector":
        G.set_data_stats(real.mean(0), real.std(0))
        D.set_data_stats(real.mean(0), real.std(0))
    opt_d = torch.optim.Adam(D.parameters(), lr=tc.lr_d, betas=(tc.beta1, tc.beta2))
    opt_g = torch.optim.Adam(G.parameters(), lr=tc.lr_g, betas=(tc.beta1, tc.beta2))
    softplus = nn.functional.softplus
    for _ in range(tc.steps):
        for _ in range(tc.k):
            x = real[torch.randint(len(real), (tc.batch_size,), device=device)]
            with torch.no_grad():
                fake = G(torch.randn(tc.batch_size, cfg.model.z_dim, device=device))
            err_d = softplus(-D(x)).mean() + softplus(D(fake)).mean()
            opt_d.zero_grad()
            err_d.backward()
            opt_d.step()
        err_g = softplus(-D(G(torch.randn(tc.batch_size, cfg.model.z_dim, device=device)))).mean()
        opt_g.zero_grad()
        err_g.backward()
        opt_g.step()
    _sync(device)
    return time.perf_counter() - t0


def gan_core_loop(cfg: Config, data: Dataset, tracking: bool, workdir: Path, uri: str | None = None) -> float:
    """gan_core's fit_gan with checkpoints (and the MLflow callback when `tracking`, to the
    server at `uri`, or else to a SQLite file written from this process)."""
    callbacks, tracker = [], None
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    if uri:
        os.environ["MLFLOW_TRACKING_URI"] = uri
    if tracking:
        from tasks.tracking import MlflowCallback, start_run

        run_id = start_run(workdir, cfg.flat(), {"benchmark": "throughput"})  # store set up before the clock
        tracker = MlflowCallback(workdir, run_id)
        callbacks.append(tracker)
    ckpt = Path(tempfile.mkdtemp(dir=workdir))
    t0 = time.perf_counter()
    fit_gan(cfg, data, checkpoint_dir=ckpt, callbacks=callbacks, resume=False)
    if tracker is not None:
        tracker.flush()  # every metric stored before the clock stops
    _sync(resolve_device(cfg.device))
    return time.perf_counter() - t0


def mlflow_server(workdir: Path):
    """An MLflow tracking server on 127.0.0.1 in front of a temporary SQLite store (`make run`'s set-up)."""
    import socket
    import subprocess
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mlflow_bin = Path(sys.executable).parent / "mlflow"
    proc = subprocess.Popen(
        [
            str(mlflow_bin),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{workdir / 'server.db'}",
            "--default-artifact-root",
            (workdir / "server-artifacts").as_uri(),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(240):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("the MLflow server did not start")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="ring8")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--k", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--compile", action="store_true", help="also time the bare loop with torch.compile'd models")
    ap.add_argument(
        "--defaults",
        action="store_true",
        help="also time gan_core with params.yaml's r1/EMA/decay (more work than the bare loop)",
    )
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    overrides = {
        "data.name": args.data,
        "device": args.device,
        "train.steps": args.steps,
        "train.k": args.k,
        "train.k_end": None,  # k throughout, as the bare loop does
        "train.progress": False,
        "train.r1": 0.0,
        "train.ema": 0.0,
        "train.lr_decay": "none",
        "train.precision": "fp32",
        "model.fine_d_features": 0,  # one discriminator, as the bare loop has
    }
    if args.data not in ("ring8", "grid25"):
        overrides["data.n_train"] = 1000
    cfg = load_config(ROOT / "params.yaml", overrides)
    data = load_dataset(cfg.data, cfg.seed)
    device = resolve_device(cfg.device)
    workdir = Path(tempfile.mkdtemp(prefix="gan-throughput-"))
    server, uri = mlflow_server(workdir)

    variants = {
        "bare": lambda: bare_loop(cfg, data),
        "gan_core (tracking off)": lambda: gan_core_loop(cfg, data, False, workdir),
        "gan_core (tracking on)": lambda: gan_core_loop(cfg, data, True, workdir, uri),
        "gan_core (tracking on, SQLite file written in-process, no server)": lambda: gan_core_loop(
            cfg, data, True, workdir
        ),
        "lean loop (no DataLoader, no per-step sync; for reference)": lambda: lean_loop(cfg, data),
    }
    if args.compile:
        variants["bare + torch.compile"] = lambda: bare_loop(cfg, data, compile_models=True)
    if device.type == "cuda":
        acfg = cfg.model_copy(update={"train": cfg.train.model_copy(update={"precision": "bf16"})})
        variants["gan_core, precision bf16 (autocast; tracking off)"] = lambda: gan_core_loop(
            acfg, data, False, workdir
        )
    if args.defaults:
        dcfg = load_config(
            ROOT / "params.yaml",
            {
                k: v
                for k, v in overrides.items()
                if k not in ("train.r1", "train.ema", "train.lr_decay", "model.fine_d_features")
            },
        )
        variants["gan_core, params.yaml defaults (r1, EMA, decay, fine D; tracking off)"] = lambda: gan_core_loop(
            dcfg, data, False, workdir
        )

    # Warm-up: allocator, MLflow store.
    bare_loop(cfg.model_copy(update={"train": cfg.train.model_copy(update={"steps": 50})}), data)
    gan_core_loop(
        cfg.model_copy(update={"train": cfg.train.model_copy(update={"steps": 50})}), data, True, workdir, uri
    )
    gan_core_loop(cfg.model_copy(update={"train": cfg.train.model_copy(update={"steps": 50})}), data, True, workdir)

    times: dict[str, list[float]] = {name: [] for name in variants}
    for r in range(args.rounds):
        for name, fn in variants.items():
            times[name].append(fn())
            print(f"round {r + 1}/{args.rounds}  {name:<62} {args.steps / times[name][-1]:8.1f} steps/s", flush=True)

    bare = statistics.median(times["bare"])
    print(
        f"\n{args.data}, {args.steps} steps, batch {cfg.train.batch_size}, k {cfg.train.k}, device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}"
    )
    print(f"| loop | steps/s (median of {args.rounds}) | speed vs bare |\n|---|---:|---:|")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"| {name} | {args.steps / med:.1f} | {bare / med:.3f} |")
    server.terminate()
    ratio = bare / statistics.median(times["gan_core (tracking on)"])
    print(f"ratio={ratio:.3f}")


if __name__ == "__main__":
    main()
