"""evaluate-gan: estimate the final JSD (fresh discriminator), write metrics and plots,
and record everything in the run's MLflow entry (metrics, artifacts, registered model)."""

from __future__ import annotations

import math
import time
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import torch
import yaml
from prefect import task
from prefect.artifacts import create_markdown_artifact

import gan_core.evaluate
from gan_core.checkpoint import load_generator
from gan_core.config import Config
from gan_core.datasets import check_prepared, load_prepared
from gan_core.errors import CheckpointError
from gan_core.identity import identity_difference, run_identity
from gan_core.jsd import describe_interval
from gan_core.plots import curves_figure, mode_zoom_figure, note_figure, samples_figure, save_figure
from gan_core.runtime import resolve_device, use_threads
from tasks.common import progress_logger, retry_transient_only, run_logger, write_json
from tasks.paths import Paths
from tasks.tracking import client, file_md5, fluent_store, run_url

GENERATOR_MODEL_CODE = Path(__file__).with_name("generator_model.py")
GAN_CORE = Path(__file__).resolve().parents[1] / "gan_core"


@task(name="evaluate-gan", retries=1, retry_delay_seconds=5, retry_condition_fn=retry_transient_only)
def evaluate_gan(cfg: Config, root: str, run_id: str | None) -> dict:
    paths = Paths.at(root)
    use_threads()
    data = load_prepared(paths.prepared)
    check_prepared(data, cfg.data, cfg.seed, paths.prepared)
    generator, saved = load_generator(paths.generator, map_location=resolve_device(cfg.device))
    other = identity_difference(saved.get("identity", {}), run_identity(cfg.flat(), data.digest))
    if other:
        raise CheckpointError(
            f"generator: '{paths.generator}' was made by another run (its {other} differ from this run's); run the fit_gan stage first"
        )
    say = progress_logger()
    ev = cfg.evaluate
    say.info(
        "evaluate-gan: fitting a fresh critic on %d held-out real vs %d generated samples (JSD̂, up to %d steps)%s%s",
        min(ev.n_jsd, len(data.heldout)),
        ev.n_jsd,
        ev.jsd_steps,
        "; modes, 3σ and per-mode shape" if data.mixture is not None else "",
        "; then discriminator rejection sampling, scored the same way" if ev.correction == "rejection" else "",
    )
    t0 = time.perf_counter()
    metrics, shown, fake = gan_core.evaluate.evaluate_gan(generator, data, cfg)
    say.info("evaluate-gan: done in %.0f s", time.perf_counter() - t0)
    write_json(paths.metrics, metrics)
    title = f"{data.name} · {cfg.train.loss} · k={cfg.train.k} · JSD {metrics['jsd']:.4f} nats"
    save_figure(samples_figure(shown, data.mixture, title), paths.samples_plot)
    save_figure(
        mode_zoom_figure(data.heldout, fake, data.mixture, title=title)
        if data.mixture is not None
        else note_figure("per-mode zoom: only for mixtures, whose modes are known"),
        paths.modes_plot,
    )
    log = run_logger()
    log.info(
        "JSD = %.4f nats [%.4f, %.4f], held-out %.4f, lower bound %.4f (%s)",
        metrics["jsd"],
        metrics["jsd_ci_low"],
        metrics["jsd_ci_high"],
        metrics["jsd_held_out"],
        metrics["jsd_lower_bound"],
        describe_interval(cfg.evaluate.confidence),
    )
    if run_id:
        _track(paths, cfg, data, generator, metrics, run_id)
        metrics["mlflow_run_url"] = run_url(paths.root, run_id)
    _summary_artifact(cfg, metrics)
    return metrics


def _track(paths: Paths, cfg: Config, data, generator, metrics: dict, run_id: str) -> None:
    c = client(paths.root)
    for key, value in metrics.items():
        if isinstance(value, (int, float)) and math.isfinite(value):
            c.log_metric(run_id, key, float(value))
    c.set_tag(run_id, "data_md5", file_md5(paths.prepared))
    c.set_tag(run_id, "dataset", data.name)
    c.set_tag(run_id, "jsd_interval", describe_interval(cfg.evaluate.confidence))
    c.set_tag(run_id, "jsd_estimator", gan_core.evaluate.jsd_estimator(cfg))
    for path in (paths.metrics, paths.samples_plot, paths.modes_plot, paths.curves):
        c.log_artifact(run_id, str(path))
    c.log_text(run_id, yaml.safe_dump(cfg.to_dict(), sort_keys=False), "config/resolved_params.yaml")
    if paths.curves.exists():
        history = pd.read_csv(paths.curves).to_dict(orient="list")
        c.log_figure(run_id, curves_figure(history), "plots/curves.png")
    with fluent_store(paths.root), mlflow.start_run(run_id=run_id):
        source = mlflow.data.from_numpy(
            data.train.reshape(len(data.train), -1)[:1000],
            source=str(paths.prepared),
            name=f"{data.name}-prepared",
            digest=file_md5(paths.prepared)[:8],
        )
        mlflow.log_input(source, context="training")
        # From code, not a pickle: the version holds the weights file and the code that rebuilds
        # the network (tasks/generator_model.py), so it loads with weights_only=True.
        mlflow.pyfunc.log_model(
            name="generator",
            python_model=str(GENERATOR_MODEL_CODE),
            artifacts={"generator": str(paths.generator)},
            code_paths=[str(GAN_CORE)],
            registered_model_name=f"gan-generator-{data.name}",
            pip_requirements=[f"torch=={torch.__version__.split('+')[0]}", "numpy", "pydantic", "pyyaml"],
            input_example=np.zeros((2, generator.z_dim), dtype=np.float32),
        )


def _summary_artifact(cfg: Config, metrics: dict) -> None:
    rows = "\n".join(
        f"| {k} | {v:.4f} |" if isinstance(v, float) else f"| {k} | {v} |"
        for k, v in sorted(metrics.items())
        if k != "mlflow_run_url"
    )
    link = f"\n\nMLflow run: {metrics['mlflow_run_url']}" if "mlflow_run_url" in metrics else ""
    link += f"\n\n{describe_interval(cfg.evaluate.confidence)}."
    body = f"## {cfg.data.name} · loss {cfg.train.loss} · k={cfg.train.k} · seed {cfg.seed}\n\n| metric | value |\n|---|---|\n{rows}{link}\n"
    try:
        create_markdown_artifact(body, key="gan-eval-summary", description="Evaluation of the trained generator")
    except Exception:  # outside a Prefect run context there is nowhere to attach it
        pass
