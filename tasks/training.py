"""fit-gan: run the gan_core loop (on the GPU when present), track it, save the generator."""

from __future__ import annotations


import shutil
import time

import pandas as pd
import torch
from prefect import task

from gan_core.callbacks import Callback
from gan_core.checkpoint import atomic_write, save_generator
from gan_core.config import Config
from gan_core.datasets import check_prepared, load_prepared
from gan_core.identity import run_identity
from gan_core.jsd import estimate_jsd, jsd_from_discriminator
from gan_core.train import fit_gan, sample
from tasks.common import retry_transient_only, run_logger
from tasks.paths import Paths
from tasks.tracking import MlflowCallback


class ProgressLog(Callback):
    """Progress as log lines (the run logger shows them in the Prefect UI)."""

    def __init__(self, total: int, every_fraction: float = 0.1):
        self.every = max(1, int(total * every_fraction))
        self.total, self.log = total, run_logger()

    def on_step(self, step, metrics):
        if step % self.every == 0 or step == self.total:
            self.log.info("step %d/%d  d_loss=%.3f g_loss=%.3f D(x)=%.3f D(G(z))=%.3f", step, self.total, metrics["d_loss"], metrics["g_loss"], metrics["d_real"], metrics["d_fake"])

    def on_checkpoint(self, step, path):
        if step < self.total:
            self.log.debug("checkpoint at step %d", step)

    def on_resume(self, step, path):
        self.log.info("resuming from step %d (checkpoint %s)", step, path)


class TrainingBoundCallback(Callback):
    """A cheap, clearly labelled curve: the *training* D's JSD lower bound, scored on held-out
    real samples vs the fixed-noise samples (the training D was fitted to these
    distributions, so it is a diagnostic, not the evaluation)."""

    def __init__(self, heldout, sink: MlflowCallback):
        self.heldout, self.sink, self.D = heldout, sink, None

    def on_start(self, generator, discriminator):
        self.D = discriminator

    def on_samples(self, step, samples):
        n = min(len(self.heldout), len(samples))
        bound = jsd_from_discriminator(self.D, self.heldout[:n], samples[:n]).nats
        self.sink.on_step(step, {"training_d_jsd_bound": bound})


class FreshJSDCallback(Callback):
    """JSD̂ over training: a critic fitted from scratch on `n` held-out real samples against `n`
    samples of the generator (the EMA one when on), every `every` steps and at the end. The
    held-out samples only measure; nothing in training or model choice uses them. Logged as
    `fresh_jsd` (with `fresh_jsd_ci_low/high`) beside the training-D bound."""

    def __init__(self, heldout, sink: MlflowCallback | None, every: int, total: int, n: int, seed: int):
        self.heldout, self.sink, self.every, self.total, self.seed = heldout[:n], sink, every, total, seed
        self.G, self.seconds, self.log = None, 0.0, run_logger()

    def on_start(self, generator, discriminator):
        self.G = generator

    def on_samples(self, step, samples):
        if not (step % self.every == 0 or step == self.total):
            return
        t0 = time.perf_counter()
        with torch.random.fork_rng(devices=[]):  # the estimator seeds torch; training's RNG state stays as it was
            fake = sample(self.G, len(self.heldout), seed=self.seed + 3)
            est = estimate_jsd(self.heldout, fake, seed=self.seed, device=next(self.G.parameters()).device)
        self.seconds += time.perf_counter() - t0
        self.log.info("step %d/%d: fresh-critic JSD̂ %.4f nats [%.4f, %.4f] (n=%d per side)", step, self.total, est.nats, est.ci_low, est.ci_high, len(fake))
        if self.sink:
            self.sink.on_step(step, {"fresh_jsd": est.nats, "fresh_jsd_ci_low": est.ci_low, "fresh_jsd_ci_high": est.ci_high})


KEEP_CHECKPOINTS = 5


def _checkpoint_dir(paths: Paths, identity: str):
    """models/checkpoints/<run identity>/. A run resumes only its own identity's checkpoint;
    it says when it starts afresh beside others, and keeps the KEEP_CHECKPOINTS most recently
    written identities (older folders are removed)."""
    folder = paths.checkpoints / identity
    others = sorted((p for p in paths.checkpoints.glob("*") if p.is_dir() and p.name != identity), key=lambda p: p.stat().st_mtime, reverse=True)
    if not folder.exists() and others:
        run_logger().info("no checkpoint of run identity %s (config with steps, prepared data, training code); training from step 0", identity)
    for old in others[KEEP_CHECKPOINTS - 1:]:
        shutil.rmtree(old, ignore_errors=True)
    return folder


@task(name="fit-gan", tags=["gpu"], retries=1, retry_delay_seconds=5, retry_condition_fn=retry_transient_only)
def train_generator(cfg: Config, root: str, run_id: str | None) -> dict:
    paths = Paths.at(root)
    data = load_prepared(paths.prepared)
    check_prepared(data, cfg.data, cfg.seed, paths.prepared)
    callbacks: list[Callback] = [ProgressLog(cfg.train.steps)]
    tracker = MlflowCallback(paths.root, run_id) if run_id else None
    if tracker:
        callbacks += [tracker, TrainingBoundCallback(data.heldout, tracker)]
    curve = FreshJSDCallback(data.heldout, tracker, cfg.train.jsd_every, cfg.train.steps, cfg.train.jsd_curve_n, cfg.seed) if cfg.train.jsd_every else None
    callbacks += [curve] if curve else []
    checkpoint_dir = _checkpoint_dir(paths, run_identity(cfg.flat(), data.digest)["id"])
    result = fit_gan(cfg, data, checkpoint_dir=checkpoint_dir, callbacks=callbacks)
    if tracker:
        tracker.flush()
        tracker.client.log_metric(run_id, "train_seconds", result.seconds)
        if curve:
            tracker.client.log_metric(run_id, "fresh_jsd_seconds", curve.seconds)  # part of train_seconds
    save_generator(paths.generator, result.generator, cfg.to_dict(), data.sample_shape, result.identity)
    curves = pd.DataFrame(result.history)
    atomic_write(paths.curves, lambda tmp: curves.to_csv(tmp, index=False))
    return {"steps": result.steps, "seconds": result.seconds, "resumed_from": result.resumed_from, "new_steps": result.g_steps}
