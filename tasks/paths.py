"""Where each stage reads and writes (the DVC outs in dvc.yaml use the same paths)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Paths:
    root: Path

    @classmethod
    def at(cls, root: str | Path = ".") -> Paths:
        return cls(Path(root).resolve())

    @property
    def prepared(self) -> Path:
        return self.root / "data" / "prepared" / "dataset.npz"

    @property
    def checkpoints(self) -> Path:
        return self.root / "models" / "checkpoints"

    @property
    def generator(self) -> Path:
        return self.root / "models" / "generator.pt"

    @property
    def run_file(self) -> Path:
        return self.root / "models" / "run.json"

    @property
    def curves(self) -> Path:
        return self.root / "plots" / "curves.csv"

    @property
    def samples_plot(self) -> Path:
        return self.root / "plots" / "samples.png"

    @property
    def modes_plot(self) -> Path:
        return self.root / "plots" / "modes.png"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics" / "eval.json"
