"""The services the project starts: loopback only, and four train-gan runs at once against one
Prefect server and one MLflow server, with every metric of every run stored."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import psutil
import pytest
from mlflow.tracking import MlflowClient

from tests.pipeline_helpers import ROOT, free_port
from tests.tiny import TINY, write_tiny_params

BIN = Path(sys.executable).parent
LOOPBACK = {"127.0.0.1", "::1"}


def _listening(pids: set[int]) -> list[tuple[int, str, int]]:
    """(pid, address, port) of every listening TCP socket of these processes."""
    out = []
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.pid in pids:
            out.append((conn.pid, conn.laddr.ip, conn.laddr.port))
    return out


def _tree(pid: int) -> set[int]:
    try:
        proc = psutil.Process(pid)
        return {pid} | {c.pid for c in proc.children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def test_make_run_services_listen_on_loopback_only(tmp_path):
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "GAN_PREFECT_PORT": str(free_port()),
        "GAN_MLFLOW_PORT": str(free_port()),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    write_tiny_params(tmp_path / "params.yaml")
    services = [sys.executable, "-m", "flows.services"]
    try:
        subprocess.run([*services, "start"], cwd=tmp_path, env=env, check=True, timeout=400, capture_output=True)
        pids = set().union(*(_tree(int(p.read_text().split()[0])) for p in (tmp_path / ".run").glob("*.pid")))
        sockets = _listening(pids)
        ports = {int(env["GAN_PREFECT_PORT"]), int(env["GAN_MLFLOW_PORT"])}
        assert ports <= {port for _, _, port in sockets}, sockets
        exposed = [s for s in sockets if s[1] not in LOOPBACK]
        assert not exposed, f"listening beyond loopback: {exposed}"
        _foreign_origins_are_refused(int(env["GAN_PREFECT_PORT"]), int(env["GAN_MLFLOW_PORT"]))
    finally:
        subprocess.run([*services, "stop"], cwd=tmp_path, env=env, timeout=120, capture_output=True)
    time.sleep(1)
    assert not [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]


def _request(
    url: str, method: str, origin: str, body: bytes | None = None, headers: dict | None = None
) -> tuple[int, dict[str, str]]:
    req = urllib.request.Request(url, data=body, method=method, headers={"Origin": origin, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}


def _foreign_origins_are_refused(prefect_port: int, mlflow_port: int) -> None:
    """What a web page of another origin could do in the user's browser: Prefect's CORS gives
    it no allow-origin and a POST without a CSRF token is refused; MLflow refuses its write.
    The UI's own origin is still allowed (the Chromium test drives the UI itself)."""
    api, evil, own = f"http://127.0.0.1:{prefect_port}/api", "http://evil.example", f"http://127.0.0.1:{prefect_port}"
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    _, headers = _request(f"{api}/deployments/filter", "OPTIONS", evil, headers=preflight)
    assert headers.get("access-control-allow-origin") not in (evil, "*"), headers
    status, _ = _request(f"{api}/deployments/filter", "POST", evil, b"{}", {"Content-Type": "application/json"})
    assert status == 403
    _, headers = _request(f"{api}/deployments/filter", "OPTIONS", own, headers=preflight)
    assert headers.get("access-control-allow-origin") == own
    status, _ = _request(
        f"http://127.0.0.1:{mlflow_port}/api/2.0/mlflow/experiments/create",
        "POST",
        evil,
        b'{"name": "from-elsewhere"}',
        {"Content-Type": "application/json"},
    )
    assert status == 403


def test_sweep_dask_cluster_listens_on_loopback_only():
    from distributed import Client, LocalCluster

    from flows.sweep_gan import task_runner

    kwargs = task_runner(None, 2).cluster_kwargs
    with LocalCluster(**kwargs) as cluster, Client(cluster) as client:
        client.wait_for_workers(2, timeout=120)
        sockets = _listening(_tree(os.getpid()))
        assert len(sockets) >= 3, sockets  # scheduler, dashboard, workers and their nannies
        exposed = [s for s in sockets if s[1] not in LOOPBACK]
        assert not exposed, f"listening beyond loopback: {exposed}"


