"""Generator / discriminator pairs. Discriminators return logits (never probabilities).

Vector data: MLPs. Image data (any h x w, both >= 8): a small DCGAN-style pair that adapts to the size.
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
    """z (n, z_dim) → x (n, d): ReLU MLP with a linear output (the data is unbounded).

    With `noise` > 0 the output also carries learned Gaussian noise (PresGAN, Dieng et al.
    2019): x = MLP(z) + s ⊙ ε in standardised units, s learned per dimension from `noise`. A
    piecewise-linear MLP makes a mode's density out of folded pieces of z-space (cores denser
    than a Gaussian's); the noise term smooths it. ε is the last d entries of the input, so
    `z_dim` is the latent width plus d and a sample stays a function of its input."""

    def __init__(self, z_dim: int, out_dim: int, hidden: int, layers: int, noise: float = 0.0):
        super().__init__(out_dim)
        self.noise_dims = out_dim if noise > 0 else 0
        self.z_dim = z_dim + self.noise_dims
        self.net = _mlp(z_dim, out_dim, hidden, layers, nn.ReLU)
        if self.noise_dims:
            self.log_noise = nn.Parameter(torch.full((out_dim,), math.log(noise)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if not self.noise_dims:
            return self.net(z) * self.data_std + self.data_mean
        z, eps = z[:, : -self.noise_dims], z[:, -self.noise_dims :]
        return (self.net(z) + self.log_noise.exp() * eps) * self.data_std + self.data_mean


class MLPDiscriminator(_Standardised):
    """x (n, d) → logit (n,): LeakyReLU MLP. With `features` > 0 it also sees that many random
    Fourier features sin/cos(u·B) of the standardised input u, B ~ N(0, scale²) fixed (saved
    with the weights): a plain MLP is slow to resolve structure much finer than the data's
    std (spectral bias), such as the shape of a narrow mode; the features make it fast."""

    def __init__(self, in_dim: int, hidden: int, layers: int, features: int = 0, scale: float = 1.0):
        super().__init__(in_dim)
        self.features = features
        if features:
            self.register_buffer("freqs", torch.randn(in_dim, features) * scale)
        self.net = _mlp(in_dim + 2 * features, 1, hidden, layers, nn.LeakyReLU, negative_slope=0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = (x.flatten(1) - self.data_mean) / self.data_std
        if self.features:  # phases in fp32 even under bf16 autocast (|u·B| reaches tens of radians)
            with torch.autocast(u.device.type, enabled=False):
                proj = u.float() @ self.freqs
            u = torch.cat([u, proj.sin(), proj.cos()], -1)
        return self.net(u).squeeze(-1)


def _conv_plan(h: int, w: int) -> tuple[int, int, int]:
    """(n, base_h, base_w) for images of h x w: n stride-2 stages between a base of 4-7 pixels
    on the shorter side and the image; 32 → 4·2³, 28 → 7·2², 24x40 → (6x10)·2²."""
    n = max(1, int(math.log2(min(h, w) / 4)))
    return n, -(-h // 2**n), -(-w // 2**n)


class ConvGenerator(nn.Module):
    """z → (c, h, w) images in [-1, 1]: project to a small base, stride-2 transposed convs,
    then crop the centre to h x w (a no-op where the side is a base times a power of two)."""

    def __init__(self, z_dim: int, shape: tuple[int, int, int], channels: int):
        super().__init__()
        c, self.h, self.w = shape
        n_up, self.base_h, self.base_w = _conv_plan(self.h, self.w)
        width = channels * 2 ** (n_up - 1)
        self.z_dim = z_dim
        self.project = nn.Sequential(
            nn.Linear(z_dim, width * self.base_h * self.base_w),
            nn.BatchNorm1d(width * self.base_h * self.base_w),
            nn.ReLU(),
        )
        self.width = width
        mods: list[nn.Module] = []
        for _ in range(n_up - 1):
            mods += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width // 2), nn.ReLU()]
            width //= 2
        mods += [nn.ConvTranspose2d(width, c, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*mods)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.net(self.project(z).view(len(z), self.width, self.base_h, self.base_w))
        top, left = (out.shape[2] - self.h) // 2, (out.shape[3] - self.w) // 2
        return out[:, :, top : top + self.h, left : left + self.w]


class ConvDiscriminator(nn.Module):
    """(c, h, w) images → logit: stride-2 convs down to a few pixels, then a linear layer."""

    def __init__(self, shape: tuple[int, int, int], channels: int):
        super().__init__()
        c, h, w = shape
        n_down, _, _ = _conv_plan(h, w)
        mods: list[nn.Module] = []
        width, in_ch = channels, c
        for _ in range(n_down):
            mods += [nn.Conv2d(in_ch, width, 4, 2, 1), nn.LeakyReLU(0.2)]
            in_ch, width = width, width * 2
            h, w = h // 2, w // 2  # what Conv2d(4, 2, 1) does to each side
        self.net = nn.Sequential(*mods, nn.Flatten(), nn.Linear(in_ch * h * w, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


def build_models(cfg: ModelConfig, sample_shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    """The (G, D) pair for data of `sample_shape`: MLPs for vectors, convs for images."""
    if len(sample_shape) == 3:
        return ConvGenerator(cfg.z_dim, sample_shape, cfg.channels), ConvDiscriminator(sample_shape, cfg.channels)
    (dim,) = sample_shape
    return (
        MLPGenerator(cfg.z_dim, dim, cfg.hidden, cfg.g_layers, cfg.g_noise),
        MLPDiscriminator(dim, cfg.hidden, cfg.d_layers),
    )


def build_fine_discriminator(cfg: ModelConfig, sample_shape: tuple[int, ...]) -> MLPDiscriminator | None:
    """The fine discriminator (model.fine_d_features) for vector data; None for images or when off."""
    if len(sample_shape) != 1 or cfg.fine_d_features == 0:
        return None
    return MLPDiscriminator(
        sample_shape[0], cfg.fine_d_hidden or cfg.hidden, cfg.d_layers, cfg.fine_d_features, cfg.fine_d_scale
    )
