"""Estimate JSD(p_data || p_g) in nats with a discriminator fitted from scratch.

A fixed D scored on samples it never saw gives an unbiased estimate of a *lower bound* of
the JSD (DESIGN.md §1):  JSD ≥ (V(D) + log 4) / 2,  with equality at D* = p/(p+q).
So `estimate_jsd` splits each side into three parts:

* **fit** — C candidate critics (MLPs on the standardised input joined with random Fourier
  features at several scales; a conv net for images) are trained at once to maximise V; for
  inputs of at most QUADRATIC_MAX_DIM numbers (vectors, small images flattened) also a
  quadratic critic (the exact family of Gaussian log-ratios, which the small MLPs
  under-resolve in many dimensions), its ridge weight chosen on the select split;
* **select** — early stopping per candidate, then a stacking layer (logistic regression on
  the candidates' logits, C + 1 parameters) fitted to maximise V; it can only add to the
  best single candidate, and can fall back to the constant D = 1/2 (V = -log 4);
* **score** — the final critic's value on samples that neither fitting nor selection saw,
  its logits bounded to ±LOGIT_BOUND: one sample in a region the fit split never covered (a
  tail where a high-frequency feature extrapolates) could otherwise cost tens of nats.

That **held-out value** estimates a lower bound of the JSD without bias, but the bound is
loose by the critic's shortfall from D*: on 64 narrow modes 0.0047 nats below the true
log-ratio scored on the same samples, the price of fitting each mode's slope on 10,000 points
a side. The same critic's value on the samples it was fitted on and selected by is raised by
overfitting, by less (0.0014 there) but on 70 % of the samples, so pooled the two nearly
cancel (benchmarks/jsd_shortfall.py). The **point estimate is the critic's value on all
samples** (held-out and fitted, weighted by their counts): on the 13 development cases (78 draws) its largest error was
0.0057 nats against the held-out value's 0.0132, with no overall lean (BENCHMARKS.md; chosen
with 64-wide candidates, now 40: CriticSettings). It is
no longer a lower bound by construction; `held_out` keeps the held-out value and
`lower_bound` the bound that holds whatever the critic.

With `folds` > 1 the roles rotate (**cross-fitting**): each fold of each side is scored by a
critic fitted (fit : select = 4 : 1) on the other folds, so all n samples are scored held out,
and that value is the estimate. It is not the default: with two folds each critic fits on
40 % of the data, and on 100 narrow modes its shortfall outgrew the noise it saves
(BENCHMARKS.md, "Cross-fitting").

The interval's low end is the smaller of the estimate and the held-out value, less
z·stderr of the held-out samples (a normal approximation of the mean of per-sample values).
The critic's shortfall from D* only lowers the held-out value, so the one-sided `lower_bound`
(held-out value − z·stderr at the confidence level) is a valid lower confidence bound on the
JSD whatever the critic. The high end must also cover that shortfall: it is the larger of the
held-out value and the same critic's **in-sample** value (on the fit and select splits; with
folds, the critics' mean) plus z·stderr and the logit bound's cost. Both ends were chosen on
the development cases; their coverage of the exact truths is measured in BENCHMARKS.md. The
point estimate and bounds are clipped into [0, log 2] for reporting; `unclipped` keeps the raw
value.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gan_core.critics import Candidates, ConvCritic, CriticEnsemble, QuadraticCritic
from gan_core.errors import DataError
from gan_core.losses import discriminator_loss

LOG2 = math.log(2.0)
DEFAULT_SCALES = (1.0, 4.0, 12.0)
LOGIT_BOUND = 10.0  # |logit| at most this when scoring the fitted critic (see estimate_jsd)
CONV_CHANNELS = 16  # base channels of the conv critic for images
DEFAULT_CONFIDENCE = 0.95  # of the sampling-noise interval (evaluate.confidence sets it in a run)
DEFAULT_FRACTIONS = (0.5, 0.2, 0.3)  # of each side: fit, select, score (estimate_jsd with folds=1)
DEFAULT_FOLDS = 1  # one score split; folds > 1 cross-fits (module docstring: not the default, and why)
CROSS_FIT_FRACTIONS = (0.4, 0.1, 0.5)  # fit, select, score when cross-fitting: the score part is a fold


def describe_interval(confidence: float) -> str:
    """What the reported numbers are, in one sentence: the console, MLflow and Prefect say this."""
    level = round(100 * confidence)
    return (
        f"jsd: the fresh critic's value on all samples, held-out and fitted (jsd_held_out, on the held-out ones "
        f"alone, estimates a lower bound of the JSD); jsd_ci_low/high: a nominal {level}% interval, sampling noise "
        f"below and, above, also the critic's shortfall from D* as its in-sample value shows it (coverage measured "
        f"on cases with known JSD in BENCHMARKS.md); "
        f"jsd_lower_bound: a one-sided {level}% lower bound that holds whatever the shortfall"
    )


@dataclass(frozen=True)
class JSDEstimate:
    """JSD estimate in nats (standard definition, 0 <= JSD <= log 2)."""

    nats: float  # clipped into [0, log 2]
    ci_low: float  # two-sided interval: noise below, the critic's shortfall too above (estimate_jsd)
    ci_high: float
    lower_bound: float  # one-sided: JSD >= this with probability >= confidence (any critic)
    unclipped: float
    stderr: float  # of the held-out value
    confidence: float
    n_real: int  # held-out samples scored per side
    n_fake: int
    method: str
    in_sample: float | None = None  # the critic's value on the samples it was fitted on (estimate_jsd)
    held_out: float | None = None  # the critic's value on the held-out samples alone (None: the estimate is it)

    @property
    def bits(self) -> float:
        return self.nats / LOG2

    def as_dict(self) -> dict:
        return {
            "jsd": self.nats,
            "jsd_ci_low": self.ci_low,
            "jsd_ci_high": self.ci_high,
            "jsd_lower_bound": self.lower_bound,
            "jsd_unclipped": self.unclipped,
            "jsd_stderr": self.stderr,
            "jsd_held_out": self.unclipped if self.held_out is None else self.held_out,
        }


@dataclass(frozen=True)
class CriticSettings:
    """How the estimator's critic is built and fitted (module docstring): one place for the
    defaults that `estimate_jsd` and `fit_critic` share."""

    scales: tuple[float, ...] = DEFAULT_SCALES  # Fourier feature scales of the MLP candidates
    hidden: int = 40  # MLP width: 64 cost 3.2x the naive critic's time on 2-D narrow modes on a 2-core
    # EPYC; 40 about 2.3x, for +0.0003 mean |error| on the development set's narrowest modes (BENCHMARKS.md)
    layers: int = 2
    n_features: int = 32
    steps: int = 2_000  # most Adam steps (early stopping on the selection split)
    batch_size: int = 512
    lr: float = 3e-3
    eval_every: int = 100
    patience: int = 3  # evaluations without improvement before stopping: 3 gave the estimates of 6 on every
    # development case tried (to 4 places) in 40 % less time where the critics stop early (images, 8-16 d)
    quadratic: bool = True  # a quadratic critic among the candidates (inputs of at most QUADRATIC_MAX_DIM numbers)


def estimator_name(settings: CriticSettings = CriticSettings(), folds: int = DEFAULT_FOLDS) -> str:
    """What a JSD̂ is, in a few words: the point estimate and the critic settings that move it.
    Kept beside each result (MLflow tag `jsd_estimator`, benchmark rows) so that numbers of
    different estimators are never averaged or compared as if they were one."""
    point = "held-out, cross-fitted" if folds > 1 else "all samples"
    return (
        f"{point}; critic batch {settings.batch_size}, hidden {settings.hidden}, "
        f"steps {settings.steps}, patience {settings.patience}"
    )


ESTIMATOR = estimator_name()  # the defaults' name


def _as_tensor(x, name: str) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x).detach().float().cpu()
    if t.ndim not in (2, 4) or len(t) < 10:
        raise DataError(
            f"estimate_jsd: '{name}' has shape {tuple(t.shape)}; allowed: (n, d) or (n, c, h, w) with n >= 10"
        )
    if not torch.isfinite(t).all():
        raise DataError(f"estimate_jsd: '{name}' contains NaN/Inf values")
    return t


def _per_sample(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample log(2 D(x)) for x ~ p_data and log(2 (1 - D(x))) for x ~ p_g: V + log 4 is the sum of their means."""
    return F.logsigmoid(real_logits.double()) + LOG2, F.logsigmoid(-fake_logits.double()) + LOG2


