"""Start / stop the local services `make run` needs, on 127.0.0.1 only, with pid files.

    python -m flows.services start    # Prefect server :4200, MLflow UI :5000, deployment server
    python -m flows.services stop     # stops exactly what `start` started (pid files)
    python -m flows.services summary  # final JSD and the two addresses
    python -m flows.services team     # the team's servers, with basic auth (README: a team set-up)

GAN_PREFECT_PORT / GAN_MLFLOW_PORT move the two servers off 4200 / 5000.

A service already answering on its port is reused only when this checkout started it (its
pid file names a live process with the same start time); anything else on the port is refused
with one line, so runs of this checkout never land in another checkout's MLflow or Prefect.
Set GAN_PREFECT_PORT / GAN_MLFLOW_PORT to run beside it, or GAN_REUSE_SERVICES=1 to use a
server you configured on purpose. A stale pid file (its process gone or replaced) is removed.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import secrets
import signal
import socket
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


def prefect_server_security(port: int, host: str = HOST) -> dict[str, str]:
    """A Prefect server that web pages of other origins cannot drive: CORS answers only its
    own UI's origin, and every state-changing request needs a CSRF token (Prefect's clients,
    CLI and UI fetch one by themselves)."""
    return {
        "PREFECT_SERVER_API_CSRF_PROTECTION_ENABLED": "true",
        "PREFECT_SERVER_API_CORS_ALLOWED_ORIGINS": f"http://{host}:{port},http://localhost:{port}",
        "PREFECT_CLIENT_CSRF_SUPPORT_ENABLED": "true",
    }


# The server streams run logs to watchers: `prefect deployment run ... --watch` (and so
# `make run`) prints the training's progress lines, not only state changes and heartbeats.
LOG_STREAM = {"PREFECT_SERVER_LOGS_STREAM_OUT_ENABLED": "true", "PREFECT_SERVER_LOGS_STREAM_PUBLISHING_ENABLED": "true"}


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PREFECT_API_URL": PREFECT_API,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_API_HOST": HOST,
        **prefect_server_security(PREFECT_PORT),
        **LOG_STREAM,
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


def _healthy(url: str, auth: str | None = None) -> bool:
    headers = {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()} if auth else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=2) as r:
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
    sys.exit(
        f"error: something not started by this checkout ({ROOT}) answers on {HOST}:{port}; stop it, set {env_var} to another port, "
        "or GAN_REUSE_SERVICES=1 to use it on purpose"
    )


def _spawn(name: str, cmd: list[str], env: dict[str, str] | None = None) -> None:
    RUN_DIR.mkdir(exist_ok=True)
    log = open(RUN_DIR / f"{name}.log", "ab")
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env or _env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    (RUN_DIR / f"{name}.pid").write_text(f"{proc.pid} {_start_time(proc.pid)}\n")
    print(f"started {name} (pid {proc.pid}, log .run/{name}.log)", flush=True)


def _wait(what: str, check, timeout: float = 180, service: str | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if service and not _alive(service):
            sys.exit(f"error: {what} exited at start-up; see .run/{service}.log")
        time.sleep(1)
    sys.exit(f"error: {what} did not come up within {timeout:.0f}s (see .run/*.log)")


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _deployment_ready() -> bool:
    for name in DEPLOYMENTS:
        out = subprocess.run(
            [str(BIN / "prefect"), "deployment", "inspect", name], env=_env(), capture_output=True, text=True
        )
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
        subprocess.run(
            [str(BIN / "prefect"), "concurrency-limit", "create", "gpu", "1"], env=_env(), capture_output=True
        )
    if _healthy(f"{MLFLOW_URL}/health"):
        _reuse_or_refuse("mlflow", MLFLOW_PORT, "GAN_MLFLOW_PORT")
    else:
        _spawn(
            "mlflow",
            [
                str(BIN / "mlflow"),
                "server",
                "--host",
                HOST,
                "--port",
                str(MLFLOW_PORT),
                "--backend-store-uri",
                f"sqlite:///{ROOT / 'mlflow.db'}",
                "--default-artifact-root",
                (ROOT / "mlartifacts").as_uri(),
                "--workers",
                "1",
            ],
        )
        _wait("MLflow server", lambda: _healthy(f"{MLFLOW_URL}/health"))
    if _alive("serve"):
        print("deployment server already running")
    else:
        _spawn("serve", [sys.executable, "-m", "flows.serve"])
    _wait("deployments " + ", ".join(DEPLOYMENTS), _deployment_ready)


def team() -> None:
    """The team's servers, from one command run in the folder that keeps their state:
    Prefect with an API auth string, MLflow with its basic-auth app and artifacts served
    through the server (`--artifacts-destination`), so clients on other machines need only
    the two addresses and the credentials (GAN_TEAM_USER / GAN_TEAM_PASSWORD)."""
    user, password = os.environ.get("GAN_TEAM_USER", ""), os.environ.get("GAN_TEAM_PASSWORD", "")
    if not user or ":" in user or len(password) < 12:
        sys.exit(
            "error: GAN_TEAM_USER (no ':') and GAN_TEAM_PASSWORD (12 characters or more) must be set for the team servers"
        )
    host = os.environ.get("GAN_TEAM_HOST", HOST)
    state = RUN_DIR / "team"
    state.mkdir(parents=True, exist_ok=True)
    auth_ini = state / "basic_auth.ini"
    auth_ini.write_text(
        f"[mlflow]\ndefault_permission = READ\ndatabase_uri = sqlite:///{state / 'auth.db'}\n"
        f"admin_username = {user}\nadmin_password = {password}\nauthorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
    auth_ini.chmod(0o600)
    secret = state / "flask_secret_key"  # MLflow's CSRF key for its auth app: one per team, kept across restarts
    if not secret.exists():
        secret.write_text(secrets.token_hex(32))
        secret.chmod(0o600)
    shown = socket.getfqdn() if host in ("0.0.0.0", "::") else host  # the name clients and the UI's origin use
    prefect_url, mlflow_url = f"http://{shown}:{PREFECT_PORT}", f"http://{shown}:{MLFLOW_PORT}"
    server_env = {
        **os.environ,
        "PREFECT_HOME": str(state / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_API_AUTH_STRING": f"{user}:{password}",
        "PREFECT_API_AUTH_STRING": f"{user}:{password}",
        "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect.server.concurrency.lease_storage.filesystem",
        **prefect_server_security(PREFECT_PORT, shown),
        **LOG_STREAM,
        "MLFLOW_AUTH_CONFIG_PATH": str(auth_ini),
        "MLFLOW_FLASK_SERVER_SECRET_KEY": secret.read_text().strip(),
    }
    for name, port, health, auth in (
        ("prefect-server", PREFECT_PORT, f"{prefect_url}/api/health", f"{user}:{password}"),
        ("mlflow", MLFLOW_PORT, f"{mlflow_url}/health", None),
    ):
        if _healthy(health, auth):
            _reuse_or_refuse(name, port, "GAN_PREFECT_PORT" if name == "prefect-server" else "GAN_MLFLOW_PORT")
            continue
        if name == "prefect-server":
            _spawn(
                name, [str(BIN / "prefect"), "server", "start", "--host", host, "--port", str(PREFECT_PORT)], server_env
            )
        else:
            backend = os.environ.get("GAN_TEAM_BACKEND_URI", f"sqlite:///{state / 'mlflow.db'}")
            artifacts = os.environ.get("GAN_TEAM_ARTIFACTS", str(state / "artifacts"))
            _spawn(
                name,
                [
                    str(BIN / "mlflow"),
                    "server",
                    "--app-name",
                    "basic-auth",
                    "--host",
                    host,
                    "--port",
                    str(MLFLOW_PORT),
                    "--backend-store-uri",
                    backend,
                    "--artifacts-destination",
                    artifacts,
                    "--workers",
                    "2",
                    *(
                        ["--allowed-hosts", os.environ["GAN_TEAM_ALLOWED_HOSTS"]]
                        if os.environ.get("GAN_TEAM_ALLOWED_HOSTS")
                        else []
                    ),
                ],
                server_env,
            )
        _wait(name, functools.partial(_healthy, health, auth), service=name)
    print(
        "team servers up; on each machine that runs flows (with this project installed):\n"
        f'  export PREFECT_API_URL={prefect_url}/api PREFECT_API_AUTH_STRING="$GAN_TEAM_USER:$GAN_TEAM_PASSWORD"\n'
        f'  export MLFLOW_TRACKING_URI={mlflow_url} MLFLOW_TRACKING_USERNAME="$GAN_TEAM_USER" MLFLOW_TRACKING_PASSWORD="$GAN_TEAM_PASSWORD"'
    )


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
        print(
            f"JSD = {m['jsd']:.4f} nats, nominal {level}% interval [{m['jsd_ci_low']:.4f}, {m['jsd_ci_high']:.4f}] (noise; above, the critic's shortfall too)"
            + (f", held-out value {m['jsd_held_out']:.4f}" if "jsd_held_out" in m else "")
            + (f", one-sided {level}% lower bound {m['jsd_lower_bound']:.4f}" if "jsd_lower_bound" in m else "")
            + (
                f"; modes {m['modes_covered']}/{m['modes_total']}, high-quality {m['high_quality_fraction']:.1%}"
                if "modes_total" in m
                else ""
            )
            + (
                f"; mode shape {m['mode_var_min']:.2f}-{m['mode_var_max']:.2f} of the data's variance"
                if "mode_var_min" in m
                else ""
            )
        )
        if "jsd_corrected" in m:
            print(
                f"with discriminator rejection sampling: JSD = {m['jsd_corrected']:.4f} nats [{m['jsd_corrected_ci_low']:.4f}, {m['jsd_corrected_ci_high']:.4f}], acceptance {m['correction_acceptance']:.1%}"
            )
        print("per-mode zoom: plots/modes.png (also in the MLflow run)")
    print(f"Prefect UI: http://{HOST}:{PREFECT_PORT}   MLflow UI: {MLFLOW_URL}   (make stop to stop them)")


if __name__ == "__main__":
    {"start": start, "team": team, "stop": stop, "summary": summary}[sys.argv[1] if len(sys.argv) > 1 else "summary"]()
