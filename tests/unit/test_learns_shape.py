"""The GAN learns a distribution's shape, not only where it lies: one anisotropic 2-D
Gaussian (std 1 and 0.3, rotated 30°), learned to its covariance and to a JSD̂ near zero.

Measured (CPU, one thread, the default schedule): the covariance eigenvalues land within 5 % of the truth and the
JSD̂ at 5,000 per side is below 0.001 nats, with and without the fine discriminator (with it,
on 2026-12-01: within 4 %, 0.000); the same generator with its minor axis squeezed to half
gives about 0.09–0.10 nats (a squeezed mode, as in issue 'the generator must learn
p_data'), so the 0.01 bound below separates the two.
"""

import numpy as np
import pytest

from gan_core.config import build_config
from gan_core.datasets import Dataset
from gan_core.jsd import estimate_jsd
from gan_core.train import fit_gan, sample

JSD_BOUND = 0.01


@pytest.fixture(scope="module")
def learned():
    rng = np.random.default_rng(0)
    theta = np.pi / 6
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    cov = rot @ np.diag([1.0, 0.09]) @ rot.T
    chol = np.linalg.cholesky(cov)

    def draw(n):
        return (rng.standard_normal((n, 2)) @ chol.T + [1.0, -2.0]).astype(np.float32)

    data = Dataset("anisotropic", draw(20_000), draw(10_000))
    cfg = build_config(
        {},
        [
            "train.steps=3000",
            "train.batch_size=256",
            "train.ema=0.99",
            "train.r1=0",
            "model.hidden=64",
            "model.fine_d_hidden=null",  # as wide as D, as when this test was measured
            "model.g_layers=2",
            "model.d_layers=2",
            "model.z_dim=4",
            "train.sample_every=1000",
            "train.jsd_every=0",
            "train.progress=false",
            "device=cpu",
        ],
    )
    generated = sample(fit_gan(cfg, data).generator, 10_000, seed=1)
    return data, cov, rot, generated


def test_covariance_within_25_percent(learned):
    _, cov, _, generated = learned
    truth = np.linalg.eigvalsh(cov)
    got = np.linalg.eigvalsh(np.cov(generated.T))
    assert np.all(np.abs(got / truth - 1) < 0.25), (got, truth)


def test_jsd_near_zero_and_a_squeezed_generator_fails(learned):
    data, _, rot, generated = learned
    est = estimate_jsd(data.heldout[:5000], generated[:5000], seed=0)
    assert est.nats < JSD_BOUND, est
    # The check can fail: squeeze the generated samples' minor axis to half around their mean.
    local = (generated - generated.mean(0)) @ rot
    local[:, 1] *= 0.5
    squeezed = (local @ rot.T + generated.mean(0)).astype(np.float32)
    assert estimate_jsd(data.heldout[:5000], squeezed[:5000], seed=0).nats > 3 * JSD_BOUND
