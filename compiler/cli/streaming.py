"""JSON Lines in, JSON Lines out, a batch at a time: how `run` (the interpreter) and `exec` (a
network) read `--input` and write `--output` without holding either whole."""
from __future__ import annotations

import errno
import sys

from .context import EXIT_OK, STDIO, Context

# Instances read, run and written together: enough to amortise a forward pass, few enough that
# memory stays bounded however long the input is.
BATCH = 1024


def stream(ctx: Context, decode_one, run_batch, decode_arrays=None) -> int:
    """Read `--input` a batch of records at a time, decode each (`decode_one(record, file,
    line)`), run the batch (`run_batch(file, [(instance, item)])`: the output lines, or an int
    exit status to stop with) and write its results to `--output` before reading on.

    A batch is all or nothing: the first batch with any error (every one of its errors is
    reported) is not written and nothing after it is read, so stdout holds the results of the
    batches before it, and an `--output` file is written only when every batch succeeded.

    An `.npz` input is one instance, its arrays decoded by `decode_arrays(arrays, file)` (a
    command without it refuses the archive)."""
    from nclang.dsl.jsonio import iter_records
    from nclang.dsl.jsonio.columnar import is_npz
    if is_npz(ctx.args.input):
        return _columnar(ctx, decode_arrays, run_batch)
    in_file, in_stream = ctx.open_input(ctx.args.input)
    try:
        with _Output(ctx.args.output) as sink:
            batch = []
            for item in iter_records(in_stream, in_file):
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
            in_stream.close()
    return EXIT_OK


def _columnar(ctx: Context, decode_arrays, run_batch) -> int:
    from nclang.dsl.diagnostics import Diagnostic, NclError
    from nclang.dsl.jsonio import Item
    from nclang.dsl.jsonio.columnar import read_npz
    if decode_arrays is None:
        raise NclError(Diagnostic(ctx.args.input, 1, 1, 1, 2, "error", "bad-input",
                                  "an .npz input is read by `nclang exec`; give this command "
                                  "JSON"))
    in_file, in_stream = ctx.open_input(ctx.args.input)
    try:
        arrays = read_npz(in_stream, in_file)
    finally:
        in_stream.close()
    instance = decode_arrays(arrays, in_file)
    with _Output(ctx.args.output) as sink:
        lines = run_batch(in_file, [(instance, Item(1, None, [], "", 1))])
        if isinstance(lines, int):
            return lines
        sink.write(lines)
        sink.commit()
    return EXIT_OK


def _stream_batch(ctx: Context, in_file: str, batch, decode_one, run_batch, sink) -> int:
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

