"""The objectives against hand-computed values, and MM's saturation measured against NS."""

import math

import torch

from gan_core.losses import discriminator_loss, generator_loss, jsd_from_value, value_function


def test_value_function_hand_computed():
    # D = sigmoid(logit): logit 0 → D = 0.5; logit log 3 → D = 0.75.
    real, fake = torch.tensor([0.0, math.log(3)]), torch.tensor([0.0, -math.log(3)])
    expected = 0.5 * (math.log(0.5) + math.log(0.75)) + 0.5 * (math.log(0.5) + math.log(0.75))
    assert math.isclose(value_function(real, fake).item(), expected, rel_tol=1e-6)
    assert math.isclose(discriminator_loss(real, fake).item(), -expected, rel_tol=1e-6)


def test_chance_discriminator_gives_minus_log4():
    zeros = torch.zeros(10)
    assert math.isclose(value_function(zeros, zeros).item(), -math.log(4), rel_tol=1e-6)
    assert abs(jsd_from_value(-math.log(4))) < 1e-12
    assert math.isclose(jsd_from_value(0.0), math.log(2), rel_tol=1e-12)


def test_generator_losses_hand_computed():
    logits = torch.tensor([math.log(3)])  # D(G(z)) = 0.75
    assert math.isclose(generator_loss(logits, "mm").item(), math.log(0.25), rel_tol=1e-6)
    assert math.isclose(generator_loss(logits, "ns").item(), -math.log(0.75), rel_tol=1e-6)


def test_losses_stay_finite_when_d_saturates():
    logits = torch.tensor([-200.0, 200.0])
    for value in (value_function(logits, logits), generator_loss(logits, "mm"), generator_loss(logits, "ns")):
        assert torch.isfinite(value)


def _grad_wrt_logit(kind: str, logit: float) -> float:
    x = torch.tensor([logit], requires_grad=True)
    generator_loss(x, kind).backward()
    return abs(x.grad.item())


def test_mm_gradient_vanishes_while_ns_does_not():
    # As D(G(z)) → 0 (logit → -inf): d/dl log(1 - σ(l)) = -σ(l) → 0, d/dl -log σ(l) = σ(l) - 1 → -1.
    mm = [_grad_wrt_logit("mm", logit) for logit in (-2.0, -6.0, -12.0)]
    ns = [_grad_wrt_logit("ns", logit) for logit in (-2.0, -6.0, -12.0)]
    assert mm[0] > mm[1] > mm[2] and mm[2] < 1e-5
    assert all(g > 0.85 for g in ns)
    assert math.isclose(mm[2], torch.sigmoid(torch.tensor(-12.0)).item(), rel_tol=1e-4)


def test_mm_saturates_on_a_real_generator(tiny_cfg):
    """Same initialisation, D trained to reject fakes: MM's generator gradient is far smaller."""
    from gan_core.datasets import load_dataset
    from gan_core.train import generator_grad_norm_at_start

    cfg = tiny_cfg("train.lr_d=1e-2", "train.batch_size=128")
    data = load_dataset(cfg.data, cfg.seed)
    norms = {}
    for kind in ("mm", "ns"):
        c = cfg.model_copy(update={"train": cfg.train.model_copy(update={"loss": kind})})
        norms[kind] = generator_grad_norm_at_start(c, data, d_steps=300)
    assert norms["ns"] > 20 * norms["mm"], norms
