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
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from gan_core.callbacks import Callback, CallbackList
from gan_core.checkpoint import config_mismatch, load_checkpoint, save_checkpoint
from gan_core.config import Config
from gan_core.datasets import Dataset
from gan_core.errors import CheckpointError, DivergenceError
from gan_core.identity import identity_difference, run_identity
from gan_core.losses import discriminator_loss, generator_loss
from gan_core.models import build_models
from gan_core.runtime import autocast_dtype, resolve_device, seed_everything

log = logging.getLogger(__name__)

DIAGNOSTICS = ("d_loss", "g_loss", "d_real", "d_fake", "g_grad_norm")
CHECKPOINT_NAME = "last.pt"
N_FIXED_NOISE = 512


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
    D: nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, fake: torch.Tensor, r1: float = 0.0, amp: torch.dtype | None = None,
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


def restore_rng(rng: torch.Generator, saved: torch.Tensor, *, reseed: int) -> bool:
    """Set the loop generator from a checkpoint's state, wherever the state was loaded.

    A generator's state is a CPU byte tensor on every device (a checkpoint loaded with
    `map_location="cuda"` has it on the GPU), and its layout depends on the device kind that
    made it: a CPU generator's does not fit a CUDA one. A state that does not fit (a run resumed
    on another kind of device) reseeds the stream with `reseed` and says so; the weights and the
    optimisers still resume exactly. Returns whether the saved stream was continued.
    """
    saved = saved.detach().to("cpu", torch.uint8)
    if saved.numel() == rng.get_state().numel():
        rng.set_state(saved)
        return True
    log.warning("checkpoint: its noise stream was made on another kind of device; continuing with a fresh stream (seed %d)", reseed)
    rng.manual_seed(reseed)
    return False


