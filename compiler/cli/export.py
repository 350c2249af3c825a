"""`nclang export`: a compiled weight file in another framework's format (docs/export.md), written
atomically. The formats are `nclang.compiler.export.FORMATS`; each writes through its own module,
imported only when chosen (ONNX needs torch and the `onnx` extra)."""
from __future__ import annotations

import argparse
import re

from nclang.compiler.export import FORMATS

from .arguments import add_no_verify, count_arg
from .context import EXIT_OK, STDIO, Context

HELP = "write a compiled weight file in another format (onnx, hf)"


def rounds_arg(text: str) -> tuple[int, ...]:
    if not re.fullmatch(r"\s*[0-9]+\s*(,\s*[0-9]+\s*)*", text):
        raise argparse.ArgumentTypeError(f"expected a round count, or one per loop separated by "
                                         f"commas (e.g. 8 or 8,3), got {text!r}")
    return tuple(int(part) for part in text.split(","))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("weights", metavar="WEIGHTS", help="a weight file from nclang compile")
    p.add_argument("--format", required=True, choices=sorted(FORMATS),
                   help="the format to write")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="the file to write (replaced atomically); for hf, the folder")
    p.add_argument("--rounds", type=rounds_arg, metavar="R[,R...]",
                   help="gnn files: the rounds each loop runs in the exported graph (one count "
                        "for every loop, or one per loop in program order); default: enough for "
                        "graphs of up to --max-nodes nodes")
    p.add_argument("--max-nodes", type=count_arg, default=32, metavar="N",
                   help="gnn files without --rounds: export rounds enough for every graph of up "
                        "to N nodes (default 32); a larger graph runs too, and its exact output "
                        "says whether it needed more")
    p.add_argument("--length", type=count_arg, metavar="L",
                   help="hf: build the transformer for sequences of exactly L tokens (needed "
                        "where a loop's trip count depends on the length)")
    add_no_verify(p)


def command(ctx: Context) -> int:
    from nclang.compiler.export import ExportOptions, writer
    from nclang.compiler.runtime import load
    from nclang.dsl.diagnostics import Diagnostic, NclError
    args = ctx.args
    if STDIO in (args.weights, args.output):
        ctx.usage_error("export reads a weight file and writes a file, not stdin or stdout")
    net = load(args.weights, verify=args.verify)
    options = ExportOptions(rounds=args.rounds, max_nodes=args.max_nodes, length=args.length)
    try:
        writer(args.format).export(net, args.output, options)
    except ValueError as err:
        raise NclError(Diagnostic(args.weights, 1, 1, 1, 1, "error", "bad-option",
                                  str(err))) from None
    except OSError as err:
        raise NclError(Diagnostic(args.output, 1, 1, 1, 1, "error", "cannot-write",
                                  f"cannot write file: {err.strerror or err}")) from None
    return EXIT_OK
