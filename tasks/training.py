"""fit-gan: run the gan_core loop (on the GPU when present), track it, save the generator."""

from __future__ import annotations

import logging
import shutil
import time

import pandas as pd
import torch
from prefect import task

import gan_core.train
from gan_core.callbacks import Callback
from gan_core.checkpoint import atomic_write, save_generator
from gan_core.config import Config
from gan_core.datasets import check_prepared, load_prepared
from gan_core.identity import run_identity
from gan_core.jsd import estimate_jsd, jsd_from_discriminator
from gan_core.runtime import resolve_device, use_threads
from gan_core.train import sample
from tasks.common import progress_logger, retry_transient_only, run_logger
from tasks.paths import Paths
from tasks.tracking import MlflowCallback


class ProgressLog(Callback):
    """Progress a waiting person can read: every `every_seconds` (and at the first and last
    step) one line with step/total, steps per second, ETA, d_loss, D(x), D(G(z)) and the
    latest training-D JSD bound, and a Prefect progress artifact updated with the same.

    The lines go to the root flow run's log: `prefect deployment run ... --watch` (and so
    `make run`) follows the root run, while training runs in a nested flow."""

    def __init__(self, total: int, every_seconds: float = 10.0):
        self.total, self.every_seconds, self.log = total, every_seconds, progress_logger()
        self.bound: float | None = None
        self.artifact = None

    def on_start(self, generator, discriminator):
        self.last = self.first_time = time.monotonic()
        self.first_step: int | None = None
        self.artifact = _progress_artifact(0.0, f"fit-gan: starting, {self.total} generator steps")

    def on_resume(self, step, path):
        self.log.info("resuming from step %d (checkpoint %s)", step, path)

    def on_step(self, step, metrics):
        now = time.monotonic()
        if self.first_step is None:
            self.first_step = step - 1
        if not (step == self.first_step + 1 or step == self.total or now - self.last >= self.every_seconds):
            return
        self.last = now
        done = step - self.first_step - 1  # steps timed since the first one (which includes warm-up)
        if done:
            rate = done / max(now - self.first_time, 1e-9)
            speed = f"{rate:.0f} steps/s ETA {_duration((self.total - step) / rate)}"
        else:
            self.first_time, speed = now, "starting"
        bound = f" D-bound {self.bound:.3f}" if self.bound is not None else ""
        line = (
            f"fit-gan step {step}/{self.total} ({100 * step / self.total:.0f}%) {speed}  "
            f"d_loss {metrics['d_loss']:.3f} D(x) {metrics['d_real']:.3f} D(G(z)) {metrics['d_fake']:.3f}{bound}"
        )
        self.log.info("%s", line)
        if self.artifact is not None:
            _update_progress(self.artifact, 100.0 * step / self.total, line)


def _progress_artifact(progress: float, description: str):
    try:
        from prefect.artifacts import create_progress_artifact

        return create_progress_artifact(progress, key="fit-gan-progress", description=description)
    except Exception:  # outside a Prefect run there is nowhere to attach it
        return None


def _update_progress(artifact_id, progress: float, description: str) -> None:
    try:
        from prefect.artifacts import update_progress_artifact

        update_progress_artifact(artifact_id, progress, description=description)
    except Exception as exc:  # progress is a courtesy: never stop training for it
        logging.getLogger(__name__).debug("progress artifact not updated: %s", exc)


