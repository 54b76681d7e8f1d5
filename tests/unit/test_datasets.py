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
        ("odd-images", "allowed: 8x8 or larger"),
    ],
)
def test_bad_user_data_gives_one_line_naming_the_file(tmp_path, case, message):
    path = _write(tmp_path, case)
    with pytest.raises(DataError) as exc:
        read_user_data(path)
    assert message in str(exc.value) and path.name in str(exc.value) and "\n" not in str(exc.value)


def _image_folder(folder, sizes_and_modes, n_each=12, seed=0):
    from PIL import Image

    folder.mkdir()
    rng = np.random.default_rng(seed)
    for k, (size, mode) in enumerate(sizes_and_modes):
        for i in range(n_each):
            shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
            Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(folder / f"{k}-{i}.png")
    return folder


@pytest.mark.parametrize(
    "size, mode, shape", [((28, 28), "L", (1, 28, 28)), ((32, 32), "RGB", (3, 32, 32)), ((40, 24), "L", (1, 24, 40))]
)
def test_image_folders_of_common_sizes_train(tmp_path, tiny_cfg, size, mode, shape):
    """28x28 grayscale (MNIST-shaped), 32x32 RGB and a rectangular folder load as they are,
    and the DCGAN-style pair adapts to each size."""
    from gan_core.train import fit_gan, sample

    folder = _image_folder(tmp_path / "imgs", [(size, mode)], n_each=24)
    cfg = tiny_cfg("data.name=mine", f"data.path={folder}", "model.channels=4", "train.steps=3", "model.z_dim=8")
    data = load_dataset(cfg.data, cfg.seed)
    assert data.sample_shape == shape and data.train.min() >= -1 and data.train.max() <= 1
    result = fit_gan(cfg, data)
    assert sample(result.generator, 5).shape == (5, *shape)


def test_mixed_sizes_are_resized_and_unreadable_files_named(tmp_path, caplog):
    folder = _image_folder(tmp_path / "mixed", [((28, 28), "L"), ((32, 32), "L"), ((28, 28), "RGB")])
    (folder / "broken.png").write_bytes(b"not a png at all")
    with caplog.at_level("WARNING"):
        x = read_user_data(folder)
    assert x.shape == (36, 3, 28, 28)  # the most common size; one colour image makes all RGB
    assert "skipped 1 unreadable file(s)" in caplog.text and "broken.png" in caplog.text
    assert "have 2 sizes; resized to 28x28, the most common (set data.image_size to choose)" in caplog.text
    assert read_user_data(folder, image_size=16).shape == (36, 3, 16, 16)


def test_image_size_resizes_arrays_and_the_builtin_digits():
    data = load_dataset(DataConfig(name="digits", image_size=28), seed=0)
    assert data.sample_shape == (1, 28, 28) and data.train.min() >= -1.0 and data.train.max() <= 1.0
    assert data.train_labels is not None and len(data.train) == len(data.train_labels)
