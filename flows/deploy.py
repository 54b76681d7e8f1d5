"""Register the deployments on a Prefect work pool, for `prefect worker start` to run:
the way to use machines other than the one `make run` serves from.

    PREFECT_API_URL=http://host:4200/api python -m flows.deploy [--pool gan]
    prefect worker start --pool gan          # on each machine that runs flows (a checkout there)

It creates the process work pool if missing and registers `train-gan/pool` and
`sweep-gan/pool` (beside the `default` deployments that `flows/serve.py` serves). The code
is taken from this checkout's folder: a worker runs each flow run in a subprocess, in this
folder, so a worker host needs the project checked out (and installed) at the same path.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ENTRYPOINTS = {"train-gan": "flows/train_gan.py:train_gan", "sweep-gan": "flows/sweep_gan.py:sweep_gan"}


def deploy(pool: str) -> list[str]:
    from prefect import flow

    subprocess.run(
        [str(BIN / "prefect"), "work-pool", "create", pool, "--type", "process"], capture_output=True
    )  # exists already: fine
    names = []
    for name, entrypoint in ENTRYPOINTS.items():
        remote = flow.from_source(source=str(ROOT), entrypoint=entrypoint)
        remote.deploy(name="pool", work_pool_name=pool, tags=["gan"], print_next_steps=False)
        names.append(f"{name}/pool")
    return names


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", default="gan", help="process work pool name (default: gan)")
    args = parser.parse_args()
    for name in deploy(args.pool):
        print(f"registered {name} on work pool '{args.pool}'")
    print(f"run them with: prefect worker start --pool {args.pool}")
