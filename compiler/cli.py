"""The `nclang` command line.

Each command is one `_cmd_*` function registered in `_COMMANDS` with a function that adds its
options; a command returns its exit status and raises `NclError` for errors in the user's input.
Commands import what they need inside their body: `check`, `run`, `compile` and `inspect` must
never import torch.

Exit statuses: 0 ok, 1 errors in the user's input, 2 usage, 3 a compiled network disagrees with
the reference interpreter, 70 internal error.
"""
from __future__ import annotations

import argparse
import errno
import io
import json
import os
import re
import sys
import tempfile

EXIT_OK = 0
EXIT_USER = 1
EXIT_USAGE = 2
EXIT_DISAGREE = 3
EXIT_INTERNAL = 70

STDIO = "-"
STDIN_NAME = "<stdin>"

BUG_REPORT = ("this is a bug in nclang; please report it with the command line and its input "
              "files (--debug shows the traceback)")


class _Context:
    """What a command has read so far, so that diagnostics can quote the offending line."""

    def __init__(self, args: argparse.Namespace, parser: argparse.ArgumentParser):
        self.args = args
        self.parser = parser
        self.sources: dict[str, str] = {}
        # file -> {first line: text}: records of a streamed input that diagnostics quote
        self.quoted: dict[str, dict[int, str]] = {}

    def read(self, path: str) -> tuple[str, str]:
        """The display name and text of a file, `-` being stdin (`nclang.dsl.source`, the one
        source reader)."""
        from nclang.dsl.source import read_source
        source = read_source(path)
        self.sources[source.file] = source.text
        return source.file, source.text

    def open_input(self, path: str):
        """The display name and a binary stream of an input, `-` being stdin; the caller reads
        it a line at a time (`nclang.dsl.jsonio.iter_records`) and closes it."""
        from nclang.dsl.diagnostics import Diagnostic, NclError
        if path == STDIO:
            # a test may put a text stream in place of stdin; iter_records reads either
            return STDIN_NAME, getattr(sys.stdin, "buffer", sys.stdin)
        try:
            if os.path.isdir(path):
                raise IsADirectoryError(21, "Is a directory")
            return path, open(path, "rb")
        except OSError as err:
            raise NclError(Diagnostic(path, 1, 1, 1, 1, "error", "cannot-read",
                                      f"cannot read file: {err.strerror or err}")) from None

    def quote(self, file: str, first_line: int, text: str) -> None:
        """Remember `text`, the lines of `file` from `first_line` on, so that a diagnostic there
        can quote its line: a streamed input is not kept whole, only its records in error."""
        if first_line == 1:
            self.sources[file] = text
        else:
            self.quoted.setdefault(file, {})[first_line] = text

    def usage_error(self, message: str):
        self.parser.error(message)  # exits with status 2


# ---------------------------------------------------------------- shared pieces

