"""Evaluate a trained generator: fresh-discriminator JSD, mode metrics, image metrics.

Returns plain dicts (the `metrics/eval.json` contract: `jsd`, `jsd_ci_low`, `jsd_ci_high`;
for mixtures also `modes_covered`, `modes_total`, `high_quality_fraction`).
"""

from __future__ import annotations

import math
import time
from typing import NamedTuple

import numpy as np
from torch import nn

from gan_core.config import Config
from gan_core.datasets import Dataset
from gan_core.digit_metrics import digit_metrics, train_digit_classifier
from gan_core.jsd import CriticSettings, estimate_jsd, estimator_name
from gan_core.mode_metrics import mode_metrics, mode_shape
from gan_core.train import sample


def _corrected(generator: nn.Module, data: Dataset, cfg: Config, n: int, device) -> dict:
    """JSD̂ (and modes, shape) of discriminator-rejection samples, scored like the generator's."""
    from gan_core.correction import rejection_sampler

    sampler = rejection_sampler(generator, data.train, seed=cfg.seed)
    fake, rate = sampler.sample(n, seed=cfg.seed + 1)
    if len(fake) < 100:  # a generator far from p_data (e.g. collapsed): nothing to score, and no failure either
        return {"correction_acceptance": rate, "jsd_corrected_n_per_side": len(fake)}
    est = estimate_jsd(
        data.heldout[: len(fake)],
        fake,
        seed=cfg.seed,
        device=device,
        confidence=cfg.evaluate.confidence,
        steps=cfg.evaluate.jsd_steps,
    )
    out = {
        "jsd_corrected": est.nats,
        "jsd_corrected_ci_low": est.ci_low,
        "jsd_corrected_ci_high": est.ci_high,
        "correction_acceptance": rate,
        "jsd_corrected_n_per_side": len(fake),
    }
    if data.mixture is not None:
        out["high_quality_fraction_corrected"] = mode_metrics(
            fake[: cfg.evaluate.n_metric_samples], data.mixture
        ).high_quality_fraction
        out["mode_var_min_corrected"] = mode_shape(fake, data.mixture).var_min
    return out


class Evaluation(NamedTuple):
    metrics: dict
    shown: np.ndarray  # the n_metric_samples generated samples of the mode metrics and the scatter plot
    fake: np.ndarray  # the n_jsd generated samples the estimator scored (per-mode shape, zoom plot)


def jsd_estimator(cfg: Config) -> str:
    """The name of the estimator `evaluate_gan` scores a run of `cfg` with (its critic's steps
    come from the config): the MLflow tag and benchmark rows keep it beside JSD̂."""
    return estimator_name(CriticSettings(steps=cfg.evaluate.jsd_steps))


def evaluate_gan(generator: nn.Module, data: Dataset, cfg: Config) -> Evaluation:
    ec = cfg.evaluate
    t0 = time.perf_counter()
    n = min(ec.n_jsd, len(data.heldout))
    fake = sample(generator, n, seed=cfg.seed + 1)
    device = next(generator.parameters()).device
    est = estimate_jsd(
        data.heldout[:n], fake, seed=cfg.seed, device=device, confidence=ec.confidence, steps=ec.jsd_steps
    )
    metrics: dict = {**est.as_dict(), "jsd_bits": est.bits, "jsd_confidence": ec.confidence, "jsd_n_per_side": n}
    if ec.correction == "rejection":
        metrics.update(_corrected(generator, data, cfg, n, device))
    shown = sample(generator, ec.n_metric_samples, seed=cfg.seed + 2)
    if data.mixture is not None:
        metrics.update(mode_metrics(shown, data.mixture).as_dict())
        metrics.update(mode_shape(fake, data.mixture).as_dict())  # on the n_jsd samples: per-mode covariances need many
    if hasattr(generator, "log_noise"):  # model.g_noise: the learned output-noise std, in the data's units
        metrics["g_noise_std"] = float((generator.log_noise.exp() * generator.data_std).mean())
    if data.train_labels is not None and data.name == "digits":
        classifier = train_digit_classifier(data.train, data.train_labels, seed=cfg.seed)
        metrics.update(digit_metrics(classifier, data.heldout, fake))
    metrics["eval_seconds"] = time.perf_counter() - t0
    # A measure with nothing to measure (e.g. the shape of modes no sample reached) is left out:
    # NaN is not JSON, and DVC / MLflow would choke on it.
    metrics = {k: v for k, v in metrics.items() if not (isinstance(v, float) and math.isnan(v))}
    return Evaluation(metrics, shown, fake)
