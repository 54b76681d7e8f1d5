"""Config: defaults, params.yaml, overrides, and one clear line for every bad key or value."""

from pathlib import Path

import pytest

from gan_core.config import Config, build_config, load_config
from gan_core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_params_yaml_and_code_defaults_agree():
    """params.yaml is the single source of defaults: the typed config must not drift from it."""
    assert load_config(ROOT / "params.yaml") == Config()


def test_overrides_apply_with_yaml_types():
    cfg = build_config({}, ["train.loss=mm", "seed=3", "train.lr_g=0.001", "data.name=grid25"])
    assert (cfg.train.loss, cfg.seed, cfg.train.lr_g, cfg.data.name) == ("mm", 3, 0.001, "grid25")
    assert build_config({}, {"train.k": 4, "train.k_end": None}).train.k == 4


def test_flat_view_uses_dotted_keys():
    flat = Config().flat()
    assert flat["train.loss"] == Config().train.loss and "data.name" in flat and flat["seed"] == 0


@pytest.mark.parametrize(
    "override, expected",
    [
        ("train.lossx=mm", "unknown key 'train.lossx'; did you mean 'train.loss'?"),
        ("trian.k=2", "unknown key 'trian'; did you mean 'train'?"),
        ("train.lr_g=abc", "'train.lr_g'"),
        ("seed=1.5", "'seed'"),
        ("train.k=0", "'train.k'"),
        ("train.steps=-5", "'train.steps'"),
        ("train.batch_size=0", "'train.batch_size'"),
        ("train.loss=wgan", "allowed: 'ns' or 'mm'"),
        ("device=tpu", "allowed: auto, cpu, cuda, cuda:N"),
        ("train.k=3", "k_end (2) is below train.k (3); allowed: null (k throughout) or at least k"),
    ],
)
def test_bad_values_give_one_clear_line(override, expected):
    with pytest.raises(ConfigError) as exc:
        build_config({}, [override])
    message = str(exc.value)
    assert expected in message
    assert "\n" not in message and "Traceback" not in message


def test_a_user_dataset_needs_a_path():
    with pytest.raises(
        ConfigError, match="unknown dataset 'imagenet'; allowed: ring8, grid25, digits, or a user dataset"
    ):
        build_config({}, ["data.name=imagenet", "data.path=null"])


def test_out_of_range_names_the_bound():
    with pytest.raises(ConfigError, match=r"'train.k'.*got 0.*allowed: >= 1"):
        build_config({}, ["train.k=0"])


def test_override_without_equals_is_refused():
    with pytest.raises(ConfigError, match="key=value"):
        build_config({}, ["train.loss"])


def test_bad_yaml_file(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("train: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    bad.write_text("- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(bad)


def test_threads_are_chosen_on_purpose(monkeypatch):
    """GAN_THREADS, else OMP_NUM_THREADS, else 1; a bad value is one line."""
    import torch

    from gan_core.runtime import cpu_threads, use_threads

    before = torch.get_num_threads()
    try:
        monkeypatch.delenv("GAN_THREADS", raising=False)
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        assert cpu_threads() == 1  # holds up on a shared machine (BENCHMARKS.md)
        monkeypatch.setenv("OMP_NUM_THREADS", "3")
        assert cpu_threads() == 3
        monkeypatch.setenv("GAN_THREADS", "1")
        assert use_threads() == 1 and torch.get_num_threads() == 1
        for bad in ("0", "two", "-1"):
            monkeypatch.setenv("GAN_THREADS", bad)
            with pytest.raises(
                ConfigError, match=r"^GAN_THREADS: .* is not allowed; give a whole number of threads, 1 or more$"
            ):
                cpu_threads()
    finally:
        torch.set_num_threads(before)


def test_the_file_is_one_model_and_the_run_config_carries_no_sweep(tmp_path):
    """params.yaml is validated whole (run sections and `sweep`), so a bad sweep key fails a run
    as early as a bad run key; the run's Config never holds the sweep (run identity)."""
    params = tmp_path / "params.yaml"
    params.write_text("train:\n  k: 2\nsweep:\n  workers: 1\n")
    cfg = load_config(params)
    assert cfg.train.k == 2 and "sweep" not in cfg.to_dict()
    params.write_text("sweep:\n  worker: 1\n")
    with pytest.raises(ConfigError, match=r"^config: unknown key 'sweep.worker'; did you mean 'sweep.workers'\?$"):
        load_config(params)
    params.write_text("sweeep:\n  workers: 1\n")
    with pytest.raises(ConfigError, match="did you mean 'sweep'"):
        load_config(params)
    with pytest.raises(ConfigError, match="'sweep' keys are not run settings"):
        load_config(tmp_path / "absent.yaml", ["sweep.workers=2"])
