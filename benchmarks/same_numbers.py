"""Does today's code give the same quality numbers as a row recorded earlier? One run of
`gan_quality.py` (ring8, NS, seed 0 unless told) with the given overrides, compared field by
field with the recorded row of the same config fingerprint, data, loss and seed.

    OMP_NUM_THREADS=1 python benchmarks/same_numbers.py --set train.lr_decay_power=1 --no-logit-bound

`--no-logit-bound` scores the estimator's critic without its ±10 logit bound, as the code did
before the bound was added, so rows recorded before it compare exactly. The new row (and a
sha256 of the generator's weights) goes to benchmarks/results/same_numbers.jsonl.

    python benchmarks/same_numbers.py --hash models/generator.pt

prints the same sha256 of a saved generator (e.g. the one `make run` wrote) without training,
to compare with a recorded `generator_sha256`: the flow and this script trained the same weights.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
import gan_quality  # noqa: E402
from rows import EVAL_KEYS  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "same_numbers.jsonl"
COMPARED = tuple(k for k in EVAL_KEYS if k != "eval_seconds")  # every recorded number but the timing


def generator_sha256(generator) -> str:
    h = hashlib.sha256()
    for name, v in generator.state_dict().items():
        h.update(name.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--data", default="ring8")
    ap.add_argument("--loss", default="ns")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-logit-bound", action="store_true")
    ap.add_argument("--hash", metavar="GENERATOR", help="print the sha256 of a saved generator and stop")
    args = ap.parse_args()
    if args.hash:
        from gan_core.checkpoint import load_generator
        from gan_core.errors import CheckpointError

        try:
            print(generator_sha256(load_generator(args.hash, map_location="cpu")[0]))
        except CheckpointError as exc:
            sys.exit(f"error: {exc}")
        return
    import gan_core.jsd
    import gan_core.train

    if args.no_logit_bound:
        gan_core.jsd.LOGIT_BOUND = float("inf")
    config = gan_quality.fingerprint(sets=tuple(args.sets), loss=args.loss)
    recorded = [
        r
        for r in gan_quality._rows()
        if (r["config"], r["data"], r["loss"], int(r["seed"])) == (config, args.data, args.loss, args.seed)
    ]
    if not recorded:
        sys.exit(f"error: no recorded row of config {config}, {args.data} {args.loss} seed {args.seed}")
    digest = {}
    fit = gan_core.train.fit_gan

    def fit_and_hash(*a, **k):
        result = fit(*a, **k)
        digest["generator_sha256"] = generator_sha256(result.generator)
        return result

    gan_core.train.fit_gan = fit_and_hash
    gan_quality.OUT = OUT  # the new row goes here, not into the quality table
    row = gan_quality.one((args.data, args.loss, args.seed, tuple(args.sets)))
    with open(OUT, "a") as f:
        f.write(json.dumps({**digest, "logit_bound": not args.no_logit_bound, "config": config}) + "\n")
    before = recorded[0]
    differ = [k for k in COMPARED if k in before and before[k] != row.get(k)]
    for k in COMPARED:
        if k in before:
            print(f"{k:24s} recorded {before[k]!s:>10} ({before.get('date')})  now {row.get(k)!s:>10}")
    print("SAME NUMBERS" if not differ else f"DIFFERENT: {', '.join(differ)}")


if __name__ == "__main__":
    main()
