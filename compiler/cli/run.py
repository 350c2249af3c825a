"""`nclang run`: a program on JSON (Lines) input with the reference interpreter, which defines
what the program means."""
from __future__ import annotations

import argparse

from . import streaming
from .arguments import (add_format, add_io, add_program_name, check_size_options, output_encoder,
                        size_arg, size_options)
from .context import Context, load_program

HELP = "run a program on JSON input with the reference interpreter"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("program", metavar="PROG.ncl", help="source file")
    add_io(p)
    p.add_argument("--size", action="append", type=size_arg, metavar="NAME=INT",
                   help="fix a size variable the input does not fix, e.g. --size k=32 "
                        "(repeatable)")
    add_program_name(p)
    add_format(p)


def command(ctx: Context) -> int:
    from nclang.dsl.diagnostics import Diagnostic, NclError
    from nclang.dsl.interpreter import run
    from nclang.dsl.jsonio import check_sizes, decode, dumps
    args = ctx.args
    sizes = size_options(ctx)
    checked = load_program(ctx, args.program, args.name)
    check_size_options(ctx, checked, sizes)
    check_sizes(checked, sizes, checked.program.span.file)
    from nclang.dsl import limits
    too_big = limits.check_sizes(sizes, checked.program.name_span)
    if too_big is not None:  # before any input is decoded at that size
        raise NclError(Diagnostic.at(too_big.span, "resource-limit", too_big.message))
    encode = output_encoder(ctx, checked)

    def run_batch(in_file, decoded):
        lines, errors = [], []
        for instance, item in decoded:
            try:
                outputs = run(checked, instance)
            except NclError as err:
                # The run error points into the program; the note says which input caused it.
                errors.extend(err.diagnostics)
                errors.append(Diagnostic(in_file, item.line, 1, item.line, 2, "note",
                                         "run-input", "while running the program on this input"))
                ctx.quote(in_file, item.first_line, item.text)
                continue
            lines.append(dumps(encode(instance, outputs)))
        if errors:
            raise NclError(errors)
        return lines

    return streaming.stream(ctx, lambda obj, file, line: decode(checked, obj, sizes, file, line),
                            run_batch)
