"""Critics for the JSD estimator: many small MLPs trained at once, a quadratic critic and a conv critic.

`CriticEnsemble` holds C independent MLP critics in batched weight tensors, so C candidates
cost one set of (larger) matrix products instead of C Python loops. Candidate c sees
random Fourier features of its input at scale `scales[c]` (scale 0 = the raw input only):
high scales resolve fine structure (many narrow modes), low scales generalise smoothly.
`QuadraticCritic` is one more candidate whose family holds every log-ratio of two Gaussians,
which the small MLPs under-resolve in many dimensions (a scale change in 16-64 dimensions).
"""

from __future__ import annotations

import math

import torch
from torch import nn


class CriticEnsemble(nn.Module):
    """C MLP critics on (n, d) inputs → logits (C, n)."""

    def __init__(
        self,
        dim: int,
        scales: list[float],
        hidden: int,
        layers: int,
        n_features: int,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        c = len(scales)
        freqs = (
            torch.randn(c, dim, n_features, generator=generator)
            * torch.tensor(scales, dtype=torch.float32)[:, None, None]
        )
        self.register_buffer("freqs", freqs)
        self.register_buffer("uses_features", (torch.tensor(scales) > 0).float()[:, None, None])
        widths = [dim + 2 * n_features] + [hidden] * layers + [1]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for n_in, n_out in zip(widths[:-1], widths[1:]):
            bound = 1 / math.sqrt(n_in)
            self.weights.append(nn.Parameter((torch.rand(c, n_in, n_out, generator=generator) * 2 - 1) * bound))
            self.biases.append(nn.Parameter((torch.rand(c, 1, n_out, generator=generator) * 2 - 1) * bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(n, d) → (C, n, d + 2·n_features): the input and its fixed random Fourier features,
        per candidate. Nothing here is trained, so a fit can compute them once per sample."""
        proj = torch.einsum("nd,cdf->cnf", x, self.freqs)
        return torch.cat(
            [x.expand(len(self.freqs), *x.shape), proj.sin() * self.uses_features, proj.cos() * self.uses_features], -1
        )

    def head(self, feats: torch.Tensor) -> torch.Tensor:
        """(C, n, F) features → logits (C, n): the trained MLPs."""
        h = feats
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b, h, w)
            if i < last:
                h = torch.nn.functional.silu(h)
        return h.squeeze(-1)


class QuadraticCritic(nn.Module):
    """(n, d) → logits (1, n): c + b·x + α|x|² + xᵀBx, one candidate.

    The log-ratio of two Gaussians is exactly of this form. B's d(d + 1)/2 numbers are shrunk
    toward 0 (so A = αI + B toward a multiple of the identity, as covariance estimates are) by
    a ridge penalty whose weight the selection split chooses: in many dimensions the free
    fit would spend its accuracy on noise (about p/2N nats for p numbers on N samples)."""

    def __init__(self, dim: int):
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(1))
        self.B = nn.Parameter(torch.zeros(dim, dim))
        self.b = nn.Parameter(torch.zeros(dim))
        self.c = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (((x @ self.B) * x).sum(-1) + self.alpha * x.pow(2).sum(-1) + x @ self.b + self.c)[None]


class Candidates(nn.Module):
    """Several fitted critics side by side: logits (sum of their C, n), for the stacking layer."""

    def __init__(self, *critics: nn.Module):
        super().__init__()
        self.critics = nn.ModuleList(critics)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([critic(x) for critic in self.critics])


class ConvCritic(nn.Module):
    """(n, c, h, w) images → logits (1, n): a small conv net (one candidate)."""

    def __init__(self, shape: tuple[int, int, int], channels: int):
        super().__init__()
        c, side, _ = shape
        mods: list[nn.Module] = []
        in_ch, width = c, channels
        while side > 4:
            mods += [nn.Conv2d(in_ch, width, 3, 1, 1), nn.SiLU(), nn.Conv2d(width, width, 4, 2, 1), nn.SiLU()]
            in_ch, width, side = width, width * 2, side // 2
        self.net = nn.Sequential(*mods, nn.Flatten(), nn.Linear(in_ch * side * side, 128), nn.SiLU(), nn.Linear(128, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).T
