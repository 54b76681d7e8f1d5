"""Compute the true JSD of every case (development and validation) by Monte Carlo and cache it.

    python benchmarks/make_jsd_truth.py                 # every case → tests/data/jsd_truth.json
    python benchmarks/make_jsd_truth.py --missing       # only cases the file lacks; the rest kept

Truth = ½ E_p[log p/m] + ½ E_q[log q/m] with exact mixture log-densities, n samples a side.
"""

import argparse
import json
import time
from pathlib import Path

from gan_core.jsd_cases import all_cases
from gan_core.mixtures import mixture_jsd

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "jsd_truth.json"
N = 1_000_000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--missing", action="store_true", help="compute only the cases the file lacks")
    args = ap.parse_args()
    truths = json.loads(OUT.read_text()) if args.missing and OUT.exists() else {}
    for name, case in all_cases().items():
        if name in truths:
            continue
        p, q = case.p, case.q
        t0 = time.perf_counter()
        value, stderr = mixture_jsd(p, q, n=N, seed=12345)
        truths[name] = {"jsd": value, "stderr": stderr, "n": N}
        print(f"{name:24s} {value:.5f} ± {stderr:.5f}  ({time.perf_counter() - t0:.1f}s)", flush=True)
    truths = {name: truths[name] for name in all_cases()}  # the cases' order, none stale
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(truths, indent=2) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