def _size_arg(text: str) -> tuple[str, int]:
    match = re.fullmatch(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([0-9]+)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected NAME=INT (e.g. k=32), got {text!r}")
    value = int(match.group(2))
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a size is at least 1")
    return match.group(1), value


def _sizes(ctx: _Context) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for name, value in ctx.args.size or ():
        if sizes.get(name, value) != value:
            ctx.usage_error(f"argument --size: {name} is given twice ({sizes[name]} and {value})")
        sizes[name] = value
    return sizes


def _load_program(ctx: _Context, path: str, name: str | None):
    from nclang.dsl.checker import check_source, select_program
    file, text = ctx.read(path)
    return select_program(check_source(text, file), name, file)


def _type_text(texpr) -> str:
    from nclang.dsl import types as T
    return str(T.from_syntax(texpr))


# ---------------------------------------------------------------- check

def _add_check(p: argparse.ArgumentParser) -> None:
    p.add_argument("program", metavar="PROG.ncl", help="source file")
    p.add_argument("--program", dest="name", metavar="NAME",
                   help="only this program of the file")
    p.add_argument("--json", action="store_true",
                   help="print the programs and diagnostics as one JSON document on stdout")
    p.add_argument("--ir", action="store_true",
                   help="also print each program's IR (in --json: as text under 'ir')")
    p.add_argument("--target", choices=("mlp", "gnn", "transformer"),
                   help="also report, with its source span, the construct this network family "
                        "cannot compile (the compiler's own refusal, nothing is written)")
    p.add_argument("--size", action="append", type=_size_arg, metavar="NAME=INT",
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


def _cmd_check(ctx: _Context) -> int:
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
        _print_json({"programs": [], "diagnostics": [d.to_json() for d in err.diagnostics]})
        return EXIT_USER
    summaries = [_program_summary(c) for c in checked]
    analyses = _analyses(checked, text)
    diagnostics = [d for a in analyses for d in a["analysis"].diagnostics]
    if args.target is not None:
        from nclang.compiler.driver import Source, target_refusals
        source = Source(file, text.encode("utf-8"), text)
        sizes = _sizes(ctx)
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
        _print_json({"programs": summaries, "diagnostics": [d.to_json() for d in diagnostics]})
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
        sys.stderr.write(_render(ctx, diagnostics) + "\n")
    return status


def _transformer_blocks(checked, sizes: dict[str, int]) -> dict:
    """The blocks the transformer runs (its own block plan, docs/analysis.md), at the maximum
    length that `check --target` compiled at."""
    from nclang.compiler import ir
    from nclang.compiler.analysis import transformer_layers
    from nclang.compiler.driver import CHECK_SIZE
    n = sizes.get("n", CHECK_SIZE)
    return {"blocks": ir.format_size(transformer_layers(checked, n)), "n": n}


def _print_json(doc) -> None:
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")


# ---------------------------------------------------------------- run

def _add_io(p: argparse.ArgumentParser) -> None:
    """--input and --output, the same for `run` (interpreter) and `exec` (network)."""
    p.add_argument("-i", "--input", required=True, metavar="IN.json",
                   help="one JSON object, or JSON Lines (one object per line); - for stdin")
    p.add_argument("-o", "--output", default=STDIO, metavar="OUT",
                   help="where to write the results (default -, stdout)")


def _add_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("program", metavar="PROG.ncl", help="source file")
    _add_io(p)
    p.add_argument("--size", action="append", type=_size_arg, metavar="NAME=INT",
                   help="fix a size variable the input does not fix, e.g. --size k=32 "
                        "(repeatable)")
    p.add_argument("--program", dest="name", metavar="NAME",
                   help="which program of the file (needed when it has several)")


def _check_size_options(ctx: _Context, checked, sizes: dict[str, int]) -> None:
    from nclang.dsl.diagnostics import did_you_mean
    from nclang.dsl.jsonio import input_sizes
    fixed_by_input = input_sizes(checked)
    known = set(checked.size_vars)
    for name in sizes:
        if name in fixed_by_input:
            ctx.usage_error(f"argument --size: {name} is fixed by the input; drop --size {name}")
        if name not in known:
            listed = ", ".join(sorted(known - fixed_by_input)) or "none"
            ctx.usage_error(f"argument --size: program {checked.program.name} has no size "
                            f"variable {name}{did_you_mean(name, known)} "
                            f"(sizes you can set: {listed})")


def _cmd_run(ctx: _Context) -> int:
    from nclang.dsl.diagnostics import Diagnostic, NclError
    from nclang.dsl.interpreter import run
    from nclang.dsl.jsonio import check_sizes, decode, dumps, encode
    args = ctx.args
    sizes = _sizes(ctx)
    checked = _load_program(ctx, args.program, args.name)
    _check_size_options(ctx, checked, sizes)
    check_sizes(checked, sizes, checked.program.span.file)
    from nclang.dsl import limits
    too_big = limits.check_sizes(sizes, checked.program.name_span)
    if too_big is not None:  # before any input is decoded at that size
        raise NclError(Diagnostic.at(too_big.span, "resource-limit", too_big.message))

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
            lines.append(dumps(encode(checked, outputs)))
        if errors:
            raise NclError(errors)
        return lines

    return _stream(ctx, lambda obj, file, line: decode(checked, obj, sizes, file, line),
                   run_batch)


# Instances read, run and written together: enough to amortise a forward pass, few enough that
# memory stays bounded however long the input is.
BATCH = 1024


def _stream(ctx: _Context, decode_one, run_batch) -> int:
    """Read `--input` a batch of records at a time, decode each (`decode_one(record, file,
    line)`), run the batch (`run_batch(file, [(instance, item)])`: the output lines, or an int
    exit status to stop with) and write its results to `--output` before reading on.

    A batch is all or nothing: the first batch with any error (every one of its errors is
    reported) is not written and nothing after it is read, so stdout holds the results of the
    batches before it, and an `--output` file is written only when every batch succeeded."""
    from nclang.dsl.jsonio import iter_records
    in_file, stream = ctx.open_input(ctx.args.input)
    try:
        with _Output(ctx.args.output) as sink:
            batch = []
            for item in iter_records(stream, in_file):
                batch.append(item)
                if len(batch) == BATCH:
                    status = _stream_batch(ctx, in_file, batch, decode_one, run_batch, sink)
                    if status:
                        return status
                    batch = []
            if batch:
                status = _stream_batch(ctx, in_file, batch, decode_one, run_batch, sink)
                if status:
                    return status
            sink.commit()
    finally:
        if ctx.args.input != STDIO:
            stream.close()
    return EXIT_OK


def _stream_batch(ctx: _Context, in_file: str, batch, decode_one, run_batch, sink) -> int:
    from nclang.dsl.diagnostics import NclError
    decoded, errors = [], []
    for item in batch:
        problems = item.errors
        if not problems:
            try:
                decoded.append((decode_one(item.record, in_file, item.line), item))
            except NclError as err:
                problems = err.diagnostics
        if problems:
            errors.extend(problems)
            ctx.quote(in_file, item.first_line, item.text)
    if errors:
        raise NclError(errors)
    lines = run_batch(in_file, decoded)
    if isinstance(lines, int):
        return lines
    sink.write(lines)
    return EXIT_OK


class _Output:
    """Where results go, a batch at a time. Stdout: each batch as soon as it has run. A file: an
    `AtomicFile`, renamed over it by `commit` once the whole run has succeeded, so the file is
    never seen half-written and a failed run leaves it as it was (a device or a pipe is written
    in place)."""

    def __init__(self, path: str):
        self.path, self.atomic, self.file = path, None, None

    def __enter__(self) -> "_Output":
        if self.path == STDIO:
            self.file = sys.stdout
            return self
        from nclang.compiler.atomic import AtomicFile
        try:
            self.atomic = AtomicFile(self.path, text=True)
        except OSError as err:
            raise self._cannot(err) from None
        self.file = self.atomic.file
        return self

    def write(self, lines: list[str]) -> None:
        try:
            self.file.write("".join(line + "\n" for line in lines))
            if self.atomic is None:
                self.file.flush()
        except BrokenPipeError:
            if self.atomic is None:  # stdout's reader went away: main ends quietly
                raise
            raise self._cannot(BrokenPipeError(errno.EPIPE, "Broken pipe")) from None
        except OSError as err:
            raise self._cannot(err) from None

    def commit(self) -> None:
        if self.atomic is None:
            return
        try:
            self.atomic.commit()
        except OSError as err:
            raise self._cannot(err) from None

    def __exit__(self, *exc) -> None:
        if self.atomic is not None:
            self.atomic.discard()

    def _cannot(self, err: OSError):
        from nclang.dsl.diagnostics import Diagnostic, NclError
        return NclError(Diagnostic(self.path, 1, 1, 1, 1, "error", "cannot-write",
                                   f"cannot write file: {err.strerror or err}"))


# ---------------------------------------------------------------- compile

COMPILE_TARGETS = ("mlp", "gnn", "transformer")
COMPILE_ACTIVATIONS = ("relu", "step")


def _add_compile(p: argparse.ArgumentParser) -> None:
    p.add_argument("program", metavar="PROG.ncl", help="source file")
    p.add_argument("-o", "--output", required=True, metavar="OUT.safetensors",
                   help="the weight file to write (replaced atomically)")
    p.add_argument("--target", choices=COMPILE_TARGETS,
                   help="the network family (default: the program's own: bits programs mlp, "
                        "graph programs gnn, sequence programs transformer)")
    p.add_argument("--size", action="append", type=_size_arg, metavar="NAME=INT",
                   help="fix a size variable, e.g. --size k=32 (repeatable)")
    p.add_argument("--activation", choices=COMPILE_ACTIVATIONS, default="relu",
                   help="relu (default), or step: a threshold circuit with integer weights")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                   help="the arithmetic the network is exact in: float32 (default; integers "
                        "below 2^24) or float64 (below 2^53)")
    p.add_argument("--vocab", type=_vocab_arg, metavar="A,B,C",
                   help="the token vocabulary of a sequence program, comma-separated (default: "
                        "the program's token literals, then a, b, z)")
    p.add_argument("--program", dest="name", metavar="NAME",
                   help="which program of the file (needed when it has several)")


def _vocab_arg(text: str) -> tuple[str, ...]:
    tokens = tuple(t for t in text.split(","))
    if not tokens or any(not t for t in tokens) or len(set(tokens)) != len(tokens):
        raise argparse.ArgumentTypeError(f"expected distinct non-empty tokens separated by "
                                         f"commas, got {text!r}")
    return tokens


def _cmd_compile(ctx: _Context) -> int:
    from nclang.compiler.driver import compile_checked, read_source
    from nclang.dsl.checker import check_source, select_program
    args = ctx.args
    if STDIO in (args.program, args.output):
        ctx.usage_error("compile reads the program from a file and writes the weights to a "
                        "file, not stdin or stdout")
    sizes = _sizes(ctx)
    source = read_source(args.program)
    ctx.sources[source.file] = source.text
    checked = select_program(check_source(source.text, source.file), args.name, source.file)
    # a sequence program's n is its input's length; for the transformer, --size n is the
    # largest length the network must be exact for
    _check_size_options(ctx, checked, {k: v for k, v in sizes.items()
                                       if not (k == "n" and checked.family == "seq")})
    compiled = compile_checked(source, checked, args.output, args.target, sizes, args.activation,
                               args.dtype, args.vocab)
    if compiled.warnings:
        sys.stderr.write(_render(ctx, compiled.warnings) + "\n")
    return EXIT_OK


# ---------------------------------------------------------------- exec

def _add_exec(p: argparse.ArgumentParser) -> None:
    p.add_argument("weights", metavar="OUT.safetensors", help="a weight file from nclang compile")
    _add_io(p)
    p.add_argument("--device", default="cpu",
                   help="the torch device to run on: cpu (default), cuda, cuda:1, ...")
    p.add_argument("--dtype", choices=("float32", "float64"),
                   help="the arithmetic (default: the file's, float32 unless it says float64)")
    _add_no_verify(p)


def _add_no_verify(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-verify", dest="verify", action="store_false",
                   help="use the weight file even if its tensors do not match their digest "
                        "(tensors_sha256); every other check still runs")


def _cmd_exec(ctx: _Context) -> int:
    from nclang.dsl.diagnostics import Diagnostic, NclError
    from nclang.dsl.jsonio import decode, dumps, encode, input_error
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

    def run_batch(in_file, decoded):
        # groups whose largest tensors together stay under the runtime's memory limit
        outputs, group, held = [], [], 0
        for instance, _ in decoded:
            cost = net.cost(instance)
            if group and held + cost > limits.BATCH_BYTES:
                outputs += net.run(group)
                group, held = [], 0
            group.append(instance)
            held += cost
        outputs += net.run(group) if group else []
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
            sys.stderr.write(_render(ctx, inexact) + "\n")
            return EXIT_DISAGREE
        return [dumps(encode(net.signature, out)) for out in outputs]

    def decode_one(obj, file, line):
        instance = decode(net.signature, obj, net.sizes, file, line)
        refused = net.refusals(instance) or net.limits(instance)
        if refused:
            raise NclError([input_error(obj, file, line, field, path, message)
                            for field, path, message in refused])
        return instance

    return _stream(ctx, decode_one, run_batch)


# ---------------------------------------------------------------- inspect

def _add_inspect(p: argparse.ArgumentParser) -> None:
    p.add_argument("weights", metavar="OUT.safetensors", help="a weight file from nclang compile")
    p.add_argument("--json", action="store_true", help="print one JSON document instead")
    p.add_argument("--plot", metavar="FILE.png",
                   help="also draw the layer structure as a PNG image")
    _add_no_verify(p)


def _cmd_inspect(ctx: _Context) -> int:
    from nclang.compiler.inspect import describe, plot, text
    from nclang.compiler.weights import read_weights
    args = ctx.args
    tensors, meta = read_weights(args.weights, verify=args.verify)
    summary = describe(args.weights, tensors, meta)
    if args.plot is not None:
        _write_bytes(args.plot, plot(summary))
    if args.json:
        _print_json(summary)
    else:
        sys.stdout.write(text(summary))
    return EXIT_OK


def _write_bytes(path: str, data: bytes) -> None:
    """Write all of `data` or nothing (a temp file in the same folder, then a rename)."""
    from nclang.compiler.atomic import write_atomic
    from nclang.dsl.diagnostics import Diagnostic, NclError
    try:
        write_atomic(path, data)
    except OSError as err:
        raise NclError(Diagnostic(path, 1, 1, 1, 1, "error", "cannot-write",
                                  f"cannot write file: {err.strerror or err}")) from None


# ---------------------------------------------------------------- test

TEST_TARGETS = ("mlp", "gnn", "transformer")
TEST_ACTIVATIONS = ("relu", "step")


def _count_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _add_test(p: argparse.ArgumentParser) -> None:
    p.add_argument("program", metavar="PROG.ncl", help="source file")
    p.add_argument("--weights", metavar="FILE",
                   help="the compiled network to test (default: compile PROG.ncl to a "
                        "temporary file first)")
    p.add_argument("--size", action="append", type=_size_arg, metavar="NAME=INT",
                   help="the sizes to compile and test at, e.g. --size k=32 (repeatable); for "
                        "a size the input fixes (n), the largest drawn")
    p.add_argument("--target", choices=TEST_TARGETS,
                   help="the network family to compile to (default: inferred from the program)")
    p.add_argument("--activation", choices=TEST_ACTIVATIONS,
                   help="the activation to compile with (default relu)")
    p.add_argument("--examples", type=_count_arg, default=200, metavar="N",
                   help="how many inputs to compare (default 200)")
    p.add_argument("--seed", type=int, metavar="S",
                   help="draw the inputs from this seed (default: a random seed, printed)")
    p.add_argument("--max-n", type=_count_arg, metavar="N",
                   help="the most nodes or positions an input has (default 8)")
    p.add_argument("--program", dest="name", metavar="NAME",
                   help="which program of the file (needed when it has several)")
    _add_no_verify(p)


def _source_sha256(path: str) -> str:
    import hashlib
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _cmd_test(ctx: _Context) -> int:
    from nclang.dsl.jsonio import input_sizes
    args = ctx.args
    if args.program == STDIO:
        ctx.usage_error("argument PROG.ncl: test reads the program from a file, not stdin")
    sizes = _sizes(ctx)
    checked = _load_program(ctx, args.program, args.name)
    from_input = input_sizes(checked)
    _check_size_options(ctx, checked, {k: v for k, v in sizes.items() if k not in from_input})
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
    draws would pass the runtime's resource limits (`nclang.compiler.runtime.limits`); at `span` (the
    program's name) when test compiled the network itself, since its file is temporary."""
    from nclang.dsl.diagnostics import Diagnostic, NclError
    from nclang.compiler.runtime import limits
    from nclang.compiler.testing.inputs import DEFAULT_MAX_N
    top = top or DEFAULT_MAX_N
    family = net.architecture.get("family")
    if family == "gnn":
        # nclang.compiler.testing.inputs draws at most 3n random edges, a repeated one and a self-loop
        why = limits.exceeded(net.meta, {"n": top, "m": 3 * top + 2},
                              f"on the largest inputs test draws (n = {top}, up to "
                              f"{3 * top + 2} edges)")
    elif family == "transformer":
        why = limits.exceeded(net.meta, {"n": top}, f"on the longest inputs test draws "
                                                      f"(n = {top})")
    else:
        why = None
    if why is None:
        return
    if span is not None:
        raise NclError(Diagnostic.at(span, "resource-limit", f"the compiled network: {why}; "
                                                             f"test with a smaller --max-n"))
    raise NclError(Diagnostic(weights, 1, 1, 1, 1, "error", "resource-limit",
                              f"{why}; test with a smaller --max-n"))


def _test_weights(ctx: _Context, checked, sizes: dict[str, int], weights: str,
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
            sys.stderr.write(_render(ctx, [warning]) + "\n")
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


# ---------------------------------------------------------------- train

TRAIN_INITS = ("random", "compiled")


def _range_arg(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*([0-9]+)\s*(?:\.\.\s*([0-9]+)\s*)?", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected LO..HI (e.g. 4..16) or one size, got {text!r}")
    lo = int(match.group(1))
    hi = int(match.group(2)) if match.group(2) is not None else lo
    if not 1 <= lo <= hi:
        raise argparse.ArgumentTypeError(f"{text!r}: sizes are at least 1 and LO <= HI")
    return lo, hi


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def _nonnegative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value >= 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def _add_train(p: argparse.ArgumentParser) -> None:
    # the protocol `nclang gap` trains with too (one definition; it imports no torch)
    from nclang.compiler.training.config import HINT_WEIGHT, default_train
    d = default_train()
    p.add_argument("program", metavar="PROG.ncl", help="source file")
    p.add_argument("-o", "--output", required=True, metavar="OUT.safetensors",
                   help="the trained weight file to write (replaced atomically)")
    p.add_argument("--target", choices=COMPILE_TARGETS,
                   help="the network family (default: the program's own)")
    p.add_argument("--size", action="append", type=_size_arg, metavar="NAME=INT",
                   help="fix a size variable as for compile, e.g. --size k=8 (repeatable)")
    p.add_argument("--vocab", type=_vocab_arg, metavar="A,B,C",
                   help="the token vocabulary of a sequence program, comma-separated")
    p.add_argument("--train-sizes", type=_range_arg, default=d.n_range, metavar="LO..HI",
                   help=f"node counts of training graphs / lengths of training sequences "
                        f"(default {d.n_range[0]}..{d.n_range[1]}, the CLRS protocol)")
    p.add_argument("--families", metavar="F,G",
                   help=f"graph families to train on, comma-separated (default "
                        f"{','.join(d.families)}; also tree, grid, path)")
    p.add_argument("--examples", type=_count_arg, default=d.examples, metavar="N",
                   help=f"training inputs drawn (default {d.examples})")
    p.add_argument("--steps", type=_count_arg, default=d.steps, metavar="N",
                   help=f"the most optimiser steps (default {d.steps}; training stops sooner "
                        f"when the validation loss stops improving)")
    p.add_argument("--patience", type=int, default=d.patience, metavar="N",
                   help=f"stop after N validation checks (every {d.val_every} steps) without a "
                        f"new best, keeping the best weights; 0: run exactly --steps (default "
                        f"{d.patience})")
    p.add_argument("--batch", type=_count_arg, default=d.batch, metavar="N",
                   help=f"inputs per step (default {d.batch})")
    p.add_argument("--lr", type=_positive_float, default=d.lr, metavar="X",
                   help=f"Adam learning rate (default {d.lr:g})")
    p.add_argument("--weight-decay", type=_nonnegative_float, default=d.weight_decay,
                   metavar="X", help=f"Adam weight decay (default {d.weight_decay:g})")
    p.add_argument("--seed", type=int, default=d.seed, metavar="S",
                   help=f"seeds the init, the data and the batches (default {d.seed})")
    p.add_argument("--hints", type=_nonnegative_float, nargs="?", const=HINT_WEIGHT,
                   metavar="WEIGHT",
                   help=f"trace supervision (CLRS hints): also fit the state after every round, "
                        f"with this weight (default: on with weight {HINT_WEIGHT:g} for a graph "
                        f"program with one loop)")
    p.add_argument("--no-hints", action="store_true",
                   help="no trace supervision (train on the outputs alone)")
    p.add_argument("--init", choices=TRAIN_INITS, default="random",
                   help="start from random weights (default) or the compiled ones")
    p.add_argument("--noise", type=_nonnegative_float, metavar="SIGMA",
                   help="with --init compiled: add Gaussian noise of std SIGMA · rms(tensor) "
                        "to every weight tensor")
    p.add_argument("--program", dest="name", metavar="NAME",
                   help="which program of the file (needed when it has several)")


def _cmd_train(ctx: _Context) -> int:
    from nclang.compiler.driver import read_source
    from nclang.dsl.checker import check_source, select_program
    from nclang.dsl.diagnostics import did_you_mean
    args = ctx.args
    if STDIO in (args.program, args.output):
        ctx.usage_error("train reads the program from a file and writes the weights to a file, "
                        "not stdin or stdout")
    if args.noise is not None and args.init != "compiled":
        ctx.usage_error("argument --noise: applies with --init compiled")
    sizes = _sizes(ctx)
    source = read_source(args.program)
    ctx.sources[source.file] = source.text
    checked = select_program(check_source(source.text, source.file), args.name, source.file)
    _check_size_options(ctx, checked, {k: v for k, v in sizes.items()
                                       if not (k == "n" and checked.family == "seq")})
    from nclang.compiler.training.data import GRAPH_FAMILIES
    if args.hints is not None and args.no_hints:
        ctx.usage_error("argument --no-hints: not allowed with --hints")
    if args.patience < 0:
        ctx.usage_error("argument --patience: must be >= 0")
    families = None
    if args.families is not None:
        if checked.family != "graph":
            ctx.usage_error(f"argument --families: applies to graph programs; "
                            f"'{checked.program.name}' is a {checked.family} program")
        families = tuple(f.strip() for f in args.families.split(","))
        for f in families:
            if f not in GRAPH_FAMILIES:
                ctx.usage_error(f"argument --families: unknown family {f!r}"
                                f"{did_you_mean(f, GRAPH_FAMILIES)} (families: "
                                f"{', '.join(GRAPH_FAMILIES)})")
    lo, hi = args.train_sizes
    if checked.family == "seq" and "n" not in sizes:
        sizes["n"] = hi  # the transformer is built for the longest training sequence
    return _train(ctx, source, checked, sizes, families)


def _train_config(args, families=None):
    """The TrainConfig the options ask for, hints not yet resolved (`with_default_hints`): the
    protocol's defaults (`default_train`, as `nclang gap`) with the options given applied."""
    import dataclasses
    from nclang.compiler.training.config import default_train
    d = default_train()
    return dataclasses.replace(d, examples=args.examples, steps=args.steps,
                               patience=args.patience, batch=args.batch, lr=args.lr,
                               weight_decay=args.weight_decay, seed=args.seed,
                               n_range=tuple(args.train_sizes),
                               families=tuple(families or d.families),
                               trace_weight=args.hints or 0.0)


def _train(ctx: _Context, source, checked, sizes: dict[str, int], families) -> int:
    import dataclasses
    from nclang.compiler.training.config import with_default_hints
    from nclang.compiler.training.model import build
    from nclang.compiler.training.train import accuracy, make_data, train
    args = ctx.args
    trainable = build(checked, target=args.target, sizes=sizes, vocab=args.vocab, init=args.init,
                      noise=args.noise or 0.0, seed=args.seed, source=source)
    config = dataclasses.replace(_train_config(args, families), sizes=trainable.sizes or None)
    # `--hints 0` is off too, as it always was
    config = with_default_hints(config, trainable, hints=not args.no_hints and args.hints != 0)
    families = config.families
    data = make_data(checked, config, vocab=args.vocab)
    result = train(trainable, config, data=data)
    shown = data.instances[:200]
    acc = accuracy(trainable, shown, data.outputs[:len(shown)])
    losses = [x for x in result.losses]
    every = max(1, len(losses) // 50)  # a loss curve of at most ~50 points
    doc = {"init": args.init, "noise": args.noise or 0.0, "seed": args.seed,
           "steps": result.steps, "cap": result.cap, "stopped": result.stopped,
           "best_step": result.best_step, "patience": config.patience,
           "batch": args.batch, "lr": args.lr,
           "weight_decay": args.weight_decay, "examples": result.examples,
           "train_sizes": list(args.train_sizes), "families": list(families)
           if checked.family == "graph" else [], "hints": config.trace_weight,
           "sizes": trainable.sizes,
           "loss_curve": {"every": every, "losses": losses[::every]},
           "final_loss": losses[-1] if losses else None,
           "train_accuracy": {"exact": acc.exact, "elements": acc.elements,
                              "examples": acc.count}}
    trainable.save(args.output, doc)
    params = sum(p.numel() for p in trainable.module.parameters())
    final = f"{losses[-1]:.4g}" if losses else "n/a"
    first = f"{losses[0]:.4g} -> " if len(losses) > 1 else ""
    stopped = f" ({result.stopped} at step {result.steps}, cap {result.cap})" \
        if result.stopped != "cap" else ""
    print(f"trained {checked.program.name} ({trainable.family}, {params} parameters, "
          f"init {args.init}) for {result.steps} steps on {result.examples} examples in "
          f"{result.seconds:.1f} s: loss {first}{final}{stopped}; hints "
          f"{f'{config.trace_weight:g}' if config.trace_weight else 'off'}; train accuracy "
          f"{acc.exact:.1%} exact, {acc.elements:.1%} of elements; wrote {args.output}")
    return EXIT_OK


# ---------------------------------------------------------------- the parser and main

def _add_gap(p: argparse.ArgumentParser) -> None:
    from nclang.compiler.training import gap_cli
    gap_cli.add_arguments(p)


def _cmd_gap(ctx: _Context) -> int:
    from nclang.compiler.training import gap_cli
    out = getattr(ctx.args, "out", None)
    if out is not None and os.path.exists(out) and not os.path.isdir(out):
        ctx.usage_error(f"argument --out: {out} exists and is not a folder; gap writes "
                        f"gap.json, gap.md and plots into a folder")
    return gap_cli.main(ctx.args)


_COMMANDS = {
    "check": (_add_check, _cmd_check, "parse and type-check a program; print its interface"),
    "run": (_add_run, _cmd_run, "run a program on JSON input with the reference interpreter"),
    "compile": (_add_compile, _cmd_compile, "compile a program to a weight file"),
    "exec": (_add_exec, _cmd_exec, "run a compiled weight file on JSON input"),
    "inspect": (_add_inspect, _cmd_inspect, "describe a weight file: layers, widths, parameters"),
    "test": (_add_test, _cmd_test,
             "property-test a compiled network against the interpreter (hypothesis)"),
    "train": (_add_train, _cmd_train,
              "train the compiled architecture from data; write the trained weight file"),
    "gap": (_add_gap, _cmd_gap,
            "train seeds and compare them with the compiled network: gap.json, gap.md, plots"),
}


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


def _render(ctx: _Context, diagnostics) -> str:
    from nclang.dsl.diagnostics import render_all
    if not ctx.quoted:
        return render_all(diagnostics, ctx.sources)
    return "\n".join(_render_one(ctx, d) for d in diagnostics)


def _render_one(ctx: _Context, d) -> str:
    """A diagnostic quoting its line from a streamed record: rendered as if the record's text
    were the whole file (its lines renumbered from 1), under the diagnostic's own header."""
    import dataclasses
    for first, text in ctx.quoted.get(d.file, {}).items():
        if first <= d.line <= first + text.count("\n"):
            shifted = dataclasses.replace(d, line=d.line - first + 1,
                                          end_line=d.end_line - first + 1)
            return d.header() + shifted.render(text)[len(shifted.header()):]
    return d.render(ctx.sources.get(d.file))


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    ctx = _Context(args, args._parser)
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
            sys.stderr.write(_render(ctx, err.diagnostics) + "\n")
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


if __name__ == "__main__":
    sys.exit(main())
