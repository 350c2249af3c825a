"""Every benchmark in one run, printed as tables of ratios measured in that run (not run by CI;
docs/performance.md is this script's output, with the machine and its load).

    python bench/run_all.py                  # n = 10^4, 10^5; every stdlib program's cold compile
    python bench/run_all.py --million        # and n = 10^6 (minutes, a few GiB)
    python bench/run_all.py --smoke          # the smallest size of everything (seconds)

Sections, each against what it is compared with in the same run:
- GNN: `bench/gnn.py` on random graphs (m = 4n): one compiled round / one bare gather +
  `scatter_reduce` over the same edges, compiled / scipy, compiled / networkx, exactness.
- Cold compile: `nclang check` and `nclang compile` of every stdlib program in fresh processes
  (median of `--compile-repeat`), against tracr's quoted 3.3–5.3 s.
- Throughput: MLP (stdlib/bits) and transformer (stdlib/seq) batches through `CompiledNet.run`,
  inputs per second against the interpreter on the same inputs (`bench/mlp.py`'s `bench_one`).
- I/O: `nclang exec` of bellman_ford end to end (a fresh process) on the 10^5-node graph as .npz
  and as JSON; reading and decoding that JSON against `json.loads` plus one numpy conversion;
  decoded output elements per second for `add` at k = 32.

The script exits 1 if any compiled result is not exact.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

TRACR_COLD_S = (3.3, 5.3)  # tracr's cold compile of its library programs (tracr.md)
GNN_PROGRAMS = ("bfs", "bfs_distance", "bellman_ford", "connected_components")
# the size a cold compile gives each size variable its program's input does not fix
COMPILE_SIZE = 8


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, torch "
            f"{torch.__version__} ({torch.get_num_threads()} threads by default)")


def load_average() -> str:
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "unknown"


def _nclang(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nclang.compiler.cli", *map(str, args)],
                          capture_output=True, text=True, **kw)


class Failed(Exception):
    """An nclang command of the benchmark exited with an error (its stderr is the message)."""


def _wall(*args) -> float:
    t = time.perf_counter()
    proc = _nclang(*args)
    if proc.returncode != 0:
        raise Failed(f"nclang {' '.join(map(str, args))}: {proc.stderr.strip()[-300:]}")
    return time.perf_counter() - t


def _open_sizes(path: Path) -> list[str]:
    """`--size V=8` for each size variable of the file's program that its input does not fix
    (a graph fixes n and m; a sequence program's n is the transformer's length, so it is given)."""
    doc = json.loads(_nclang("check", "--json", path).stdout)
    (program,) = doc["programs"]
    fixed = {"n", "m"} if program["family"] == "graph" else set()
    return [a for v in program["size_vars"] if v not in fixed
            for a in ("--size", f"{v}={COMPILE_SIZE}")]


# ---------------------------------------------------------------- GNN

def gnn_section(sizes: list[int], programs, repeat: int, threads: int) -> tuple[str, bool]:
    """bench/gnn.py's rows for random graphs at `sizes` as a ratio table; (table, all exact)."""
    cmd = [sys.executable, str(BENCH / "gnn.py"), "--sizes", *map(str, sizes), "--path", "0",
           "--programs", *programs, "--repeat", str(repeat), "--threads", str(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| random")]
    header = [c.strip() for c in next(line for line in proc.stdout.splitlines()
                                      if line.startswith("| graph")).strip("|").split("|")]
    out = ["| graph | program | rounds | compiled s | round / scatter floor | compiled / scipy "
           "| compiled / networkx | compiled peak MiB | exact |", "|---" * 9 + "|"]
    exact = proc.returncode == 0
    for line in rows:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != len(header) or "skipped" in line or "failed" in line:
            # shown as gnn.py gave it (a skipped row has as many cells as a measured one)
            out.append(line)
            exact = exact and "failed" not in line
            continue
        r = dict(zip(header, cells))
        out.append(f"| {r['graph']} | {r['program']} | {r['rounds']} | {r['compiled s']} | "
                   f"{r['round/scatter floor']} | {r['compiled/scipy']} | "
                   f"{r['compiled/networkx']} | {r['compiled peak MiB']} | {r['exact']} |")
    if proc.returncode not in (0, 1) or not rows:
        out.append(f"gnn.py failed: {proc.stderr.strip()[-500:]}")
        exact = False
    return "\n".join(out), exact


# ---------------------------------------------------------------- cold compile

def stdlib_programs(only=None) -> list[tuple[str, Path]]:
    found = sorted((p.parent.name, p) for p in (ROOT / "stdlib").glob("*/*.ncl"))
    return [(family, p) for family, p in found if not only or p.stem in only]


def compile_section(repeat: int, only=None) -> tuple[str, float]:
    """Median wall seconds of `repeat` fresh `check` and `compile` processes per program."""
    out = [f"| program | check s (median of {repeat}) | compile s (median of {repeat}, open sizes "
           f"= {COMPILE_SIZE}) | "
           f"compile / tracr {TRACR_COLD_S[0]} s | compile / tracr {TRACR_COLD_S[1]} s |",
           "|---|---|---|---|---|"]
    worst = 0.0
    with tempfile.TemporaryDirectory() as folder:
        for family, path in stdlib_programs(only):
            extra = _open_sizes(path)
            target = Path(folder) / f"{path.stem}.safetensors"
            try:
                check = statistics.median(_wall("check", path) for _ in range(repeat))
                comp = statistics.median(_wall("compile", path, "-o", target, *extra)
                                         for _ in range(repeat))
            except Failed as err:
                out.append(f"| {family}/{path.stem} | failed: {err} | | | |")
                continue
            worst = max(worst, check, comp)
            out.append(f"| {family}/{path.stem} | {check:.2f} | {comp:.2f} | "
                       f"{comp / TRACR_COLD_S[0]:.2f} | {comp / TRACR_COLD_S[1]:.2f} |")
    return "\n".join(out), worst


# ---------------------------------------------------------------- throughput

def throughput_section(count: int, min_seconds: float, mlp_cases, seq_cases) -> tuple[str, bool]:
    import mlp as mlp_bench
    out = ["| target | program | size | inputs | interpreter in/s | compiled in/s | "
           "compiled / interpreter | exact |", "|---|---|---|---|---|---|---|---|"]
    exact = True
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        for name, k in mlp_cases:
            r = mlp_bench.bench_one(name, k, count, rng, Path(folder), min_seconds)
            if "skip" in r:
                out.append(f"| mlp | {name} | k={k} | — | skipped: {r['skip']} | | | |")
                continue
            ok = r["exact"] == r["count"]  # bench_one counts the inputs that agree
            exact &= ok
            out.append(f"| mlp | {name} | k={k} | {count} | {r['interp']:,.0f} | "
                       f"{r['net']:,.0f} | {r['net'] / r['interp']:.1f} | "
                       f"{'yes' if ok else 'NO'} |")
        for name, n in seq_cases:
            r = _transformer_one(name, n, count, rng, Path(folder), min_seconds)
            exact &= r["exact"]
            out.append(f"| transformer | {name} | n={n} | {count} | {r['interp']:,.0f} | "
                       f"{r['net']:,.0f} | {r['net'] / r['interp']:.1f} | "
                       f"{'yes' if r['exact'] else 'NO'} |")
    return "\n".join(out), exact


def _transformer_one(name: str, n: int, count: int, rng, folder: Path, min_seconds: float):
    import mlp as mlp_bench
    from nclang.compiler.driver import compile_checked, read_source
    from nclang.compiler.runtime import load
    from nclang.compiler.testing.property import outputs_agree
    from nclang.dsl.checker import check_source
    from nclang.dsl.interpreter import run
    from nclang.dsl.values import Instance
    src = read_source(ROOT / "stdlib" / "seq" / f"{name}.ncl")
    checked = check_source(src.text, src.file)[0]
    out = folder / f"{name}{n}.safetensors"
    res = compile_checked(src, checked, out, sizes={"n": n})
    net = load(out)
    vocab = res.meta["encodings"]["vocab"]
    insts = []
    for _ in range(count):  # full length: one batch of equal-length sequences
        if isinstance(vocab[0], str):
            toks = np.array([vocab[i] for i in rng.integers(0, len(vocab), n)], object)
        else:
            toks = rng.permutation(64)[:n].astype(float)
        insts.append(Instance(sizes={"n": n}, values={"tokens": toks}))
    t = time.perf_counter()
    expected = [run(checked, inst) for inst in insts]
    interp = count / (time.perf_counter() - t)
    got, per_call = mlp_bench.timed(lambda: net.run(insts), min_seconds)
    ok = all(not outputs_agree(checked, e, g) for e, g in zip(expected, got))
    return {"interp": interp, "net": count / per_call, "exact": ok}


# ---------------------------------------------------------------- I/O

def io_section(n: int, repeat: int) -> tuple[str, bool]:
    """exec of bellman_ford end to end on one random graph (npz and JSON), JSON decoding
    against json.loads + numpy, and batch output decoding for add at k = 32."""
    from nclang.compiler.runtime import load
    from nclang.compiler.runtime.encoding import decode_outputs
    from nclang.dsl.jsonio import decode, iter_records
    rng = np.random.default_rng(n)
    m = 4 * n
    edges = np.stack([rng.integers(0, n, m), rng.integers(0, n, m)], 1)
    w = rng.integers(1, 1001, m)
    source = np.zeros(n, bool)
    source[0] = True
    rows = ["| measure | value | compared with | ratio |", "|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as folder:
        f = Path(folder)
        np.savez(f / "g.npz", n=np.int64(n), edges=edges, w=w, source=source)
        text = json.dumps({"n": n, "edges": edges.tolist(), "w": w.tolist(),
                           "source": source.tolist()})
        (f / "g.json").write_text(text + "\n")
        weights = f / "bf.safetensors"
        _wall("compile", ROOT / "stdlib" / "graph" / "bellman_ford.ncl", "-o", weights)
        npz_s = statistics.median(_wall("exec", weights, "-i", f / "g.npz", "-o", f / "a.json")
                                  for _ in range(repeat))
        json_s = statistics.median(_wall("exec", weights, "-i", f / "g.json", "-o",
                                         f / "b.json") for _ in range(repeat))
        same = (f / "a.json").read_bytes() == (f / "b.json").read_bytes()
        rows.append(f"| `nclang exec` bellman_ford, n={n:,} m={m:,}, .npz (fresh process, median "
                    f"of {repeat}) | {npz_s:.2f} s | the same graph as JSON: {json_s:.2f} s | "
                    f"{npz_s / json_s:.2f} |")
        net = load(weights)
        data = text.encode()
        base = min(_seconds(lambda: [np.asarray(v) for v in json.loads(data).values()])
                   for _ in range(3))
        ours = min(_seconds(lambda: decode(net.signature, next(iter_records(
            io.BytesIO(data), "g.json")).record, net.sizes, "g.json")) for _ in range(3))
        rows.append(f"| JSON read + decode of that graph (`iter_records` + `decode`) | "
                    f"{ours:.3f} s | `json.loads` + one `np.asarray` per field: {base:.3f} s "
                    f"| {ours / base:.2f} |")
        _wall("compile", ROOT / "stdlib" / "bits" / "add.ncl", "-o", f / "add.safetensors",
              "--size", "k=32")
        add = load(f / "add.safetensors")
        y = np.random.default_rng(1).integers(0, 2, (20000, add.width_out)).astype(np.float64)
        secs = min(_seconds(lambda: decode_outputs(y, add.outputs)) for _ in range(3))
        elements = y.shape[0] * sum(s.size for s in add.outputs)
        rows.append(f"| decoded output elements per second, `add` k=32, batches of 20,000 | "
                    f"{elements / secs / 1e6:.1f} M/s | the issue's floor: 1 M/s | "
                    f"{elements / secs / 1e6:.1f} |")
    return "\n".join(rows), same


def _seconds(f) -> float:
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--million", action="store_true", help="also n = 10^6 (m = 4·10^6)")
    ap.add_argument("--repeat", type=int, default=2, help="timed runs per GNN row (best)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--compile-repeat", type=int, default=5)
    ap.add_argument("--inputs", type=int, default=1000, help="inputs per throughput row")
    ap.add_argument("--io-nodes", type=int, default=100_000)
    ap.add_argument("--smoke", action="store_true",
                    help="the smallest size of everything: checks that the command runs")
    args = ap.parse_args(argv)
    sizes = args.sizes + ([1_000_000] if args.million else [])
    programs, only = GNN_PROGRAMS, None
    mlp_cases = [("add", 32), ("parity", 32), ("multiply", 8), ("popcount", 32)]
    seq_cases = [("reverse", 16), ("hist", 16), ("sort", 16)]
    if args.smoke:
        sizes, programs, only = [1000], ("bfs",), ("bfs", "parity")
        args.repeat = args.compile_repeat = 1
        args.inputs, args.io_nodes = 50, 1000
        mlp_cases, seq_cases = [("parity", 8)], [("reverse", 5)]
    started, load_before = time.time(), load_average()
    print(f"# nclang benchmarks, {time.strftime('%Y-%m-%d %H:%M', time.gmtime(started))} UTC\n")
    print(f"Machine: {machine()}. Load average (1, 5, 15 min) at the start: {load_before}.")
    command = " ".join(["python bench/run_all.py", *(sys.argv[1:] if argv is None else argv)])
    print(f"Command: `{command}`.\n", flush=True)
    failed = False
    table, exact = gnn_section(sizes, programs, args.repeat, args.threads)
    failed |= not exact
    print("## GNN: one compiled round against the bare scatter floor, scipy and networkx\n")
    print(table + "\n", flush=True)
    table, worst = compile_section(args.compile_repeat, only)
    print("## Cold compile (fresh processes) against tracr's quoted 3.3–5.3 s\n")
    print(table + f"\n\nSlowest median: {worst:.2f} s.\n", flush=True)
    table, exact = throughput_section(args.inputs, 0.2 if args.smoke else 0.5, mlp_cases,
                                      seq_cases)
    failed |= not exact
    print("## Batch throughput against the interpreter (same inputs, one batch)\n")
    print(table + "\n", flush=True)
    table, same = io_section(args.io_nodes, 1 if args.smoke else 3)
    failed |= not same
    print("## Input and output\n")
    print(table + "\n")
    print(f"Whole run: {time.time() - started:.0f} s; load average at the end: "
          f"{load_average()}.", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
