"""Compute the true JSD of every case (development and validation) by Monte Carlo and cache it.

    python benchmarks/make_jsd_truth.py        # writes tests/data/jsd_truth.json

Truth = ½ E_p[log p/m] + ½ E_q[log q/m] with exact mixture log-densities, n samples a side.
"""

import json
import time
from pathlib import Path

from gan_core.jsd_cases import all_cases
from gan_core.mixtures import mixture_jsd

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "jsd_truth.json"
N = 1_000_000


def main() -> None:
    truths = {}
    for name, case in all_cases().items():
        p, q = case.p, case.q
        t0 = time.perf_counter()
        value, stderr = mixture_jsd(p, q, n=N, seed=12345)
        truths[name] = {"jsd": value, "stderr": stderr, "n": N}
        print(f"{name:24s} {value:.5f} ± {stderr:.5f}  ({time.perf_counter() - t0:.1f}s)", flush=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(truths, indent=2) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
