"""Serve the deployments (`train-gan/default`, `sweep-gan/default`) from this process;
`make run` starts it.

    PREFECT_API_URL=http://127.0.0.1:4200/api python -m flows.serve

`serve` keeps no work pool to manage: the process polls the Prefect server and runs each
flow run in a subprocess. For many machines, use a work pool and `prefect worker start`
instead (README, "Scaling out").
"""

from prefect import serve

from flows.sweep_gan import sweep_gan
from flows.train_gan import train_gan


def deployments():
    return [
        train_gan.to_deployment(
            name="default", tags=["gan"], description="prepare-data → fit-gan → evaluate-gan on params.yaml"
        ),
        sweep_gan.to_deployment(
            name="default",
            tags=["gan", "sweep"],
            description="the params.yaml sweep grid in parallel on Dask, with the MM-vs-NS report",
        ),
    ]


if __name__ == "__main__":
    serve(*deployments())
