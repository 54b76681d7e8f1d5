"""Mode coverage and sample quality on mixtures (the VEEGAN / PacGAN protocol).

On generated samples (2,500 by convention): a sample is high-quality if it lies within
3 std of its nearest mode centre; a mode is covered if at least 20 high-quality samples
fall on it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from gan_core.mixtures import GaussianMixture


@dataclass(frozen=True)
class ModeMetrics:
    modes_covered: int
    modes_total: int
    high_quality_fraction: float

    def as_dict(self) -> dict:
        return asdict(self)


def nearest_mode(samples: np.ndarray, mixture: GaussianMixture) -> tuple[np.ndarray, np.ndarray]:
    """Index of each sample's nearest mode centre and the Euclidean distance to it."""
    samples = np.asarray(samples, dtype=np.float64).reshape(len(samples), -1)
    dist = np.sqrt(((samples[:, None, :] - mixture.centres[None]) ** 2).sum(-1))
    nearest = dist.argmin(1)
    return nearest, dist[np.arange(len(samples)), nearest]


def mode_metrics(samples: np.ndarray, mixture: GaussianMixture, n_std: float = 3.0, min_count: int = 20) -> ModeMetrics:
    nearest, dist = nearest_mode(samples, mixture)
    good = dist <= n_std * mixture.stds[nearest]
    counts = np.bincount(nearest[good], minlength=len(mixture.centres))
    return ModeMetrics(int((counts >= min_count).sum()), len(mixture.centres), float(good.mean()))


# The per-axis variance of a 2-D-or-more isotropic Gaussian truncated to the disc r <= 3σ,
# relative to σ²: what a correct mode gives when only its within-3σ samples are kept.
def _truncated_variance(dim: int, n_std: float) -> float:
    import torch

    def chi2_cdf(x: float, k: int) -> float:  # the regularised lower incomplete gamma P(k/2, x/2)
        return float(
            torch.special.gammainc(torch.tensor(k / 2, dtype=torch.float64), torch.tensor(x / 2, dtype=torch.float64))
        )

    c = n_std**2
    return chi2_cdf(c, dim + 2) / chi2_cdf(c, dim)


@dataclass(frozen=True)
class ModeShape:
    """Within-mode covariance eigenvalues of the generated samples, relative to the data's.

    For each mode with at least `min_count` samples within 3σ, the eigenvalues of their
    covariance divided by what a correct mode gives (σ² times the truncation factor), so 1.0
    is right, < 1 squeezed, > 1 spread. A mode collapsed into a line has a small minimum."""

    var_min: float  # mean over modes of the smallest eigenvalue ratio
    var_max: float  # mean over modes of the largest eigenvalue ratio
    worst: float  # the mode farthest from 1 in |log ratio| (its ratio)
    per_mode: list[tuple[float, float]]  # (min, max) ratio per mode; NaN where too few samples

    def as_dict(self) -> dict:
        return {"mode_var_min": self.var_min, "mode_var_max": self.var_max, "mode_var_worst": self.worst}


def mode_shape(samples: np.ndarray, mixture: GaussianMixture, n_std: float = 3.0, min_count: int = 20) -> ModeShape:
    samples = np.asarray(samples, dtype=np.float64).reshape(len(samples), -1)
    nearest, dist = nearest_mode(samples, mixture)
    expect = _truncated_variance(mixture.dim, n_std)
    per_mode: list[tuple[float, float]] = []
    for m in range(len(mixture.centres)):
        near = samples[(nearest == m) & (dist <= n_std * mixture.stds[m])]
        if len(near) < min_count:
            per_mode.append((float("nan"), float("nan")))
            continue
        eig = np.linalg.eigvalsh(np.cov(near.T).reshape(mixture.dim, mixture.dim)) / (mixture.stds[m] ** 2 * expect)
        per_mode.append((float(eig.min()), float(eig.max())))
    arr = np.array(per_mode)
    seen = arr[~np.isnan(arr[:, 0])]
    if not len(seen):
        return ModeShape(float("nan"), float("nan"), float("nan"), per_mode)
    flat = seen.ravel()
    return ModeShape(
        float(seen[:, 0].mean()), float(seen[:, 1].mean()), float(flat[np.abs(np.log(flat)).argmax()]), per_mode
    )
