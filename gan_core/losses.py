"""The GAN objectives of Goodfellow et al. (2014), written on logits.

    V(G, D) = E_data[log D(x)] + E_z[log(1 - D(G(z)))],   D = sigmoid(logit)

`log D = logsigmoid(l)` and `log(1 - D) = logsigmoid(-l)`: exact and finite for any logit,
where `log(sigmoid(l))` underflows to -inf once D saturates.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

GeneratorLoss = Literal["ns", "mm"]


def value_function(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """V̂ = mean log D(x_real) + mean log(1 - D(x_fake)), averaged over the last axis, so
    (C, n) logits of C critics give C values; each side is averaged on its own (unequal n)."""
    return F.logsigmoid(real_logits).mean(-1) + F.logsigmoid(-fake_logits).mean(-1)


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator ascends V, i.e. minimises -V."""
    return -value_function(real_logits, fake_logits)


def generator_loss(fake_logits: torch.Tensor, kind: GeneratorLoss = "ns") -> torch.Tensor:
    """mm: minimise E log(1 - D(G(z))) (minimax; saturates when D rejects fakes).
    ns: minimise -E log D(G(z)) (non-saturating; same fixed point, strong early gradients)."""
    if kind == "mm":
        return F.logsigmoid(-fake_logits).mean()
    if kind == "ns":
        return -F.logsigmoid(fake_logits).mean()
    raise ValueError(f"train.loss: '{kind}' is not a generator loss; allowed: ns, mm")


def jsd_from_value(value: float) -> float:
    """max_D V = -log 4 + 2·JSD  ⇒  JSD = (V + log 4) / 2 (standard JSD, nats)."""
    return (value + 2.0 * 0.6931471805599453) / 2.0
