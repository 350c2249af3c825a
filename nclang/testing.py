"""The hypothesis strategies `nclang test` draws inputs with (`nclang.compiler.testing`).

For a `Program`: `instances` draws the interpreter's `Instance`s, `inputs` the same inputs as
dicts in the JSON input format, ready for `nclang.run` and `Network.run`. The pieces they are
made of, for writing a strategy of one's own: `graphs` (directed multigraphs, in the JSON input
format), `bits` (unsigned integers of a width) and `sequences` (token or value lists). Each
draws the cases networks get wrong often and shrinks towards small ones. The pytest plugin
(`pytest --nclang DIR`, `nclang.pytest_plugin`) tests programs with `inputs`.

Importing this imports hypothesis."""
from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from nclang.compiler.testing import instance_to_json
from nclang.compiler.testing import instances as _instances
from nclang.compiler.testing import vocabulary as _vocabulary
from nclang.compiler.testing.inputs import DEFAULT_MAX_N
from nclang.compiler.testing.inputs import graphs as _graphs
from nclang.compiler.testing.inputs import unsigned as _unsigned

from .program import check

__all__ = ["DEFAULT_MAX_N", "bits", "graphs", "inputs", "instances", "sequences", "vocabulary"]


def graphs(max_n: int = DEFAULT_MAX_N) -> st.SearchStrategy[dict]:
    """Directed multigraphs on 1..`max_n` nodes as `{"n": N, "edges": [[u, v], ...]}` (the
    graph part of a graph program's JSON input): random ones of a few densities, edgeless ones,
    long paths through a random order of the nodes, two components, with a repeated edge and a
    self-loop drawn often. They shrink towards one node and no edges."""
    return _graphs(max_n).map(lambda g: {
        "n": g.n, "edges": [[int(u), int(v)] for u, v in zip(g.src.tolist(), g.dst.tolist())]})


def bits(width: int) -> st.SearchStrategy[int]:
    """A `width`-bit unsigned integer (what a `bits[k]` input holds in the JSON input format),
    with 0, all ones, a single bit and all but one bit drawn often; the others bit by bit, so a
    counterexample shrinks to the bits that matter."""
    return _unsigned(width)


def sequences(elements, max_len: int = DEFAULT_MAX_N, *, min_len: int = 1,
              unique: bool = False) -> st.SearchStrategy[list]:
    """Lists of `min_len`..`max_len` items of `elements` (a strategy, or a collection of tokens
    or values drawn from in order, so shrinking goes towards the first), pairwise distinct when
    `unique`: a `seq[...]` input's list in the JSON input format."""
    if not isinstance(elements, st.SearchStrategy):
        if not isinstance(elements, Sequence) or isinstance(elements, str) or not elements:
            raise TypeError("sequences: elements must be a strategy or a non-empty sequence of "
                            f"tokens or values, got {elements!r}")
        elements = st.sampled_from(list(elements))
    return st.lists(elements, min_size=min_len, max_size=max_len, unique=unique)


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
