"""evaluate-gan: fresh-discriminator JSD and metrics → metrics/eval.json, plots/.

python -m flows.evaluate_gan
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.runtime import flow_run

from gan_core.config import Config
from tasks import evaluation
from tasks.common import checkout_lock, load_run_config, read_json
from tasks.paths import Paths
from tasks.tracking import client, start_run, tracked_run


@flow(name="evaluate-gan")
def evaluate_gan(
    overrides: dict[str, Any] | None = None,
    params_path: str = "params.yaml",
    root: str = ".",
    run_id: str | None = None,
    cfg: Config | None = None,
) -> dict:
    cfg = load_run_config(params_path, overrides, root, cfg)
    paths = Paths.at(root)
    with checkout_lock(root, "evaluate-gan"):
        own_run = run_id is None
        if own_run:  # run alone (DVC): continue the run fit-gan opened, or a new child of it once that one is finished
            run_id = _evaluation_run(paths, cfg, read_json(paths.run_file).get("mlflow_run_id"))
        with tracked_run(paths, run_id if own_run else None):
            return evaluation.evaluate_gan(cfg, str(paths.root), run_id)


def _evaluation_run(paths: Paths, cfg, training_run_id: str | None) -> str | None:
    """The training run while it is open (the pipeline's first evaluation); an evaluate-only
    rerun (e.g. DVC after a change under `evaluate:`) gets its own run, a child of the
    training run with the evaluation params it used, so the finished run's record stays true."""
    if not training_run_id:
        return None
    if client(paths.root).get_run(training_run_id).info.status == "RUNNING":
        return training_run_id
    tags = {"prefect_flow_run_id": str(flow_run.id), "entry": "evaluate-gan", "training_run_id": training_run_id}
    return start_run(
        paths.root, cfg.flat(), tags, run_name=f"evaluate-{cfg.data.name}-s{cfg.seed}", parent_run_id=training_run_id
    )


if __name__ == "__main__":
    from flows.cli import main

    main(evaluate_gan, "Evaluate the trained generator.")
