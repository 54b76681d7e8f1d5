"""Shared fixtures: tiny, fast configs (CPU, few steps, fixed seeds)."""

import pytest
import torch

from gan_core.config import build_config

torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture
def tiny_cfg():
    """A config that trains in well under a second on CPU."""

    def make(*overrides: str):
        base = [
            "train.steps=30", "train.batch_size=32", "train.r1=0", "model.hidden=16", "model.layers=2", "model.z_dim=4",
            "train.checkpoint_every=10", "train.log_every=5", "train.sample_every=10", "train.progress=false",
            "data.n_train=512", "data.n_heldout=256", "device=cpu",
        ]
        return build_config({}, base + list(overrides))

    return make
