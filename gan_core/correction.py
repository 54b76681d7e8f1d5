"""Sampling corrected by a discriminator: discriminator rejection sampling (DRS, Azadi et al. 2019).

At the optimum of the game D*(x) = p_data / (p_data + p_g), so the logit of a good critic is
log p_data(x)/p_g(x). Accepting a generated x with probability exp(logit(x) - M), M the
largest logit, turns samples of p_g into samples of p_data where the ratio is right.

The critic is the estimator's (`fit_critic`) fitted on **training** real samples against
fresh generated samples: the held-out real samples that score the result are never used.
M is the 99th percentile of the logits on a burn-in batch (the maximum of a finite sample
is noisy, and a heavy upper tail would make acceptance vanish); samples above it are always
accepted, which leaves the top 1 % of the ratio uncorrected.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from gan_core.jsd import StackedCritic, fit_critic
from gan_core.train import sample


@dataclass
class RejectionSampler:
    generator: nn.Module
    critic: StackedCritic
    max_logit: float

    def sample(self, n: int, *, seed: int, batch: int = 8_192, max_ratio: int = 500) -> tuple[np.ndarray, float]:
        """n accepted samples and the acceptance rate; at most `max_ratio`·n samples are drawn
        (below 0.2 % acceptance fewer than n come back, and the caller says how many it scored)."""
        rng = np.random.default_rng(seed)
        kept, drawn = [], 0
        batch = min(batch, max(1_024, 4 * n))
        for i in range(-(-max_ratio * n // batch)):
            x = sample(self.generator, batch, seed=seed * 1_000 + i)
            drawn += len(x)
            accept = rng.random(len(x)) < np.exp(np.minimum(self.critic.logits(x).numpy() - self.max_logit, 0.0))
            kept.append(x[accept])
            if sum(len(k) for k in kept) >= n:
                break
        out = np.concatenate(kept)
        return out[:n], len(out) / drawn


def rejection_sampler(
    generator: nn.Module, real_train: np.ndarray, *, seed: int, n_fit: int = 20_000, quantile: float = 0.99
) -> RejectionSampler:
    """Fit the critic on `n_fit` training real samples vs as many generated ones, set M."""
    idx = np.random.default_rng([seed, 31]).choice(len(real_train), size=min(n_fit, len(real_train)), replace=False)
    fake = sample(generator, len(idx), seed=seed + 11)
    with torch.random.fork_rng(devices=[]):
        critic = fit_critic(real_train[idx], fake, seed=seed, device=next(generator.parameters()).device)
    burn = critic.logits(sample(generator, 20_000, seed=seed + 12)).numpy()
    return RejectionSampler(generator, critic, float(np.quantile(burn, quantile)))
