"""fit-gan: run the gan_core loop (on the GPU when present), track it, save the generator."""

from __future__ import annotations


import pandas as pd
from prefect import task

from gan_core.callbacks import Callback
from gan_core.checkpoint import atomic_write, config_fingerprint, save_generator
from gan_core.config import Config
from gan_core.datasets import load_prepared
from gan_core.jsd import jsd_from_discriminator
from gan_core.train import fit_gan
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


@task(name="fit-gan", tags=["gpu"], retries=1, retry_delay_seconds=5, retry_condition_fn=retry_transient_only)
def train_generator(cfg: Config, root: str, run_id: str | None) -> dict:
    paths = Paths.at(root)
    data = load_prepared(paths.prepared)
    callbacks: list[Callback] = [ProgressLog(cfg.train.steps)]
    tracker = MlflowCallback(paths.root, run_id) if run_id else None
    if tracker:
        callbacks += [tracker, TrainingBoundCallback(data.heldout, tracker)]
    checkpoint_dir = paths.checkpoints / config_fingerprint(cfg.flat())
    result = fit_gan(cfg, data, checkpoint_dir=checkpoint_dir, callbacks=callbacks)
    if tracker:
        tracker.flush()
        tracker.client.log_metric(run_id, "train_seconds", result.seconds)
    save_generator(paths.generator, result.generator, cfg.to_dict(), data.sample_shape)
    curves = pd.DataFrame(result.history)
    atomic_write(paths.curves, lambda tmp: curves.to_csv(tmp, index=False))
    return {"steps": result.steps, "seconds": result.seconds, "resumed_from": result.resumed_from, "new_steps": result.g_steps}
