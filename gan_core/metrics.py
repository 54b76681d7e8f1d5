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
