"""`nclang inspect`: describe a weight file (layers, widths, parameters) as text or JSON, and
draw its layer structure. Never imports torch."""
from __future__ import annotations

import argparse
import sys

from .arguments import add_no_verify
from .context import EXIT_OK, Context, print_json

HELP = "describe a weight file: layers, widths, parameters"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("weights", metavar="OUT.safetensors", help="a weight file from nclang compile")
    p.add_argument("--json", action="store_true", help="print one JSON document instead")
    p.add_argument("--plot", metavar="FILE.png|FILE.svg",
                   help="also draw the layer structure, as PNG or SVG by the name's extension")
    add_no_verify(p)


def command(ctx: Context) -> int:
    from nclang.compiler.inspect import describe, plot, text
    from nclang.compiler.weights import read_weights
    args = ctx.args
    tensors, meta = read_weights(args.weights, verify=args.verify)
    summary = describe(args.weights, tensors, meta)
    if args.plot is not None:
        _write_bytes(args.plot, _image(args.plot, plot(summary)))
    if args.json:
        print_json(summary)
    else:
        sys.stdout.write(text(summary))
    return EXIT_OK


def _image(path: str, fig) -> bytes:
    from nclang.compiler.figures import figure_bytes, figure_format
    from nclang.dsl.diagnostics import Diagnostic, NclError
    try:
        fmt = figure_format(path)
    except ValueError as err:
        raise NclError(Diagnostic(path, 1, 1, 1, 1, "error", "bad-plot-name", str(err))) from None
    return figure_bytes(fig, fmt)


def _write_bytes(path: str, data: bytes) -> None:
    """Write all of `data` or nothing (a temp file in the same folder, then a rename)."""
    from nclang.compiler.atomic import write_atomic
    from nclang.dsl.diagnostics import Diagnostic, NclError
    try:
        write_atomic(path, data)
    except OSError as err:
        raise NclError(Diagnostic(path, 1, 1, 1, 1, "error", "cannot-write",
                                  f"cannot write file: {err.strerror or err}")) from None

