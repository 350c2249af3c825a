"""`nclang check`: parse, type-check, lower and analyse every program of a file; print each
one's interface, costs and value bound (or one JSON document), and with `--target` every
construct that network family cannot compile."""
from __future__ import annotations

import argparse
import sys

from .arguments import TARGETS, size_arg, size_options
from .context import EXIT_OK, EXIT_USER, Context, print_json

HELP = "parse and type-check a program; print its interface"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("program", metavar="PROG.ncl", help="source file")
    p.add_argument("--program", dest="name", metavar="NAME",
                   help="only this program of the file")
    p.add_argument("--json", action="store_true",
                   help="print the programs and diagnostics as one JSON document on stdout")
    p.add_argument("--ir", action="store_true",
                   help="also print each program's IR (in --json: as text under 'ir')")
    p.add_argument("--target", choices=TARGETS,
                   help="also report, with its source span, the construct this network family "
                        "cannot compile (the compiler's own refusal, nothing is written)")
    p.add_argument("--size", action="append", type=size_arg, metavar="NAME=INT",
                   help="with --target: the sizes to try the compile at (default: 4 for a size "
                        "the compile needs); with every size given, any error compile would "
                        "report is reported")


def _analyses(checked, text: str) -> list[dict]:
    """Per program: its IR, the cost analysis and the value ranges (the exactness bound)."""
    from nclang.compiler.analysis import analyse
    from nclang.compiler.analysis.ranges import value_ranges
    from nclang.compiler.ir import format_ir
    from nclang.compiler.lower import lower
    out = []
    for c in checked:
        program = lower(c)
        out.append({"ir": format_ir(program), "analysis": analyse(c, text, program),
                    "ranges": value_ranges(c)})
    return out


def _program_summary(checked) -> dict:
    program = checked.program
    return {
        "name": program.name,
        "family": checked.family,
        "params": [{"name": p.name, "type": _type_text(p.type)} for p in program.params],
        "results": [{"name": name, "type": _type_text(t)}
                    for name, t in zip(checked.result_names, program.results)],
        "size_vars": sorted(checked.size_vars),
        "declared_class": program.declared_class,
    }


def command(ctx: Context) -> int:
    from nclang.dsl.diagnostics import NclError
    args = ctx.args
    try:
        from nclang.dsl.checker import check_source, select_program
        file, text = ctx.read(args.program)
        checked = check_source(text, file)
        if args.name is not None:
            checked = [select_program(checked, args.name, file)]
    except NclError as err:
        if not args.json:
            raise
        print_json({"programs": [], "diagnostics": [d.to_json() for d in err.diagnostics]})
        return EXIT_USER
    summaries = [_program_summary(c) for c in checked]
    analyses = _analyses(checked, text)
    diagnostics = [d for a in analyses for d in a["analysis"].diagnostics]
    if args.target is not None:
        from nclang.compiler.driver import Source, target_refusals
        source = Source(file, text.encode("utf-8"), text)
        sizes = size_options(ctx)
        for c, summary in zip(checked, summaries):
            found = target_refusals(source, c, args.target, sizes)
            # the analysis' own errors are already listed; compile would repeat them
            diagnostics += [d for d in found if d not in diagnostics]
            if args.target == "transformer" and c.family == "seq" and not found:
                try:
                    summary["transformer_blocks"] = _transformer_blocks(c, sizes)
                except NclError:  # a size-dependent refusal at a size the user left open
                    pass
    status = EXIT_USER if any(d.severity == "error" for d in diagnostics) else EXIT_OK
    if args.json:
        for s, a in zip(summaries, analyses):
            s["analysis"] = a["analysis"].to_json()
            s["ranges"] = a["ranges"].to_json()
            if args.ir:
                s["ir"] = a["ir"]
        print_json({"programs": summaries, "diagnostics": [d.to_json() for d in diagnostics]})
        return status
    for s, a in zip(summaries, analyses):
        params = ", ".join(f"{p['name']}: {p['type']}" for p in s["params"])
        results = ", ".join(f"{r['name']}: {r['type']}" for r in s["results"])
        print(f"{s['name']}: {s['family']} program")
        print(f"  parameters: {params or '(none)'}")
        print(f"  results:    {results}")
        for line in a["analysis"].summary_lines():
            print(f"  {line}")
        if "transformer_blocks" in s:
            tb = s["transformer_blocks"]
            print(f"  blocks:     {tb['blocks']} (the transformer's, compiled for n = {tb['n']})")
        print(f"  values:     {a['ranges'].summary()}")
        if args.ir:
            print("  ir:")
            print("".join(f"    {line}\n" for line in a["ir"].splitlines()), end="")
    if diagnostics:
        sys.stderr.write(ctx.render(diagnostics) + "\n")
    return status


def _transformer_blocks(checked, sizes: dict[str, int]) -> dict:
    """The blocks the transformer runs (its own block plan, docs/analysis.md), at the maximum
    length that `check --target` compiled at."""
    from nclang.compiler import ir
    from nclang.compiler.analysis import transformer_layers
    from nclang.compiler.driver import CHECK_SIZE
    n = sizes.get("n", CHECK_SIZE)
    return {"blocks": ir.format_size(transformer_layers(checked, n)), "n": n}


def _type_text(texpr) -> str:
    from nclang.dsl import types as T
    return str(T.from_syntax(texpr))

