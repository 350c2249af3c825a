"""`nclang.run`: the reference interpreter on inputs in the JSON formats, as `nclang run`."""
from __future__ import annotations

from nclang.dsl import deep_recursion
from nclang.dsl.diagnostics import Diagnostic, NclError

from . import options, records
from .program import check


@deep_recursion()
def run(program, inputs, *, sizes: dict[str, int] | None = None):
    """The interpreter's outputs for `inputs` (a dict in the JSON input format, or a list of
    them): a dict for a dict, a list for a list. `program` is a `Program` or source or a path;
    `sizes` fixes the size variables the input does not (`--size k=8`)."""
    from nclang.dsl import limits
    from nclang.dsl.interpreter import run as interpret
    from nclang.dsl.jsonio import check_sizes, decode, encode
    prog = check(program)
    checked = prog.checked
    fixed = options.sizes(prog, sizes)
    check_sizes(checked, fixed, prog.file)
    too_big = limits.check_sizes(fixed, checked.program.name_span)
    if too_big is not None:  # before any input is decoded at that size
        raise NclError(Diagnostic.at(too_big.span, "resource-limit", too_big.message))
    found, single = records.read(inputs)
    decoded, errors = [], []
    for record, line in found:
        try:
            decoded.append((decode(checked, record, fixed, records.INPUTS_NAME, line), line))
        except NclError as err:
            errors += err.diagnostics
    if errors:
        raise NclError(errors)
    outputs = []
    for instance, line in decoded:
        try:
            outputs.append(encode(checked, interpret(checked, instance)))
        except NclError as err:
            # the run error points into the program; the note says which input caused it
            errors += err.diagnostics + [records.note(line)]
    if errors:
        raise NclError(errors)
    return outputs[0] if single else outputs