def score_logits(
    real_logits: torch.Tensor,
    fake_logits: torch.Tensor,
    confidence: float = DEFAULT_CONFIDENCE,
    method: str = "given",
    *,
    seen: tuple[torch.Tensor, torch.Tensor] | None = None,
    in_sample: float | None = None,
    shortfall_floor: float = 0.0,
) -> JSDEstimate:
    """JSD̂ = (V̂ + log 4)/2 from logits on unseen samples, with a normal-approximation interval.

    Without `seen` or `in_sample` the interval is sampling noise only. With `seen` (the same
    critic's logits on the real and fake samples it was fitted on) the in-sample value comes
    from them and the estimate is the value on all samples; `in_sample` gives that value
    directly (the estimate stays the held-out one). Either way the high end is
    max(held-out value, in_sample) + z·stderr + shortfall_floor, the least the critic's
    family falls short (e.g. from bounded logits), and the low end min(estimate, held-out
    value) − z·stderr (module docstring)."""
    a, b = _per_sample(real_logits, fake_logits)
    value = 0.5 * (a.mean() + b.mean()).item()
    stderr = 0.5 * math.sqrt(a.var().item() / len(a) + b.var().item() / len(b))
    point = value
    if seen is not None:
        sa, sb = _per_sample(*seen)
        in_sample = 0.5 * (sa.mean() + sb.mean()).item()
        point = 0.5 * (torch.cat([a, sa]).mean() + torch.cat([b, sb]).mean()).item()
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    high = max(value, in_sample if in_sample is not None else value) + z * stderr + shortfall_floor
    clip = lambda v: min(max(v, 0.0), LOG2)  # noqa: E731
    return JSDEstimate(
        clip(point),
        clip(min(point, value) - z * stderr),
        clip(high),
        clip(value - NormalDist().inv_cdf(confidence) * stderr),
        point,
        stderr,
        confidence,
        len(a),
        len(b),
        method,
        in_sample,
        value if seen is not None else None,
    )


