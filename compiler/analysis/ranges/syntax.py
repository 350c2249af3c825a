"""What the range walker reads off the AST itself: spans as text, sub-expressions, the names a
body assigns, and a program's family, sizes and result names when no checker supplied them."""
from __future__ import annotations

from nclang.dsl import ast as A
from nclang.dsl import types as T


def _at(span: A.Span) -> str:
    return f"{span.file}:{span.line}:{span.col}"


def _subexprs(e):
    yield e
    for f in getattr(e, "__dataclass_fields__", ()):
        v = getattr(e, f)
        for x in v if isinstance(v, tuple) else (v,):
            if hasattr(x, "__dataclass_fields__") and not isinstance(x, A.Span):
                yield from _subexprs(x)


def _assigned(body) -> set[str]:
    out: set[str] = set()
    for s in body:
        match s:
            case A.Assign(target=t) | A.IndexedAssign(target=t):
                out.add(t)
            case A.Repeat(body=inner):
                out |= _assigned(inner)
    return out


def _family(program: A.Program) -> str:
    types = [T.from_syntax(p.type) for p in program.params]
    if any(isinstance(t, T.Graph) for t in types):
        return "graph"
    if any(isinstance(t, T.Field) and t.axes and t.axes[0].kind == "pos" for t in types):
        return "seq"
    return "bits"


def _default_sizes(family: str) -> frozenset[str]:
    return frozenset({"graph": ("n", "m"), "seq": ("n",), "bits": ("k",)}[family])


def _result_names(program: A.Program) -> tuple[str, ...]:
    ret = next((s for s in reversed(program.body) if isinstance(s, A.Return)), None)
    if ret is None:
        return ()
    if len(ret.values) == 1:
        v = ret.values[0]
        return (v.id if isinstance(v, A.Name) else "result",)
    return tuple(v.id if isinstance(v, A.Name) else f"result{i + 1}"
                 for i, v in enumerate(ret.values))
