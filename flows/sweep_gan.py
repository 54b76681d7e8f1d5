"""sweep-gan: a grid of trainings run in parallel on Dask, one MLflow parent run with a
nested child per member, and the MM-vs-NS study report.

    python -m flows.sweep_gan                                  # the params.yaml `sweep` section
    prefect deployment run sweep-gan/default --watch
    prefect deployment run sweep-gan/default --param grid='{"train.k": [1, 2], "seed": [0, 1, 2]}'
    GAN_DASK_ADDRESS=tcp://scheduler:8786 python -m flows.sweep_gan   # an existing Dask cluster

Members run on a local Dask cluster (one worker process per core by default) or on the
scheduler the operator names in GAN_DASK_ADDRESS or params.yaml `sweep.address` (not a flow
parameter: a flow run started through the API cannot choose it). Each member writes
under `runs/<sweep>/<member>/`; running the same `name` again resumes from the checkpoints.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from typing import Any

from prefect import flow
from prefect.runtime import flow_run
from prefect_dask import DaskTaskRunner

from gan_core.sweep import Member, expand_grid, load_sweep_config
from tasks.common import run_logger
from tasks.guard import check_flow_paths, check_inside, check_slug
from tasks.paths import Paths
from tasks.sweep import run_member, write_report
from tasks.tracking import client, start_run, tracked_run, tracking_uri

ADDRESS_ENV = "GAN_DASK_ADDRESS"


def task_runner(address: str | None, workers: int) -> DaskTaskRunner:
    """An existing scheduler when given; else a local cluster of single-threaded worker
    processes, its scheduler and dashboard on 127.0.0.1 only."""
    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": workers,
            "threads_per_worker": 1,
            "processes": True,
            "host": "127.0.0.1",
            "dashboard_address": "127.0.0.1:0",
        }
    )


@flow(name="sweep-members")
def run_members(
    members: list[Member], params_path: str, sweep_root: str, uri: str, parent_run_id: str, threads: int
) -> tuple[list[dict], dict[str, str]]:
    """Submit every member at once; a failed member fails alone (reported, not raised)."""
    futures = {
        m.name: run_member.with_options(task_run_name=f"member {m.name}").submit(
            m, params_path, os.path.join(sweep_root, _folder(m.name)), uri, parent_run_id, threads
        )
        for m in members
    }
    results, failed = [], {}
    for name, future in futures.items():
        try:
            results.append(future.result())
        except Exception as exc:  # the member's own run is already marked FAILED with the reason
            failed[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            run_logger().warning("member %s failed: %s", name, failed[name])
    return results, failed


@flow(name="sweep-gan")
def sweep_gan(
    grid: dict[str, list[Any]] | None = None,
    overrides: dict[str, Any] | None = None,
    params_path: str = "params.yaml",
    root: str = ".",
    workers: int | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    check_flow_paths(root, params_path, overrides)
    for key, values in (grid or {}).items():
        for value in values if key == "data.path" and isinstance(values, list) else []:
            check_inside("data.path", value)
    if name is not None:
        check_slug("name", name)
    # The scheduler comes from the operator (params.yaml or the environment), never from a
    # parameter: whoever can start a flow run must not make it connect to any address.
    sweep = load_sweep_config(
        params_path, grid=grid, overrides=overrides, address=os.environ.get(ADDRESS_ENV) or None, workers=workers
    )
    members = expand_grid(sweep, params_path)  # every member validated before any work
    paths = Paths.at(root)
    sweep_id = (
        name or f"{time.strftime('sweep-%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    )  # unique: two sweeps started together never share a folder
    n_workers = sweep.workers or os.cpu_count() or 1
    threads = 0 if sweep.address else max(1, (os.cpu_count() or 1) // n_workers)
    uri = tracking_uri(paths.root)
    params = {
        "sweep.name": sweep_id,
        "sweep.members": len(members),
        "sweep.address": sweep.address or "local",
        "sweep.workers": n_workers if not sweep.address else "remote",
    }
    params |= {f"sweep.grid.{k}": v for k, v in sweep.grid.items()} | {
        f"sweep.overrides.{k}": v for k, v in sweep.overrides.items()
    }
    parent = start_run(
        paths.root, params, {"prefect_flow_run_id": str(flow_run.id), "entry": "sweep-gan"}, run_name=sweep_id
    )
    log = run_logger()
    log.info(
        "sweep %s: %d members on %s",
        sweep_id,
        len(members),
        sweep.address or f"a local Dask cluster of {n_workers} workers",
    )
    with tracked_run(paths, parent, finish=False):  # finished below, or failed if every member failed
        runner = task_runner(sweep.address, n_workers)
        results, failed = run_members.with_options(task_runner=runner)(
            members, params_path, str(paths.root / "runs" / sweep_id), uri, parent, threads
        )
        report = write_report(
            sweep_id, results, failed, list(sweep.grid), params_path, dict(sweep.overrides), str(paths.root), parent
        )
    c = client(paths.root)
    if not results:
        c.set_tag(parent, "failure_reason", "every member failed")
        c.set_terminated(parent, "FAILED")
        raise RuntimeError(f"sweep {sweep_id}: every member failed: {failed}")
    c.set_terminated(parent, "FINISHED")
    log.info("sweep %s: %d finished, %d failed; report %s", sweep_id, len(results), len(failed), report["report"])
    return {**report, "parent_run_id": parent, "sweep_id": sweep_id}


def _folder(member_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", member_name)


if __name__ == "__main__":
    from flows.cli import main

    main(sweep_gan, "Run the params.yaml sweep grid in parallel on Dask and write the study report.")
