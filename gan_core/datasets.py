"""Datasets: deterministic from a seed, with a held-out real split kept apart for evaluation.

Built-ins: `ring8`, `grid25` (exact mixtures), `digits` (scikit-learn's 1,797 8x8 images,
scaled to [-1, 1]). A user dataset is a `.npy`/`.npz` file of shape (n, d) or
(n, c, h, w), or a folder of images (any size from 8x8; `data.image_size` resizes them all).
Bad data is refused with one line naming the file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from gan_core.checkpoint import atomic_write
from gan_core.config import DataConfig
from gan_core.errors import DataError
from gan_core.mixtures import GaussianMixture, grid25, ring8

log = logging.getLogger(__name__)
MIN_SAMPLES = 16
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff")


@dataclass
class Dataset:
    """Training and held-out real samples (float32 numpy arrays) plus what is known of them."""

    name: str
    train: np.ndarray
    heldout: np.ndarray
    mixture: GaussianMixture | None = None
    train_labels: np.ndarray | None = None  # class labels where the data has them (digits)
    heldout_labels: np.ndarray | None = None
    source: str = ""  # what it was prepared from (`source_key`), kept in the prepared file

    @property
    def digest(self) -> str:
        """Content hash of the samples (part of a run's identity)."""
        from gan_core.identity import array_digest

        return array_digest(np.array(self.name), self.train, self.heldout)

    @property
    def kind(self) -> Literal["vector", "image"]:
        return "image" if self.train.ndim == 4 else "vector"

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.train.shape[1:])


MIXTURES = {"ring8": ring8, "grid25": grid25}


def load_dataset(cfg: DataConfig, seed: int) -> Dataset:
    """Build the dataset `cfg` names; the same (cfg, seed) always gives the same arrays."""
    rng = np.random.default_rng([seed, 20_140_610])
    if cfg.name in MIXTURES:
        mix = MIXTURES[cfg.name]()
        ds = Dataset(cfg.name, mix.sample(cfg.n_train, rng), mix.sample(cfg.n_heldout, rng), mix)
    else:
        labels = None
        if cfg.name == "digits":
            images, labels = _digits()
        else:
            images = read_user_data(Path(cfg.path or ""), cfg.image_size)
        if cfg.image_size and images.ndim == 4 and images.shape[2:] != (cfg.image_size, cfg.image_size):
            images = resize_images(images, cfg.image_size)
        ds = _split(cfg.name, images, labels, cfg.heldout_fraction, rng)
    ds.source = source_key(cfg, seed)
    return ds


def source_key(cfg: DataConfig, seed: int) -> str:
    """What a prepared file is built from: the data section and the seed, and for a user
    dataset the content of the file or folder `data.path` names (a replaced file is new data)."""
    import hashlib
    import json

    parts: dict = {"data": cfg.model_dump(mode="json"), "seed": seed}
    if cfg.name not in MIXTURES and cfg.name != "digits":
        parts["content"] = _path_digest(Path(cfg.path or ""))
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def _path_digest(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path] if path.is_file() else []
    for f in files:
        h.update(str(f.relative_to(path) if path.is_dir() else f.name).encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest() if files else "missing"


def check_prepared(ds: Dataset, cfg: DataConfig, seed: int, path: str | Path) -> None:
    """Refuse a prepared file built from another data config, seed or data file."""
    if ds.source != source_key(cfg, seed):
        raise DataError(
            f"data: prepared file '{path}' holds '{ds.name}' built from another data config, seed or data file than this run's; run the prepare_data stage first"
        )


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits  # ships its data: no download

    bunch = load_digits()
    raw = bunch.images.astype(np.float32)  # (1797, 8, 8), values 0..16
    return (raw / 8.0 - 1.0)[:, None, :, :], bunch.target.astype(np.int64)


def _split(name: str, x: np.ndarray, labels: np.ndarray | None, fraction: float, rng: np.random.Generator) -> Dataset:
    order = rng.permutation(len(x))
    n_held = max(1, int(round(fraction * len(x))))
    held, train = order[:n_held], order[n_held:]
    if labels is None:
        return Dataset(name, x[train], x[held])
    return Dataset(name, x[train], x[held], None, labels[train], labels[held])


def resize_images(x: np.ndarray, size: int) -> np.ndarray:
    """(n, c, h, w) → (n, c, size, size), bilinear with antialiasing (values stay in range)."""
    import torch
    import torch.nn.functional as F

    out = F.interpolate(
        torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)),
        size=(size, size),
        mode="bilinear",
        align_corners=False,
        antialias=True,
    )
    return out.clamp(float(x.min()), float(x.max())).numpy()


def read_user_data(path: Path, image_size: int | None = None) -> np.ndarray:
    """Read and check a user dataset; every problem is one line naming the file."""
    if not path.exists():
        raise DataError(f"data.path: '{path}' does not exist")
    if path.is_dir():
        x = _read_image_folder(path, image_size)
    elif path.suffix == ".npy":
        x = _read_array(path, lambda: np.load(path, allow_pickle=False))
    elif path.suffix == ".npz":
        x = _read_array(path, lambda: _first_array(path))
    else:
        raise DataError(f"data.path: '{path}' has suffix '{path.suffix}'; allowed: .npy, .npz, or a folder of images")
    return check_array(x, str(path))


