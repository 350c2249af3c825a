"""`nclang compile`: a program to a weight file, written atomically."""
from __future__ import annotations

import argparse
import sys

from .arguments import (ACTIVATIONS, DTYPES, TARGETS, add_program_name, check_size_options,
                        size_arg, size_options, vocab_arg)
from .context import EXIT_OK, STDIO, Context

HELP = "compile a program to a weight file"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("program", metavar="PROG.ncl", help="source file")
    p.add_argument("-o", "--output", required=True, metavar="OUT.safetensors",
                   help="the weight file to write (replaced atomically)")
    p.add_argument("--target", choices=TARGETS,
                   help="the network family (default: the program's own: bits programs mlp, "
                        "graph programs gnn, sequence programs transformer)")
    p.add_argument("--size", action="append", type=size_arg, metavar="NAME=INT",
                   help="fix a size variable, e.g. --size k=32 (repeatable)")
    p.add_argument("--activation", choices=ACTIVATIONS, default="relu",
                   help="relu (default), or step: a threshold circuit with integer weights")
    p.add_argument("--dtype", choices=DTYPES, default="float32",
                   help="the arithmetic the network is exact in: float32 (default; integers "
                        "below 2^24) or float64 (below 2^53)")
    p.add_argument("--vocab", type=vocab_arg, metavar="A,B,C",
                   help="the token vocabulary of a sequence program, comma-separated (default: "
                        "the program's token literals, then a, b, z)")
    p.add_argument("--mlp-layers", type=_positive, metavar="K",
                   help="transformer: at most K hidden layers per block's MLP, deeper ones "
                        "split over blocks without attention (1 fits TransformerLens)")
    add_program_name(p)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def command(ctx: Context) -> int:
    from nclang.compiler.driver import compile_checked, read_source
    from nclang.dsl.checker import check_source, select_program
    args = ctx.args
    if STDIO in (args.program, args.output):
        ctx.usage_error("compile reads the program from a file and writes the weights to a "
                        "file, not stdin or stdout")
    sizes = size_options(ctx)
    source = read_source(args.program)
    ctx.sources[source.file] = source.text
    checked = select_program(check_source(source.text, source.file), args.name, source.file)
    # a sequence program's n is its input's length; for the transformer, --size n is the
    # largest length the network must be exact for
    check_size_options(ctx, checked, {k: v for k, v in sizes.items()
                                      if not (k == "n" and checked.family == "seq")})
    compiled = compile_checked(source, checked, args.output, args.target, sizes, args.activation,
                               args.dtype, args.vocab, mlp_layers=args.mlp_layers)
    if compiled.warnings:
        sys.stderr.write(ctx.render(compiled.warnings) + "\n")
    return EXIT_OK
