"""Gaussian mixtures with exact densities: the synthetic datasets and the JSD ground truth.

`ring8` and `grid25` are the PacGAN 2-D setups. Because the log-density is exact, the true
JSD between two mixtures can be computed by Monte Carlo (`mixture_jsd`) to ~1e-3 nats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GaussianMixture:
    """Isotropic Gaussian mixture: `centres` (m, d), per-mode `stds` (m,), `weights` (m,)."""

    centres: np.ndarray
    stds: np.ndarray
    weights: np.ndarray

    @classmethod
    def isotropic(cls, centres, std: float, weights=None) -> GaussianMixture:
        centres = np.asarray(centres, dtype=np.float64)
        m = len(centres)
        w = np.full(m, 1.0 / m) if weights is None else np.asarray(weights, dtype=np.float64)
        return cls(centres, np.full(m, float(std)), w / w.sum())

    @property
    def dim(self) -> int:
        return self.centres.shape[1]

    @property
    def std(self) -> float:
        """The common mode std (mixtures used for mode metrics share one)."""
        return float(self.stds.max())

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        modes = rng.choice(len(self.weights), size=n, p=self.weights)
        noise = rng.standard_normal((n, self.dim))
        return (self.centres[modes] + noise * self.stds[modes, None]).astype(np.float32)

    def log_prob(self, x: np.ndarray, chunk: int = 65_536) -> np.ndarray:
        """Exact log-density (float64), computed in chunks to bound memory."""
        x = np.asarray(x, dtype=np.float64)
        d = self.dim
        log_norm = np.log(self.weights) - d * np.log(self.stds) - 0.5 * d * math.log(2 * math.pi)
        out = np.empty(len(x))
        for start in range(0, len(x), chunk):
            xb = x[start : start + chunk]
            sq = ((xb[:, None, :] - self.centres[None, :, :]) ** 2).sum(-1)
            logits = log_norm[None, :] - 0.5 * sq / self.stds[None, :] ** 2
            peak = logits.max(1, keepdims=True)
            out[start : start + chunk] = peak[:, 0] + np.log(np.exp(logits - peak).sum(1))
        return out


def ring8(radius: float = 1.0, std: float = 0.01) -> GaussianMixture:
    """8 Gaussians evenly spaced on a circle (PacGAN's 2-D ring)."""
    angles = 2 * np.pi * np.arange(8) / 8
    return GaussianMixture.isotropic(radius * np.stack([np.cos(angles), np.sin(angles)], 1), std)


def grid25(spacing: float = 2.0, std: float = 0.05) -> GaussianMixture:
    """25 Gaussians on the grid {-4,-2,0,2,4}² (PacGAN's 2-D grid)."""
    axis = spacing * (np.arange(5) - 2)
    return GaussianMixture.isotropic(np.array([(a, b) for a in axis for b in axis]), std)


def mixture_jsd(p: GaussianMixture, q: GaussianMixture, n: int = 400_000, seed: int = 0) -> tuple[float, float]:
    """True JSD(p || q) in nats by Monte Carlo of exact log-densities: (value, std error).

    JSD = ½ E_p[log p/m] + ½ E_q[log q/m], m = (p + q)/2; evaluated with log-sum-exp.
    """
    rng = np.random.default_rng(seed)
    terms = []
    for a, b in ((p, q), (q, p)):
        x = a.sample(n, rng)
        la, lb = a.log_prob(x), b.log_prob(x)
        lm = np.logaddexp(la, lb) - math.log(2)
        terms.append(la - lm)
    value = 0.5 * (terms[0].mean() + terms[1].mean())
    stderr = 0.5 * math.sqrt(terms[0].var() / n + terms[1].var() / n)
    return float(value), float(stderr)