def _read_array(path: Path, read) -> np.ndarray:
    if path.stat().st_size == 0:
        raise DataError(f"data: '{path}' is empty (0 bytes)")
    try:
        return read()
    except Exception as exc:  # numpy raises many types for truncated/corrupt files
        raise DataError(f"data: '{path}' cannot be read as a numpy array ({type(exc).__name__}: {exc})") from None


def _first_array(path: Path) -> np.ndarray:
    with np.load(path, allow_pickle=False) as archive:
        keys = list(archive.keys())
        if not keys:
            raise DataError(f"data: '{path}' holds no arrays")
        key = next((k for k in ("x", "data", "images", "arr_0") if k in keys), keys[0])
        return archive[key]


def check_array(x: np.ndarray, source: str) -> np.ndarray:
    """Shape (n, d) or (n, c, h, w) — (n, h, w) gains a channel — finite, at least 16 rows."""
    if not np.issubdtype(x.dtype, np.number):
        raise DataError(f"data: '{source}' has dtype {x.dtype}; allowed: a numeric array")
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim not in (2, 4):
        raise DataError(f"data: '{source}' has shape {x.shape}; allowed: (n, d), (n, h, w) or (n, c, h, w)")
    if len(x) < MIN_SAMPLES:
        raise DataError(f"data: '{source}' has {len(x)} samples; at least {MIN_SAMPLES} are needed")
    if x.ndim == 4 and min(x.shape[2:]) < 8:
        raise DataError(
            f"data: '{source}' has images of {x.shape[2]}x{x.shape[3]}; allowed: 8x8 or larger (data.image_size resizes them)"
        )
    x = x.astype(np.float32)
    bad = ~np.isfinite(x)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise DataError(f"data: '{source}' contains {int(bad.sum())} NaN/Inf values (first in sample {row})")
    return x


def _read_image_folder(folder: Path, size: int | None = None) -> np.ndarray:
    """Every readable image of the folder, grayscale unless any is colour; a file that cannot
    be read is skipped with one line naming it. Mixed sizes are resized to `size`, or else
    to the most common size, saying so."""
    from collections import Counter

    from PIL import Image  # pillow comes with matplotlib

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"data.path: folder '{folder}' holds no images; allowed: {', '.join(IMAGE_SUFFIXES)}")
    images, skipped = [], []
    for f in files:
        try:
            with Image.open(f) as im:
                im.load()
                images.append(im.copy())
        except Exception as exc:
            skipped.append(f"{f.name} ({type(exc).__name__})")
    if skipped:
        log.warning(
            "data: skipped %d unreadable file(s) in '%s': %s",
            len(skipped),
            folder,
            ", ".join(skipped[:5]) + (" ..." if len(skipped) > 5 else ""),
        )
    if not images:
        raise DataError(f"data.path: no image in folder '{folder}' can be read")
    mode = "L" if all(im.mode in ("1", "L", "I", "F", "I;16") for im in images) else "RGB"
    sizes = Counter(im.size for im in images)  # (width, height)
    target = (size, size) if size else sizes.most_common(1)[0][0]
    if not size and len(sizes) > 1:
        log.warning(
            "data: images in '%s' have %d sizes; resized to %dx%d, the most common (set data.image_size to choose)",
            folder,
            len(sizes),
            target[0],
            target[1],
        )
    arrays = [
        np.asarray(
            (im if im.size == target else im.resize(target, Image.Resampling.BILINEAR)).convert(mode), dtype=np.float32
        )
        for im in images
    ]
    x = np.stack(arrays) / 127.5 - 1.0
    return x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2)


def save_prepared(ds: Dataset, path: str | Path) -> Path:
    """Write train/held-out arrays to one .npz atomically (temp file + rename)."""
    path = Path(path)
    extra = {} if ds.train_labels is None else {"train_labels": ds.train_labels, "heldout_labels": ds.heldout_labels}

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:  # a file object: np.savez would append ".npz" to a name
            np.savez(f, train=ds.train, heldout=ds.heldout, name=np.array(ds.name), source=np.array(ds.source), **extra)

    atomic_write(path, write)
    return path


def load_prepared(path: str | Path) -> Dataset:
    """Read what `save_prepared` wrote; mixtures get their exact density back by name."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"data: prepared file '{path}' does not exist; run the prepare_data stage first")
    try:
        with np.load(path, allow_pickle=False) as f:
            name = str(f["name"])
            ds = Dataset(name, f["train"], f["heldout"], source=str(f["source"]) if "source" in f else "")
            if "train_labels" in f:
                ds.train_labels, ds.heldout_labels = f["train_labels"], f["heldout_labels"]
    except Exception as exc:
        raise DataError(f"data: prepared file '{path}' cannot be read ({type(exc).__name__})") from None
    ds.mixture = MIXTURES[name]() if name in MIXTURES else None
    return ds
