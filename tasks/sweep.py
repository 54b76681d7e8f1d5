"""sweep-gan's tasks: one member (prepare → fit → evaluate as a nested MLflow run) and the
study report (table, plots, gradient ratio, champion alias) on the parent run."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from gan_core.config import load_config
from gan_core.datasets import load_dataset
from gan_core.plots import compare_curves_figure, save_figure, tile_images_figure
from gan_core.runtime import THREADS_ENV
from gan_core.sweep import Member, summarise
from gan_core.train import generator_grad_norm_at_start
from tasks.common import run_logger, write_json
from tasks.data import prepare_data
from tasks.evaluation import evaluate_gan
from tasks.paths import Paths
from tasks.tracking import client, start_run, tracked_run
from tasks.training import fit_gan


@task(name="sweep-member", retries=0)
def run_member(
    member: Member, params_path: str, member_root: str, tracking_uri: str, parent_run_id: str, threads: int
) -> dict[str, Any]:
    """One member, on whatever Dask worker runs it. A failure marks its own MLflow run FAILED
    and raises; the sweep carries on with the others."""
    os.environ["MLFLOW_TRACKING_URI"] = tracking_uri  # the sweep's store, not one under the member's folder
    if threads:  # members of a local cluster share the machine's cores; a remote worker uses its own
        os.environ[THREADS_ENV] = str(threads)
    cfg = load_config(params_path, member.overrides)
    paths = Paths.at(member_root)
    tags = {"entry": "sweep-gan", "sweep_member": member.name, "dask_worker": _worker_address()}
    # A member rerun after its worker was lost continues its own MLflow run (and checkpoint).
    run_id = _unfinished_member_run(paths.root, parent_run_id, member.name)
    if run_id:
        for key, value in tags.items():
            client(paths.root).set_tag(run_id, key, value)
    else:
        run_id = start_run(paths.root, cfg.flat(), tags, run_name=member.name, parent_run_id=parent_run_id)
    t0 = time.perf_counter()
    with tracked_run(paths, run_id):
        prepare_data(cfg, paths.prepared)
        fitted = fit_gan(cfg, str(paths.root), run_id)
        metrics = evaluate_gan(cfg, str(paths.root), run_id)
    return {
        "member": member.name,
        **member.values,
        "mlflow_run_id": run_id,
        "root": str(paths.root),
        "train_seconds": fitted["seconds"],
        "member_seconds": time.perf_counter() - t0,
        "resumed_from": fitted["resumed_from"] or 0,
        "worker": tags["dask_worker"],
        **{k: v for k, v in metrics.items() if isinstance(v, (int, float, str))},
    }


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):  # not on a Dask worker
        return "local"


def _unfinished_member_run(root: Path, parent_run_id: str, name: str) -> str | None:
    c = client(root)
    parent = c.get_run(parent_run_id)
    runs = c.search_runs(
        [parent.info.experiment_id],
        f"tags.mlflow.parentRunId = '{parent_run_id}' and tags.sweep_member = '{name}' and attributes.status = 'RUNNING'",
    )
    return runs[0].info.run_id if runs else None


def _grad_ratio(params_path: str, base: dict[str, Any], seeds: list[int]) -> pd.DataFrame:
    """Generator gradient norm at the start of training (D trained 200 steps on the fixed
    initial G), MM vs NS on the same initialisation, per seed."""
    rows = []
    for seed in seeds:
        norms = {}
        for loss in ("mm", "ns"):
            cfg = load_config(params_path, {**base, "train.loss": loss, "seed": seed})
            norms[loss] = generator_grad_norm_at_start(cfg, load_dataset(cfg.data, cfg.seed))
        rows.append(
            {
                "seed": seed,
                "grad_norm_mm": norms["mm"],
                "grad_norm_ns": norms["ns"],
                "ns_over_mm": norms["ns"] / max(norms["mm"], 1e-30),
            }
        )
    return pd.DataFrame(rows)


def _curves(results: list[dict[str, Any]], tracking_root: Path) -> dict[str, dict[str, tuple[list, list]]]:
    c = client(tracking_root)
    out: dict[str, dict[str, tuple[list, list]]] = {"fresh-critic JSD̂": {}, "training-D JSD bound": {}, "D(G(z))": {}}
    for r in results:
        history = pd.read_csv(Paths.at(r["root"]).curves)
        smooth = history["d_fake"].rolling(max(1, len(history) // 100), min_periods=1).mean()
        out["D(G(z))"][r["member"]] = (history["step"].tolist(), smooth.tolist())
        for quantity, key in (("training-D JSD bound", "training_d_jsd_bound"), ("fresh-critic JSD̂", "fresh_jsd")):
            points = sorted(c.get_metric_history(r["mlflow_run_id"], key), key=lambda m: m.step)
            out[quantity][r["member"]] = ([m.step for m in points], [m.value for m in points])
    return out


def _set_champion(tracking_root: Path, best: dict[str, Any]) -> str | None:
    """Alias `champion` on the registered version logged by the best member's run."""
    c = client(tracking_root)
    for version in c.search_model_versions(f"run_id='{best['mlflow_run_id']}'"):
        c.set_registered_model_alias(version.name, "champion", version.version)
        return f"{version.name}@champion = version {version.version}"
    return None


MEMBER_COLUMNS = (
    "member", "jsd", "jsd_ci_low", "jsd_ci_high", "modes_covered", "high_quality_fraction",
    "mode_var_min", "mode_var_max", "train_seconds", "resumed_from", "worker", "mlflow_run_id",
)  # fmt: skip


