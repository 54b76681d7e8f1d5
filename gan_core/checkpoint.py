"""Checkpoints in one place: one dict, one `save_checkpoint`, one `load_checkpoint`.

The dict holds the step, G (and its moving average), D, both optimisers, the RNG state,
the resolved config, the diagnostics so far and a format version. Writes are atomic
(temp file, fsync, rename); loads use `weights_only=True`, so a file can hold no code.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from gan_core.errors import CheckpointError, OutputError
from gan_core.identity import training_config

log = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: the run identity (config with steps, data, code) is part of every file
REQUIRED_KEYS = (
    "format_version",
    "step",
    "generator",
    "discriminator",
    "opt_g",
    "opt_d",
    "rng",
    "config",
    "history",
    "identity",
)


def atomic_write(path: Path, write) -> None:
    """Call `write(tmp_path)`, fsync, then rename over `path`: readers never see half a file,
    and a failed write leaves the previous file as it was."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temporaries(path)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise _unwritable(path, exc) from None
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _unwritable(path, exc) from None
        raise


STALE_TMP_SECONDS = 600


def _remove_stale_temporaries(path: Path) -> None:
    """Temporaries of `path` left by a writer killed mid-write (older than STALE_TMP_SECONDS,
    so a concurrent writer's file in flight is left alone)."""
    now = time.time()
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        try:
            if now - tmp.stat().st_mtime > STALE_TMP_SECONDS:
                tmp.unlink()
        except OSError:
            pass


def _unwritable(path: Path, exc: OSError) -> OutputError:
    return OutputError(
        f"output: cannot write '{path}' ({exc.strerror or type(exc).__name__}); use a writable --root or free the path"
    )


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    path = Path(path)
    atomic_write(path, lambda tmp: torch.save({"format_version": FORMAT_VERSION, **state}, tmp))
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and check a checkpoint; any problem is one line naming the file."""
    path = Path(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint: '{path}' does not exist") from None
    except Exception as exc:
        raise CheckpointError(
            f"checkpoint: '{path}' is truncated or corrupt and cannot be loaded ({type(exc).__name__})"
        ) from None
    if not isinstance(state, dict) or any(k not in state for k in REQUIRED_KEYS):
        raise CheckpointError(f"checkpoint: '{path}' is not a gan-pipeline checkpoint (missing keys)")
    if state["format_version"] != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint: '{path}' has format {state['format_version']}; this version reads {FORMAT_VERSION}"
        )
    return state


# The parts of a training that a checkpoint holds, by their key in the dict: the networks
# (`generator_ema` may be None) and both optimisers, anything with state_dict/load_state_dict.
Parts = Mapping[str, Any]


def training_state(
    step: int, parts: Parts, rng: torch.Generator, config: dict, history: dict, identity: dict
) -> dict[str, Any]:
    """The checkpoint dict of a training at `step` (what `save_checkpoint` writes)."""
    return {
        "step": step,
        **{name: part.state_dict() if part is not None else None for name, part in parts.items()},
        "rng": {"loop": rng.get_state(), "torch": torch.get_rng_state()},
        "config": config,
        "history": history,
        "identity": identity,
    }


def restore_training_state(
    state: dict[str, Any], parts: Parts, rng: torch.Generator, *, reseed: int, path: Path
) -> None:
    """Load a checkpoint dict into `parts` and `rng` (the inverse of `training_state`)."""
    try:
        for name, part in parts.items():
            if part is not None:
                part.load_state_dict(state[name])
        restore_rng(rng, state["rng"]["loop"], reseed=reseed)
        torch.set_rng_state(state["rng"]["torch"].cpu())
    except (RuntimeError, KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(
            f"checkpoint: '{path}' does not fit the models ({type(exc).__name__}); it was tampered with or made by another version"
        ) from None


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
    log.warning(
        "checkpoint: its noise stream was made on another kind of device; continuing with a fresh stream (seed %d)",
        reseed,
    )
    rng.manual_seed(reseed)
    return False


def config_mismatch(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Dotted keys whose values differ in a way that makes resuming a different run."""
    a, b = training_config(saved), training_config(current)
    return [
        f"{key}: checkpoint {a.get(key)!r} vs now {b.get(key)!r}"
        for key in sorted(set(a) | set(b))
        if a.get(key) != b.get(key)
    ]


def save_generator(
    path: str | Path,
    generator: torch.nn.Module,
    config: dict[str, Any],
    sample_shape: tuple[int, ...],
    identity: dict[str, str],
) -> Path:
    """The final generator with the config and run identity that made it (weights only, atomic)."""
    path = Path(path)
    state = {
        "format_version": FORMAT_VERSION,
        "state_dict": generator.state_dict(),
        "config": config,
        "sample_shape": list(sample_shape),
        "identity": identity,
    }
    atomic_write(path, lambda tmp: torch.save(state, tmp))
    return path


def load_generator(
    path: str | Path, map_location: str | torch.device = "cpu"
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild a generator saved by `save_generator`: (module in eval mode, the saved dict
    less the weights: config, sample_shape, identity)."""
    from gan_core.config import Config
    from gan_core.models import build_models

    path = Path(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
        cfg = Config.model_validate(state["config"])
        generator, _ = build_models(cfg.model, tuple(state["sample_shape"]))
        generator.load_state_dict(state["state_dict"])
    except FileNotFoundError:
        raise CheckpointError(f"generator: '{path}' does not exist; run the fit_gan stage first") from None
    except Exception as exc:
        raise CheckpointError(
            f"generator: '{path}' is truncated, corrupt or incompatible ({type(exc).__name__})"
        ) from None
    return generator.to(map_location).eval(), {k: v for k, v in state.items() if k != "state_dict"}