class _Trainer:
    def __init__(self, cfg: Config, data: Dataset, checkpoint_dir: Path | None, callbacks: CallbackList):
        self.cfg, self.tc = cfg, cfg.train
        self.device = resolve_device(cfg.device)
        self.amp = autocast_dtype(cfg.train.precision, self.device)  # None: fp32
        self.callbacks = callbacks
        self.identity = run_identity(cfg.flat(), data.digest)
        self.checkpoint_path = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir else None
        seed_everything(cfg.seed)
        self.G, self.D = (m.to(self.device) for m in build_models(cfg.model, data.sample_shape))
        self.real = torch.as_tensor(data.train, device=self.device)
        if data.kind == "vector":  # both networks see unit-scale coordinates
            mean, std = self.real.mean(0), self.real.std(0)
            self.G.set_data_stats(mean, std)
            self.D.set_data_stats(mean, std)
        self.G_ema = copy.deepcopy(self.G).requires_grad_(False) if self.tc.ema > 0 else None  # after the stats are set
        betas = (self.tc.beta1, self.tc.beta2)
        # Fused Adam: one kernel per step for all parameters instead of a Python loop over them.
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=self.tc.lr_g, betas=betas, fused=True)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=self.tc.lr_d, betas=betas, fused=True)
        self.g_params = list(self.G.parameters())
        self.g_ema_params = list(self.G_ema.parameters()) if self.G_ema is not None else []
        # Data pre-placed on the device (above); one device generator drives minibatches and noise.
        self.rng = torch.Generator(device=self.device).manual_seed(cfg.seed)
        self.fixed_z = torch.randn(N_FIXED_NOISE, cfg.model.z_dim, generator=self.rng, device=self.device)
        self.history: dict[str, list[float]] = {k: [] for k in ("step", *DIAGNOSTICS)}
        self.step = 0
        self.resumed_from: int | None = None
        self.last_checkpoint_step: int | None = None

    # -- checkpoints -------------------------------------------------------------------
    def state(self) -> dict:
        return {
            "step": self.step,
            "generator": self.G.state_dict(),
            "generator_ema": self.G_ema.state_dict() if self.G_ema is not None else None,
            "discriminator": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "rng": {"loop": self.rng.get_state(), "torch": torch.get_rng_state()},
            "config": self.cfg.to_dict(),
            "history": self.history,
            "identity": self.identity,
        }

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
            raise CheckpointError(f"checkpoint: '{self.checkpoint_path}' belongs to another run (its {other} differ), refusing to resume; delete it")
        try:
            self.G.load_state_dict(state["generator"])
            self.D.load_state_dict(state["discriminator"])
            if self.G_ema is not None:
                self.G_ema.load_state_dict(state["generator_ema"])
            self.opt_g.load_state_dict(state["opt_g"])
            self.opt_d.load_state_dict(state["opt_d"])
            restore_rng(self.rng, state["rng"]["loop"], reseed=self.cfg.seed + int(state["step"]))
            torch.set_rng_state(state["rng"]["torch"].cpu())
        except (RuntimeError, KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"checkpoint: '{self.checkpoint_path}' does not fit the models ({type(exc).__name__}); it was tampered with or made by another version") from None
        self.history = {k: list(v) for k, v in state["history"].items()}
        self.step = self.resumed_from = self.last_checkpoint_step = int(state["step"])
        log.info("resuming from step %d (%s)", self.step, self.checkpoint_path)
        self.callbacks.on_resume(self.step, self.checkpoint_path)

    def save(self) -> None:
        if self.checkpoint_path is None:
            return
        save_checkpoint(self.checkpoint_path, self.state())
        self.last_checkpoint_step = self.step
        self.callbacks.on_checkpoint(self.step, self.checkpoint_path)

    # -- the loop ----------------------------------------------------------------------
    def _set_lr(self) -> None:
        if self.tc.lr_decay == "none":
            return
        left = 1.0 - self.step / self.tc.steps  # linear: 1 at the start, 0 at the last step
        d_end = self.tc.lr_d_end  # D may keep part of its rate, to go on tracking D*
        for opt, lr in ((self.opt_g, self.tc.lr_g * left), (self.opt_d, self.tc.lr_d * (d_end + (1.0 - d_end) * left))):
            for group in opt.param_groups:
                group["lr"] = lr

    def _r1(self) -> float:
        tc = self.tc
        if tc.r1_end is None or tc.r1 == 0:
            return tc.r1
        return tc.r1 * (tc.r1_end / tc.r1) ** (self.step / max(1, tc.steps - 1))

    def _batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.randint(len(self.real), (self.tc.batch_size,), generator=self.rng, device=self.device)
        z = torch.randn(self.tc.batch_size, self.cfg.model.z_dim, generator=self.rng, device=self.device)
        return self.real[idx], z

    def _iteration(self) -> torch.Tensor:
        """One generator step with its k discriminator steps; returns diagnostics (device)."""
        G, D, k = self.G, self.D, self.tc.k
        # (1) Update D k times: maximise log D(x) + log(1 - D(G(z))) on fresh minibatches.
        D.requires_grad_(True)
        for _ in range(k):
            x, z = self._batch()
            with torch.no_grad(), _autocast(self.device, self.amp):
                fake = G(z)
            d_loss, real_logits = discriminator_step(D, self.opt_d, x, fake, self._r1(), self.amp)
        # (2) Update G once: minimise -log D(G(z)) (ns) or log(1 - D(G(z))) (mm).
        D.requires_grad_(False)
        z = torch.randn(self.tc.batch_size, self.cfg.model.z_dim, generator=self.rng, device=self.device)
        with _autocast(self.device, self.amp):
            g_logits = D(G(z)).float()
        g_loss = generator_loss(g_logits, self.tc.loss)
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        grad_norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm([p.grad for p in self.g_params if p.grad is not None])))
        self.opt_g.step()
        if self.G_ema is not None:  # its buffers (the data's mean and std) are G's, copied once at start
            with torch.no_grad():
                torch._foreach_lerp_(self.g_ema_params, self.g_params, 1.0 - self.tc.ema)
        return torch.stack([
            d_loss, g_loss.detach(), torch.sigmoid(real_logits).mean(),
            torch.sigmoid(g_logits.detach()).mean(), grad_norm.detach(),
        ])

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
                raise DivergenceError(f"training diverged at step {step}: {name} is {row[DIAGNOSTICS.index(name)]}; last good checkpoint: {kept}")
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
        self.callbacks.on_start(self.G_ema if self.G_ema is not None else self.G, self.D)
        t0 = time.perf_counter()
        while self.step < tc.steps:
            self._set_lr()
            rows.append(self._iteration())
            counts["d"] += tc.k
            counts["g"] += 1
            self.step += 1
            done = self.step == tc.steps
            if done or self.step % tc.log_every == 0 or self.step % tc.checkpoint_every == 0:
                self._flush(rows, self.step - len(rows) + 1)
                if bar is not None:
                    bar.update(self.step - bar.n)
                    bar.set_postfix(d_loss=f"{self.history['d_loss'][-1]:.3f}", d_fake=f"{self.history['d_fake'][-1]:.3f}")
            if done or self.step % tc.sample_every == 0:
                self.callbacks.on_samples(self.step, self._fixed_samples())
            if done or self.step % tc.checkpoint_every == 0:
                self.save()
        if bar is not None:
            bar.close()
        result = TrainResult(
            generator=self.G_ema if self.G_ema is not None else self.G, discriminator=self.D,
            history=self.history, steps=self.step, d_steps=counts["d"], g_steps=counts["g"],
            seconds=time.perf_counter() - t0, resumed_from=self.resumed_from, config=self.cfg.to_dict(), identity=self.identity,
        )
        log.info("trained %d generator steps (%d new) in %.1fs", self.step, self.step - start_step, result.seconds)
        self.callbacks.on_end(result)
        return result

    def _fixed_samples(self) -> np.ndarray:
        G = self.G_ema if self.G_ema is not None else self.G
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
    """
    tr = _Trainer(cfg, data, None, CallbackList())
    for _ in range(d_steps):
        x, z = tr._batch()
        with torch.no_grad():
            fake = tr.G(z)
        discriminator_step(tr.D, tr.opt_d, x, fake)
    z = torch.randn(tr.tc.batch_size, cfg.model.z_dim, generator=tr.rng, device=tr.device)
    g_loss = generator_loss(tr.D(tr.G(z)), cfg.train.loss)
    tr.G.zero_grad(set_to_none=True)
    g_loss.backward()
    return float(math.sqrt(sum(float(p.grad.pow(2).sum()) for p in tr.G.parameters() if p.grad is not None)))