@dataclass
class SweepReport:
    """What a sweep's report says, built from the members' results alone (no I/O)."""

    sweep_id: str
    table: pd.DataFrame  # JSD̂ and mode metrics per grid combination, over seeds
    members: pd.DataFrame
    grads: pd.DataFrame  # generator gradient norm at the start, MM vs NS
    failed: dict[str, str]
    champion: str | None
    markdown: str


def build_report(
    sweep_id: str,
    results: list[dict[str, Any]],
    failed: dict[str, str],
    grid_keys: list[str],
    grads: pd.DataFrame,
    champion: str | None,
) -> SweepReport:
    """The report's tables and text; pure, so it can be tested and rebuilt from the results."""
    by = [k for k in grid_keys if k != "seed"] or grid_keys[:1]
    table = summarise(results, by)
    members = pd.DataFrame(results)
    shown = [MEMBER_COLUMNS[0], *grid_keys, *MEMBER_COLUMNS[1:]]
    members = members[[c for c in shown if c in members]] if len(members) else members
    failed_md = "\n".join(f"- `{name}`: {reason}" for name, reason in failed.items()) or "none"
    markdown = (
        f"# Sweep {sweep_id}\n\n{len(results)} members finished, {len(failed)} failed.\n\n"
        f"## Final JSD̂ (nats, fresh discriminator) and mode metrics, over seeds\n\n{table.round(4).to_markdown(index=False)}\n\n"
        f"## Generator gradient norm at the start of training (same initialisation)\n\n"
        f"D trained 200 steps against the initial G, so it confidently rejects fakes; MM's gradient "
        f"`∇ E log(1 − D(G(z)))` then vanishes while NS's does not.\n\n{grads.round(6).to_markdown(index=False)}\n\n"
        f"## Members\n\n{members.round(4).to_markdown(index=False)}\n\n## Failed members\n\n{failed_md}\n\n"
        f"Champion (lowest JSD̂): {champion or 'none'}\n\n"
        "Plots: `training_curves.png` (over training: the fresh-critic JSD̂ in nats, measured every `train.jsd_every` steps on "
        "`train.jsd_curve_n` samples per side; the training D's JSD lower bound; its mean D(G(z)), smoothed), "
        "`samples.png` (final samples of every member).\n"
    )
    return SweepReport(sweep_id, table, members, grads, failed, champion, markdown)


def _save_report(
    report: SweepReport, results: list[dict[str, Any]], out: Path, tracking_root: Path, parent_run_id: str
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    report.members.to_csv(out / "members.csv", index=False)
    report.table.to_csv(out / "summary.csv", index=False)
    report.grads.to_csv(out / "grad_norm_at_start.csv", index=False)
    title = f"{report.sweep_id}: MM vs NS over training"
    save_figure(compare_curves_figure(_curves(results, tracking_root), title=title), out / "training_curves.png")
    samples = {r["member"]: Path(r["root"]) / "plots" / "samples.png" for r in results}
    save_figure(tile_images_figure(samples), out / "samples.png")
    (out / "report.md").write_text(report.markdown)
    finished = [r["member"] for r in results]
    summary = {
        "sweep_id": report.sweep_id,
        "finished": finished,
        "failed": report.failed,
        "champion": report.champion,
        "parent_run_id": parent_run_id,
    }
    write_json(out / "sweep.json", summary)


def _log_report(report: SweepReport, out: Path, tracking_root: Path, parent_run_id: str) -> None:
    """The saved report on the sweep's MLflow run and, inside a Prefect run, as its artifacts."""
    c = client(tracking_root)
    c.log_artifacts(parent_run_id, str(out), "report")
    if len(report.table):
        c.log_metric(parent_run_id, "best_jsd_mean", float(report.table.iloc[0]["jsd_mean"]))
    c.log_metric(parent_run_id, "members_finished", len(report.members))
    c.log_metric(parent_run_id, "members_failed", len(report.failed))
    try:
        create_markdown_artifact(report.markdown, key="sweep-report", description=f"sweep-gan {report.sweep_id}")
        records = report.table.round(4).to_dict(orient="records")
        create_table_artifact(
            records, key="sweep-summary", description="JSD̂ and mode metrics per (loss, k), over seeds"
        )
    except Exception:  # outside a Prefect run there is nowhere to attach them
        pass


@task(name="sweep-report")
def write_report(
    sweep_id: str,
    results: list[dict[str, Any]],
    failed: dict[str, str],
    grid_keys: list[str],
    params_path: str,
    base_overrides: dict[str, Any],
    root: str,
    parent_run_id: str,
) -> dict[str, Any]:
    """Measure the start-of-training gradients, alias the champion, then build, save and log the report."""
    paths = Paths.at(root)
    out = paths.root / "reports" / sweep_id
    seeds = sorted({int(r.get("seed", 0)) for r in results}) or [0]
    grads = _grad_ratio(params_path, base_overrides, seeds[:3])
    champion = _set_champion(paths.root, min(results, key=lambda r: r["jsd"])) if results else None
    report = build_report(sweep_id, results, failed, grid_keys, grads, champion)
    _save_report(report, results, out, paths.root, parent_run_id)
    _log_report(report, out, paths.root, parent_run_id)
    run_logger().info("sweep report: %s (champion: %s)", out / "report.md", champion)
    return {"report": str(out / "report.md"), "champion": champion, "finished": len(results), "failed": sorted(failed)}
