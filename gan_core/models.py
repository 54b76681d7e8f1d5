"""Generator / discriminator pairs. Discriminators return logits (never probabilities).

Vector data: MLPs. Image data (square, side a power of two >= 8): a small DCGAN-style pair.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gan_core.config import ModelConfig


def _mlp(n_in: int, n_out: int, hidden: int, layers: int, act: type[nn.Module], **act_kw) -> nn.Sequential:
    mods: list[nn.Module] = []
    width = n_in
    for _ in range(layers):
        mods += [nn.Linear(width, hidden), act(**act_kw)]
        width = hidden
    mods.append(nn.Linear(width, n_out))
    return nn.Sequential(*mods)


class _Standardised(nn.Module):
    """Holds the data's per-dimension mean and std as buffers (saved with the weights), so
    the networks work in unit-scale coordinates whatever the data's range."""

    def __init__(self, dim: int):
        super().__init__()
        self.register_buffer("data_mean", torch.zeros(dim))
        self.register_buffer("data_std", torch.ones(dim))

    def set_data_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.data_mean.copy_(mean)
        self.data_std.copy_(std.clamp_min(1e-8))


class MLPGenerator(_Standardised):
    """z (n, z_dim) → x (n, d): ReLU MLP with a linear output (the data is unbounded)."""

    def __init__(self, z_dim: int, out_dim: int, hidden: int, layers: int):
        super().__init__(out_dim)
        self.z_dim = z_dim
        self.net = _mlp(z_dim, out_dim, hidden, layers, nn.ReLU)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z) * self.data_std + self.data_mean


class MLPDiscriminator(_Standardised):
    """x (n, d) → logit (n,): LeakyReLU MLP."""

    def __init__(self, in_dim: int, hidden: int, layers: int):
        super().__init__(in_dim)
        self.net = _mlp(in_dim, 1, hidden, layers, nn.LeakyReLU, negative_slope=0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x.flatten(1) - self.data_mean) / self.data_std).squeeze(-1)


class ConvGenerator(nn.Module):
    """z → (c, s, s) images in [-1, 1]: project to 4x4, then stride-2 transposed convs."""

    def __init__(self, z_dim: int, shape: tuple[int, int, int], channels: int = 64):
        super().__init__()
        c, side, _ = shape
        n_up = int(math.log2(side)) - 2
        width = channels * 2 ** (n_up - 1)
        self.z_dim = z_dim
        self.project = nn.Sequential(nn.Linear(z_dim, width * 16), nn.BatchNorm1d(width * 16), nn.ReLU())
        self.width = width
        mods: list[nn.Module] = []
        for _ in range(n_up - 1):
            mods += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width // 2), nn.ReLU()]
            width //= 2
        mods += [nn.ConvTranspose2d(width, c, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*mods)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.project(z).view(len(z), self.width, 4, 4))


class ConvDiscriminator(nn.Module):
    """(c, s, s) images → logit: stride-2 convs down to 4x4, then a linear layer."""

    def __init__(self, shape: tuple[int, int, int], channels: int = 64):
        super().__init__()
        c, side, _ = shape
        mods: list[nn.Module] = []
        width, in_ch = channels, c
        for _ in range(int(math.log2(side)) - 2):
            mods += [nn.Conv2d(in_ch, width, 4, 2, 1), nn.LeakyReLU(0.2)]
            in_ch, width = width, width * 2
        self.net = nn.Sequential(*mods, nn.Flatten(), nn.Linear(in_ch * 16, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


def build_models(cfg: ModelConfig, sample_shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    """The (G, D) pair for data of `sample_shape`: MLPs for vectors, convs for images."""
    if len(sample_shape) == 3:
        return ConvGenerator(cfg.z_dim, sample_shape, cfg.channels), ConvDiscriminator(sample_shape, cfg.channels)
    (dim,) = sample_shape
    return MLPGenerator(cfg.z_dim, dim, cfg.hidden, cfg.g_layers), MLPDiscriminator(dim, cfg.hidden, cfg.d_layers)
