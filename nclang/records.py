"""Inputs given to the API as Python dicts, read as `nclang run` and `nclang exec` read a JSON
Lines file: each dict is written as one line of JSON and that text is parsed by the CLI's own
reader (`nclang.dsl.jsonio.read_records`), so every check and every message is the CLI's. The
text is named `<inputs>`, and input i of a list is its line i + 1: a bad value in the third
input is reported at `<inputs>:3:COL`, the column of the value in that line."""
from __future__ import annotations

from collections.abc import Mapping

from nclang.dsl.diagnostics import Diagnostic, NclError

INPUTS_NAME = "<inputs>"


def read(inputs) -> tuple[list[tuple[dict, int]], bool]:
    """([(record, line)], whether `inputs` was one dict rather than a list of them)."""
    from nclang.dsl.jsonio import dumps, read_records
    single = isinstance(inputs, Mapping)
    if single:
        items = [inputs]
    elif isinstance(inputs, (list, tuple)):
        items = list(inputs)
    else:
        raise NclError(_at(1, f"inputs must be a dict (one input, as in the JSON formats) or a "
                              f"list of them, got {type(inputs).__name__}"))
    if not items:
        return [], single
    lines, errors = [], []
    for line, item in enumerate(items, start=1):
        if not isinstance(item, Mapping):
            errors.append(_at(line, f"input {line} must be a dict (a JSON object), got "
                                    f"{type(item).__name__}"))
            continue
        try:
            lines.append(dumps(dict(item)))
        except (TypeError, ValueError) as err:
            errors.append(_at(line, f"input {line} is not JSON data: {err}"))
    if errors:
        raise NclError(errors)
    return read_records("\n".join(lines) + "\n", INPUTS_NAME), single


def _at(line: int, message: str) -> Diagnostic:
    return Diagnostic(INPUTS_NAME, line, 1, line, 2, "error", "bad-input", message)


def note(line: int) -> Diagnostic:
    """The note that says which input a run error of the program came from."""
    return Diagnostic(INPUTS_NAME, line, 1, line, 2, "note", "run-input",
                      "while running the program on this input")
