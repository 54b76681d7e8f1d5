"""gan_core — the pure GAN library of gan-pipeline.

Training follows Goodfellow et al. (2014), Algorithm 1; evaluation estimates the
Jensen–Shannon divergence (standard definition, in nats) with a fresh discriminator.
This package imports torch, numpy, pandas, pydantic and matplotlib only — never an
orchestration or tracking package — so everything here runs from plain Python.

Where things are (flat modules, grouped here by role):

* theory and training — `losses` (V(G, D), MM and NS), `models` (G and D), `train`
  (Algorithm 1: `gan_step`, the loop, schedules, resume), `checkpoint`, `callbacks`;
* evaluation — `jsd` (the fresh-critic JSD̂), `critics` (its candidates), `jsd_cases` (pairs
  with exactly known JSD), `mode_metrics`, `digit_metrics`, `correction` (discriminator
  rejection sampling), `evaluate` (everything a run reports), `plots`;
* data — `datasets` (built-in mixtures, user arrays and image folders), `mixtures`;
* infrastructure — `config` (params.yaml → a typed Config), `identity` (run identity),
  `runtime` (device, precision, threads, seeds), `sweep`, `errors`.
"""

__version__ = "0.1.0"
