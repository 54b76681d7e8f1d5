"""Prefect tasks: thin wrappers over gan_core that move files and report to MLflow."""
