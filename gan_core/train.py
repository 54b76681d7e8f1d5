"""The training loop: Algorithm 1 of Goodfellow et al. (2014).

For each of `train.steps` generator steps: `train.k` discriminator steps, each on a fresh
real minibatch and fresh noise, ascending V; then one generator step on fresh noise with
the `ns` or `mm` loss. Diagnostics are kept on the device and handed to callbacks every
`log_every` steps (one host sync per batch, not per step). Checkpoints hold everything
needed to continue, so an interrupted run resumed from its checkpoint is the same run.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from gan_core.callbacks import Callback, CallbackList
from gan_core.checkpoint import (
    config_mismatch,
    load_checkpoint,
    restore_training_state,
    save_checkpoint,
    training_state,
)
from gan_core.config import Config, TrainConfig
from gan_core.datasets import Dataset
from gan_core.errors import CheckpointError, DivergenceError
from gan_core.identity import identity_difference, run_identity
from gan_core.losses import GeneratorLoss, discriminator_loss, generator_loss
from gan_core.models import build_fine_discriminator, build_models
from gan_core.runtime import autocast_dtype, resolve_device, seed_everything

log = logging.getLogger(__name__)

DIAGNOSTICS = ("d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm")
CHECKPOINT_NAME = "last.pt"
N_FIXED_NOISE = 512


def lr_left(step: int, tc: TrainConfig) -> float:
    """The fraction of the initial learning rates used at `step` under linear decay: 1 for the
    first `lr_hold` of the run, then (1 - t)^lr_decay_power over the rest, 0 at the last step."""
    hold = tc.lr_hold
    t = max(0.0, (step / tc.steps - hold) / (1.0 - hold))
    return (1.0 - t) ** tc.lr_decay_power


def r1_weight(step: int, tc: TrainConfig) -> float:
    """The R1 weight at `step`: r1 for the first `r1_hold` of the run, then log-linear to
    r1_end, reached at the last step (or after `r1_fall` of the run, then held); constant r1
    when r1_end is unset."""
    if tc.r1_end is None or tc.r1 == 0:
        return tc.r1
    start = int(tc.r1_hold * tc.steps)
    span = int(tc.r1_fall * tc.steps) if tc.r1_fall is not None else tc.steps - 1 - start
    t = min(1.0, max(0, step - start) / max(1, span))
    return tc.r1 * (tc.r1_end / tc.r1) ** t


@dataclass
class TrainResult:
    generator: nn.Module  # the generator to sample from (the moving average when train.ema > 0)
    discriminator: nn.Module
    history: dict[str, list[float]]  # "step" plus DIAGNOSTICS, one entry per generator step
    steps: int
    d_steps: int  # discriminator updates actually made in this call
    g_steps: int  # generator updates actually made in this call
    seconds: float
    resumed_from: int | None = None
    config: dict = field(default_factory=dict)
    identity: dict = field(default_factory=dict)  # gan_core.identity.run_identity of this run


def discriminator_step(
    D: nn.Module,
    opt: torch.optim.Optimizer,
    x: torch.Tensor,
    fake: torch.Tensor,
    r1: float = 0.0,
    amp: torch.dtype | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One ascent step on V for D: maximise log D(x) + log(1 - D(fake)). Returns (loss, real logits).

    `r1` > 0 adds the zero-centred penalty r1/2 · E||∇_x logit(x)||² on real data (Mescheder
    et al. 2018), which vanishes at the equilibrium p_g = p_data, D = 1/2. `amp` runs D's
    forward passes under autocast in that dtype; the logits, losses and penalty stay fp32."""
    if r1 > 0:
        x = x.detach().requires_grad_(True)
    with _autocast(x.device, amp):
        real_logits, fake_logits = D(x), D(fake.detach())
    real_logits, fake_logits = real_logits.float(), fake_logits.float()
    loss = discriminator_loss(real_logits, fake_logits)
    total = loss
    if r1 > 0:
        (grad,) = torch.autograd.grad(real_logits.sum(), x, create_graph=True)
        total = loss + 0.5 * r1 * grad.pow(2).flatten(1).sum(1).mean()
    opt.zero_grad(set_to_none=True)
    total.backward()
    opt.step()
    return loss.detach(), real_logits.detach()


