"""Benchmark of the mlp target: compiled throughput against the reference interpreter, and network
depth and width against k, for stdlib bits programs.

For each program and k it compiles the program (relu, float32), draws one set of random inputs,
runs the interpreter on each input and the network on all of them in one batch, checks that every
output agrees exactly, and prints one table row. Both throughputs are measured in the same run on
the same inputs, so their ratio is meaningful where absolute numbers are not.

    python bench/mlp.py                      # add parity multiply popcount at k = 8 16 32 64
    python bench/mlp.py --programs add --ks 8 16 --inputs 2000

Not run by CI (see bench/README.md).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nclang import stdlib  # noqa: E402
from nclang.compiler.driver import compile_checked, read_source  # noqa: E402
from nclang.compiler.testing import outputs_agree  # noqa: E402
from nclang.dsl import types as T  # noqa: E402
from nclang.dsl.checker import check_source, select_program  # noqa: E402
from nclang.dsl.diagnostics import NclError  # noqa: E402
from nclang.dsl.interpreter import run as interpret  # noqa: E402
from nclang.dsl.sizes import eval_size  # noqa: E402
from nclang.dsl.values import Instance  # noqa: E402

PROGRAMS = ("add", "parity", "multiply", "popcount")
KS = (8, 16, 32, 64)


def random_instances(checked, sizes: dict[str, int], count: int, rng) -> list[Instance]:
    """`count` inputs with uniformly random bits (the benchmarked programs take bits only)."""
    out = []
    for _ in range(count):
        values = {}
        for p in checked.program.params:
            t = T.from_syntax(p.type)
            if not (isinstance(t, T.Field) and t.bits):
                raise SystemExit(f"bench/mlp.py draws bits[...] inputs only; {p.name} is {t}")
            width = eval_size(t.axes[0].size, sizes)
            values[p.name] = rng.integers(0, 2, size=width).astype(np.bool_)
        out.append(Instance(sizes=dict(sizes), values=values))
    return out


def timed(f, min_seconds: float):
    """(result of the last call, seconds per call): repeated until `min_seconds` have passed, so
    that a fast batch is not timed by a single short call. One untimed call first: torch sets
    itself up on the first call, and that belongs to loading, not to throughput."""
    f()
    calls, start = 0, time.perf_counter()
    while True:
        result = f()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return result, elapsed / calls


def bench_one(name: str, k: int, count: int, rng, folder: Path, min_seconds: float) -> dict:
    from nclang.compiler.runtime import load
    path = stdlib.path(f"bits/{name}")
    source = read_source(path)
    checked = select_program(check_source(source.text, source.file), None, source.file)
    sizes = {"k": k}
    out = folder / f"{name}_{k}.safetensors"
    try:
        compiled = compile_checked(source, checked, out, "mlp", sizes, "relu")
    except NclError as err:
        return {"program": name, "k": k, "skip": err.diagnostics[0].message}
    layers = compiled.meta["architecture"]["layers"]
    net = load(out)
    inputs = random_instances(checked, sizes, count, rng)

    start = time.perf_counter()
    expected = [interpret(checked, inst) for inst in inputs]
    interp_s = time.perf_counter() - start
    got, net_s = timed(lambda: net.run(inputs), min_seconds)
    fwd_s = _forward_seconds(net, inputs, min_seconds)
    exact = sum(not outputs_agree(checked, e, g) for e, g in zip(expected, got))
    return {
        "program": name, "k": k,
        "depth": len(layers),
        "width": max(layer["out"] for layer in layers),
        "params": int(sum(np.asarray(t).size for t in compiled.tensors.values())),
        "predicted": _layers_at(compiled.meta["analysis"]["cost"].get("layers"), sizes),
        "interp": count / interp_s, "net": count / net_s, "fwd": count / fwd_s,
        "exact": exact, "count": count,
    }


def _forward_seconds(net, inputs, min_seconds: float) -> float:
    """Seconds per forward pass of the module alone on the already encoded batch: the network's
    own cost, without turning instances into features and outputs back into values."""
    import torch
    from nclang.compiler.runtime import exact_matmul
    from nclang.compiler.runtime.encoding import encode_inputs
    x = torch.from_numpy(encode_inputs(inputs, net.inputs, net.width_in)).to(net.dtype)

    def forward():
        with exact_matmul(), torch.inference_mode():
            return net.module(x)

    return timed(forward, min_seconds)[1]


def _ratio(r: float) -> str:
    return f"{r:,.0f}x" if r >= 10 else f"{r:.2g}x"


def _layers_at(formula: str | None, sizes: dict[str, int]):
    """The analysis' layer count (a formula in the sizes, read from a weight file) at these
    sizes: through the closed grammar of `nclang.compiler.formula`, never sympify."""
    if formula is None:
        return None
    from nclang.compiler import formula as F
    return round(F.evaluate(F.parse(formula, tuple(sizes)), sizes))


def table(rows: list[dict]) -> str:
    head = ("program", "k", "depth", "width", "params", "interp in/s", "net in/s", "net/interp",
            "fwd in/s", "fwd/interp", "exact")
    lines = [head]
    for r in rows:
        if "skip" in r:
            lines.append((r["program"], str(r["k"])) + ("-",) * (len(head) - 3)
                         + (f"skipped: {r['skip']}",))
            continue
        lines.append((r["program"], str(r["k"]), str(r["depth"]), str(r["width"]),
                      str(r["params"]), f"{r['interp']:,.0f}", f"{r['net']:,.0f}",
                      _ratio(r["net"] / r["interp"]), f"{r['fwd']:,.0f}",
                      _ratio(r["fwd"] / r["interp"]), f"{r['exact']}/{r['count']}"))
    # the last column is left unpadded: it holds the long reasons for skipped rows
    widths = [max(len(line[i]) for line in lines) for i in range(len(head) - 1)] + [0]
    text = []
    for j, line in enumerate(lines):
        cells = [c.rjust(w) if 0 < i else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths))]
        text.append("  ".join(cells).rstrip())
        if j == 0:
            text.append("  ".join("-" * max(w, len(c)) for w, c in zip(widths, head)))
    return "\n".join(text)


def _child(args) -> int:
    """One row, in this process: print it as one JSON line."""
    import resource
    limit = int(args.memory_gb * 2 ** 30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import torch
    torch.set_num_threads(args.threads)
    name, k = args.one[0], int(args.one[1])
    rng = np.random.default_rng([args.seed, k, sum(map(ord, name))])
    with tempfile.TemporaryDirectory() as folder:
        try:
            row = bench_one(name, k, args.inputs, rng, Path(folder), args.min_seconds)
        except MemoryError:
            row = {"program": name, "k": k,
                   "skip": f"needs more than {args.memory_gb:g} GB of memory (--memory-gb)"}
    print(json.dumps(row))
    return 0


def _row(args, name: str, k: int) -> dict:
    """One row, in a child process: a network too large for the machine fails there, under a
    memory limit, instead of taking the benchmark (or a neighbour) down with it."""
    command = [sys.executable, __file__, "--one", name, str(k), "--inputs", str(args.inputs),
               "--seed", str(args.seed), "--min-seconds", str(args.min_seconds),
               "--memory-gb", str(args.memory_gb), "--threads", str(args.threads)]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"program": name, "k": k, "skip": f"took over {args.timeout:g} s (--timeout)"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode == 0 and lines:
        return json.loads(lines[-1])
    last = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
    if "MemoryError" in last or "out of memory" in last.lower() or proc.returncode == -9:
        last = f"needs more than {args.memory_gb:g} GB of memory (--memory-gb)"
    return {"program": name, "k": k, "skip": last}


def _total_memory_gb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    except (ValueError, OSError, AttributeError):
        return 8.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", nargs="+", default=list(PROGRAMS), metavar="NAME",
                        help="stdlib/bits programs (default: %(default)s)")
    parser.add_argument("--ks", nargs="+", type=int, default=list(KS), metavar="K",
                        help="bit widths (default: %(default)s)")
    parser.add_argument("--inputs", type=int, default=1000,
                        help="inputs per program and k, the same for both (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-seconds", type=float, default=0.5,
                        help="time the network's batch for at least this long (default 0.5)")
    parser.add_argument("--memory-gb", type=float, default=round(_total_memory_gb() / 2, 1),
                        help="memory limit of each row's process (default: half the machine's)")
    parser.add_argument("--timeout", type=float, default=900,
                        help="seconds each row may take (default 900)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: the interpreter runs on one core too, so "
                             "the ratio compares the two, not the core count)")
    parser.add_argument("--one", nargs=2, metavar=("NAME", "K"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        return _child(args)

    import torch
    print(f"torch {torch.__version__}, float32, cpu, {args.threads} thread(s); "
          f"{args.inputs} random inputs per row, the network run as one batch")
    rows = []
    for name in args.programs:
        for k in args.ks:
            row = _row(args, name, k)
            rows.append(row)
            if "skip" in row:
                print(f"  {name} k={k}: skipped: {row['skip']}", flush=True)
            else:
                print(f"  {name} k={k}: depth {row['depth']} (analysis: {row['predicted']}),"
                      f" exact on {row['exact']}/{row['count']}", flush=True)
    print()
    print(table(rows))
    wrong = [r for r in rows if "skip" not in r and r["exact"] != r["count"]]
    if wrong:
        names = ", ".join(f"{r['program']} k={r['k']}" for r in wrong)
        print(f"\nNOT EXACT: {names}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
