"""Seeds, devices and threads: one seed for torch, numpy and Python; `auto` picks CUDA when
present; torch's CPU threads chosen on purpose (GAN_THREADS, else OMP_NUM_THREADS, else 1)."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from gan_core.errors import ConfigError

THREADS_ENV = "GAN_THREADS"


def cpu_threads() -> int:
    """Torch intra-op threads for this process: GAN_THREADS when set, else OMP_NUM_THREADS
    when set (what torch itself reads), else 1.

    One thread by default because it is the only choice that holds up on a shared machine:
    on the 2-core reference machine two threads per process ran 1.5x faster alone but 9x
    slower each beside a second training (spinning), or slower even alone when made to sleep
    (BENCHMARKS.md, "Training beside another process"). A machine that is yours alone can
    set GAN_THREADS to its cores."""
    for name in (THREADS_ENV, "OMP_NUM_THREADS"):
        given = os.environ.get(name, "").strip()
        if given:
            if not given.isdigit() or int(given) < 1:
                raise ConfigError(f"{name}: {given!r} is not allowed; give a whole number of threads, 1 or more")
            return int(given)
    return 1


def use_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads on purpose (see `cpu_threads`) and return the number."""
    n = threads or cpu_threads()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"config: 'device': '{name}' asked for, but no CUDA device is present; allowed here: auto, cpu"
        )
    return device


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for the networks' forward passes, or None for plain fp32.

    bf16 has fp32's range, so it needs no loss scaling (fp16 would); weights, optimiser
    state and the losses stay fp32. `auto` is fp32 on every device: on CPU bf16 is slower
    and bit-exact resume is promised there, and on an H200 bf16 autocast ran at 0.69-0.78x
    fp32's speed for this project's networks, whose many small kernels each gain a cast
    (BENCHMARKS.md, "GPU"). `bf16` asks for it where the card supports it."""
    if precision in ("fp32", "auto"):
        return None
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ConfigError(
            f"config: 'train.precision': bf16 asked for, but {torch.cuda.get_device_name(device)} does not support it; allowed here: auto, fp32"
        )
    return torch.bfloat16
