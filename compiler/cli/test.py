"""`nclang test`: property-test a compiled network (given, or compiled here to a temporary file)
against the reference interpreter on inputs hypothesis draws; a counterexample is printed as
JSON and the exit status is 3."""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

from .arguments import (ACTIVATIONS, TARGETS, add_no_verify, add_program_name,
                        check_size_options, count_arg, size_arg, size_options)
from .context import EXIT_DISAGREE, EXIT_OK, STDIO, Context, load_program

HELP = "property-test a compiled network against the interpreter (hypothesis)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("program", metavar="PROG.ncl", help="source file")
    p.add_argument("--weights", metavar="FILE",
                   help="the compiled network to test (default: compile PROG.ncl to a "
                        "temporary file first)")
    p.add_argument("--size", action="append", type=size_arg, metavar="NAME=INT",
                   help="the sizes to compile and test at, e.g. --size k=32 (repeatable); for "
                        "a size the input fixes (n), the largest drawn")
    p.add_argument("--target", choices=TARGETS,
                   help="the network family to compile to (default: inferred from the program)")
    p.add_argument("--activation", choices=ACTIVATIONS,
                   help="the activation to compile with (default relu)")
    p.add_argument("--examples", type=count_arg, default=200, metavar="N",
                   help="how many inputs to compare (default 200)")
    p.add_argument("--seed", type=int, metavar="S",
                   help="draw the inputs from this seed (default: a random seed, printed)")
    p.add_argument("--max-n", type=count_arg, metavar="N",
                   help="the most nodes or positions an input has (default 8)")
    add_program_name(p)
    add_no_verify(p)


def _source_sha256(path: str) -> str:
    import hashlib
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def command(ctx: Context) -> int:
    from nclang.dsl.jsonio import input_sizes
    args = ctx.args
    if args.program == STDIO:
        ctx.usage_error("argument PROG.ncl: test reads the program from a file, not stdin")
    sizes = size_options(ctx)
    checked = load_program(ctx, args.program, args.name)
    from_input = input_sizes(checked)
    check_size_options(ctx, checked, {k: v for k, v in sizes.items() if k not in from_input})
    if args.weights is not None:
        for option in ("target", "activation"):
            if getattr(args, option) is not None:
                ctx.usage_error(f"argument --{option}: applies when test compiles the program; "
                                f"drop it with --weights")
        return _test_weights(ctx, checked, sizes, args.weights)
    from nclang.compiler.driver import compile_file
    from nclang.dsl.diagnostics import Diagnostic, NclError
    if checked.family == "seq" and "n" in sizes and args.max_n is not None \
            and args.max_n > sizes["n"]:
        # The network test compiles holds at most n positions: longer inputs cannot be fed to
        # it. Said before compiling, against the user's program (not the temporary file).
        raise NclError(Diagnostic.at(
            checked.program.name_span, "size-mismatch",
            f"--max-n {args.max_n} draws sequences longer than the n = {sizes['n']} that "
            f"--size n={sizes['n']} compiles {checked.program.name} for; give --max-n "
            f"{sizes['n']} or less, or --size n={args.max_n}"))
    with tempfile.TemporaryDirectory(prefix="nclang-test-") as folder:
        out = os.path.join(folder, f"{checked.program.name}.safetensors")
        options = {"target": args.target, "sizes": sizes, "program": args.name}
        if checked.family == "seq" and "n" not in sizes:
            # the transformer needs a maximum length; test draws up to the default one
            from nclang.compiler.testing.inputs import DEFAULT_MAX_N
            options["sizes"] = {**sizes, "n": args.max_n or DEFAULT_MAX_N}
        if args.activation is not None:
            options["activation"] = args.activation
        compile_file(args.program, out, **options)
        try:
            return _test_weights(ctx, checked, sizes, out, compiled_here=True)
        except NclError as err:
            # the temporary file is gone when the user reads this: blame the program it was
            # compiled from
            raise NclError([d if d.file != out else
                            Diagnostic.at(checked.program.name_span, d.code, d.message)
                            for d in err.diagnostics]) from None


