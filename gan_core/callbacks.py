"""The small interface through which the training loop reports, with a no-op default.

Tracking (MLflow) and orchestration (Prefect) attach here from outside the library, so the
loop and most tests need no server.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from gan_core.train import TrainResult


class Callback:
    """Override what you need; every hook does nothing by default."""

    def on_start(self, generator, discriminator) -> None:
        """Training starts (or resumes) with these networks."""

    def on_step(self, step: int, metrics: dict[str, float]) -> None:
        """Diagnostics of generator step `step` (1-based), delivered in batches of `log_every`."""

    def on_samples(self, step: int, samples: np.ndarray) -> None:
        """Samples from the fixed noise vector, every `sample_every` steps."""

    def on_checkpoint(self, step: int, path: Path) -> None:
        """A checkpoint was written atomically at `path`."""

    def on_resume(self, step: int, path: Path) -> None:
        """Training continues from the checkpoint at `path`, made at generator step `step`."""

    def on_end(self, result: TrainResult) -> None:
        """Training finished."""


class CallbackList(Callback):
    def __init__(self, callbacks: list[Callback] | tuple[Callback, ...] = ()):
        self.callbacks = list(callbacks)

    def _each(self, name: str, *args: Any) -> None:
        for cb in self.callbacks:
            getattr(cb, name)(*args)

    def on_start(self, generator, discriminator):
        self._each("on_start", generator, discriminator)

    def on_step(self, step, metrics):
        self._each("on_step", step, metrics)

    def on_samples(self, step, samples):
        self._each("on_samples", step, samples)

    def on_checkpoint(self, step, path):
        self._each("on_checkpoint", step, path)

    def on_resume(self, step, path):
        self._each("on_resume", step, path)

    def on_end(self, result):
        self._each("on_end", result)
