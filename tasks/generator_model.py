"""The registered generator as an MLflow pyfunc built from code, not from a pickle.

A model version holds this file, the weights file `generator.pt` (weights, config and run
identity; `torch.load(..., weights_only=True)` reads it) and the `gan_core` package that
rebuilds the network from the config. Loading it runs no unpickling:

    model = mlflow.pyfunc.load_model("models:/gan-generator-ring8/1")
    samples = model.predict(np.random.randn(1000, z_dim).astype(np.float32))  # z_dim: see README

Without MLflow: download `generator/artifacts/generator.pt` and call
`gan_core.checkpoint.load_generator(path)`.
"""

from __future__ import annotations

import mlflow
import numpy as np
from mlflow.pyfunc import PythonModel


class GeneratorModel(PythonModel):
    """Latent vectors z (n, z_dim) in, samples (n, *sample_shape) out."""

    def load_context(self, context) -> None:
        from gan_core.checkpoint import load_generator

        self.generator, self.saved = load_generator(context.artifacts["generator"])

    def predict(self, context, model_input, params=None) -> np.ndarray:
        import torch

        z = torch.as_tensor(np.asarray(model_input, dtype=np.float32))
        width = self.generator.z_dim  # model.z_dim, plus the data's dimension under model.g_noise
        if z.ndim != 2 or z.shape[1] != width:
            raise ValueError(f"model_input: latent vectors of shape (n, {width}) are allowed, got {tuple(z.shape)}")
        with torch.no_grad():
            return self.generator(z).numpy()


mlflow.models.set_model(GeneratorModel())
