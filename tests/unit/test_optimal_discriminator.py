"""With G frozen to a known distribution, D steps drive D → D* and V → -log 4 + 2·JSD.

p_data = N(0, 1) and p_g = N(1.5, 0.7²) in 1-D: D*(x) = p_data / (p_data + p_g) and the JSD are
computed by quadrature here, independently of the library.
"""

import math

import numpy as np
import torch

from gan_core.losses import jsd_from_value, value_function
from gan_core.models import MLPDiscriminator
from gan_core.train import discriminator_step

MU_G, SD_G = 1.5, 0.7


def _pdf(x, mu, sd):
    return np.exp(-0.5 * ((x - mu) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))


def _true_jsd() -> float:
    x = np.linspace(-10, 10, 200_001)
    p, q = _pdf(x, 0, 1), _pdf(x, MU_G, SD_G)
    m = 0.5 * (p + q)
    integrand = 0.5 * p * np.log(p / m) + 0.5 * q * np.log(q / m)
    return float(np.trapezoid(np.nan_to_num(integrand), x))


def test_d_converges_to_analytic_optimum_and_value_to_jsd():
    torch.manual_seed(0)
    rng = torch.Generator().manual_seed(0)
    D = MLPDiscriminator(1, hidden=64, layers=2)
    opt = torch.optim.Adam(D.parameters(), lr=2e-3)
    frozen_g = lambda n: MU_G + SD_G * torch.randn(n, 1, generator=rng)  # noqa: E731  G fixed: a known p_g
    for step in range(3_000):
        if step == 2_000:
            for g in opt.param_groups:
                g["lr"] = 3e-4
        discriminator_step(D, opt, torch.randn(512, 1, generator=rng), frozen_g(512))

    grid = np.linspace(-1.5, 2.5, 41)
    d_star = _pdf(grid, 0, 1) / (_pdf(grid, 0, 1) + _pdf(grid, MU_G, SD_G))
    with torch.no_grad():
        d_hat = torch.sigmoid(D(torch.tensor(grid, dtype=torch.float32)[:, None])).numpy()
    assert np.abs(d_hat - d_star).max() < 0.06, np.abs(d_hat - d_star).max()

    with torch.no_grad():  # V on fresh samples → -log 4 + 2·JSD
        v = value_function(D(torch.randn(200_000, 1, generator=rng)), D(frozen_g(200_000))).item()
    truth = _true_jsd()
    assert 0.1 < truth < 0.5
    assert abs(jsd_from_value(v) - truth) < 0.01, (jsd_from_value(v), truth)
    assert v <= -math.log(4) + 2 * truth + 0.01  # a lower bound, up to sampling noise
