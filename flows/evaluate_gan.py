"""evaluate-gan: fresh-discriminator JSD and metrics → metrics/eval.json, plots/.

    python -m flows.evaluate_gan
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from tasks.common import load_run_config, read_json
from tasks.evaluation import evaluate_model
from tasks.paths import Paths
from tasks.tracking import client, mark_failed


@flow(name="evaluate-gan")
def evaluate_gan(overrides: dict[str, Any] | None = None, params_path: str = "params.yaml", root: str = ".", run_id: str | None = None) -> dict:
    cfg = load_run_config(params_path, overrides)
    paths = Paths.at(root)
    own_run = run_id is None
    if own_run:  # run alone (DVC): continue the run fit-gan opened
        run_id = read_json(paths.run_file).get("mlflow_run_id")
    try:
        metrics = evaluate_model(cfg, str(paths.root), run_id)
    except BaseException as exc:
        if own_run and run_id:
            mark_failed(paths, run_id, exc)
        raise
    if own_run and run_id:
        client(paths.root).set_terminated(run_id, "FINISHED")
    return metrics


if __name__ == "__main__":
    from flows.cli import main

    main(evaluate_gan, "Evaluate the trained generator.")
