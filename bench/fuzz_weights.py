"""Fuzz the weight-file reader through the CLI: N mutated weight files (tests/weights_mutants.py),
each given to `nclang exec` and `nclang inspect --json` in-process. The property: every exit
status is 0 (it ran), 1 (a located error), or 3 (it ran and the output is off its encoding) —
never 70 (an internal error) and never a traceback.

    python bench/fuzz_weights.py --files 10000 --seed 1

Prints the counts per exit status and writes every file that broke the property to
`fuzz-failures/` in the working folder; exit status 1 when there was one.
"""
from __future__ import annotations

import argparse
import collections
import json
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import weights_mutants as W  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    failures = Path("fuzz-failures")
    codes: collections.Counter = collections.Counter()
    bad = 0
    start = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bases = W.build_bases(folder)
        names = sorted(bases)
        for i in range(args.files):
            name = rng.choice(names)
            data, given = bases[name]
            data = W.mutate(data, rng)
            if rng.random() < 0.3:
                data = W.mutate(data, rng)
            path, given_file = folder / f"{name}.safetensors", folder / f"{name}.json"
            path.write_bytes(data)
            given_file.write_text(json.dumps(given))
            if W.counts_too_big(path, given):
                codes["skipped (loops past MAX_ROUNDS)"] += 1
                continue
            a, b, err = W.cli_codes(path, given_file)
            codes[f"exec {a}"] += 1
            codes[f"inspect {b}"] += 1
            if a not in (0, 1, 3) or b not in (0, 1) or "Traceback" in err:
                bad += 1
                failures.mkdir(exist_ok=True)
                (failures / f"{i}-{name}.safetensors").write_bytes(data)
                (failures / f"{i}-{name}.txt").write_text(err)
            if (i + 1) % 1000 == 0:
                print(f"{i + 1} files, {bad} failures, {time.time() - start:.0f} s", flush=True)
    print(f"{args.files} mutated files (seed {args.seed}) in {time.time() - start:.0f} s: "
          + ", ".join(f"{k}: {v}" for k, v in sorted(codes.items())))
    print(f"{bad} broke the property (exit 70, another status, or a traceback)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
