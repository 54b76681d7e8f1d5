"""Prefect flows: prepare-data → fit-gan → evaluate-gan, and train-gan chaining them."""

import os

# No phoning home from a local temporary server (no network is assumed); users may override.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("MLFLOW_ENABLE_TELEMETRY", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
# gan_core's own log lines (resume, data warnings, the end of training) reach the Prefect run log.
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "gan_core")
# Idle OpenMP threads sleep instead of spinning: with spinning, two torch processes on the same
# cores ran 16x slower each instead of 2x (BENCHMARKS.md, contention). Read when torch loads,
# so it is set here, before any flow imports torch.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# Without a running server (`dvc repro` outside `make run`) Prefect starts a temporary one and waits
# 20 s for it by default; on a busy 2-core machine that start took longer and failed the stage.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
