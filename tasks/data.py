"""prepare-data: build the dataset the config names and write it to data/prepared/."""

from __future__ import annotations

from pathlib import Path

from prefect import task

from gan_core.config import Config
from gan_core.datasets import load_dataset, load_prepared, save_prepared, source_key
from gan_core.errors import DataError
from tasks.common import retry_transient_only, run_logger


def _up_to_date(cfg: Config, out: Path) -> bool:
    """The file at `out` was built from this data config, seed and data file (its `source`)."""
    if not out.exists():
        return False
    try:
        return load_prepared(out).source == source_key(cfg.data, cfg.seed)
    except DataError:  # unreadable: rebuild it
        return False


@task(name="prepare-data", retries=2, retry_delay_seconds=2, retry_condition_fn=retry_transient_only)
def prepare_data(cfg: Config, out: Path) -> str:
    """Build the data unless the file already holds exactly it (checked by content source,
    never by a cache that the file could have drifted from)."""
    if _up_to_date(cfg, out):
        run_logger().info("prepared %s is up to date → %s", cfg.data.name, out)
        return str(out)
    data = load_dataset(cfg.data, cfg.seed)
    save_prepared(data, out)
    run_logger().info(
        "prepared %s: %d train / %d held-out samples of shape %s → %s",
        data.name,
        len(data.train),
        len(data.heldout),
        data.sample_shape,
        out,
    )
    return str(out)
