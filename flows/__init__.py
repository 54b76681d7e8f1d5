"""Prefect flows: prepare-data → fit-gan → evaluate-gan, and train-gan chaining them."""

import os

# No phoning home from a local temporary server (no network is assumed); users may override.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("MLFLOW_ENABLE_TELEMETRY", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
