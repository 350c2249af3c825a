"""Benchmark of the JSON codec: how fast `nclang run` / `exec` turn JSON Lines into instances.

Builds --instances small random bfs instances (default 10^5, 3..8 nodes) as JSON Lines, then
times, on the same bytes in the same run: the baseline (`json.loads` of each line, no checks),
reading (`nclang.dsl.jsonio.iter_records`: strict parsing, depth and size bounds, line numbers) and
reading plus decoding (`nclang.dsl.jsonio.decode`: types, ranges, lengths, to numpy). It prints
instances per second for each and their ratio to the baseline; the ratio is the figure to
quote. It also times the decode at 1,000 .. 8,000 lines to show that it is linear (the time per
line stays flat).

    python bench/jsonio.py
    python bench/jsonio.py --instances 20000

Not run by CI (see bench/README.md).
"""
from __future__ import annotations

import argparse
import io
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nclang.dsl import jsonio  # noqa: E402
from nclang.dsl.checker import check_source, select_program  # noqa: E402


def instances(count: int, seed: int) -> bytes:
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        n = rng.randint(3, 8)
        edges = [[rng.randrange(n), rng.randrange(n)] for _ in range(rng.randint(0, 2 * n))]
        source = [rng.random() < 0.3 for _ in range(n)]
        lines.append(json.dumps({"n": n, "edges": edges, "source": source}))
    return ("\n".join(lines) + "\n").encode()


def timed(f) -> float:
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    path = ROOT / "stdlib" / "graph" / "bfs.ncl"
    checked = select_program(check_source(path.read_text(), str(path)), None, str(path))
    data = instances(args.instances, args.seed)

    def baseline():
        for line in io.BytesIO(data):
            json.loads(line)

    def read():
        for item in jsonio.iter_records(io.BytesIO(data), "in.jsonl"):
            assert not item.errors

    def read_decode():
        for item in jsonio.iter_records(io.BytesIO(data), "in.jsonl"):
            jsonio.decode(checked, item.record, {}, "in.jsonl", item.line)

    n = args.instances
    print(f"{n} bfs instances, {len(data) / 1e6:.1f} MB of JSON Lines")
    base = timed(baseline)
    print(f"{'':24} {'instances/s':>12} {'vs json.loads':>14}")
    for name, f in (("json.loads per line", None), ("iter_records", read),
                    ("iter_records + decode", read_decode)):
        t = base if f is None else timed(f)
        print(f"{name:24} {n / t:12,.0f} {base / t:14.2f}")
    print("decode time per line by input length (flat = linear):")
    for lines in (1000, 2000, 4000, 8000):
        part = b"".join(io.BytesIO(data).readlines()[:lines])
        t = timed(lambda part=part: [jsonio.decode(checked, i.record, {}, "in.jsonl", i.line)
                                     for i in jsonio.iter_records(io.BytesIO(part), "in.jsonl")])
        print(f"  {lines:5} lines: {t:6.3f} s, {t / lines * 1e6:6.1f} us a line")
    return 0


if __name__ == "__main__":
    sys.exit(main())
