"""Every reported number comes from the run that claims it: a run's identity (training config
with its steps, the prepared data's content, the training code) keys its checkpoint, travels
with its generator, and the prepared data is checked against the config that asks for it."""

import numpy as np
import pytest

import gan_core.train
from gan_core.config import build_config
from gan_core.datasets import check_prepared, load_dataset, load_prepared
from gan_core.errors import CheckpointError, DataError
from gan_core.identity import code_version, run_identity
from tasks.data import prepare_data
from tasks.evaluation import evaluate_gan
from tasks.training import fit_gan


def test_identity_covers_steps_data_and_not_display_keys(tiny_cfg):
    cfg = tiny_cfg()
    data = load_dataset(cfg.data, cfg.seed)
    base = run_identity(cfg.flat(), data.digest)
    assert run_identity(tiny_cfg("train.steps=60").flat(), data.digest)["id"] != base["id"]
    assert run_identity(cfg.flat(), load_dataset(cfg.data, cfg.seed + 1).digest)["data"] != base["data"]
    same = tiny_cfg(
        "train.progress=true",
        "train.log_every=3",
        "train.checkpoint_every=7",
        "evaluate.n_jsd=123",
        "train.jsd_every=0",
    )
    assert run_identity(same.flat(), data.digest) == base
    assert base["code"] == code_version() and len(base["code"]) == 12


def test_a_longer_run_never_resumes_a_shorter_ones_checkpoint(tiny_cfg, tmp_path):
    short = tiny_cfg("train.steps=20")
    data = load_dataset(short.data, short.seed)
    gan_core.train.fit_gan(short, data, checkpoint_dir=tmp_path)
    longer = tiny_cfg("train.steps=40")
    with pytest.raises(CheckpointError, match="train.steps"):  # same folder: refused, not spliced
        gan_core.train.fit_gan(longer, data, checkpoint_dir=tmp_path)
    other_data = load_dataset(short.data, short.seed + 1)
    with pytest.raises(CheckpointError, match="prepared data"):
        gan_core.train.fit_gan(short, other_data, checkpoint_dir=tmp_path)


def test_prepared_data_follows_the_config_whatever_ran_before(tmp_path):
    out = tmp_path / "data" / "prepared" / "dataset.npz"
    for name in ("ring8", "grid25", "ring8", "grid25"):
        cfg = build_config({}, [f"data.name={name}", "seed=5", "data.n_train=500", "data.n_heldout=100"])
        prepare_data.fn(cfg, out)
        data = load_prepared(out)
        assert data.name == name and np.array_equal(data.train, load_dataset(cfg.data, cfg.seed).train)
        check_prepared(data, cfg.data, cfg.seed, out)
    other = build_config({}, ["data.name=grid25", "seed=6", "data.n_train=500", "data.n_heldout=100"])
    with pytest.raises(DataError, match="another data config"):
        check_prepared(load_prepared(out), other.data, other.seed, out)


def test_a_replaced_user_file_is_new_data(tmp_path):
    path = tmp_path / "mine.npy"
    np.save(path, np.random.default_rng(0).normal(size=(200, 3)).astype(np.float32))
    cfg = build_config({}, ["data.name=mine", f"data.path={path}"])
    out = tmp_path / "prepared.npz"
    prepare_data.fn(cfg, out)
    first = load_prepared(out).train.copy()
    np.save(path, np.random.default_rng(1).normal(size=(200, 3)).astype(np.float32))
    with pytest.raises(DataError, match="another data config, seed or data file"):
        check_prepared(load_prepared(out), cfg.data, cfg.seed, out)
    prepare_data.fn(cfg, out)
    assert not np.array_equal(load_prepared(out).train, first)


def test_evaluation_refuses_a_generator_of_another_run(tiny_cfg, tmp_path):
    cfg = tiny_cfg("train.jsd_every=0", "evaluate.n_jsd=200", "evaluate.jsd_steps=50", "evaluate.n_metric_samples=100")
    prepare_data.fn(cfg, tmp_path / "data" / "prepared" / "dataset.npz")
    fit_gan.fn(cfg, str(tmp_path), None)
    assert evaluate_gan.fn(cfg, str(tmp_path), None)["jsd"] >= 0  # its own generator: fine
    longer = tiny_cfg("train.jsd_every=0", "train.steps=60", "evaluate.n_jsd=200", "evaluate.jsd_steps=50")
    with pytest.raises(CheckpointError, match="another run .*training config"):
        evaluate_gan.fn(longer, str(tmp_path), None)


def test_a_killed_writers_temporary_is_removed_on_the_next_write(tmp_path):
    import os
    import time

    from gan_core.checkpoint import STALE_TMP_SECONDS, atomic_write

    target = tmp_path / "out.json"
    stale, fresh = tmp_path / ".out.json.abc.tmp", tmp_path / ".out.json.def.tmp"
    for f in (stale, fresh):
        f.write_text("half")
    old = time.time() - STALE_TMP_SECONDS - 5
    os.utime(stale, (old, old))
    atomic_write(target, lambda tmp: open(tmp, "w").write("{}"))
    assert target.read_text() == "{}" and not stale.exists() and fresh.exists()


def test_the_original_error_survives_an_unreachable_tracking_store(tmp_path, monkeypatch, caplog):
    import tasks.tracking as tracking

    def down(root):
        raise ConnectionError("tracking server down")

    monkeypatch.setattr(tracking, "client", down)
    tracking.mark_failed(type("P", (), {"root": tmp_path})(), "abc", ValueError("the real problem"))  # must not raise
    assert "could not mark MLflow run abc FAILED" in caplog.text


def test_an_edit_to_the_training_code_is_another_identity(tmp_path):
    import shutil
    from pathlib import Path

    import gan_core
    from gan_core.identity import TRAINING_CODE, code_hash

    package = Path(gan_core.__file__).parent
    for name in TRAINING_CODE:
        shutil.copy(package / name, tmp_path / name)
    assert code_hash(tmp_path) == code_version()  # a copy of the same sources: the same run
    (tmp_path / "losses.py").write_text((tmp_path / "losses.py").read_text() + "\n# an edit\n")
    assert code_hash(tmp_path) != code_version()
