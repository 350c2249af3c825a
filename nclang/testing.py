"""The hypothesis strategies `nclang test` draws inputs with (`nclang.compiler.testing`), for a
`Program`: `instances` draws the interpreter's `Instance`s, `inputs` the same inputs as dicts in
the JSON input format, ready for `nclang.run` and `Network.run`. Importing this imports
hypothesis."""
from __future__ import annotations

from hypothesis import strategies as st

from nclang.compiler.testing import instance_to_json
from nclang.compiler.testing import instances as _instances
from nclang.compiler.testing import vocabulary as _vocabulary
from nclang.compiler.testing.inputs import DEFAULT_MAX_N

from .program import check

__all__ = ["DEFAULT_MAX_N", "inputs", "instances", "vocabulary"]


def instances(program, sizes: dict[str, int] | None = None, *, max_n: int | None = None,
              vocab: tuple[str, ...] | None = None) -> st.SearchStrategy:
    """Valid inputs (`nclang.dsl.values.Instance`) of `program` (a `Program`, source or a
    path): `sizes` fixes the sizes the input does not (for `n`, which it does, the largest
    drawn; default DEFAULT_MAX_N, or `max_n`); `vocab` the tokens (default: the program's
    string literals, then a few others)."""
    prog = check(program)
    return _instances(prog.checked, sizes, max_n=max_n, vocab=vocab)


def inputs(program, sizes: dict[str, int] | None = None, *, max_n: int | None = None,
           vocab: tuple[str, ...] | None = None) -> st.SearchStrategy[dict]:
    """`instances` as dicts in the JSON input format (what `nclang run --input` reads)."""
    prog = check(program)
    return _instances(prog.checked, sizes, max_n=max_n, vocab=vocab).map(
        lambda instance: instance_to_json(prog.checked, instance))


def vocabulary(program) -> tuple[str, ...]:
    """The tokens `instances` draws by default for `program`: its string literals, in source
    order, then a few others."""
    return _vocabulary(check(program).checked)
