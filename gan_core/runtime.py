"""Seeds and devices: one seed for torch, numpy and Python; `auto` picks CUDA when present."""

from __future__ import annotations

import random

import numpy as np
import torch

from gan_core.errors import ConfigError


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"config: 'device': '{name}' asked for, but no CUDA device is present; allowed here: auto, cpu")
    return device
