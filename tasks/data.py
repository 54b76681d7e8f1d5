"""prepare-data: build the dataset the config names and write it to data/prepared/."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from prefect import task

from gan_core.config import Config
from gan_core.datasets import load_dataset, save_prepared
from tasks.common import retry_transient_only, run_logger


def _prepare_key(context, parameters) -> str | None:
    """Cache by what the data depends on (data section, seed, output path); no cache (None)
    when the output file is gone, so a deleted file is always rebuilt."""
    cfg: Config = parameters["cfg"]
    out = Path(parameters["out"])
    if not out.exists():
        return None
    key = json.dumps({"data": cfg.data.model_dump(mode="json"), "seed": cfg.seed, "out": str(out)}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()


@task(name="prepare-dataset", cache_key_fn=_prepare_key, retries=2, retry_delay_seconds=2, retry_condition_fn=retry_transient_only)
def prepare_dataset(cfg: Config, out: Path) -> str:
    data = load_dataset(cfg.data, cfg.seed)
    save_prepared(data, out)
    run_logger().info("prepared %s: %d train / %d held-out samples of shape %s → %s", data.name, len(data.train), len(data.heldout), data.sample_shape, out)
    return str(out)
