"""Datasets: deterministic, held-out split kept apart, user files checked with clear errors."""

import numpy as np
import pytest

from gan_core.config import DataConfig
from gan_core.datasets import load_dataset, load_prepared, read_user_data, save_prepared
from gan_core.errors import DataError


@pytest.mark.parametrize("name, modes, std", [("ring8", 8, 0.01), ("grid25", 25, 0.05)])
def test_mixtures_are_deterministic_and_split(name, modes, std):
    cfg = DataConfig(name=name, n_train=2000, n_heldout=500)
    a, b, c = load_dataset(cfg, 0), load_dataset(cfg, 0), load_dataset(cfg, 1)
    assert np.array_equal(a.train, b.train) and not np.array_equal(a.train, c.train)
    assert a.train.shape == (2000, 2) and a.heldout.shape == (500, 2) and a.kind == "vector"
    assert len(a.mixture.centres) == modes and a.mixture.std == std
    assert not np.isin(a.heldout[:, 0], a.train[:, 0]).any()
    # every sample lies near a mode centre (within 6 std)
    d = np.sqrt(((a.train[:, None] - a.mixture.centres[None]) ** 2).sum(-1)).min(1)
    assert d.max() < 6 * std


def test_digits_scaled_and_split():
    ds = load_dataset(DataConfig(name="digits"), 0)
    assert ds.kind == "image" and ds.sample_shape == (1, 8, 8)
    assert len(ds.train) + len(ds.heldout) == 1797
    assert ds.train.min() == -1.0 and ds.train.max() == 1.0


def test_prepared_round_trip(tmp_path):
    ds = load_dataset(DataConfig(name="grid25", n_train=100, n_heldout=50), 3)
    back = load_prepared(save_prepared(ds, tmp_path / "p.npz"))
    assert np.array_equal(back.train, ds.train) and back.mixture is not None and back.name == "grid25"


def test_user_npy_and_npz(tmp_path):
    x = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    np.save(tmp_path / "a.npy", x)
    np.savez(tmp_path / "b.npz", x=x)
    assert np.array_equal(read_user_data(tmp_path / "a.npy"), x)
    ds = load_dataset(DataConfig(name="mine", path=str(tmp_path / "b.npz"), heldout_fraction=0.25), 0)
    assert ds.train.shape == (30, 3) and ds.heldout.shape == (10, 3)


def test_user_image_folder(tmp_path):
    from PIL import Image

    for i in range(20):
        Image.fromarray(np.full((8, 8), i * 10, dtype=np.uint8)).save(tmp_path / f"{i:02d}.png")
    x = read_user_data(tmp_path)
    assert x.shape == (20, 1, 8, 8) and x.min() >= -1 and x.max() <= 1


def _write(tmp_path, case):
    p = tmp_path / "d.npy"
    good = np.zeros((40, 2), np.float32)
    if case == "empty":
        p.write_bytes(b"")
    elif case == "truncated":
        np.save(p, good)
        p.write_bytes(p.read_bytes()[:-50])
    elif case == "nan":
        good[7, 1] = np.nan
        np.save(p, good)
    elif case == "shape":
        np.save(p, np.zeros((40, 2, 2, 2, 2), np.float32))
    elif case == "few":
        np.save(p, good[:3])
    elif case == "suffix":
        p = tmp_path / "d.csv"
        p.write_text("1,2\n")
    elif case == "missing":
        p = tmp_path / "nope.npy"
    elif case == "odd-images":
        np.save(p, np.zeros((40, 1, 6, 6), np.float32))
    return p


@pytest.mark.parametrize(
    "case, message",
    [
        ("empty", "is empty"),
        ("truncated", "cannot be read as a numpy array"),
        ("nan", "NaN/Inf values (first in sample 7)"),
        ("shape", "allowed: (n, d), (n, h, w) or (n, c, h, w)"),
        ("few", "at least 16 are needed"),
        ("suffix", "allowed: .npy, .npz"),
        ("missing", "does not exist"),
        ("odd-images", "power of two"),
    ],
)
def test_bad_user_data_gives_one_line_naming_the_file(tmp_path, case, message):
    path = _write(tmp_path, case)
    with pytest.raises(DataError) as exc:
        read_user_data(path)
    assert message in str(exc.value) and path.name in str(exc.value) and "\n" not in str(exc.value)
