"""fit-gan: train the GAN on the prepared data (resuming from models/checkpoints/).

    python -m flows.fit_gan [--set train.loss=mm]

Run alone (as DVC does) it opens an MLflow run and records its id in models/run.json,
where evaluate-gan finds it; inside train-gan it logs to the umbrella run.
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.runtime import flow_run

from gan_core.config import Config
from tasks import training
from tasks.common import checkout_lock, load_run_config, write_json
from tasks.paths import Paths
from tasks.tracking import start_run, tracked_run


@flow(name="fit-gan")
def fit_gan(
    overrides: dict[str, Any] | None = None,
    params_path: str = "params.yaml",
    root: str = ".",
    run_id: str | None = None,
    cfg: Config | None = None,
) -> dict:
    cfg = load_run_config(params_path, overrides, root, cfg)
    paths = Paths.at(root)
    with checkout_lock(root, "fit-gan"):
        own_run = run_id is None
        if own_run:
            run_id = start_run(
                paths.root,
                cfg.flat(),
                {"prefect_flow_run_id": str(flow_run.id), "entry": "fit-gan"},
                run_name=f"{cfg.data.name}-{cfg.train.loss}-k{cfg.train.k}-s{cfg.seed}",
            )
        write_json(paths.run_file, {"mlflow_run_id": run_id})
        with tracked_run(paths, run_id if own_run else None, finish=False):  # evaluate-gan finishes it
            return training.fit_gan(cfg, str(paths.root), run_id)


if __name__ == "__main__":
    from flows.cli import main

    main(fit_gan, "Train the GAN on the prepared data.")
