"""Prefect tasks: thin wrappers over gan_core that move files and report to MLflow."""

import os

# Idle OpenMP threads sleep instead of spinning (see flows/__init__.py); set before torch loads,
# also in processes that import the tasks first (Dask workers).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
