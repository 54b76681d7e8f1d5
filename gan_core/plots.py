"""Figures as files: 2-D samples over mode centres, image grids, training curves.

Pure matplotlib (Agg backend), no tracking code: callers decide where files go.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from gan_core.checkpoint import atomic_write  # noqa: E402
from gan_core.mixtures import GaussianMixture  # noqa: E402


def scatter_figure(
    samples: np.ndarray, mixture: GaussianMixture | None = None, real: np.ndarray | None = None, title: str = ""
) -> Figure:
    fig, ax = plt.subplots(figsize=(5, 5))
    if real is not None:
        ax.scatter(real[:, 0], real[:, 1], s=2, c="tab:blue", alpha=0.3, label="real")
    ax.scatter(samples[:, 0], samples[:, 1], s=2, c="tab:orange", alpha=0.5, label="generated")
    if mixture is not None:
        ax.scatter(mixture.centres[:, 0], mixture.centres[:, 1], marker="x", c="k", s=30, label="mode centres")
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7, markerscale=3)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def mode_zoom_figure(
    real: np.ndarray,
    fake: np.ndarray,
    mixture: GaussianMixture,
    n_std: float = 5.0,
    per_mode: int = 400,
    title: str = "",
) -> Figure:
    """One panel per mode at the mode's own scale (±`n_std` σ): held-out real samples against
    generated ones, with the data's 1σ and 2σ circles. A mode squeezed into a line or spread
    into a blob shows here, where a whole-plane scatter shows only a dot."""
    m = len(mixture.centres)
    cols = int(np.ceil(np.sqrt(m)))
    rows = -(-m // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.9 * cols, 1.9 * rows + 0.4), squeeze=False)
    theta = np.linspace(0, 2 * np.pi, 100)
    for ax in axes.ravel()[m:]:
        ax.axis("off")
    for i, (ax, centre, std) in enumerate(zip(axes.ravel(), mixture.centres, mixture.stds)):
        for pts, colour, label in ((real, "tab:blue", "real (held out)"), (fake, "tab:orange", "generated")):
            near = pts[np.abs(pts[:, :2] - centre[:2]).max(1) <= n_std * std][:per_mode]
            ax.scatter(
                (near[:, 0] - centre[0]) / std, (near[:, 1] - centre[1]) / std, s=1.5, c=colour, alpha=0.5, label=label
            )
        for r in (1, 2):
            ax.plot(r * np.cos(theta), r * np.sin(theta), c="k", lw=0.5, alpha=0.6)
        ax.set_xlim(-n_std, n_std)
        ax.set_ylim(-n_std, n_std)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"mode {i}", fontsize=7)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=7, markerscale=4)
    fig.suptitle(f"{title}\neach mode at ±{n_std:g}σ (circles: the data's 1σ, 2σ)".strip(), fontsize=8)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def note_figure(text: str) -> Figure:
    """A small figure holding only a line of text (where a plot does not apply)."""
    fig, ax = plt.subplots(figsize=(4, 1))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=8)
    return fig


def image_grid_figure(images: np.ndarray, n: int = 64, title: str = "") -> Figure:
    """Images (n, c, h, w) in [-1, 1] tiled into a square grid."""
    images = np.clip((np.asarray(images[:n]) + 1) / 2, 0, 1)
    side = int(np.ceil(np.sqrt(len(images))))
    c, h, w = images.shape[1:]
    grid = np.ones((side * (h + 1), side * (w + 1), c))
    for i, img in enumerate(images):
        r, col = divmod(i, side)
        grid[r * (h + 1) : r * (h + 1) + h, col * (w + 1) : col * (w + 1) + w] = img.transpose(1, 2, 0)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(grid[..., 0] if c == 1 else grid, cmap="gray" if c == 1 else None, vmin=0, vmax=1)
    ax.axis("off")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def samples_figure(samples: np.ndarray, mixture: GaussianMixture | None = None, title: str = "") -> Figure:
    """The right picture for the data: a scatter for 2-D vectors, a grid for images."""
    if samples.ndim == 4:
        return image_grid_figure(samples, title=title)
    return scatter_figure(samples[:, :2], mixture, title=title)


def curves_figure(
    history: Mapping[str, Sequence[float]],
    keys: Sequence[str] = ("d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm"),
) -> Figure:
    steps = np.asarray(history["step"])
    keys = [k for k in keys if k in history]
    fig, axes = plt.subplots(len(keys), 1, figsize=(6, 1.8 * len(keys)), sharex=True)
    for ax, key in zip(np.atleast_1d(axes), keys):
        ax.plot(steps, history[key], lw=0.8)
        ax.set_ylabel(key)
    np.atleast_1d(axes)[-1].set_xlabel("generator step")
    fig.tight_layout()
    return fig


def compare_curves_figure(curves: Mapping[str, Mapping[str, Sequence[Sequence[float]]]], title: str = "") -> Figure:
    """One panel per quantity, one line per member: `curves[quantity][member] = (steps, values)`.
    Members whose name starts with the same group (text before the first comma) share a colour."""
    names = sorted({m for per in curves.values() for m in per})
    groups = sorted({m.split(",")[0] for m in names})
    colour = {g: f"C{i}" for i, g in enumerate(groups)}
    fig, axes = plt.subplots(len(curves), 1, figsize=(7, 2.4 * len(curves)), sharex=True, squeeze=False)
    for ax, (quantity, per_member) in zip(axes[:, 0], curves.items()):
        for member, (steps, values) in sorted(per_member.items()):
            group = member.split(",")[0]
            ax.plot(steps, values, lw=0.9, color=colour[group], alpha=0.8, label=group)
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles))
        ax.legend(unique.values(), unique.keys(), fontsize=7)
        ax.set_ylabel(quantity)
    axes[-1, 0].set_xlabel("generator step")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def tile_images_figure(images: Mapping[str, str | Path], columns: int = 4) -> Figure:
    """Saved figures (e.g. each member's samples.png) side by side, titled by their key."""
    n = max(1, len(images))
    cols = min(columns, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.2 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (title, path) in zip(axes.ravel(), images.items()):
        ax.imshow(plt.imread(str(path)))
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    return fig


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write atomically (a failed write keeps the previous figure)."""
    path = Path(path)
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format=path.suffix.lstrip(".") or "png"))
    finally:
        plt.close(fig)
    return path
