"""sweep-gan on tiny settings: members in parallel on a local Dask cluster, nested MLflow
runs, a failed member failing alone, the report and the champion alias."""

import json

import pytest
from mlflow.tracking import MlflowClient

from gan_core.errors import ConfigError
from gan_core.sweep import expand_grid, load_sweep_config, summarise
from tests.pipeline_helpers import ROOT
from tests.tiny import write_tiny_params


def test_grid_expands_to_validated_members():
    sweep = load_sweep_config(
        ROOT / "params.yaml",
        grid={"train.loss": ["mm", "ns"], "train.k": [1, 2], "seed": [0, 1, 2]},
        overrides={"train.steps": 7},
    )
    members = expand_grid(sweep, ROOT / "params.yaml")
    assert len(members) == 12 and len({m.name for m in members}) == 12
    assert members[0].overrides["train.steps"] == 7 and members[0].name == "loss=mm,k=1,seed=0"
    assert sweep.overrides["train.steps"] == 7  # a given override adds to the file's


@pytest.mark.parametrize(
    "grid, match",
    [
        ({"train.los": ["mm"]}, "did you mean 'train.loss'"),
        ({"train.k": [1, 0]}, "'train.k'"),
        ({"train.loss": []}, "no values"),
        ({}, "grid is empty"),
    ],
)
def test_bad_grid_is_refused_in_one_line(grid, match):
    with pytest.raises(ConfigError, match=match) as info:
        expand_grid(load_sweep_config(ROOT / "params.yaml", grid=grid), ROOT / "params.yaml")
    assert "\n" not in str(info.value)


def test_summary_aggregates_over_seeds():
    rows = [
        {
            "train.loss": loss,
            "seed": s,
            "jsd": j,
            "jsd_ci_low": j - 0.01,
            "jsd_ci_high": j + 0.01,
            "high_quality_fraction": 0.9,
        }
        for loss, s, j in [("mm", 0, 0.2), ("mm", 1, 0.4), ("ns", 0, 0.1), ("ns", 1, 0.1)]
    ]
    table = summarise(rows, ["train.loss"])
    assert list(table["train.loss"]) == ["ns", "mm"]  # best first
    assert table.loc[1, "jsd_mean"] == pytest.approx(0.3) and table.loc[1, "members"] == 2


def test_sweep_runs_members_in_parallel_and_reports(tmp_path, monkeypatch, prefect_backend):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    write_tiny_params(tmp_path / "params.yaml")
    grid = {"data.name": ["ring8", "mine"], "train.loss": ["mm", "ns"]}  # "mine" reads a missing file
    from flows.sweep_gan import sweep_gan

    out = sweep_gan(
        grid=grid,
        overrides={"train.steps": 40, "data.path": str(tmp_path / "missing.npy")},
        params_path=str(tmp_path / "params.yaml"),
        root=str(tmp_path),
        workers=2,
        name="t",
    )

    assert out["finished"] == 2 and out["failed"] == ["name=mine,loss=mm", "name=mine,loss=ns"]
    client = MlflowClient(uri)
    parent = client.get_run(out["parent_run_id"])
    assert parent.info.status == "FINISHED" and parent.data.metrics["members_failed"] == 2
    children = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    status = {c.info.run_name: c.info.status for c in children}
    assert status == {
        "name=ring8,loss=mm": "FINISHED",
        "name=ring8,loss=ns": "FINISHED",
        "name=mine,loss=mm": "FAILED",
        "name=mine,loss=ns": "FAILED",
    }
    for child in children:
        if child.info.status == "FINISHED":
            assert "jsd" in child.data.metrics and child.data.params["train.steps"] == "40"
            assert len(client.get_metric_history(child.info.run_id, "d_loss")) == 40
        else:
            assert "missing.npy" in child.data.tags["failure_reason"]

    report_dir = tmp_path / "reports" / "t"
    for name in (
        "report.md",
        "summary.csv",
        "members.csv",
        "grad_norm_at_start.csv",
        "training_curves.png",
        "samples.png",
    ):
        assert (report_dir / name).stat().st_size > 0, name
    report = (report_dir / "report.md").read_text()
    assert "name=mine,loss=mm" in report and "ns_over_mm" in report
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id, "report")}
    assert "report/report.md" in artifacts and "report/training_curves.png" in artifacts

    finished = [c for c in children if c.info.status == "FINISHED"]
    lowest = min(c.data.metrics["jsd"] for c in finished)  # tiny runs often tie (at log 2)
    champion = client.get_model_version_by_alias("gan-generator-ring8", "champion")
    assert champion.run_id in {c.info.run_id for c in finished if c.data.metrics["jsd"] == lowest}
    assert json.loads((report_dir / "sweep.json").read_text())["champion"].startswith("gan-generator-ring8@champion")


def test_sweep_defaults_are_params_yaml():
    from gan_core.sweep import SweepConfig

    assert load_sweep_config(ROOT / "params.yaml") == SweepConfig()


def test_the_report_is_built_from_the_results_alone():
    """build_report is pure: tables and text from the members' results, JSD̂ first and the
    best combination on top, with the failures and the champion named."""
    import pandas as pd

    from tasks.sweep import build_report

    def member(loss: str, seed: int, jsd: float) -> dict:
        return {"member": f"loss={loss},seed={seed}", "train.loss": loss, "seed": seed, "jsd": jsd, "jsd_ci_low": jsd - 0.01,
                "jsd_ci_high": jsd + 0.01, "modes_covered": 8, "high_quality_fraction": 0.9, "mlflow_run_id": f"r{loss}{seed}"}  # fmt: skip

    results = [member("mm", 0, 0.30), member("mm", 1, 0.20), member("ns", 0, 0.10), member("ns", 1, 0.14)]
    grads = pd.DataFrame([{"seed": 0, "grad_norm_mm": 0.001, "grad_norm_ns": 0.5, "ns_over_mm": 500.0}])
    report = build_report(
        "s1", results, {"loss=mm,seed=2": "diverged at step 7"}, ["train.loss", "seed"], grads, "m@champion = version 3"
    )
    assert report.table["train.loss"].tolist() == ["ns", "mm"]  # best JSD̂ mean first
    assert report.table["jsd_mean"].round(4).tolist() == [0.12, 0.25] and report.table["jsd_worst"].tolist() == [
        0.14,
        0.30,
    ]
    assert list(report.members.columns[:3]) == ["member", "train.loss", "seed"] and len(report.members) == 4
    assert (
        "4 members finished, 1 failed" in report.markdown and "`loss=mm,seed=2`: diverged at step 7" in report.markdown
    )
    assert "Champion (lowest JSD̂): m@champion = version 3" in report.markdown and "| ns " in report.markdown
