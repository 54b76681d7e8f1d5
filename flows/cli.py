"""Shared entry point for `python -m flows.<name>`: one clear line on a user error.

    python -m flows.train_gan --set train.loss=mm --set seed=3
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any, Callable

from gan_core.config import flatten, load_config, parse_overrides
from gan_core.errors import GanPipelineError


def main(flow: Callable[..., Any], description: str) -> None:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a params.yaml key (dotted), repeatable")
    parser.add_argument("--params", default="params.yaml", help="parameter file (default: params.yaml)")
    parser.add_argument("--root", default=".", help="project directory for outputs (default: .)")
    args = parser.parse_args()
    try:
        overrides = flatten(parse_overrides(args.overrides))
        load_config(args.params, overrides or None)  # a bad file or override: one line, before Prefect starts
        flow(overrides=overrides or None, params_path=args.params, root=args.root)
    except GanPipelineError as exc:
        logging.getLogger("gan_pipeline").debug("details", exc_info=True)
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)