def _start(cmd: list[str], log: Path, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(cmd, stdout=open(log, "wb"), stderr=subprocess.STDOUT, env=env, start_new_session=True)


def _mlflow_server(tmp_path: Path, backend: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    server = _start(
        [
            str(BIN / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            backend,
            "--default-artifact-root",
            (tmp_path / "mlartifacts").as_uri(),
            "--workers",
            "1",
        ],
        tmp_path / "mlflow.log",
    )
    deadline = time.monotonic() + 180
    while not _healthy(f"{uri}/health"):  # not MlflowClient: its retries back off for minutes
        assert time.monotonic() < deadline and server.poll() is None, (
            f"MLflow server did not start: {(tmp_path / 'mlflow.log').read_text()[-2000:]}"
        )
        time.sleep(0.5)
    return server, uri


def _four_concurrent_runs_store_everything(tmp_path: Path, prefect_api: str, mlflow_uri: str) -> None:
    """Four `train-gan` runs at once against one Prefect and one MLflow server: every run,
    every per-step metric and every model version is stored."""
    env = {**os.environ, "PREFECT_API_URL": prefect_api, "MLFLOW_TRACKING_URI": mlflow_uri, "OMP_NUM_THREADS": "1"}
    procs = []
    for i in range(4):
        root = tmp_path / f"run{i}"
        root.mkdir()
        write_tiny_params(root / "params.yaml")
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "flows.train_gan",
                    "--params",
                    str(root / "params.yaml"),
                    "--root",
                    str(root),
                    "--set",
                    f"seed={i}",
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    for p, out in zip(procs, outputs):
        assert p.returncode == 0, out[-3000:]
        assert "database is locked" not in out
    client = MlflowClient(mlflow_uri)
    runs = client.search_runs([client.get_experiment_by_name("gan-pipeline").experiment_id])
    assert sorted(r.data.params["seed"] for r in runs) == ["0", "1", "2", "3"]
    steps = TINY["train.steps"]
    for run in runs:
        assert run.info.status == "FINISHED"
        for key in ("d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm"):
            history = client.get_metric_history(run.info.run_id, key)
            assert sorted(m.step for m in history) == list(range(1, steps + 1)), (run.data.params["seed"], key)
        assert {"jsd", "jsd_ci_low", "jsd_ci_high", "modes_covered", "high_quality_fraction"} <= run.data.metrics.keys()
    versions = client.search_model_versions("name='gan-generator-ring8'")
    assert sorted(v.run_id for v in versions) == sorted(r.info.run_id for r in runs)


@pytest.mark.slow
def test_four_concurrent_train_gan_runs_store_every_metric(tmp_path, prefect_backend):
    server, uri = _mlflow_server(tmp_path, f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        _four_concurrent_runs_store_everything(tmp_path, prefect_backend, uri)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _postgres_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(candidates[-1]) if candidates else None


@pytest.fixture
def postgres(tmp_path_factory):
    """A PostgreSQL server of the distribution's packages on 127.0.0.1, in a temporary data
    folder (run as the `postgres` user when the tests run as root: initdb refuses root)."""
    initdb, pg_ctl = _postgres_bin("initdb"), _postgres_bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("needs PostgreSQL's server binaries (.ci/run installs Debian's postgresql)")
    as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    data = Path(tempfile.mkdtemp(prefix="gan-pg-"))
    data.chmod(0o755)
    if as_owner:
        shutil.chown(data, "postgres", "postgres")
    port = free_port()
    subprocess.run(
        [*as_owner, initdb, "-D", str(data / "db"), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    subprocess.run(
        [
            *as_owner,
            pg_ctl,
            "-D",
            str(data / "db"),
            "-l",
            str(data / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            f"-h 127.0.0.1 -p {port} -k {data}",
            "start",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres")
        conn.autocommit = True  # CREATE DATABASE runs outside a transaction
        with conn.cursor() as cur:
            cur.execute("create database prefect")
            cur.execute("create database mlflow")
        conn.close()
        yield f"postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [*as_owner, pg_ctl, "-D", str(data / "db"), "-m", "fast", "stop"], capture_output=True, timeout=120
        )
        shutil.rmtree(data, ignore_errors=True)


@pytest.mark.slow
def test_servers_on_postgresql_store_four_concurrent_runs(tmp_path, postgres):
    """The team set-up's databases: the Prefect server and the MLflow server both on
    PostgreSQL (127.0.0.1 only), four concurrent train-gan runs against them."""
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_API_DATABASE_CONNECTION_URL": f"postgresql+asyncpg://{postgres}/prefect",
    }
    prefect = _start(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        tmp_path / "prefect.log",
        env,
    )
    mlflow_server, uri = _mlflow_server(tmp_path, f"postgresql+psycopg2://{postgres}/mlflow")
    try:
        _wait_for(lambda: _healthy(f"{api}/health"), 180)
        _four_concurrent_runs_store_everything(tmp_path, api, uri)
        listening = _listening(_tree(prefect.pid) | _tree(mlflow_server.pid))
        assert listening and not [s for s in listening if s[1] not in LOOPBACK], listening
    finally:
        for server in (prefect, mlflow_server):
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def _wait_for(check, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(1)
    raise AssertionError(f"condition not met within {timeout} s")


def _flow_run_state(api: str, run_id: str) -> str:
    import httpx

    return httpx.get(f"{api}/flow_runs/{run_id}", timeout=10).json()["state"]["type"]


@pytest.mark.slow
def test_killed_serve_process_marks_the_run_crashed_and_a_new_run_resumes(tmp_path):
    """kill -9 the deployment server and its flow-run process mid-training: the run is marked
    Crashed once its heartbeats stop (flows/zombies.py), and the deployment run again resumes
    from the checkpoint left behind."""
    import re

    from flows.zombies import HEARTBEAT_SECONDS, SILENCE

    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "GAN_PREFECT_PORT": str(port),
        "COLUMNS": "250",
        "GAN_MLFLOW_PORT": str(free_port()),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_API_URL": api,
        "OMP_NUM_THREADS": "1",
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    write_tiny_params(tmp_path / "params.yaml")
    services = [sys.executable, "-m", "flows.services"]
    overrides = '{"train.steps": 4000, "train.checkpoint_every": 100}'

    def deployment_run(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                str(BIN / "prefect"),
                "deployment",
                "run",
                "train-gan/default",
                "--param",
                f"overrides={overrides}",
                *extra,
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    try:
        subprocess.run([*services, "start"], cwd=tmp_path, env=env, check=True, timeout=400, capture_output=True)
        started = deployment_run()
        run_id = re.search(r"UUID: ([0-9a-f-]{36})", started.stdout).group(1)
        _wait_for(lambda: any((tmp_path / "models" / "checkpoints").glob("*/last.pt")), 300)
        assert _flow_run_state(api, run_id) == "RUNNING"
        serve = psutil.Process(int((tmp_path / ".run" / "serve.pid").read_text().split()[0]))
        for proc in [serve, *serve.children(recursive=True)]:
            proc.kill()
        (ckpt,) = (tmp_path / "models" / "checkpoints").glob("*/last.pt")
        import torch

        step = int(torch.load(ckpt, weights_only=True)["step"])
        assert 0 < step < 4000
        _wait_for(lambda: _flow_run_state(api, run_id) == "CRASHED", SILENCE.seconds + 4 * HEARTBEAT_SECONDS + 60)

        subprocess.run(
            [*services, "start"], cwd=tmp_path, env=env, check=True, timeout=400, capture_output=True
        )  # serve again
        again = deployment_run("--watch")
        assert again.returncode == 0 and "Completed" in again.stdout, again.stdout[-2000:]
        # what a person watching sees: the training's progress lines, not only heartbeats
        assert "fit-gan step 4000/4000 (100%)" in again.stdout and "steps/s ETA" in again.stdout, again.stdout[-3000:]
        assert "evaluate-gan: fitting a fresh critic" in again.stdout
        assert f"resuming from step {step}" in (tmp_path / ".run" / "serve.log").read_text()
    finally:
        subprocess.run([*services, "stop"], cwd=tmp_path, env=env, timeout=120, capture_output=True)


@pytest.mark.slow
def test_two_deployment_runs_in_one_checkout_each_report_their_own(tmp_path):
    """Two `train-gan/default` deployment runs started together on one checkout's services:
    both complete (the second waits for the first's lock) and each one's metrics equal the
    same run made alone in a checkout of its own."""
    port, mlflow_port = free_port(), free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "GAN_PREFECT_PORT": str(port),
        "GAN_MLFLOW_PORT": str(mlflow_port),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_API_URL": api,
        "OMP_NUM_THREADS": "1",
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    shared = tmp_path / "shared"
    shared.mkdir()
    write_tiny_params(shared / "params.yaml")
    services = [sys.executable, "-m", "flows.services"]
    seeds = (1, 2)
    try:
        subprocess.run([*services, "start"], cwd=shared, env=env, check=True, timeout=400, capture_output=True)
        runs = [
            subprocess.Popen(
                [
                    str(BIN / "prefect"),
                    "deployment",
                    "run",
                    "train-gan/default",
                    "--param",
                    f'overrides={{"seed": {s}}}',
                    "--watch",
                ],
                cwd=shared,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for s in seeds
        ]
        outs = [p.communicate(timeout=900)[0] for p in runs]
        assert all(p.returncode == 0 and "Completed" in out for p, out in zip(runs, outs)), [o[-2000:] for o in outs]
        assert "waiting for it to finish" in (shared / ".run" / "serve.log").read_text()
        client = MlflowClient(f"http://127.0.0.1:{mlflow_port}")
        experiment = client.get_experiment_by_name("gan-pipeline").experiment_id
        for seed in seeds:
            (run,) = client.search_runs([experiment], f"params.seed = '{seed}' and tags.entry = 'train-gan'")
            alone = tmp_path / f"alone{seed}"
            alone.mkdir()
            write_tiny_params(alone / "params.yaml")
            uri = f"sqlite:///{alone / 'mlflow.db'}"
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "flows.train_gan",
                    "--params",
                    str(alone / "params.yaml"),
                    "--root",
                    str(alone),
                    "--set",
                    f"seed={seed}",
                ],
                cwd=ROOT,
                env={**env, "MLFLOW_TRACKING_URI": uri},
                check=True,
                timeout=600,
                capture_output=True,
            )
            (solo,) = MlflowClient(uri).search_runs(
                [MlflowClient(uri).get_experiment_by_name("gan-pipeline").experiment_id], "tags.entry = 'train-gan'"
            )
            assert run.info.status == "FINISHED"
            assert (run.data.metrics["jsd"], run.data.metrics["modes_covered"]) == (
                solo.data.metrics["jsd"],
                solo.data.metrics["modes_covered"],
            )
    finally:
        subprocess.run([*services, "stop"], cwd=shared, env=env, timeout=120, capture_output=True)


@pytest.mark.slow
def test_team_servers_with_auth_serve_every_artifact(tmp_path, monkeypatch):
    """`python -m flows.services team`: both servers refuse requests without the credentials;
    a train-gan run from another working directory, given only the addresses and the
    credentials, stores every artifact through the MLflow server (none in its own folder)."""
    import mlflow

    user, password = "team-admin", "a-long-team-password"
    team_dir, elsewhere = tmp_path / "team-host", tmp_path / "elsewhere"
    team_dir.mkdir()
    elsewhere.mkdir()
    ports = {"GAN_PREFECT_PORT": str(free_port()), "GAN_MLFLOW_PORT": str(free_port())}
    prefect_url, mlflow_url = (
        f"http://127.0.0.1:{ports['GAN_PREFECT_PORT']}",
        f"http://127.0.0.1:{ports['GAN_MLFLOW_PORT']}",
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MLFLOW_"))}
    services = [sys.executable, "-m", "flows.services"]
    host_env = {**base, **ports, "GAN_TEAM_USER": user, "GAN_TEAM_PASSWORD": password}
    refused = subprocess.run(
        [*services, "team"],
        cwd=team_dir,
        env={**host_env, "GAN_TEAM_PASSWORD": "short"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0 and "GAN_TEAM_PASSWORD" in refused.stderr
    try:
        out = subprocess.run(
            [*services, "team"], cwd=team_dir, env=host_env, capture_output=True, text=True, timeout=400
        )
        assert out.returncode == 0, out.stdout + out.stderr
        assert password not in out.stdout  # the printed client set-up names the variables, not the secret
        assert _request(f"{prefect_url}/api/admin/version", "GET", prefect_url)[0] == 401
        assert _request(f"{mlflow_url}/api/2.0/mlflow/experiments/search?max_results=1", "GET", mlflow_url)[0] == 401

        client_env = {
            **base,
            "PREFECT_HOME": str(elsewhere / ".prefect"),
            "PREFECT_API_URL": f"{prefect_url}/api",
            "PREFECT_API_AUTH_STRING": f"{user}:{password}",
            "MLFLOW_TRACKING_URI": mlflow_url,
            "MLFLOW_TRACKING_USERNAME": user,
            "MLFLOW_TRACKING_PASSWORD": password,
            "OMP_NUM_THREADS": "1",
        }
        write_tiny_params(elsewhere / "params.yaml")
        run = subprocess.run(
            [sys.executable, "-m", "flows.train_gan"],
            cwd=elsewhere,
            env=client_env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

        for key in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
            monkeypatch.setenv(key, client_env[key])
        client = MlflowClient(mlflow_url)
        (finished,) = client.search_runs([client.get_experiment_by_name("gan-pipeline").experiment_id])
        assert finished.info.status == "FINISHED" and finished.info.artifact_uri.startswith("mlflow-artifacts:")
        files = {a.path for a in client.list_artifacts(finished.info.run_id)} | {
            a.path for a in client.list_artifacts(finished.info.run_id, "config")
        }
        assert {"eval.json", "samples.png", "modes.png", "curves.csv", "config/resolved_params.yaml"} <= files
        fetched = mlflow.artifacts.download_artifacts(
            run_id=finished.info.run_id,
            artifact_path="eval.json",
            dst_path=str(tmp_path / "fetched"),
            tracking_uri=mlflow_url,
        )
        assert Path(fetched).read_bytes() == (elsewhere / "metrics" / "eval.json").read_bytes()
        (version,) = client.search_model_versions("name='gan-generator-ring8'")
        model = mlflow.pyfunc.load_model(f"models:/gan-generator-ring8/{version.version}")
        assert model.predict(np.zeros((2, 4), dtype=np.float32)).shape == (2, 2)
        stored = {p.name for p in (team_dir / ".run" / "team" / "artifacts").rglob("*") if p.is_file()}
        assert {"eval.json", "modes.png", "generator.pt"} <= stored
        assert not (elsewhere / "mlartifacts").exists() and not (elsewhere / "mlflow.db").exists()
    finally:
        subprocess.run([*services, "stop"], cwd=team_dir, env=host_env, timeout=120, capture_output=True)
