"""prepare-data: the dataset named in params.yaml → data/prepared/dataset.npz.

python -m flows.prepare_data [--set data.name=grid25]
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from gan_core.config import Config
from tasks import data
from tasks.common import checkout_lock, load_run_config
from tasks.paths import Paths


@flow(name="prepare-data")
def prepare_data(
    overrides: dict[str, Any] | None = None,
    params_path: str = "params.yaml",
    root: str = ".",
    cfg: Config | None = None,
) -> str:
    cfg = load_run_config(params_path, overrides, root, cfg)
    with checkout_lock(root, "prepare-data"):
        return data.prepare_data(cfg, Paths.at(root).prepared)


if __name__ == "__main__":
    from flows.cli import main

    main(prepare_data, "Prepare the dataset named in params.yaml.")