def _check_signature(weights: str, checked, net) -> None:
    """Refuse a weight file whose parameters or results are not the program's (names and types,
    in order): the property test could not even feed it the program's inputs."""
    from nclang.dsl import types as T
    from nclang.dsl.diagnostics import Diagnostic, NclError
    from nclang.dsl.pretty import pretty_type

    def sig(p, names):
        return ([(q.name, T.from_syntax(q.type)) for q in p.params],
                list(zip(names, map(T.from_syntax, p.results))))

    def shown(p, names):
        ins = ", ".join(f"{q.name}: {pretty_type(q.type)}" for q in p.params)
        outs = ", ".join(f"{n}: {pretty_type(r)}" for n, r in zip(names, p.results))
        return f"({ins}) -> ({outs})"

    mine, theirs = (checked.program, checked.result_names), \
        (net.signature.program, net.signature.result_names)
    if sig(*mine) != sig(*theirs):
        raise NclError(Diagnostic(
            weights, 1, 1, 1, 1, "error", "weights-mismatch",
            f"the network takes and returns {shown(*theirs)}, but {checked.program.name} is "
            f"{shown(*mine)}: it cannot be tested against this program"))


def _check_test_limits(weights: str, net, top: int | None, span=None) -> None:
    """Refuse, before drawing anything, a network whose runs on the largest inputs the test
    draws would pass the runtime's resource limits (`nclang.compiler.runtime.limits`); at
    `span` (the program's name) when test compiled the network itself, since its file is
    temporary."""
    from nclang.dsl.diagnostics import Diagnostic, NclError
    from nclang.compiler.testing.domains import DEFAULT_MAX_N, largest_draw_exceeds
    top = top or DEFAULT_MAX_N
    why = largest_draw_exceeds(net.meta, top)
    if why is None:
        return
    if span is not None:
        raise NclError(Diagnostic.at(span, "resource-limit", f"the compiled network: {why}; "
                                                             f"test with a smaller --max-n"))
    raise NclError(Diagnostic(weights, 1, 1, 1, 1, "error", "resource-limit",
                              f"{why}; test with a smaller --max-n"))


def _test_weights(ctx: Context, checked, sizes: dict[str, int], weights: str,
                  compiled_here: bool = False) -> int:
    from nclang.dsl.diagnostics import Diagnostic, NclError
    from nclang.dsl.jsonio import input_sizes
    from nclang.compiler.runtime import load
    from nclang.compiler.testing import test_program
    args = ctx.args
    program = checked.program
    net = load(weights, verify=getattr(args, "verify", True))
    if not compiled_here:
        _check_signature(weights, checked, net)
        said = []
        if net.meta["program"] != program.name:
            said.append(f"it was compiled from program '{net.meta['program']}', "
                        f"not '{program.name}'")
        elif net.meta["source_sha256"] != _source_sha256(args.program):
            said.append(f"it was compiled from a different version of {args.program}")
        if said:
            # Still test: the network may compute the same function, and if not the test says so.
            warning = Diagnostic(weights, 1, 1, 1, 1, "warning", "weights-mismatch",
                                 f"{said[0]}; testing it against {program.name} anyway")
            sys.stderr.write(ctx.render([warning]) + "\n")
        from_input = input_sizes(checked)
        clash = [f"{k}={v} (the file has {k}={net.sizes[k]})" for k, v in sorted(sizes.items())
                 if k not in from_input and k in net.sizes and net.sizes[k] != v]
        if clash:
            raise NclError(Diagnostic(weights, 1, 1, 1, 1, "error", "size-mismatch",
                                      f"--size {', '.join(clash)}: the network was compiled "
                                      f"for other sizes; drop --size to test at the file's"))
    sizes = {**net.sizes, **sizes}
    _check_test_limits(weights, net, args.max_n or sizes.get("n"),
                       program.name_span if compiled_here else None)
    # a network with a token vocabulary is tested on its own tokens
    vocab = net.meta["encodings"].get("vocab")
    vocab = tuple(vocab) if vocab and all(isinstance(t, str) for t in vocab) else None
    result = test_program(checked, net, sizes, examples=args.examples, seed=args.seed,
                          max_n=args.max_n, vocab=vocab)
    if result.examples == 0:
        raise NclError(Diagnostic.at(program.name_span, "no-valid-input",
                                     f"none of the {result.rejected} inputs drawn for "
                                     f"{program.name} runs without an error in the interpreter; "
                                     f"nothing was tested"))
    if result.counterexample is None:
        print(result.summary())
        return EXIT_OK
    sys.stdout.write(json.dumps(result.counterexample.to_json(), allow_nan=False) + "\n")
    sys.stdout.flush()
    sys.stderr.write(f"nclang test: {result.summary()}\n")
    return EXIT_DISAGREE

