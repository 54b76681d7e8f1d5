"""Start / stop the local services `make run` needs, on 127.0.0.1 only, with pid files.

    python -m flows.services start    # Prefect server :4200, MLflow UI :5000, deployment server
    python -m flows.services stop     # stops exactly what `start` started (pid files)
    python -m flows.services summary  # final JSD and the two addresses

GAN_PREFECT_PORT / GAN_MLFLOW_PORT move the two servers off 4200 / 5000.

A service already answering on its port is reused only when this checkout started it (its
pid file names a live process with the same start time); anything else on the port is refused
with one line, so runs of this checkout never land in another checkout's MLflow or Prefect.
Set GAN_PREFECT_PORT / GAN_MLFLOW_PORT to run beside it, or GAN_REUSE_SERVICES=1 to use a
server you configured on purpose. A stale pid file (its process gone or replaced) is removed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from flows.zombies import HEARTBEAT_SECONDS

ROOT = Path.cwd()
RUN_DIR = ROOT / ".run"
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
PREFECT_PORT = int(os.environ.get("GAN_PREFECT_PORT", "4200"))
MLFLOW_PORT = int(os.environ.get("GAN_MLFLOW_PORT", "5000"))
PREFECT_API = f"http://{HOST}:{PREFECT_PORT}/api"
MLFLOW_URL = f"http://{HOST}:{MLFLOW_PORT}"
DEPLOYMENTS = ("train-gan/default", "sweep-gan/default")


def prefect_server_security(port: int) -> dict[str, str]:
    """A Prefect server that web pages of other origins cannot drive: CORS answers only its
    own UI's origin, and every state-changing request needs a CSRF token (Prefect's clients,
    CLI and UI fetch one by themselves)."""
    return {
        "PREFECT_SERVER_API_CSRF_PROTECTION_ENABLED": "true",
        "PREFECT_SERVER_API_CORS_ALLOWED_ORIGINS": f"http://{HOST}:{port},http://localhost:{port}",
        "PREFECT_CLIENT_CSRF_SUPPORT_ENABLED": "true",
    }


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PREFECT_API_URL": PREFECT_API,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_API_HOST": HOST,
        **prefect_server_security(PREFECT_PORT),
        # Concurrency-slot leases on disk, not in the server's memory: a task killed while
        # holding a `gpu` slot gets it back when its 60 s lease expires, even across a server
        # restart (with in-memory leases the slot stayed taken for good).
        "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect.server.concurrency.lease_storage.filesystem",
        # Deployment runs send heartbeats; flows/zombies.py marks silent ones Crashed.
        "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(HEARTBEAT_SECONDS),
        "MLFLOW_TRACKING_URI": os.environ.get("MLFLOW_TRACKING_URI", MLFLOW_URL),
        "MLFLOW_UI_URL": MLFLOW_URL,
        "DO_NOT_TRACK": "1",
    }


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (/proc/<pid>/stat field 22): a pid
    reused by another process has another start time."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()[19]


def _owned_pid(name: str) -> int | None:
    """The pid of the service `name` this checkout started, if that very process still runs;
    a stale pid file is removed."""
    pid_file = RUN_DIR / f"{name}.pid"
    try:
        pid, started = pid_file.read_text().split()[:2]
    except (OSError, ValueError):
        pid_file.unlink(missing_ok=True)
        return None
    if _start_time(int(pid)) != started:
        pid_file.unlink(missing_ok=True)
        print(f"removed stale pid file .run/{name}.pid (process {pid} is gone)")
        return None
    return int(pid)


def _alive(name: str) -> bool:
    return _owned_pid(name) is not None


def _reuse_or_refuse(name: str, port: int, env_var: str) -> None:
    if _alive(name) or os.environ.get("GAN_REUSE_SERVICES") == "1":
        print(f"{name} already running on :{port}")
        return
    sys.exit(f"error: something not started by this checkout ({ROOT}) answers on {HOST}:{port}; stop it, set {env_var} to another port, "
             "or GAN_REUSE_SERVICES=1 to use it on purpose")


def _spawn(name: str, cmd: list[str]) -> None:
    RUN_DIR.mkdir(exist_ok=True)
    log = open(RUN_DIR / f"{name}.log", "ab")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    (RUN_DIR / f"{name}.pid").write_text(f"{proc.pid} {_start_time(proc.pid)}\n")
    print(f"started {name} (pid {proc.pid}, log .run/{name}.log)", flush=True)


def _wait(what: str, check, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(1)
    sys.exit(f"error: {what} did not come up within {timeout:.0f}s (see .run/*.log)")


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _deployment_ready() -> bool:
    for name in DEPLOYMENTS:
        out = subprocess.run([str(BIN / "prefect"), "deployment", "inspect", name], env=_env(), capture_output=True, text=True)
        if out.returncode != 0:
            return False
    return True


def start() -> None:
    if _healthy(f"{PREFECT_API}/health"):
        _reuse_or_refuse("prefect-server", PREFECT_PORT, "GAN_PREFECT_PORT")
    else:
        _spawn("prefect-server", [str(BIN / "prefect"), "server", "start", "--host", HOST, "--port", str(PREFECT_PORT)])
        _wait("Prefect server", lambda: _healthy(f"{PREFECT_API}/health"))
    subprocess.run([sys.executable, "-m", "flows.zombies"], cwd=ROOT, env=_env(), capture_output=True, timeout=120)
    if _has_cuda():  # one training at a time on the GPU; on CPU, sweeps use every core
        subprocess.run([str(BIN / "prefect"), "concurrency-limit", "create", "gpu", "1"], env=_env(), capture_output=True)
    if _healthy(f"{MLFLOW_URL}/health"):
        _reuse_or_refuse("mlflow", MLFLOW_PORT, "GAN_MLFLOW_PORT")
    else:
        _spawn("mlflow", [str(BIN / "mlflow"), "server", "--host", HOST, "--port", str(MLFLOW_PORT), "--backend-store-uri", f"sqlite:///{ROOT / 'mlflow.db'}", "--default-artifact-root", (ROOT / "mlartifacts").as_uri(), "--workers", "1"])
        _wait("MLflow server", lambda: _healthy(f"{MLFLOW_URL}/health"))
    if _alive("serve"):
        print("deployment server already running")
    else:
        _spawn("serve", [sys.executable, "-m", "flows.serve"])
    _wait("deployments " + ", ".join(DEPLOYMENTS), _deployment_ready)


def stop() -> None:
    for pid_file in sorted(RUN_DIR.glob("*.pid")) if RUN_DIR.exists() else []:
        pid = _owned_pid(pid_file.stem)  # never signal a process that merely reuses an old pid
        if pid is None:
            continue
        try:
            os.killpg(pid, signal.SIGTERM)
            for _ in range(30):
                os.killpg(pid, 0)
                time.sleep(0.5)
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
        except PermissionError:
            print(f"not stopping {pid_file.stem}: not ours")
        pid_file.unlink(missing_ok=True)
        print(f"stopped {pid_file.stem}")


def summary() -> None:
    metrics = ROOT / "metrics" / "eval.json"
    if metrics.exists():
        m = json.loads(metrics.read_text())
        level = round(100 * m.get("jsd_confidence", 0.95))
        print(f"JSD = {m['jsd']:.4f} nats, {level}% interval of sampling noise [{m['jsd_ci_low']:.4f}, {m['jsd_ci_high']:.4f}]"
              + (f"; modes {m['modes_covered']}/{m['modes_total']}, high-quality {m['high_quality_fraction']:.1%}" if "modes_total" in m else "")
              + (f"; mode shape {m['mode_var_min']:.2f}-{m['mode_var_max']:.2f} of the data's variance" if "mode_var_min" in m else ""))
        if "jsd_corrected" in m:
            print(f"with discriminator rejection sampling: JSD = {m['jsd_corrected']:.4f} nats [{m['jsd_corrected_ci_low']:.4f}, {m['jsd_corrected_ci_high']:.4f}], acceptance {m['correction_acceptance']:.1%}")
        print("per-mode zoom: plots/modes.png (also in the MLflow run)")
    print(f"Prefect UI: http://{HOST}:{PREFECT_PORT}   MLflow UI: {MLFLOW_URL}   (make stop to stop them)")


if __name__ == "__main__":
    {"start": start, "stop": stop, "summary": summary}[sys.argv[1] if len(sys.argv) > 1 else "summary"]()
