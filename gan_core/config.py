"""Typed configuration: `params.yaml` (+ dotted overrides) → a validated `Config`.

`params.yaml` is the single source of defaults; flows and DVC pass overrides of the same
dotted keys (`train.loss=mm`). Every bad key or value is refused with one line that names
the key and what is allowed, before any work starts.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gan_core.errors import ConfigError
from gan_core.losses import GeneratorLoss

BUILTIN_DATASETS = ("ring8", "grid25", "digits")
USER_DATA_PLACEHOLDER = "data/user"  # data.path's default: a folder that exists (DVC depends on it), not a dataset


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(_Section):
    # ring8 | grid25 | digits, or any other name for a user dataset read from `path`.
    name: str = "ring8"
    # A user dataset: a .npy/.npz file of shape (n, d) or (n, c, h, w), or a folder of images.
    # The DVC prepare_data stage depends on it, so the default is a folder that exists (data/user).
    path: str | None = "data/user"
    # Samples drawn from a synthetic mixture for training (a finite, versioned dataset).
    n_train: int = Field(100_000, ge=16)
    # Real samples kept apart for evaluation only (never seen in training).
    n_heldout: int = Field(20_000, ge=16)
    # For real datasets (digits, user files): fraction held out for evaluation.
    heldout_fraction: float = Field(0.2, gt=0.0, lt=1.0)
    # Image data: resize every image to image_size x image_size (null: keep the size; a folder
    # of mixed sizes is resized to its most common size, saying so).
    image_size: int | None = Field(None, ge=8, le=1024)

    @model_validator(mode="after")
    def _user_dataset_needs_path(self) -> DataConfig:
        if self.name not in BUILTIN_DATASETS and (not self.path or self.path.rstrip("/") == USER_DATA_PLACEHOLDER):
            raise ValueError(
                f"unknown dataset '{self.name}'; allowed: {', '.join(BUILTIN_DATASETS)}, "
                "or a user dataset name with data.path set to a .npy/.npz file or an image folder"
            )
        return self


class ModelConfig(_Section):
    # Latent dimension of z ~ N(0, I).
    z_dim: int = Field(16, ge=1, le=4096)
    # Width of the MLP pair used for vector data, and the depth (hidden layers) of each side.
    # A 4-layer G leaves fewer samples between the ring's modes than 3; a 4-layer D as well lost
    # grid25 modes on some seeds (BENCHMARKS.md).
    hidden: int = Field(256, ge=4, le=8192)
    g_layers: int = Field(4, ge=1, le=16)
    # Vector data: the initial std (in units of the data's std) of learned Gaussian noise added
    # to G's output, one scale per dimension (0 = none; image data has none).
    g_noise: float = Field(0.0, ge=0.0, le=10.0)
    d_layers: int = Field(3, ge=1, le=16)
    # Base channel count of the DCGAN-style pair used for image data.
    channels: int = Field(64, ge=4, le=1024)
    # A second, "fine" discriminator for vector data (0 = none; image data has none): an MLP
    # like D that also sees `fine_d_features` random Fourier features of its input at
    # `fine_d_scale` (in units of the data's std), so it resolves a mode's shape at the scale of
    # the mode, which the plain D does not. G sees it from train.fine_d_from on, at weight
    # train.fine_d_weight; made D itself, it lost modes (BENCHMARKS.md).
    fine_d_features: int = Field(64, ge=0, le=4096)
    fine_d_scale: float = Field(4.0, gt=0.0, le=1000.0)
    # Its width (null = `hidden`): 192, three quarters of D, costs 0.84x a step of the 256-wide one
    # for the same JSD̂ on the reported seeds (BENCHMARKS.md); it stays 192 if `hidden` changes.
    fine_d_hidden: int | None = Field(192, ge=4, le=8192)


class TrainConfig(_Section):
    # ns: minimise -E log D(G(z)) (non-saturating, default); mm: minimise E log(1 - D(G(z))).
    loss: GeneratorLoss = "ns"
    # The fraction of the run after which G's loss is MM (null = `loss` throughout; with loss mm it
    # changes nothing, so `train.loss=mm` works beside any value). Algorithm 1's own loss
    # saturates only while D rejects G's samples confidently (early); MM from the start lost
    # grid25 modes early on a tuning seed; NS until a tenth of the run kept every mode on the
    # tuning seeds and most of MM's lower JSD̂ (BENCHMARKS.md, twelfth round).
    mm_from: float | None = Field(0.1, ge=0.0, le=1.0)
    # Discriminator steps per generator step (Algorithm 1's k).
    k: int = Field(1, ge=1, le=100)
    # k at the end of the run (null = k throughout; at least k): k rises from k to k_end in equal
    # parts of the run, so D keeps closer to D* late, when G's steps are small and the modes' shape is set.
    k_end: int | None = Field(2, ge=1, le=100)
    # Generator steps (both learning rates decay to zero over them).
    steps: int = Field(20_000, ge=1)
    batch_size: int = Field(256, ge=1, le=1_000_000)
    lr_g: float = Field(2.5e-4, gt=0.0, le=1.0)
    lr_d: float = Field(5e-4, gt=0.0, le=1.0)
    beta1: float = Field(0.5, ge=0.0, lt=1.0)
    beta2: float = Field(0.999, ge=0.0, lt=1.0)
    # none | linear (both learning rates decay linearly to zero over `steps`).
    lr_decay: Literal["none", "linear"] = "linear"
    # With linear decay, the rates follow (1 - t/steps) ** lr_decay_power: 1 is a straight line;
    # 2 keeps the early steps large (every mode found) and spends more of the run at small ones,
    # which round the modes (JSD̂ 0.118 → 0.078 on ring8, 0.075 → 0.051 on grid25 tuning seeds).
    lr_decay_power: float = Field(2.0, ge=0.25, le=8.0)
    # With linear decay: the fraction of the run held at the full rates before the decay starts
    # (it then runs over the rest). Large early steps find every mode (grid25 tuning seeds
    # 100-103: 25/25 on all four with 0.25, against 2 of 4 that lost modes without); the decay
    # then rounds them.
    lr_hold: float = Field(0.25, ge=0.0, lt=1.0)
    # With linear decay: the fraction of lr_d that D keeps at the last step (0 = decays to
    # zero with G's). A D that keeps learning can go on tracking D* as G's steps shrink.
    lr_d_end: float = Field(0.0, ge=0.0, le=1.0)
    # R1 penalty weight (zero-centred gradient penalty on real data; 0 = plain Algorithm 1).
    # 0.3 keeps the 4-layer G from smearing grid25; 1.0 cost ring8 quality.
    r1: float = Field(0.3, ge=0.0, le=1000.0)
    # R1 weight at the last step (null = constant r1): the weight moves log-linearly from r1
    # to r1_end. A strong early penalty holds every mode; a weak late one lets D resolve a
    # mode's shape (its gradient across a mode of std σ is ~1/σ, which R1 charges as 1/σ²).
    r1_end: float | None = Field(3e-4, gt=0.0, le=1000.0)
    # With r1_end: the fraction of the run at the full r1 before it starts moving to r1_end
    # (over the rest): the grid's modes are lost, when they are, while R1 weakens mid-run;
    # 0.25 kept every grid25 mode on 10 reported seeds where 0 lost modes on 3 (BENCHMARKS.md).
    r1_hold: float = Field(0.25, ge=0.0, lt=1.0)
    # With r1_end: the fraction of the run over which R1 falls from r1 to r1_end after the hold,
    # then stays at r1_end (null = it falls until the last step).
    r1_fall: float | None = Field(None, gt=0.0, le=1.0)
    # Lazy R1 (Karras et al. 2020): the penalty (D's and the fine D's) only on the D steps of
    # every this-many generator steps, at this many times the weight: the same penalty on
    # average for a fraction of its double-backward passes, the dearest part of a D step.
    r1_every: int = Field(1, ge=1, le=64)
    # The weight of the fine discriminator's loss in G's (model.fine_d_features), and the
    # fraction of the run after which G sees it.
    fine_d_weight: float = Field(0.1, ge=0.0, le=100.0)
    fine_d_from: float = Field(0.5, ge=0.0, le=1.0)
    # The fraction of the run after which the fine D trains (beside D; at most fine_d_from):
    # before G sees it, it only has to catch up with G, so starting it later saves its cost.
    fine_d_train_from: float = Field(0.0, ge=0.0, le=1.0)
    # The fine D's R1 weight as a fraction of D's (1 = the same schedule). R1 charges a logit
    # that changes by O(1) across a mode of std σ as ~1/σ², so a weaker one lets the fine D
    # resolve the mode's shape earlier in the run; D keeps the full R1 that holds the modes.
    # 0.1 lowered ring8 JSD̂ on every reported seed (grid25's rose, within its goal); 0 smeared
    # ring8 modes on a tuning seed (BENCHMARKS.md).
    fine_d_r1: float = Field(0.1, ge=0.0, le=1000.0)
    # Exponential moving average of the generator's weights used for sampling (0 = off).
    ema: float = Field(0.999, ge=0.0, lt=1.0)
    # auto: fp32 (bf16 autocast was slower for these networks on an H200, BENCHMARKS.md) | fp32
    # | bf16: bf16 autocast for the networks' forward passes, on a CUDA device that supports it.
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    # Write a checkpoint every this many generator steps (and at the end).
    checkpoint_every: int = Field(1_000, ge=1)
    # Hand per-step diagnostics to callbacks every this many steps (one host sync each time).
    log_every: int = Field(50, ge=1)
    # Generate samples from a fixed noise vector every this many steps.
    sample_every: int = Field(2_000, ge=1)
    # Show a progress bar (off automatically when not attached to a terminal).
    progress: bool = True
    # A fresh-critic JSD̂ of the generator every this many steps (0 = off), on `jsd_curve_n`
    # samples per side: whether more steps help or hurt. A multiple of sample_every.
    jsd_every: int = Field(10_000, ge=0)
    jsd_curve_n: int = Field(4_000, ge=100)

    @model_validator(mode="after")
    def _jsd_on_sample_steps(self) -> TrainConfig:
        if self.jsd_every % self.sample_every:
            raise ValueError(
                f"jsd_every ({self.jsd_every}) must be 0 or a multiple of train.sample_every ({self.sample_every})"
            )
        if self.fine_d_train_from > self.fine_d_from:
            raise ValueError(
                f"train.fine_d_train_from ({self.fine_d_train_from}) is after train.fine_d_from ({self.fine_d_from}), "
                "so G would see an untrained fine discriminator; allowed: 0 to fine_d_from"
            )
        if self.k_end is not None and self.k_end < self.k:
            raise ValueError(
                f"k_end ({self.k_end}) is below train.k ({self.k}); allowed: null (k throughout) or at least k"
            )
        return self


class EvaluateConfig(_Section):
    # Generated samples for the mode/quality metrics (the VEEGAN/PacGAN protocol uses 2,500).
    n_metric_samples: int = Field(2_500, ge=10)
    # Samples per side for the fresh-discriminator JSD estimate.
    n_jsd: int = Field(20_000, ge=100)
    # Most Adam steps for the estimator's critics (early stopping usually ends sooner).
    jsd_steps: int = Field(2_000, ge=10)
    # Confidence level of the JSD interval.
    confidence: float = Field(0.95, gt=0.5, lt=1.0)
    # Also score samples corrected by a discriminator fitted for it on training data:
    # none | rejection (DRS, Azadi et al. 2019). `jsd` stays the generator's own.
    correction: Literal["none", "rejection"] = "rejection"


class SweepConfig(_Section):
    """What `sweep-gan` runs (gan_core.sweep): read from the same file, never part of a run's config."""

    # Dotted key → the values to try; the members are every combination (the grid).
    grid: dict[str, list[Any]] = {"train.loss": ["mm", "ns"], "seed": [0, 1]}
    # Dotted overrides applied to every member (shorter runs than a single default run).
    overrides: dict[str, Any] = {"train.steps": 5000, "train.sample_every": 500, "train.jsd_every": 1000}
    # An existing Dask scheduler (tcp://host:8786) to run members on; null = a local cluster.
    # The environment variable GAN_DASK_ADDRESS sets it too.
    address: str | None = None
    # Worker processes of the local cluster (0 = one per CPU core).
    workers: int = Field(0, ge=0, le=1024)

    @field_validator("grid")
    @classmethod
    def _non_empty(cls, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
        if not grid:
            raise ValueError("the grid is empty; give at least one dotted key with a list of values")
        for key, values in grid.items():
            if not values:
                raise ValueError(f"grid key '{key}' has no values")
        return grid


class Config(_Section):
    # One seed for torch, numpy and Python.
    seed: int = Field(0, ge=0, le=2**31 - 1)
    # auto (CUDA when present, else CPU) | cpu | cuda | cuda:N
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$")
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    evaluate: EvaluateConfig = EvaluateConfig()

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def flat(self) -> dict[str, Any]:
        """Dotted-key view (`train.loss`), as logged to trackers."""
        return flatten(self.to_dict())


class ParamsFile(Config):
    """The whole parameter file as one model: the run config and the `sweep` section, so a bad
    key anywhere in it is refused in one line. A run's `Config` is this minus the sweep."""

    sweep: SweepConfig = SweepConfig()


def flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mapping → dotted keys: {"train": {"loss": "mm"}} → {"train.loss": "mm"}."""
    out: dict[str, Any] = {}
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _known_keys(model: type[BaseModel] = ParamsFile, prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        keys.append(prefix + name)
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            keys.extend(_known_keys(ann, prefix + name + "."))
    return keys


def _allowed_hint(err: dict[str, Any]) -> str:
    ctx = err.get("ctx") or {}
    kind = err["type"]
    if kind == "literal_error":
        return f"allowed: {ctx.get('expected')}"
    bounds = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}
    if kind in bounds:
        limit = next(iter(ctx.values()))
        return f"allowed: {bounds[kind]} {limit}"
    if kind == "string_pattern_mismatch" and "device" in map(str, err["loc"]):
        return "allowed: auto, cpu, cuda, cuda:N"
    return ""


def format_validation_error(exc: ValidationError) -> str:
    """One line per problem, naming the dotted key, the reason and the allowed values."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if p not in ("", None))
        if err["type"] == "extra_forbidden":
            near = difflib.get_close_matches(loc, _known_keys(), n=1, cutoff=0.5)
            hint = f"; did you mean '{near[0]}'?" if near else ""
            lines.append(f"config: unknown key '{loc}'{hint}")
            continue
        msg = err["msg"].removeprefix("Value error, ")
        value = err.get("input")
        got = "" if isinstance(value, (dict, list)) or value is None else f" (got {value!r})"
        hint = _allowed_hint(err)
        where = f"'{loc}'" if loc else "config"
        lines.append(f"config: {where}: {msg}{got}" + (f"; {hint}" if hint else ""))
    return "; ".join(lines)


def parse_overrides(overrides: Sequence[str] | Mapping[str, Any] | None) -> dict[str, Any]:
    """`["train.loss=mm", "seed=3"]` or `{"train.loss": "mm"}` → nested dict (YAML-typed values)."""
    if not overrides:
        return {}
    items: list[tuple[str, Any]] = []
    if isinstance(overrides, Mapping):
        items = list(overrides.items())
    else:
        for text in overrides:
            if "=" not in text:
                raise ConfigError(f"config: override '{text}' must look like key=value (e.g. train.loss=mm)")
            key, raw = text.split("=", 1)
            items.append((key.strip(), yaml.safe_load(raw) if raw.strip() else None))
    nested: dict[str, Any] = {}
    for key, value in items:
        if not key or any(not p for p in key.split(".")):
            raise ConfigError(f"config: override key '{key}' is not a dotted key like train.loss")
        node = nested
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"config: override '{key}' conflicts with another override")
        node[parts[-1]] = value
    return nested


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def validate_params(raw: Mapping[str, Any]) -> ParamsFile:
    """Validate a whole parameter mapping (run sections and `sweep`); ConfigError in one line."""
    try:
        return ParamsFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from None


def build_config(raw: Mapping[str, Any] | None = None, overrides: Any = None) -> Config:
    """Validate a raw mapping of the file (its `sweep` section too) plus overrides of the run
    config; raise ConfigError with one clear line. The result carries no sweep."""
    extra = parse_overrides(overrides)
    if "sweep" in extra:
        raise ConfigError(
            "config: 'sweep' keys are not run settings; set them in params.yaml or as sweep-gan parameters"
        )
    params = validate_params(_merge(dict(raw or {}), extra))
    return Config.model_validate(params.model_dump(exclude={"sweep"}))


def read_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    """The parameter file as a mapping of sections (missing file → {}): the one place that
    reads it, for the run config here and the `sweep` section (gan_core.sweep)."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"config: {path} is not valid YAML{where}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"config: {path} must hold a mapping of sections (data, model, train, evaluate)")
    return raw


def load_config(path: str | Path = "params.yaml", overrides: Any = None) -> Config:
    """Read `params.yaml` (missing file → all defaults) and apply dotted overrides."""
    return build_config(read_params(path), overrides)