def generator_step(
    G: nn.Module,
    D: nn.Module,
    opt: torch.optim.Optimizer,
    z: torch.Tensor,
    loss: GeneratorLoss,
    amp: torch.dtype | None = None,
    *,
    update: bool = True,
    fine: nn.Module | None = None,
    fine_weight: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One descent step for G on `loss` (ns or mm, see losses.py), plus `fine_weight` times the
    same loss on the fine discriminator `fine` when given. Returns (loss, logits of D(G(z)),
    G's gradient norm); `update=False` measures the gradient without stepping."""
    critics = [D] if fine is None else [D, fine]
    for critic in critics:  # the gradient flows through them to G; their weights are not G's to change
        critic.requires_grad_(False)
    try:
        with _autocast(z.device, amp):
            fake = G(z)
            logits = D(fake).float()
            fine_logits = fine(fake).float() if fine is not None and fine_weight > 0 else None
        g_loss = generator_loss(logits, loss)
        if fine_logits is not None:
            g_loss = g_loss + fine_weight * generator_loss(fine_logits, loss)
        opt.zero_grad(set_to_none=True)
        g_loss.backward()
        grad_norm = torch.nn.utils.get_total_norm([p.grad for p in G.parameters() if p.grad is not None])
        if update:
            opt.step()
    finally:
        for critic in critics:
            critic.requires_grad_(True)
    return g_loss.detach(), logits.detach(), grad_norm.detach()


@dataclass
class GAN:
    """What one iteration of Algorithm 1 updates: both networks, their optimisers, the moving
    average of G's weights used for sampling (None when train.ema is 0), and the fine
    discriminator with its optimiser (None when model.fine_d_features is 0 or for images)."""

    G: nn.Module
    D: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    G_ema: nn.Module | None = None
    D_fine: nn.Module | None = None
    opt_fine: torch.optim.Optimizer | None = None

    def parts(self) -> dict[str, Any]:  # by their keys in the checkpoint dict
        parts = {
            "generator": self.G,
            "generator_ema": self.G_ema,
            "discriminator": self.D,
            "opt_g": self.opt_g,
            "opt_d": self.opt_d,
        }
        if self.D_fine is not None:  # checkpoints of runs without one keep their keys
            parts |= {"discriminator_fine": self.D_fine, "opt_fine": self.opt_fine}
        return parts


def gan_step(
    gan: GAN,
    real: Callable[[], torch.Tensor],
    noise: Callable[[], torch.Tensor],
    *,
    k: int,
    loss: GeneratorLoss,
    r1: float,
    ema: float,
    amp: torch.dtype | None = None,
    fine_weight: float = 0.0,
    fine_train: bool = True,
    fine_r1: float | None = None,
) -> torch.Tensor:
    """One iteration of Algorithm 1 (Goodfellow et al. 2014), each minibatch fresh from
    `real()` and `noise()`. Returns the diagnostics (DIAGNOSTICS order, on the device).
    The fine discriminator, when the GAN has one and `fine_train`, takes each D step on the same
    minibatches, with R1 weight `fine_r1` (None = `r1`)."""
    # (1) k times, update D: maximise log D(x) + log(1 - D(G(z))).
    for _ in range(k):
        x, z = real(), noise()
        with torch.no_grad(), _autocast(x.device, amp):
            fake = gan.G(z)
        d_loss, real_logits = discriminator_step(gan.D, gan.opt_d, x, fake, r1, amp)
        if gan.D_fine is not None and fine_train:
            discriminator_step(gan.D_fine, gan.opt_fine, x, fake, r1 if fine_r1 is None else fine_r1, amp)
    # (2) once, update G: minimise log(1 - D(G(z))) (mm), or maximise log D(G(z)) (ns).
    g_loss, fake_logits, grad_norm = generator_step(
        gan.G, gan.D, gan.opt_g, noise(), loss, amp, fine=gan.D_fine, fine_weight=fine_weight
    )
    if gan.G_ema is not None:  # sample from an average of G's recent weights
        with torch.no_grad():
            for avg, p in zip(gan.G_ema.parameters(), gan.G.parameters()):
                avg.lerp_(p, 1.0 - ema)
    return torch.stack(
        [d_loss, g_loss, torch.sigmoid(real_logits).mean(), torch.sigmoid(fake_logits).mean(), grad_norm]
    )


def _autocast(device: torch.device, dtype: torch.dtype | None):
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else contextlib.nullcontext()


def sample(generator: nn.Module, n: int, *, seed: int = 0, batch: int = 8_192) -> np.ndarray:
    """n samples from `generator` (eval mode, no grad), reproducible for a seed."""
    device = next(generator.parameters()).device
    rng = torch.Generator(device=device).manual_seed(seed)
    was_training = generator.training
    generator.eval()
    out = []
    with torch.no_grad():
        for start in range(0, n, batch):
            z = torch.randn(min(batch, n - start), generator.z_dim, generator=rng, device=device)
            out.append(generator(z).float().cpu())
    generator.train(was_training)
    return torch.cat(out).numpy()


class _Trainer:
    """A run of Algorithm 1 over `train.steps` generator steps: builds the GAN, resumes it from
    its checkpoint, sets the schedules (learning rates, R1) and hands diagnostics to callbacks."""

    def __init__(self, cfg: Config, data: Dataset, checkpoint_dir: Path | None, callbacks: CallbackList):
        self.cfg, self.tc = cfg, cfg.train
        self.device = resolve_device(cfg.device)
        self.amp = autocast_dtype(cfg.train.precision, self.device)  # None: fp32
        self.callbacks = callbacks
        self.identity = run_identity(cfg.flat(), data.digest)
        self.checkpoint_path = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir else None
        seed_everything(cfg.seed)
        G, D = (m.to(self.device) for m in build_models(cfg.model, data.sample_shape))
        self.real = torch.as_tensor(data.train, device=self.device)
        if data.kind == "vector":  # both networks see unit-scale coordinates
            mean, std = self.real.mean(0), self.real.std(0)
            G.set_data_stats(mean, std)
            D.set_data_stats(mean, std)
        betas = (self.tc.beta1, self.tc.beta2)
        # Fused Adam: one kernel per step for all parameters instead of a Python loop over them.
        self.gan = GAN(
            G,
            D,
            torch.optim.Adam(G.parameters(), lr=self.tc.lr_g, betas=betas, fused=True),
            torch.optim.Adam(D.parameters(), lr=self.tc.lr_d, betas=betas, fused=True),
            G_ema=copy.deepcopy(G).requires_grad_(False)
            if self.tc.ema > 0
            else None,  # after the stats are set: its buffers are G's
        )
        D_fine = build_fine_discriminator(cfg.model, data.sample_shape)
        if D_fine is not None:  # built after the pair, so G's and D's first weights do not depend on it
            D_fine = D_fine.to(self.device)
            D_fine.set_data_stats(mean, std)
            self.gan.D_fine = D_fine
            self.gan.opt_fine = torch.optim.Adam(D_fine.parameters(), lr=self.tc.lr_d, betas=betas, fused=True)
        # Data pre-placed on the device (above); one device generator drives minibatches and noise.
        self.rng = torch.Generator(device=self.device).manual_seed(cfg.seed)
        self.fixed_z = torch.randn(N_FIXED_NOISE, G.z_dim, generator=self.rng, device=self.device)
        self.history: dict[str, list[float]] = {k: [] for k in ("step", *DIAGNOSTICS)}
        self.step = 0
        self.resumed_from: int | None = None
        self.last_checkpoint_step: int | None = None

    @property
    def sampler(self) -> nn.Module:  # the generator to sample from
        return self.gan.G_ema if self.gan.G_ema is not None else self.gan.G

    # -- checkpoints -------------------------------------------------------------------
    def try_resume(self) -> None:
        if self.checkpoint_path is None or not self.checkpoint_path.exists():
            return
        state = load_checkpoint(self.checkpoint_path, map_location=self.device)
        diff = config_mismatch(Config.model_validate(state["config"]).flat(), self.cfg.flat())
        if diff:
            raise CheckpointError(
                f"checkpoint: '{self.checkpoint_path}' was made with another config, refusing to resume "
                f"({'; '.join(diff[:3])}); delete it or restore that config"
            )
        other = identity_difference(state["identity"], self.identity)
        if other:
            raise CheckpointError(
                f"checkpoint: '{self.checkpoint_path}' belongs to another run (its {other} differ), refusing to resume; delete it"
            )
        restore_training_state(
            state, self.gan.parts(), self.rng, reseed=self.cfg.seed + int(state["step"]), path=self.checkpoint_path
        )
        self.history = {k: list(v) for k, v in state["history"].items()}
        self.step = self.resumed_from = self.last_checkpoint_step = int(state["step"])
        log.info("resuming from step %d (%s)", self.step, self.checkpoint_path)
        self.callbacks.on_resume(self.step, self.checkpoint_path)

    def save(self) -> None:
        if self.checkpoint_path is None:
            return
        save_checkpoint(
            self.checkpoint_path,
            training_state(self.step, self.gan.parts(), self.rng, self.cfg.to_dict(), self.history, self.identity),
        )
        self.last_checkpoint_step = self.step
        self.callbacks.on_checkpoint(self.step, self.checkpoint_path)

    # -- schedules and minibatches -----------------------------------------------------
    def _set_lr(self) -> None:
        if self.tc.lr_decay == "none":
            return
        left = lr_left(self.step, self.tc)
        d_end = self.tc.lr_d_end  # D may keep part of its rate, to go on tracking D*
        lr_d = self.tc.lr_d * (d_end + (1.0 - d_end) * left)  # the fine D's too
        for opt, lr in ((self.gan.opt_g, self.tc.lr_g * left), (self.gan.opt_d, lr_d), (self.gan.opt_fine, lr_d)):
            for group in opt.param_groups if opt is not None else ():
                group["lr"] = lr

    def _k(self) -> int:
        """k D-steps per G-step, rising in equal parts of the run from k to k_end when set:
        D tracks D* more closely as G's steps shrink (one D-step keeps up early)."""
        tc = self.tc
        if tc.k_end is None:
            return tc.k
        return min(tc.k_end, tc.k + (tc.k_end - tc.k + 1) * self.step // tc.steps)

    def _real(self) -> torch.Tensor:
        return self.real[torch.randint(len(self.real), (self.tc.batch_size,), generator=self.rng, device=self.device)]

    def _noise(self) -> torch.Tensor:
        return torch.randn(self.tc.batch_size, self.gan.G.z_dim, generator=self.rng, device=self.device)

    def _flush(self, rows: list[torch.Tensor], first_step: int) -> None:
        """One host sync for a batch of steps; detect divergence at the exact step."""
        if not rows:
            return
        values = torch.stack(rows).float().cpu().numpy()
        rows.clear()
        for i, row in enumerate(values):
            step = first_step + i
            if not np.isfinite(row).all():
                name = DIAGNOSTICS[int(np.argmin(np.isfinite(row)))]
                kept = f"step {self.last_checkpoint_step}" if self.last_checkpoint_step is not None else "none written"
                raise DivergenceError(
                    f"training diverged at step {step}: {name} is {row[DIAGNOSTICS.index(name)]}; last good checkpoint: {kept}"
                )
            metrics = dict(zip(DIAGNOSTICS, map(float, row)))
            self.history["step"].append(step)
            for key, value in metrics.items():
                self.history[key].append(value)
            self.callbacks.on_step(step, metrics)

    def run(self) -> TrainResult:
        tc = self.tc
        start_step, counts = self.step, {"d": 0, "g": 0}
        bar = _progress(tc.progress, tc.steps, self.step, self.cfg.data.name, self.cfg.train.loss)
        rows: list[torch.Tensor] = []
        self.callbacks.on_start(self.sampler, self.gan.D)
        t0 = time.perf_counter()
        while self.step < tc.steps:
            self._set_lr()
            k, r1 = self._k(), r1_weight(self.step, tc)
            r1 = r1 * tc.r1_every if self.step % tc.r1_every == 0 else 0.0  # lazy R1: same mean, fewer passes
            fine = tc.fine_d_weight if self.step >= tc.fine_d_from * tc.steps else 0.0
            loss = "mm" if tc.mm_from is not None and self.step >= tc.mm_from * tc.steps else tc.loss
            rows.append(
                gan_step(
                    self.gan,
                    self._real,
                    self._noise,
                    k=k,
                    loss=loss,
                    r1=r1,
                    ema=tc.ema,
                    amp=self.amp,
                    fine_weight=fine,
                    fine_train=self.step >= tc.fine_d_train_from * tc.steps,
                    fine_r1=r1 * tc.fine_d_r1,
                )
            )
            counts["d"] += k
            counts["g"] += 1
            self.step += 1
            done = self.step == tc.steps
            if done or self.step % tc.log_every == 0 or self.step % tc.checkpoint_every == 0:
                self._flush(rows, self.step - len(rows) + 1)
                if bar is not None:
                    bar.update(self.step - bar.n)
                    bar.set_postfix(
                        d_loss=f"{self.history['d_loss'][-1]:.3f}", d_fake=f"{self.history['d_fake'][-1]:.3f}"
                    )
            if done or self.step % tc.sample_every == 0:
                self.callbacks.on_samples(self.step, self._fixed_samples())
            if done or self.step % tc.checkpoint_every == 0:
                self.save()
        if bar is not None:
            bar.close()
        result = TrainResult(
            generator=self.sampler,
            discriminator=self.gan.D,
            history=self.history,
            steps=self.step,
            d_steps=counts["d"],
            g_steps=counts["g"],
            seconds=time.perf_counter() - t0,
            resumed_from=self.resumed_from,
            config=self.cfg.to_dict(),
            identity=self.identity,
        )
        log.info("trained %d generator steps (%d new) in %.1fs", self.step, self.step - start_step, result.seconds)
        self.callbacks.on_end(result)
        return result

    def _fixed_samples(self) -> np.ndarray:
        G = self.sampler
        G.eval()
        with torch.no_grad():
            out = G(self.fixed_z).float().cpu().numpy()
        G.train()
        return out


def _progress(enabled: bool, total: int, initial: int, name: str, loss: str):
    if not enabled or not sys.stderr.isatty():
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=f"fit {name} ({loss})", unit="step", dynamic_ncols=True)


def fit_gan(
    cfg: Config,
    data: Dataset,
    *,
    checkpoint_dir: str | Path | None = None,
    callbacks: Sequence[Callback] = (),
    resume: bool = True,
) -> TrainResult:
    """Train a GAN on `data` as `cfg` says; resume from `checkpoint_dir/last.pt` if present."""
    trainer = _Trainer(cfg, data, Path(checkpoint_dir) if checkpoint_dir else None, CallbackList(callbacks))
    if resume:
        trainer.try_resume()
    return trainer.run()


def generator_grad_norm_at_start(cfg: Config, data: Dataset, d_steps: int = 200) -> float:
    """Generator gradient norm after `d_steps` D-only steps (D confidently rejects fakes).

    Shows MM saturating vs NS on the same initialisation: call with train.loss = mm and ns.
    The steps are the loop's own (`discriminator_step`, `generator_step`), without R1, which
    would hold D back from the confident rejection this measures.
    """
    tr = _Trainer(cfg, data, None, CallbackList())
    G, D = tr.gan.G, tr.gan.D
    for _ in range(d_steps):
        x, z = tr._real(), tr._noise()
        with torch.no_grad():
            fake = G(z)
        discriminator_step(D, tr.gan.opt_d, x, fake, 0.0, tr.amp)
    _, _, grad_norm = generator_step(G, D, tr.gan.opt_g, tr._noise(), cfg.train.loss, tr.amp, update=False)
    return float(grad_norm)
