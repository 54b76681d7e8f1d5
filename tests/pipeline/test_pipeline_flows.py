"""The Prefect flows on tiny settings, against a temporary Prefect backend and MLflow store."""

import json
import time
from pathlib import Path

import mlflow
import numpy as np
import pytest
import torch
from mlflow.tracking import MlflowClient

from gan_core.errors import ConfigError
from gan_core.jsd import CriticSettings, estimator_name
from tests.tiny import TINY, other_loss, tiny_config, write_tiny_params


@pytest.fixture
def project(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow-test.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    write_tiny_params(tmp_path / "params.yaml")
    return tmp_path, uri


def test_train_gan_end_to_end_is_tracked(prefect_backend, project, tmp_path_factory):
    from flows.train_gan import train_gan

    root, uri = project
    result = train_gan(
        overrides={"evaluate.correction": "rejection"}, params_path=str(root / "params.yaml"), root=str(root)
    )

    saved = json.loads((root / "metrics" / "eval.json").read_text())
    for key in (
        "jsd",
        "jsd_ci_low",
        "jsd_ci_high",
        "modes_covered",
        "modes_total",
        "high_quality_fraction",
        "correction_acceptance",
    ):
        assert key in saved
    assert 0.0 <= saved["jsd_ci_low"] <= saved["jsd"] <= saved["jsd_ci_high"] <= 0.6932
    assert (root / "plots" / "samples.png").stat().st_size > 0 and (root / "models" / "generator.pt").exists()

    client = MlflowClient(uri)
    run = client.get_run(result["mlflow_run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.params["train.loss"] == tiny_config().train.loss and run.data.params["data.name"] == "ring8"
    assert run.data.metrics["jsd"] == pytest.approx(saved["jsd"])
    assert len(client.get_metric_history(run.info.run_id, "d_loss")) == TINY["train.steps"]
    assert len(client.get_metric_history(run.info.run_id, "training_d_jsd_bound")) >= 2
    for tag in ("git_commit", "data_md5", "prefect_flow_run_id", "dataset"):
        assert run.data.tags.get(tag), tag
    named = estimator_name(CriticSettings(steps=tiny_config().evaluate.jsd_steps))
    assert run.data.tags["jsd_estimator"] == named and f"steps {tiny_config().evaluate.jsd_steps}" in named
    files = {a.path for a in client.list_artifacts(run.info.run_id)} | {
        a.path for a in client.list_artifacts(run.info.run_id, "config")
    }
    assert {"eval.json", "samples.png", "modes.png", "curves.csv", "config/resolved_params.yaml"} <= files
    assert (
        len(client.get_metric_history(run.info.run_id, "fresh_jsd")) >= 1
    )  # JSD̂ over training (at least the last step)
    versions = client.search_model_versions("name='gan-generator-ring8'")
    assert any(v.run_id == run.info.run_id for v in versions)
    _progress_reached_the_root_run(run.data.tags["prefect_flow_run_id"], steps=TINY["train.steps"])
    _registered_generator_holds_no_pickle(
        f"models:/gan-generator-ring8/{versions[0].version}", tmp_path_factory.mktemp("download")
    )


def _progress_reached_the_root_run(flow_run_id: str, steps: int) -> None:
    """What `prefect deployment run --watch` follows (the root flow run's logs) holds the
    training's step lines and the evaluation's; the progress artifact reached 100 %."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, LogFilter, LogFilterFlowRunId

    deadline = time.monotonic() + 30  # logs reach the server in batches
    with get_client(sync_client=True) as c:
        while True:
            logs = [log.message for log in c.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))]
            if any(m.startswith("evaluate-gan: done") for m in logs) or time.monotonic() > deadline:
                break
            time.sleep(1)
        progress = c.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["fit-gan-progress"])))
    assert any(
        m.startswith(f"fit-gan step {steps}/{steps} (100%)") and "steps/s" in m and "D(G(z))" in m for m in logs
    ), logs
    assert any(m.startswith("evaluate-gan: fitting a fresh critic") for m in logs)
    assert progress and max(a.data for a in progress) == 100.0


def _registered_generator_holds_no_pickle(model_uri: str, where) -> None:
    """The registry holds weights and code: no pickle file, the weights load with
    weights_only=True, and the pyfunc rebuilt from them samples."""
    local = Path(mlflow.artifacts.download_artifacts(model_uri, dst_path=str(where)))
    files = [p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file()]
    assert not [f for f in files if f.endswith((".pkl", ".pickle", ".pth"))], files
    state = torch.load(local / "artifacts" / "generator.pt", weights_only=True)
    assert set(state) >= {"state_dict", "config", "sample_shape", "identity"}
    model = mlflow.pyfunc.load_model(model_uri)
    out = model.predict(np.zeros((3, 4), dtype=np.float32))  # z_dim 4 → 2-D samples
    assert out.shape == (3, 2) and np.isfinite(out).all()


def test_bad_override_fails_before_any_work(prefect_backend, project):
    from flows.train_gan import train_gan

    root, uri = project
    with pytest.raises(ConfigError, match="'train.k'"):
        train_gan(overrides={"train.k": 0}, params_path=str(root / "params.yaml"), root=str(root))
    assert not (root / "data").exists() and not (root / "models").exists()


def test_stage_flows_share_one_run_like_dvc(prefect_backend, project):
    """prepare-data, fit-gan, evaluate-gan run one by one (as DVC runs them) → one FINISHED run."""
    from flows.evaluate_gan import evaluate_gan
    from flows.fit_gan import fit_gan
    from flows.prepare_data import prepare_data

    root, uri = project
    loss = other_loss()  # not the defaults' loss: the override reaches every stage
    kw = dict(params_path=str(root / "params.yaml"), root=str(root), overrides={"train.loss": loss})
    prepare_data(**kw)
    fit_gan(**kw)
    run_id = json.loads((root / "models" / "run.json").read_text())["mlflow_run_id"]
    evaluate_gan(**kw)
    run = MlflowClient(uri).get_run(run_id)
    assert run.info.status == "FINISHED" and run.data.params["train.loss"] == loss and "jsd" in run.data.metrics

    # An evaluate-only rerun (DVC after a change under `evaluate:`) leaves the finished run as it
    # was and logs its own run, a child of the training run, with the evaluation params it used.
    evaluate_gan(**{**kw, "overrides": {"train.loss": loss, "evaluate.n_jsd": 300}})
    assert MlflowClient(uri).get_run(run_id).data.params["evaluate.n_jsd"] == "400"
    (child,) = MlflowClient(uri).search_runs([run.info.experiment_id], f"tags.training_run_id = '{run_id}'")
    assert child.data.tags["mlflow.parentRunId"] == run_id and child.data.params["evaluate.n_jsd"] == "300"
    assert child.info.status == "FINISHED" and "jsd" in child.data.metrics


def test_divergence_fails_the_run_once_with_its_reason(prefect_backend, project, monkeypatch):
    """NaN at step 25: Failed state, no retry, MLflow run FAILED with the reason, checkpoint of step 20 kept."""
    import gan_core.train as train_module
    from flows.train_gan import train_gan
    from gan_core.errors import DivergenceError

    root, uri = project
    calls = {"n": 0}
    real_loss = train_module.generator_loss

    def nan_at_step_25(logits, kind):
        calls["n"] += 1
        loss = real_loss(logits, kind)
        return loss * float("nan") if calls["n"] == 25 else loss

    monkeypatch.setattr(train_module, "generator_loss", nan_at_step_25)
    # One generator_loss call per step: without the fine discriminator (it adds a second call).
    state = train_gan(
        {"model.fine_d_features": 0}, params_path=str(root / "params.yaml"), root=str(root), return_state=True
    )
    assert state.is_failed()
    with pytest.raises(DivergenceError, match="diverged at step 25: g_loss is nan; last good checkpoint: step 20"):
        state.result()
    assert calls["n"] == 30  # detected at the next flush (log_every 10); a retry would train again
    (ckpt,) = (root / "models" / "checkpoints").glob("*/last.pt")
    assert int(torch.load(ckpt, weights_only=True)["step"]) == 20
    client = MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name("gan-pipeline").experiment_id])
    assert run.info.status == "FAILED"
    assert "diverged at step 25" in run.data.tags["failure_reason"]
    assert not (root / "models" / "generator.pt").exists()


def _train_cli(root, uri, api, *sets):
    import os
    import subprocess
    import sys

    from tests.pipeline_helpers import ROOT

    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PREFECT_API_URL": api}
    args = [sys.executable, "-m", "flows.train_gan", "--params", str(root / "params.yaml"), "--root", str(root)]
    return subprocess.Popen(
        args + [a for s in sets for a in ("--set", s)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finished_jsd(uri, seed):
    runs = MlflowClient(uri).search_runs(
        [MlflowClient(uri).get_experiment_by_name("gan-pipeline").experiment_id],
        f"params.seed = '{seed}' and tags.entry = 'train-gan'",
    )
    assert len(runs) == 1 and runs[0].info.status == "FINISHED", runs
    return runs[0].data.metrics["jsd"], runs[0].data.metrics["modes_covered"]


def test_two_runs_at_once_in_one_checkout_each_report_their_own(prefect_backend, tmp_path):
    """Started together in one checkout, both finish (the second waits for the first's lock),
    and each one's metrics equal the same run made alone in a checkout of its own."""
    shared = tmp_path / "shared"
    shared.mkdir()
    write_tiny_params(shared / "params.yaml")
    uri = f"sqlite:///{shared / 'mlflow.db'}"
    procs = [
        _train_cli(shared, uri, prefect_backend, f"seed={seed}", f"data.name={name}")
        for seed, name in ((1, "ring8"), (2, "grid25"))
    ]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), (
        outs
    )  # (whether they overlapped depends on start-up times: the lock is what makes either order safe)
    for seed, name in ((1, "ring8"), (2, "grid25")):
        alone = tmp_path / f"alone{seed}"
        alone.mkdir()
        write_tiny_params(alone / "params.yaml")
        alone_uri = f"sqlite:///{alone / 'mlflow.db'}"
        proc = _train_cli(alone, alone_uri, prefect_backend, f"seed={seed}", f"data.name={name}")
        assert proc.wait(timeout=600) == 0, proc.stdout.read()
        assert _finished_jsd(uri, seed) == _finished_jsd(alone_uri, seed)


def test_params_yaml_is_read_once_per_run(prefect_backend, project, monkeypatch):
    """`python -m flows.train_gan` builds the config once and passes the object to the three
    stages: the parameter file is read one time in the whole run."""
    import sys

    import gan_core.config
    from flows.cli import main
    from flows.train_gan import train_gan

    root, uri = project
    reads = []
    real_read = gan_core.config.read_params
    monkeypatch.setattr(
        gan_core.config, "read_params", lambda path="params.yaml": reads.append(path) or real_read(path)
    )
    monkeypatch.setattr(
        sys, "argv", ["train_gan", "--params", str(root / "params.yaml"), "--root", str(root), "--set", "seed=1"]
    )
    main(train_gan, "test")
    assert reads == [str(root / "params.yaml")]
    assert json.loads((root / "metrics" / "eval.json").read_text())["jsd"] >= 0.0
    run_id = json.loads((root / "models" / "run.json").read_text())["mlflow_run_id"]
    assert MlflowClient(uri).get_run(run_id).data.params["seed"] == "1"  # the override reached every stage


def test_registered_generator_refuses_latents_of_the_wrong_width(tiny_cfg):
    """One line naming the input and the allowed shape, not a matrix-size error from torch."""
    from gan_core.models import build_models
    from tasks.generator_model import GeneratorModel

    model = GeneratorModel()
    model.generator, _ = build_models(tiny_cfg("model.g_noise=0.1").model, (2,))
    assert model.predict(None, np.zeros((3, 6), dtype=np.float32)).shape == (3, 2)  # z_dim 4 + 2 noise entries
    for bad in (np.zeros((3, 4)), np.zeros(6)):
        with pytest.raises(ValueError, match=r"model_input: latent vectors of shape \(n, 6\)"):
            model.predict(None, bad)
