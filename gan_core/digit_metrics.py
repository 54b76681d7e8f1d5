"""An offline image metric for `digits`, beside the JSD: a classifier trained here.

A small MLP classifier is fitted on the real training split (no download, no pretrained
network). On its penultimate features we report the Fréchet distance between real
held-out and generated images (FID's formula on our own features), and the fraction of
the 10 classes the generator produces (a class counts if >= 1 % of samples fall in it).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class DigitClassifier(nn.Module):
    def __init__(self, n_in: int = 64, hidden: int = 128, n_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Flatten(), nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU()
        )
        self.head = nn.Linear(hidden, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def train_digit_classifier(
    images: np.ndarray, labels: np.ndarray, *, epochs: int = 300, seed: int = 0
) -> DigitClassifier:
    """Full-batch Adam with weight decay; ~97 % held-out accuracy on sklearn's digits."""
    torch.manual_seed(seed)
    x, y = torch.as_tensor(images, dtype=torch.float32), torch.as_tensor(labels)
    model = DigitClassifier(n_in=x[0].numel())
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    for _ in range(epochs):
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return model.eval()


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||μa − μb||² + tr(Σa + Σb − 2 (Σa^½ Σb Σa^½)^½), via symmetric eigendecompositions."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(cov_a)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    cross = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    return float(
        ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.sqrt(np.clip(cross, 0, None)).sum()
    )


def digit_metrics(
    classifier: DigitClassifier, real: np.ndarray, fake: np.ndarray, min_share: float = 0.01
) -> dict[str, float]:
    with torch.no_grad():
        feats_r = classifier.features(torch.as_tensor(real, dtype=torch.float32)).numpy().astype(np.float64)
        fake_t = torch.as_tensor(fake, dtype=torch.float32)
        feats_f = classifier.features(fake_t).numpy().astype(np.float64)
        classes = classifier(fake_t).argmax(1).numpy()
    counts = np.bincount(classes, minlength=10)
    return {
        "digits_frechet_distance": frechet_distance(feats_r, feats_f),
        "digits_class_coverage": float((counts >= max(1, min_share * len(fake))).mean()),
    }
