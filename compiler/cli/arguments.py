"""The options several commands share: argparse types (sizes, counts, ranges, numbers,
vocabularies), the option adders (`--input`/`--output`, `--no-verify`, `--program`), and the
checks of `--size` against a program. Imports nothing heavy: every command's parser is built on
each run, and `check`/`run`/`compile`/`inspect` must not import torch."""
from __future__ import annotations

import argparse
import re

from nclang.compiler.targets import registry

from .context import STDIO, Context

TARGETS = registry.NAMES
ACTIVATIONS = registry.ACTIVATIONS
DTYPES = tuple(registry.DTYPES)


# ---------------------------------------------------------------- argparse types

def size_arg(text: str) -> tuple[str, int]:
    match = re.fullmatch(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([0-9]+)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected NAME=INT (e.g. k=32), got {text!r}")
    value = int(match.group(2))
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a size is at least 1")
    return match.group(1), value


def count_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def range_arg(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*([0-9]+)\s*(?:\.\.\s*([0-9]+)\s*)?", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected LO..HI (e.g. 4..16) or one size, got {text!r}")
    lo = int(match.group(1))
    hi = int(match.group(2)) if match.group(2) is not None else lo
    if not 1 <= lo <= hi:
        raise argparse.ArgumentTypeError(f"{text!r}: sizes are at least 1 and LO <= HI")
    return lo, hi


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def nonnegative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value >= 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def vocab_arg(text: str) -> tuple[str, ...]:
    tokens = tuple(t for t in text.split(","))
    if not tokens or any(not t for t in tokens) or len(set(tokens)) != len(tokens):
        raise argparse.ArgumentTypeError(f"expected distinct non-empty tokens separated by "
                                         f"commas, got {text!r}")
    return tokens


# ---------------------------------------------------------------- option adders

def add_io(p: argparse.ArgumentParser) -> None:
    """--input and --output, the same for `run` (interpreter) and `exec` (network)."""
    p.add_argument("-i", "--input", required=True, metavar="IN.json",
                   help="one JSON object, or JSON Lines (one object per line); - for stdin")
    p.add_argument("-o", "--output", default=STDIO, metavar="OUT",
                   help="where to write the results (default -, stdout)")


FORMATS = ("json", "clrs")


def add_format(p: argparse.ArgumentParser) -> None:
    """--format, for `run` and `exec`: how each result line is written."""
    p.add_argument("--format", choices=FORMATS, default="json",
                   help="json (default): nclang's output format; clrs: CLRS-30's encoding (a "
                        "pointer to nowhere as the node itself, masks as 0/1, an edge[bool] as "
                        "an n x n mask; docs/clrs.md)")


def output_encoder(ctx: Context, checked):
    """(instance, outputs) -> the dict a result line holds, in `--format`'s encoding; `checked`
    is the program (or the runtime's stand-in for it)."""
    from nclang.dsl.jsonio import encode
    if ctx.args.format == "json":
        return lambda instance, outputs: encode(checked, outputs)
    from nclang import clrs
    if checked.family != "graph":
        from nclang.dsl.diagnostics import NclError
        raise NclError.at(checked.program.span, "bad-format",
                          f"--format clrs writes a graph program's results (CLRS-30's graph "
                          f"encoding); {checked.program.name} is a {checked.family} program")
    _, results = clrs.signature_of_checked(checked)

    def encoded(instance, outputs):
        graph = instance.graph
        edges = list(zip(graph.src.tolist(), graph.dst.tolist()))
        return clrs.encode_outputs(results, graph.n, edges, encode(checked, outputs))
    return encoded


def add_no_verify(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-verify", dest="verify", action="store_false",
                   help="use the weight file even if its tensors do not match their digest "
                        "(tensors_sha256); every other check still runs")


def add_program_name(p: argparse.ArgumentParser) -> None:
    p.add_argument("--program", dest="name", metavar="NAME",
                   help="which program of the file (needed when it has several)")


# ---------------------------------------------------------------- --size against a program

def size_options(ctx: Context) -> dict[str, int]:
    """The `--size` options as a dict; a usage error when one name is given two values."""
    found: dict[str, int] = {}
    for name, value in ctx.args.size or ():
        if found.get(name, value) != value:
            ctx.usage_error(f"argument --size: {name} is given twice ({found[name]} and {value})")
        found[name] = value
    return found


def check_size_options(ctx: Context, checked, given: dict[str, int]) -> None:
    """A usage error for a `--size` the program has no variable for, or one its input fixes."""
    from nclang.dsl.diagnostics import did_you_mean
    from nclang.dsl.jsonio import input_sizes
    fixed_by_input = input_sizes(checked)
    known = set(checked.size_vars)
    for name in given:
        if name in fixed_by_input:
            ctx.usage_error(f"argument --size: {name} is fixed by the input; drop --size {name}")
        if name not in known:
            listed = ", ".join(sorted(known - fixed_by_input)) or "none"
            ctx.usage_error(f"argument --size: program {checked.program.name} has no size "
                            f"variable {name}{did_you_mean(name, known)} "
                            f"(sizes you can set: {listed})")