def _duration(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}m{s:02d}s" if m < 60 else f"{m // 60}h{m % 60:02d}m"


class TrainingBoundCallback(Callback):
    """A cheap, clearly labelled curve: the *training* D's JSD lower bound, scored on held-out
    real samples vs the fixed-noise samples (the training D was fitted to these
    distributions, so it is a diagnostic, not the evaluation)."""

    def __init__(self, heldout, sink: MlflowCallback | None, progress: ProgressLog | None = None):
        self.heldout, self.sink, self.progress, self.D = heldout, sink, progress, None

    def on_start(self, generator, discriminator):
        self.D = discriminator

    def on_samples(self, step, samples):
        n = min(len(self.heldout), len(samples))
        bound = jsd_from_discriminator(self.D, self.heldout[:n], samples[:n]).nats
        if self.sink:
            self.sink.on_step(step, {"training_d_jsd_bound": bound})
        if self.progress:
            self.progress.bound = bound


class FreshJSDCallback(Callback):
    """JSD̂ over training: a critic fitted from scratch on `n` held-out real samples against `n`
    samples of the generator (the EMA one when on), every `every` steps and at the end. The
    held-out samples only measure; nothing in training or model choice uses them. Logged as
    `fresh_jsd` (with `fresh_jsd_ci_low/high`) beside the training-D bound."""

    def __init__(self, heldout, sink: MlflowCallback | None, every: int, total: int, n: int, seed: int):
        self.heldout, self.sink, self.every, self.total, self.seed = heldout[:n], sink, every, total, seed
        self.G, self.seconds, self.log = None, 0.0, progress_logger()

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
        self.log.info(
            "step %d/%d: fresh-critic JSD̂ %.4f nats [%.4f, %.4f] (n=%d per side)",
            step,
            self.total,
            est.nats,
            est.ci_low,
            est.ci_high,
            len(fake),
        )
        if self.sink:
            self.sink.on_step(
                step, {"fresh_jsd": est.nats, "fresh_jsd_ci_low": est.ci_low, "fresh_jsd_ci_high": est.ci_high}
            )


KEEP_CHECKPOINTS = 5


def _checkpoint_dir(paths: Paths, identity: str):
    """models/checkpoints/<run identity>/. A run resumes only its own identity's checkpoint;
    it says when it starts afresh beside others, and keeps the KEEP_CHECKPOINTS most recently
    written identities (older folders are removed)."""
    folder = paths.checkpoints / identity
    others = sorted(
        (p for p in paths.checkpoints.glob("*") if p.is_dir() and p.name != identity),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    if not folder.exists() and others:
        run_logger().info(
            "no checkpoint of run identity %s (config with steps, prepared data, training code); training from step 0",
            identity,
        )
    for old in others[KEEP_CHECKPOINTS - 1 :]:
        shutil.rmtree(old, ignore_errors=True)
    return folder


@task(name="fit-gan", tags=["gpu"], retries=1, retry_delay_seconds=5, retry_condition_fn=retry_transient_only)
def fit_gan(cfg: Config, root: str, run_id: str | None) -> dict:
    paths = Paths.at(root)
    threads = use_threads()  # on purpose: GAN_THREADS, else the cores this process is given
    data = load_prepared(paths.prepared)
    check_prepared(data, cfg.data, cfg.seed, paths.prepared)
    run_logger().info(
        "fit-gan on %s, %d CPU thread%s (GAN_THREADS to change)",
        resolve_device(cfg.device),
        threads,
        "" if threads == 1 else "s",
    )
    progress = ProgressLog(cfg.train.steps)
    tracker = MlflowCallback(paths.root, run_id) if run_id else None
    callbacks: list[Callback] = [
        progress,
        *([tracker] if tracker else []),
        TrainingBoundCallback(data.heldout, tracker, progress),
    ]
    curve = (
        FreshJSDCallback(data.heldout, tracker, cfg.train.jsd_every, cfg.train.steps, cfg.train.jsd_curve_n, cfg.seed)
        if cfg.train.jsd_every
        else None
    )
    callbacks += [curve] if curve else []
    checkpoint_dir = _checkpoint_dir(paths, run_identity(cfg.flat(), data.digest)["id"])
    result = gan_core.train.fit_gan(cfg, data, checkpoint_dir=checkpoint_dir, callbacks=callbacks)
    if tracker:
        tracker.flush()
        tracker.client.log_metric(run_id, "train_seconds", result.seconds)
        if curve:
            tracker.client.log_metric(run_id, "fresh_jsd_seconds", curve.seconds)  # part of train_seconds
    save_generator(paths.generator, result.generator, cfg.to_dict(), data.sample_shape, result.identity)
    curves = pd.DataFrame(result.history)
    atomic_write(paths.curves, lambda tmp: curves.to_csv(tmp, index=False))
    return {
        "steps": result.steps,
        "seconds": result.seconds,
        "resumed_from": result.resumed_from,
        "new_steps": result.g_steps,
    }
