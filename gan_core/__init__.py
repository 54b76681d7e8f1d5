"""gan_core — the pure GAN library of gan-pipeline.

Training follows Goodfellow et al. (2014), Algorithm 1; evaluation estimates the
Jensen–Shannon divergence (standard definition, in nats) with a fresh discriminator.
This package imports torch, numpy, pandas, pydantic and matplotlib only — never an
orchestration or tracking package — so everything here runs from plain Python.
"""

__version__ = "0.1.0"
