"""The API's options, checked before any work: what `nclang`'s argument parser refuses on the
command line (an unknown target, a size that is not a positive integer, a size the program has
not) the API refuses as an `NclError` at the program's name, the place `nclang compile` blames
for options that do not fit the program. The lists of targets, activations and dtypes are the
driver's own."""
from __future__ import annotations

from collections.abc import Mapping

from nclang.dsl.diagnostics import NclError, did_you_mean


def _refuse(program, code: str, message: str) -> NclError:
    return NclError.at(program.checked.program.name_span, code, message)


def choice(program, option: str, value, allowed) -> None:
    """Refuse `value` for `option` unless it is one of `allowed` (None: the default)."""
    if value is not None and value not in allowed:
        raise _refuse(program, f"unknown-{option}",
                      f"unknown {option} {value!r}{did_you_mean(str(value), allowed)} "
                      f"(one of {', '.join(allowed)})")


def sizes(program, given, *, allow_input_n: bool = False) -> dict[str, int]:
    """`given` (None or a mapping NAME -> INT, each at least 1) as a dict, refused unless every
    name is a size variable of `program` that its input does not fix. `allow_input_n`: a
    sequence program's `n`, which an input fixes, is the longest input a transformer is
    compiled for (`nclang compile --size n=N`)."""
    from nclang.dsl.jsonio import input_sizes
    if given is None:
        return {}
    if not isinstance(given, Mapping):
        raise _refuse(program, "bad-size", f"sizes must be a dict of NAME: INT (e.g. "
                                           f"{{'k': 8}}), got {type(given).__name__}")
    checked = program.checked
    fixed_by_input = set(input_sizes(checked))
    if allow_input_n and checked.family == "seq":
        fixed_by_input.discard("n")
    known = set(checked.size_vars)
    out = {}
    for name, value in given.items():
        if not isinstance(name, str) or isinstance(value, bool) or not isinstance(value, int) \
                or value < 1:
            raise _refuse(program, "bad-size", f"size {name!r} = {value!r}: a size is an "
                                               f"integer of at least 1")
        if name in fixed_by_input:
            raise _refuse(program, "unknown-size", f"size {name} is fixed by the input; drop it "
                                                   f"from sizes")
        if name not in known:
            listed = ", ".join(sorted(known - fixed_by_input)) or "none"
            raise _refuse(program, "unknown-size",
                          f"program {checked.program.name} has no size variable "
                          f"{name}{did_you_mean(name, known)} (sizes you can set: {listed})")
        out[name] = int(value)
    return out


def vocab(program, given) -> tuple[str, ...] | None:
    """A sequence program's token vocabulary: distinct non-empty strings, as `--vocab` takes."""
    if given is None:
        return None
    try:
        # a str is refused, not split: "abc" as three tokens or as one would be a guess
        tokens = None if isinstance(given, str) else tuple(given)
    except TypeError:
        tokens = None
    if not tokens or not all(isinstance(t, str) and t for t in tokens) \
            or len(set(tokens)) != len(tokens):
        raise _refuse(program, "bad-vocab", f"vocab must be distinct non-empty token strings, "
                                            f"got {given!r}")
    return tokens


def positive(program, option: str, value) -> None:
    """Refuse `value` for `option` unless it is None or an integer of at least 1."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise _refuse(program, f"bad-{option.replace('_', '-')}",
                      f"{option} must be a positive integer, got {value!r}")
