"""train-gan: prepare-data → fit-gan → evaluate-gan as one tracked run.

python -m flows.train_gan [--set train.loss=mm]
prefect deployment run train-gan/default [--param overrides='{"train.loss": "mm"}']
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.runtime import flow_run

from flows.evaluate_gan import evaluate_gan
from flows.fit_gan import fit_gan
from flows.prepare_data import prepare_data
from gan_core.config import Config
from tasks.common import checkout_lock, load_run_config, run_logger
from tasks.paths import Paths
from tasks.tracking import start_run, tracked_run


@flow(name="train-gan")
def train_gan(
    overrides: dict[str, Any] | None = None,
    params_path: str = "params.yaml",
    root: str = ".",
    parent_run_id: str | None = None,
    run_name: str | None = None,
    cfg: Config | None = None,
) -> dict:
    """`cfg`: a config the caller already built (then `overrides` stay empty); the stages
    below get this one object and never read params.yaml again."""
    cfg = load_run_config(params_path, overrides, root, cfg)  # a bad override fails here, before any work
    paths = Paths.at(root)
    name = run_name or f"{cfg.data.name}-{cfg.train.loss}-k{cfg.train.k}-s{cfg.seed}"
    with checkout_lock(root, "train-gan"):  # the three stages share this checkout's output paths
        run_id = start_run(
            paths.root,
            cfg.flat(),
            {"prefect_flow_run_id": str(flow_run.id), "entry": "train-gan"},
            run_name=name,
            parent_run_id=parent_run_id,
        )
        with tracked_run(paths, run_id):
            prepare_data(root=root, cfg=cfg)
            fit_gan(root=root, run_id=run_id, cfg=cfg)
            metrics = evaluate_gan(root=root, run_id=run_id, cfg=cfg)
    run_logger().info(
        "JSD = %.4f nats [%.4f, %.4f]; MLflow run %s",
        metrics["jsd"],
        metrics["jsd_ci_low"],
        metrics["jsd_ci_high"],
        metrics.get("mlflow_run_url", run_id),
    )
    return {**metrics, "mlflow_run_id": run_id}


if __name__ == "__main__":
    from flows.cli import main

    main(train_gan, "Prepare the data, train the GAN and evaluate it, tracked in MLflow.")