def jsd_from_discriminator(
    D: nn.Module, real, fake, *, confidence: float = DEFAULT_CONFIDENCE, batch: int = 8_192
) -> JSDEstimate:
    """Score a given D (e.g. the training discriminator) on the given samples.

    A lower bound of the JSD only if D never saw these samples; the training D did see the
    distribution it was trained on, so label the result a "training-D lower bound"."""
    device = next(D.parameters()).device
    was_training = D.training
    D.eval()
    with torch.no_grad():
        logits = [
            torch.cat([D(part.to(device)).float().flatten().cpu() for part in _as_tensor(x, n).split(batch)])
            for x, n in ((real, "real"), (fake, "fake"))
        ]
    D.train(was_training)
    return score_logits(logits[0], logits[1], confidence, method="given discriminator")


def _split(n: int, fractions: Sequence[float], gen: torch.Generator) -> list[torch.Tensor]:
    order = torch.randperm(n, generator=gen)
    n_fit = int(fractions[0] * n)
    n_sel = int(fractions[1] * n)
    return [order[:n_fit], order[n_fit : n_fit + n_sel], order[n_fit + n_sel :]]


def _logits(critic, x: torch.Tensor, batch: int = 16_384) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([critic(part) for part in x.split(batch)], dim=1)


def _fit_critics(
    critic: nn.Module,
    fit: tuple[torch.Tensor, torch.Tensor],
    sel: tuple[torch.Tensor, torch.Tensor],
    *,
    steps: int,
    batch_size: int,
    lr: float,
    eval_every: int,
    patience: int,
    gen: torch.Generator,
) -> None:
    """Adam on -V (summed over candidates), keeping each candidate's best weights on `sel`.

    The MLP candidates' fixed Fourier features are computed once per sample up front (where
    they fit in PRECOMPUTE_MAX numbers a split), not once per draw: the same logits with less
    work a step (the time saved was within this machine's run-to-run noise)."""
    batch_size = min(batch_size, len(fit[0]), len(fit[1]))
    opt = torch.optim.Adam(critic.parameters(), lr=lr, foreach=True)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    best_loss: torch.Tensor | None = None  # per candidate, on the selection split
    best = [p.detach().clone() for p in critic.parameters()]
    stale = 0
    (fr, ff), device = fit, fit[0].device
    run, sel_in = critic, sel
    if isinstance(critic, CriticEnsemble):
        c, d, n_features = critic.freqs.shape
        if c * (d + 2 * n_features) * max(len(fr), len(ff), *map(len, sel)) <= PRECOMPUTE_MAX:
            with torch.no_grad():  # (n, C, F): a draw gathers whole rows
                fr, ff, *sel_in = [critic.features(x).transpose(0, 1).contiguous() for x in (fr, ff, *sel)]
            run = lambda feats: critic.head(feats.transpose(0, 1))  # noqa: E731
    for step in range(1, steps + 1):
        ir = torch.randint(len(fr), (batch_size,), generator=gen).to(device)
        jf = torch.randint(len(ff), (batch_size,), generator=gen).to(device)
        logits = run(torch.cat([fr[ir], ff[jf]]))  # one pass over both sides: half the calls
        loss = discriminator_loss(logits[:, :batch_size], logits[:, batch_size:]).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % eval_every == 0 or step == steps:
            sel_loss = discriminator_loss(_logits(run, sel_in[0]), _logits(run, sel_in[1])).cpu()
            if best_loss is None:
                best_loss = torch.full_like(sel_loss, float("inf"))
            better = sel_loss < best_loss - 1e-5
            best_loss = torch.where(better, sel_loss, best_loss)
            for p, keep in zip(critic.parameters(), best):
                mask = better.to(p.device).view(-1, *([1] * (p.ndim - 1)))
                if p.shape[0] == len(better):
                    keep.copy_(torch.where(mask, p.detach(), keep))
                elif better.any():
                    keep.copy_(p.detach())
            stale = 0 if better.any() else stale + 1
            if stale >= patience:
                break
    with torch.no_grad():
        for p, keep in zip(critic.parameters(), best):
            p.copy_(keep)


