"""Fuzz nclang's front end and compile path with mutated stdlib and docs programs.

    python bench/fuzz_source.py [--count 10000] [--seed 0] [--no-compile] [--show 5]

Each mutant is one or more token-level mutations (tests/source_fuzz.py) of a seed program; it is
checked and, when it checks, compiled at small sizes, all in this process. Prints how many
mutants ended where, and every distinct internal error (anything but a located NclError) with
one mutant that shows it.
Exit status 1 when there was any other internal error.
"""
from __future__ import annotations

import argparse
import collections
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from source_fuzz import check_and_compile, mutate, seeds  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--show", type=int, default=5, help="mutants to print per distinct error")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    pool = seeds()
    stages = collections.Counter()
    errors: dict[str, list[str]] = collections.defaultdict(list)
    start = time.perf_counter()
    for _ in range(args.count):
        text = rng.choice(pool)
        for _ in range(rng.choice((1, 1, 2, 3))):
            text = mutate(text, rng.choice)
        out = check_and_compile(text, compile_too=not args.no_compile)
        stages[out.stage] += 1
        if out.error:
            key = out.error.strip().splitlines()[-1][:160]
            errors[key].append(text)
    took = time.perf_counter() - start
    total = sum(len(v) for v in errors.values())
    print(f"{args.count} mutants in {took:.0f} s: " +
          ", ".join(f"{k} {v}" for k, v in sorted(stages.items())))
    print(f"internal errors: {total} ({len(errors)} distinct)")
    for key, texts in sorted(errors.items(), key=lambda kv: -len(kv[1])):
        print(f"\n== {len(texts)} × {key}")
        for t in texts[:args.show]:
            print("---\n" + t)
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
