"""The networks: the MLP generator's latent components (model.latent_components)."""

import pytest
import torch

from gan_core.config import ModelConfig
from gan_core.errors import ConfigError
from gan_core.models import MLPGenerator, build_models


def test_each_latent_component_is_picked_equally_often_and_sets_the_output():
    """k = ⌊K·Φ(z₀)⌋: each of the K codes takes 1/K of z's mass; z₀ alone moves G between codes."""
    torch.manual_seed(0)
    G = MLPGenerator(z_dim=4, out_dim=2, hidden=16, layers=2, components=8)
    z = torch.randn(80_000, 4)
    k = (torch.special.ndtr(z[:, 0]) * 8).long()
    share = torch.bincount(k, minlength=8).float() / len(z)
    assert torch.allclose(share, torch.full((8,), 1 / 8), atol=0.006)

    rest = torch.randn(1, 3).expand(2, 3)
    same_code = torch.cat([torch.tensor([[0.01], [0.02]]), rest], 1)  # Φ ≈ 0.504, 0.508: code 4 both
    other_code = torch.cat([torch.tensor([[0.01], [2.0]]), rest], 1)  # code 4 and code 7
    with torch.no_grad():
        assert torch.equal(G(same_code)[0], G(same_code)[1])
        assert not torch.allclose(G(other_code)[0], G(other_code)[1])


def test_the_codes_are_learned_and_plain_generators_are_unchanged():
    G = MLPGenerator(z_dim=4, out_dim=2, hidden=16, layers=2, components=8)
    G(torch.randn(64, 4)).pow(2).sum().backward()
    assert G.codes.weight.grad is not None and G.codes.weight.grad.abs().sum() > 0
    plain = MLPGenerator(z_dim=4, out_dim=2, hidden=16, layers=2)
    assert plain.codes is None and plain.net[0].in_features == 4


def test_latent_components_for_images_are_refused_in_one_line():
    with pytest.raises(ConfigError, match=r"model.latent_components: applies to vector data only"):
        build_models(ModelConfig(latent_components=8), (1, 8, 8))