PRECOMPUTE_MAX = 2**25  # numbers (128 MB) of precomputed Fourier features a split may hold (_fit_critics)
QUADRATIC_RIDGE = (10.0, 1.0, 0.1, 0.01)  # ridge weights tried on B, strongest first (warm starts)
QUADRATIC_MAX_DIM = 256  # no quadratic candidate above this many input numbers (B has d² of them)


def _fit_quadratic(fit: tuple[torch.Tensor, torch.Tensor], sel: tuple[torch.Tensor, torch.Tensor]) -> QuadraticCritic:
    """A QuadraticCritic maximising V on `fit` (convex: full-batch L-BFGS) at each ridge weight,
    kept at the weight whose V is best on `sel`."""
    critic = QuadraticCritic(fit[0].shape[1]).to(fit[0].device)

    def sel_loss() -> float:
        with torch.no_grad():
            return discriminator_loss(critic(sel[0]), critic(sel[1])).item()

    best, best_loss = copy.deepcopy(critic), sel_loss()
    for ridge in QUADRATIC_RIDGE:
        opt = torch.optim.LBFGS(critic.parameters(), max_iter=50, line_search_fn="strong_wolfe")

        def closure(opt=opt, ridge=ridge):
            opt.zero_grad()
            loss = discriminator_loss(critic(fit[0]), critic(fit[1])).sum() + ridge * critic.B.pow(2).sum()
            loss.backward()
            return loss

        opt.step(closure)
        if (loss := sel_loss()) < best_loss:
            best, best_loss = copy.deepcopy(critic), loss
    return best


