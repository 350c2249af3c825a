"""`nclang exec`: a compiled weight file on JSON (Lines) or `.npz` input, refusing any output the
network does not compute exactly. Imports torch (through the runtime)."""
from __future__ import annotations

import argparse
import sys

from . import streaming
from .arguments import DTYPES, add_format, add_io, add_no_verify, output_encoder
from .context import EXIT_DISAGREE, Context

HELP = "run a compiled weight file on JSON input"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("weights", metavar="OUT.safetensors", help="a weight file from nclang compile")
    add_io(p)
    p.add_argument("--device", default="cpu",
                   help="the torch device to run on: cpu (default), cuda, cuda:1, ...")
    p.add_argument("--dtype", choices=DTYPES,
                   help="the arithmetic (default: the file's, float32 unless it says float64)")
    add_no_verify(p)
    add_format(p)


def command(ctx: Context) -> int:
    from nclang.dsl.diagnostics import Diagnostic, NclError
    from nclang.dsl.jsonio import decode, dumps, input_error
    from nclang.compiler.runtime import load, resolve_device
    from nclang.compiler.runtime import limits
    args = ctx.args
    try:
        device = resolve_device(args.device)
    except ValueError as err:
        ctx.usage_error(f"argument --device: {err}")
    try:
        net = load(args.weights, device, args.dtype, verify=args.verify)
    except ValueError as err:
        ctx.usage_error(f"argument --dtype: {err}")
    encode = output_encoder(ctx, net.signature)

    def run_batch(in_file, decoded):
        outputs = limits.run_in_groups(net, [instance for instance, _ in decoded])
        inexact = []
        for (_, item), out in zip(decoded, outputs):
            problems = net.inexact(out)
            inexact += [Diagnostic(in_file, item.line, 1, item.line, 2, "error", "inexact-output",
                                   f"{problem}: {args.weights} does not compute "
                                   f"{net.program} exactly on this input")
                        for problem in problems]
            if problems:
                ctx.quote(in_file, item.first_line, item.text)
        if inexact:
            sys.stderr.write(ctx.render(inexact) + "\n")
            return EXIT_DISAGREE
        return [dumps(encode(instance, out)) for (instance, _), out in zip(decoded, outputs)]

    def admitted(instance, obj, file, line):
        refused = net.refusals(instance) or net.limits(instance)
        if refused:
            raise NclError([input_error(obj, file, line, field, path, message)
                            for field, path, message in refused])
        return instance

    def decode_one(obj, file, line):
        return admitted(decode(net.signature, obj, net.sizes, file, line), obj, file, line)

    def decode_arrays(arrays, file):
        from nclang.dsl.jsonio.columnar import decode_npz
        return admitted(decode_npz(net.signature, arrays, net.sizes, file), {}, file, 1)

    return streaming.stream(ctx, decode_one, run_batch, decode_arrays)
