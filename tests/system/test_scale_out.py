"""Scale-out on real engines: a Dask cluster of separate processes started from the command
line (as on separate hosts), with a worker killed mid-sweep."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
from mlflow.tracking import MlflowClient

from tests.pipeline_helpers import free_port
from tests.tiny import write_tiny_params

BIN = Path(sys.executable).parent


def _spawn(cmd: list[str], cwd: Path, log: Path, env: dict) -> subprocess.Popen:
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True
    )


def _wait_for(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise TimeoutError(what)


@pytest.mark.slow
def test_sweep_on_a_dask_cluster_of_separate_processes_survives_a_lost_worker(tmp_path, monkeypatch, prefect_backend):
    """`dask scheduler` and two `dask worker` processes, each started from its own folder:
    every member runs on those workers; killing a worker mid-training costs only a rerun of
    its member, which resumes from its checkpoint and continues its own MLflow run."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [
        _spawn(
            [
                str(BIN / "dask"),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--dashboard-address",
                "127.0.0.1:0",
            ],
            tmp_path / "scheduler-host",
            tmp_path / "scheduler.log",
            env,
        )
    ]
    try:
        for i in range(2):  # started from folders of their own: nothing from the submitting checkout's cwd
            procs.append(
                _spawn(
                    [
                        str(BIN / "dask"),
                        "worker",
                        address,
                        "--nthreads",
                        "1",
                        "--nworkers",
                        "1",
                        "--host",
                        "127.0.0.1",
                        "--dashboard-address",
                        "127.0.0.1:0",
                        "--name",
                        f"w{i}",
                    ],
                    tmp_path / f"worker{i}-host",
                    tmp_path / f"worker{i}.log",
                    env,
                )
            )
        from distributed import Client

        def loopback_only():
            pids = {
                q.pid for p in procs for q in [psutil.Process(p.pid), *psutil.Process(p.pid).children(recursive=True)]
            }
            sockets = [
                c for c in psutil.net_connections(kind="tcp") if c.status == psutil.CONN_LISTEN and c.pid in pids
            ]
            return sockets and all(c.laddr.ip in ("127.0.0.1", "::1") for c in sockets)

        with Client(address, timeout=60) as dask_client:
            dask_client.wait_for_workers(2, timeout=120)
            workers = {info["name"]: addr for addr, info in dask_client.scheduler_info()["workers"].items()}
        assert loopback_only()  # scheduler, workers, nannies and dashboards: 127.0.0.1 only
        uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
        monkeypatch.setenv("GAN_DASK_ADDRESS", address)
        write_tiny_params(tmp_path / "params.yaml")
        runs = tmp_path / "runs" / "real"
        from flows.sweep_gan import _folder, sweep_gan

        killed = []

        def kill_a_busy_worker():
            """Once a member has a checkpoint, kill the worker that trains it (and its nanny: a host gone)."""
            _wait_for(lambda: any(runs.glob("*/models/checkpoints/*/last.pt")), 300, "no member checkpoint")
            c = MlflowClient(uri)
            running = c.search_runs(
                [c.get_experiment_by_name("gan-pipeline").experiment_id],
                "attributes.status = 'RUNNING' and tags.entry = 'sweep-gan'",
            )
            members_running = [r for r in running if "sweep_member" in r.data.tags]
            busy = next(
                r
                for r in members_running
                if any((runs / _folder(r.data.tags["sweep_member"])).glob("models/checkpoints/*/last.pt"))
            )
            name = next(n for n, addr in workers.items() if addr == busy.data.tags["dask_worker"])
            nanny = psutil.Process(procs[1 + int(name[1:])].pid)
            for proc in [*nanny.children(recursive=True), nanny]:
                proc.kill()
            killed.append(busy.data.tags["sweep_member"])

        import threading

        killer = threading.Thread(target=kill_a_busy_worker, daemon=True)
        killer.start()

        out = sweep_gan(
            grid={"seed": [0, 1]},
            overrides={"train.steps": 3000, "train.checkpoint_every": 100, "train.sample_every": 500},
            params_path=str(tmp_path / "params.yaml"),
            root=str(tmp_path),
            name="real",
        )
        killer.join(timeout=10)
        assert killed, "no worker was killed during the sweep"
        assert out["finished"] == 2 and not out["failed"]
        client = MlflowClient(uri)
        children = client.search_runs(
            [client.get_experiment_by_name("gan-pipeline").experiment_id],
            f"tags.mlflow.parentRunId = '{out['parent_run_id']}'",
        )
        assert sorted(c.data.tags["sweep_member"] for c in children) == [
            "seed=0",
            "seed=1",
        ]  # one run per member, the rerun included
        assert all(c.info.status == "FINISHED" for c in children)
        assert {c.data.tags["dask_worker"] for c in children} <= set(workers.values())
        members = pd.read_csv(tmp_path / "reports" / "real" / "members.csv")
        lost = members.set_index("member").loc[killed[0]]
        assert lost["resumed_from"] > 0, members.to_dict(
            "records"
        )  # the lost member resumed from its checkpoint, not from step 0
        assert set(members["worker"]) <= set(workers.values())
    finally:
        for p in procs:
            try:
                for child in psutil.Process(p.pid).children(recursive=True):
                    child.kill()
            except psutil.NoSuchProcess:
                pass
            p.kill()


@pytest.mark.slow
def test_a_deployment_runs_through_a_process_work_pool_worker(tmp_path, prefect_backend):
    """`python -m flows.deploy` registers the flows on a process work pool; a `prefect worker`
    started from another folder picks up a `train-gan/pool` run and completes it."""
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_backend,
        "OMP_NUM_THREADS": "1",
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
    }
    pool = f"test-pool-{os.getpid()}"
    deployed = subprocess.run(
        [sys.executable, "-m", "flows.deploy", "--pool", pool], env=env, capture_output=True, text=True, timeout=300
    )
    assert deployed.returncode == 0 and "registered train-gan/pool" in deployed.stdout, (
        deployed.stdout + deployed.stderr
    )
    write_tiny_params(tmp_path / "params.yaml")
    worker = _spawn(
        [str(BIN / "prefect"), "worker", "start", "--pool", pool, "--type", "process"],
        tmp_path / "worker-host",
        tmp_path / "worker.log",
        env,
    )
    try:
        run = subprocess.run(
            [
                str(BIN / "prefect"),
                "deployment",
                "run",
                "train-gan/pool",
                "--param",
                f"params_path={tmp_path / 'params.yaml'}",
                "--param",
                f"root={tmp_path}",
                "--watch",
                "--watch-timeout",
                "500",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0 and "Completed" in run.stdout, run.stdout[-3000:] + run.stderr[-2000:]
        assert (tmp_path / "metrics" / "eval.json").exists() and (tmp_path / "models" / "generator.pt").exists()
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