def _stack(sel_real: torch.Tensor, sel_fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Weights (C,) and bias for a logistic combination of candidate logits maximising V on `sel`."""
    c = sel_real.shape[0]
    losses = discriminator_loss(sel_real, sel_fake)
    w = torch.zeros(c, dtype=torch.float64)
    w[int(losses.argmin())] = 1.0
    w.requires_grad_(True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    r, f = sel_real.double(), sel_fake.double()
    opt = torch.optim.LBFGS([w, b], max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = discriminator_loss(w @ r + b, w @ f + b)
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach().float(), b.detach().float()


def estimate_jsd(
    real,
    fake,
    *,
    seed: int = 0,
    device: str | torch.device | None = None,
    fractions: Sequence[float] | None = None,
    scales: Sequence[float] = CriticSettings.scales,
    hidden: int = CriticSettings.hidden,
    layers: int = CriticSettings.layers,
    n_features: int = CriticSettings.n_features,
    steps: int = CriticSettings.steps,
    batch_size: int = CriticSettings.batch_size,
    lr: float = CriticSettings.lr,
    eval_every: int = CriticSettings.eval_every,
    patience: int = CriticSettings.patience,
    quadratic: bool = CriticSettings.quadratic,
    confidence: float = DEFAULT_CONFIDENCE,
    folds: int = DEFAULT_FOLDS,
) -> JSDEstimate:
    """JSD(real || fake) in nats from a critic fitted from scratch; see the module docstring.

    `real`, `fake`: arrays or tensors (n, d), or (n, c, h, w) for images. Deterministic for
    a fixed seed on a given device. CPU by default."""
    if isinstance(folds, bool) or not isinstance(folds, int) or not 1 <= folds <= 10:
        raise ValueError(f"estimate_jsd: folds {folds!r}; allowed: an integer from 1 (one score split) to 10")
    if fractions is None:
        fractions = CROSS_FIT_FRACTIONS if folds > 1 else DEFAULT_FRACTIONS
    if len(fractions) != 3 or min(fractions) <= 0 or sum(fractions) > 1 + 1e-9:
        raise ValueError(
            f"estimate_jsd: fractions {tuple(fractions)}; allowed: three positive parts (fit, select, score) summing to <= 1"
        )
    real_t, fake_t = _as_tensor(real, "real"), _as_tensor(fake, "fake")
    if real_t.shape[1:] != fake_t.shape[1:]:
        raise DataError(
            f"estimate_jsd: real samples are {tuple(real_t.shape[1:])} but fake samples are {tuple(fake_t.shape[1:])}"
        )
    settings = CriticSettings(
        scales=tuple(scales),
        hidden=hidden,
        layers=layers,
        n_features=n_features,
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        eval_every=eval_every,
        patience=patience,
        quadratic=quadratic,
    )
    if folds > 1:
        return _cross_fitted(
            real_t,
            fake_t,
            folds,
            seed=seed,
            device=device,
            fractions=fractions,
            settings=settings,
            confidence=confidence,
        )
    critic, parts_r, parts_f = _split_and_fit(
        real_t, fake_t, seed=seed, device=device, fractions=fractions, settings=settings
    )
    held = [critic.bounded_logits(parts[2]) for parts in (parts_r, parts_f)]
    seen = [critic.bounded_logits(torch.cat(parts[:2])) for parts in (parts_r, parts_f)]
    return score_logits(*held, confidence, critic.method, seen=seen, shortfall_floor=_bound_cost())


def _cross_fitted(
    real: torch.Tensor,
    fake: torch.Tensor,
    folds: int,
    *,
    seed: int,
    device: str | torch.device | None,
    fractions: Sequence[float],
    settings: CriticSettings,
    confidence: float,
) -> JSDEstimate:
    """Every sample scored once, by a critic fitted on the other folds (split fit : select as
    fractions[0] : fractions[1]): the value's noise is that of all n samples, not of a score split."""
    device = torch.device(device) if device is not None else torch.device("cpu")
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # conv critic initialisation
    fold_r = torch.randperm(len(real), generator=gen).tensor_split(folds)
    fold_f = torch.randperm(len(fake), generator=gen).tensor_split(folds)
    share = fractions[0] / (fractions[0] + fractions[1])
    scored: list[list[torch.Tensor]] = [[], []]
    in_sample, weight = 0.0, 0
    for k in range(folds):
        parts = []
        for x, idx in ((real, fold_r), (fake, fold_f)):
            rest = torch.cat([i for j, i in enumerate(idx) if j != k])
            n_fit = int(share * len(rest))
            parts.append([x[rest[:n_fit]], x[rest[n_fit:]], x[idx[k]]])
        (pr, pf) = parts
        critic = _fit_stacked(pr[:2], pf[:2], gen=gen, device=device, settings=settings)
        for side, x in enumerate((pr[2], pf[2])):
            scored[side].append(critic.bounded_logits(x))
        seen = critic.score(torch.cat(pr[:2]), torch.cat(pf[:2]))
        n_seen = len(pr[0]) + len(pr[1]) + len(pf[0]) + len(pf[1])
        in_sample, weight = in_sample + seen.unclipped * n_seen, weight + n_seen
    method = f"{critic.method}, {folds}-fold cross-fitted"
    return score_logits(
        torch.cat(scored[0]),
        torch.cat(scored[1]),
        confidence,
        method,
        in_sample=in_sample / weight,
        shortfall_floor=_bound_cost(),
    )


def _split_and_fit(
    real: torch.Tensor,
    fake: torch.Tensor,
    *,
    seed: int,
    device: str | torch.device | None,
    fractions: Sequence[float],
    settings: CriticSettings,
) -> tuple[StackedCritic, list[torch.Tensor], list[torch.Tensor]]:
    """Split each side into fit / select / score parts and fit the critic on the first two."""
    device = torch.device(device) if device is not None else torch.device("cpu")
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # conv critic initialisation
    parts_r = [real[i] for i in _split(len(real), fractions, gen)]
    parts_f = [fake[i] for i in _split(len(fake), fractions, gen)]
    critic = _fit_stacked(parts_r[:2], parts_f[:2], gen=gen, device=device, settings=settings)
    return critic, parts_r, parts_f


@dataclass
class StackedCritic:
    """A fitted critic: input standardisation, the candidates, the stacking layer → logits."""

    net: nn.Module
    weights: torch.Tensor
    bias: torch.Tensor
    mean: torch.Tensor | None  # None for images (no standardisation)
    std: torch.Tensor | None
    device: torch.device
    method: str

    def logits(self, x) -> torch.Tensor:
        """Logits (n,) on CPU for samples `x`; logit ≈ log p_real(x)/p_fake(x) where the critic is good."""
        x = _as_tensor(x, "x") if not isinstance(x, torch.Tensor) else x.detach().float().cpu()
        if self.mean is not None:
            x = (x - self.mean) / self.std
        return self.weights @ _logits(self.net, x.to(self.device)).cpu() + self.bias

    def bounded_logits(self, x) -> torch.Tensor:
        """`logits` bounded to ±LOGIT_BOUND: a sample where the fit split had no data cannot
        cost more than LOGIT_BOUND nats; a right one loses at most `_bound_cost()`."""
        return self.logits(x).clamp(-LOGIT_BOUND, LOGIT_BOUND)

    def score(
        self, real, fake, confidence: float = DEFAULT_CONFIDENCE, *, in_sample: float | None = None
    ) -> JSDEstimate:
        """JSD̂ of this critic on (real, fake), its logits bounded (`bounded_logits`); the
        interval's high end adds the bound's cost."""
        bounded = [self.bounded_logits(x) for x in (real, fake)]
        return score_logits(*bounded, confidence, self.method, in_sample=in_sample, shortfall_floor=_bound_cost())


def _bound_cost() -> float:
    """The most a right logit loses to the bound: log(1 + e^-LOGIT_BOUND) ≈ 5e-5 nats (read at
    call time: benchmarks/same_numbers.py changes LOGIT_BOUND)."""
    return math.log1p(math.exp(-LOGIT_BOUND))


def _fit_stacked(
    real: Sequence[torch.Tensor],
    fake: Sequence[torch.Tensor],
    *,
    gen: torch.Generator,
    device: torch.device,
    settings: CriticSettings,
) -> StackedCritic:
    """Fit the candidates on real[0] vs fake[0], early-stop and stack them on real[1] vs fake[1]."""
    mean = std = None
    if real[0].ndim == 4:
        net: nn.Module = ConvCritic(tuple(real[0].shape[1:]), channels=CONV_CHANNELS)
        method = "conv critic"
    else:
        # Standardise with statistics of the fit split only (pooled real + fake).
        pooled = torch.cat([real[0], fake[0]])
        mean, std = pooled.mean(0), pooled.std(0).clamp_min(1e-8)
        real, fake = [(p - mean) / std for p in real], [(p - mean) / std for p in fake]
        dim = real[0].shape[1]
        scaled = [s / math.sqrt(max(1.0, dim / 2)) for s in settings.scales]
        net = CriticEnsemble(dim, scaled, settings.hidden, settings.layers, settings.n_features, generator=gen)
        method = f"stacked MLP critics, Fourier scales {tuple(settings.scales)}"
    net.to(device)
    real, fake = [p.to(device) for p in real], [p.to(device) for p in fake]
    _fit_critics(
        net,
        (real[0], fake[0]),
        (real[1], fake[1]),
        steps=settings.steps,
        batch_size=settings.batch_size,
        lr=settings.lr,
        eval_every=settings.eval_every,
        patience=settings.patience,
        gen=gen,
    )
    dim = real[0][0].numel()
    if settings.quadratic and dim <= QUADRATIC_MAX_DIM:  # images: on the flattened pixels
        flat = [p.flatten(1) for p in (real[0], fake[0], real[1], fake[1])]
        net = Candidates(net, nn.Sequential(nn.Flatten(), _fit_quadratic((flat[0], flat[1]), (flat[2], flat[3]))))
        method += " + a quadratic critic"
    net.eval()
    w, b = _stack(_logits(net, real[1]).cpu(), _logits(net, fake[1]).cpu())
    return StackedCritic(net, w, b, mean, std, device, method)


def fit_critic(
    real,
    fake,
    *,
    seed: int = 0,
    device: str | torch.device | None = None,
    select_fraction: float = 0.3,
    steps: int = CriticSettings.steps,
) -> StackedCritic:
    """The estimator's critic fitted on all of `real` vs `fake` (fit / select split, no score
    split), for uses that need D ≈ D* itself, e.g. discriminator-driven sampling."""
    real_t, fake_t = _as_tensor(real, "real"), _as_tensor(fake, "fake")
    fractions = (1 - select_fraction, select_fraction, 0.0)  # no score split
    critic, _, _ = _split_and_fit(
        real_t, fake_t, seed=seed, device=device, fractions=fractions, settings=CriticSettings(steps=steps)
    )
    return critic
