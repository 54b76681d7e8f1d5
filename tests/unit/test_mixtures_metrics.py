"""Exact mixture densities, the Monte Carlo JSD truth, and the mode/quality metrics."""

import math

import numpy as np

from gan_core.mixtures import GaussianMixture, grid25, mixture_jsd, ring8
from gan_core.mode_metrics import mode_metrics


def test_log_prob_matches_single_gaussian_formula():
    g = GaussianMixture.isotropic([[1.0, -2.0, 0.5]], 0.3)
    x = np.array([[1.0, -2.0, 0.5], [0.0, 0.0, 0.0]])
    sq = ((x - g.centres[0]) ** 2).sum(1)
    expected = -0.5 * sq / 0.09 - 3 * math.log(0.3) - 1.5 * math.log(2 * math.pi)
    assert np.allclose(g.log_prob(x), expected)


def test_log_prob_integrates_to_one_in_2d():
    g = ring8(std=0.1)
    axis = np.linspace(-1.8, 1.8, 721)
    xx, yy = np.meshgrid(axis, axis)
    density = np.exp(g.log_prob(np.stack([xx.ravel(), yy.ravel()], 1)))
    assert abs(density.sum() * (axis[1] - axis[0]) ** 2 - 1) < 1e-3


def test_mixture_jsd_limits_and_a_closed_form_case():
    same, err = mixture_jsd(grid25(), grid25(), n=20_000)
    assert abs(same) < 1e-12
    far = GaussianMixture.isotropic([[100.0, 0.0]], 0.1)
    disjoint, _ = mixture_jsd(ring8(), far, n=20_000)
    assert abs(disjoint - math.log(2)) < 1e-9
    # Two 1-D unit Gaussians at distance 2: compare with quadrature.
    p, q = GaussianMixture.isotropic([[0.0]], 1.0), GaussianMixture.isotropic([[2.0]], 1.0)
    x = np.linspace(-12, 14, 400_001)
    pp, qq = np.exp(p.log_prob(x[:, None])), np.exp(q.log_prob(x[:, None]))
    m = 0.5 * (pp + qq)
    truth = np.trapezoid(0.5 * pp * np.log(pp / m) + 0.5 * qq * np.log(qq / m), x)
    mc, stderr = mixture_jsd(p, q, n=400_000)
    assert abs(mc - truth) < 4 * stderr + 1e-4 and stderr < 1e-3


def test_mode_metrics_counts_covered_and_quality():
    mix = grid25()
    rng = np.random.default_rng(0)
    on_all = mix.sample(2500, rng)
    m = mode_metrics(on_all, mix)
    assert m.modes_covered == 25 and m.modes_total == 25 and m.high_quality_fraction > 0.98
    # 15 modes, plus 500 samples far from every centre (between modes)
    half = GaussianMixture.isotropic(mix.centres[:15], 0.05).sample(2000, rng)
    between = np.full((500, 2), 1.0)
    m = mode_metrics(np.concatenate([half, between]), mix)
    assert m.modes_covered == 15 and abs(m.high_quality_fraction - 0.8 * (1 - 0.0027)) < 0.01
    # a mode with only 19 high-quality samples is not covered
    few = np.concatenate([np.repeat(mix.centres[:1], 19, 0), np.repeat(mix.centres[1:2], 20, 0)])
    assert mode_metrics(few, mix).modes_covered == 1


def test_mode_shape_sees_a_mode_squeezed_into_a_line():
    from gan_core.mode_metrics import mode_shape

    mix = ring8()
    real = mix.sample(20_000, np.random.default_rng(0))
    right = mode_shape(real, mix)
    assert 0.9 < right.var_min <= right.var_max < 1.1  # a correct mode: 1.0 up to sampling noise
    nearest = np.argmin(((real[:, None] - mix.centres[None]) ** 2).sum(-1), 1)
    squeezed = real.copy()
    squeezed[:, 1] = mix.centres[nearest, 1] + 0.2 * (real[:, 1] - mix.centres[nearest, 1])  # y spread to a fifth
    shape = mode_shape(squeezed, mix)
    assert shape.var_min < 0.1 and 0.9 < shape.var_max < 1.3
    assert np.isnan(mode_shape(real + 10.0, mix).var_min)  # no sample near any mode: nothing to measure
