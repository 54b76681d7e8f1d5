"""Distribution pairs with exactly known JSD, for validating `estimate_jsd`.

Each pair is two Gaussian mixtures with exact log-densities, so the true JSD comes from
`mixture_jsd` (Monte Carlo of the log-density ratio, ~1e-3 nats or better). The cases
cover fine structure, higher dimensions, unequal weights and both limits (0 and log 2).
"""

from __future__ import annotations

import numpy as np

from gan_core.mixtures import GaussianMixture, grid25, ring8


def _shifted(m: GaussianMixture, shift) -> GaussianMixture:
    return GaussianMixture(m.centres + np.asarray(shift, dtype=np.float64), m.stds, m.weights)


def _gauss(mean, std: float) -> GaussianMixture:
    return GaussianMixture.isotropic(np.asarray(mean, dtype=np.float64)[None], std)


def validation_pairs() -> dict[str, tuple[GaussianMixture, GaussianMixture]]:
    """name → (p, q)."""
    g, r = grid25(), ring8()
    rng = np.random.default_rng(7)
    centres8 = rng.normal(0, 2.0, size=(4, 8))
    mix8 = GaussianMixture.isotropic(centres8, 0.5)
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
    }
