"""The `nclang` command line: the parser, the command registry and `main`.

Each command is a module of this package with `HELP`, `add_arguments(parser)` (its options) and
`command(ctx)` (returns its exit status; raises `NclError` for errors in the user's input);
options several commands share are in `arguments`, what a command has read in `context`. The
command modules import what they need inside their bodies: building the parser imports no
torch, and `check`, `run`, `compile` and `inspect` never do.

Exit statuses: 0 ok, 1 errors in the user's input, 2 usage, 3 a compiled network disagrees with
the reference interpreter, 70 internal error (`context`).
"""
from __future__ import annotations

import argparse
import os
import sys

from . import check, compile, exec, export, gap, inspect, run, test, train
from .context import EXIT_DISAGREE, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, EXIT_USER, Context

__all__ = ["main", "EXIT_OK", "EXIT_USER", "EXIT_USAGE", "EXIT_DISAGREE", "EXIT_INTERNAL"]

BUG_REPORT = ("this is a bug in nclang; please report it with the command line and its input "
              "files (--debug shows the traceback)")

# name -> (add its options, run it, one line of help), in the order `nclang -h` lists them
_COMMANDS = {name: (module.add_arguments, module.command, module.HELP)
             for name, module in (("check", check), ("run", run), ("compile", compile),
                                  ("exec", exec), ("export", export), ("inspect", inspect),
                                  ("test", test), ("train", train), ("gap", gap))}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nclang",
        description="Compile parallel graph and bit-level algorithms to exact neural-network "
                    "weights.")
    parser.add_argument("--debug", action="store_true",
                        help="show a traceback for internal errors")
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS keeps a subcommand from resetting a --debug given before it.
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show a traceback for internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (add, func, help_text) in _COMMANDS.items():
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        add(p)
        p.set_defaults(_func=func, _parser=p)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    ctx = Context(args, args._parser)
    from nclang.dsl import deep_recursion
    try:
        with deep_recursion():
            return args._func(ctx)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`nclang run … | head`): stop quietly, like other Unix tools.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except Exception as err:  # noqa: BLE001 - the last line of defence: no traceback for users
        from nclang.dsl.diagnostics import NclError
        if isinstance(err, NclError):
            sys.stderr.write(ctx.render(err.diagnostics) + "\n")
            return EXIT_USER
        from nclang.compiler.extras import missing_extra
        if isinstance(err, ModuleNotFoundError) and (needs := missing_extra(err)):
            sys.stderr.write(f"nclang: error: nclang {args.command} needs {needs}\n")
            return EXIT_USER
        if args.debug:
            import traceback
            traceback.print_exc()
        message = str(err).splitlines()[0] if str(err) else ""
        sys.stderr.write(f"nclang: internal error: {type(err).__name__}"
                         f"{': ' + message if message else ''}; {BUG_REPORT}\n")
        return EXIT_INTERNAL
