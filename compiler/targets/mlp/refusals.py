"""The mlp target's refusals: the sizes it needs, and the located NclErrors for a program past
float exactness or the size limits (its options are the registry's, checked by the driver)."""
from __future__ import annotations

import math

import numpy as np

from nclang.compiler import ir
from nclang.dsl import ast as A
from nclang.dsl import types as T
from nclang.dsl.diagnostics import NclError
from nclang.dsl.pretty import pretty_type

from ..registry import DTYPES, Dtype
from .circuit import ExactnessError, TooLargeError

NONE = -1          # the index `none`
TABLE_LIMIT = 1 << 16  # grid points a table gate may enumerate
SMALL_SELECT = 4096    # above this, a select uses the two-ridge gadget instead of a table


def _fixed_sizes(checked, sizes) -> dict[str, int]:
    p = checked.program
    sizes = dict(sizes or {})
    for name in sorted(checked.size_vars):
        if name not in sizes:
            raise NclError.at(_size_span(p, name), "missing-size",
                              f"size {name} is not fixed: pass --size {name}=N")
        v = sizes[name]
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise NclError.at(_size_span(p, name), "bad-size",
                              f"size {name} must be a positive integer, got {v!r}")
        sizes[name] = int(v)
    return sizes


def _size_span(p: A.Program, name: str) -> A.Span:
    for prm in p.params:
        if any(isinstance(n, A.Name) and n.id == name for n in _walk(prm.type)):
            return prm.span
    return p.name_span


def _walk(node):
    yield node
    if hasattr(node, "__dataclass_fields__"):
        for f in node.__dataclass_fields__:
            v = getattr(node, f)
            for x in v if isinstance(v, tuple) else (v,):
                if hasattr(x, "__dataclass_fields__"):
                    yield from _walk(x)


def _check_ranges(checked, report, sizes, dtype: Dtype) -> None:
    if report.value_at(sizes) < dtype.limit:
        return
    at = ", ".join(f"{k} = {sizes[k]}" for k in sorted(sizes)) or "these sizes"
    v = report.max_value
    head = f"{v.name} reaches {_show(v.magnitude)}" if v is not None else "a value grows"
    if dtype.name == "float32":
        msg = (f"{head}, which passes {dtype.bound} at {at}: float32 cannot hold it exactly; "
               f"compile for float64 (exact below {DTYPES['float64'].bound}) or use smaller "
               f"sizes")
    else:
        msg = f"{head}, which passes {dtype.bound} at {at}: not even float64 holds it exactly"
    span = v.span if v is not None else checked.program.name_span
    raise NclError.at(span, "not-exact", msg)


def _show(e) -> str:
    from nclang.compiler.analysis.ranges import show
    return show(e)


def _inexact(checked, err: ExactnessError, sizes, dtype) -> NclError:
    at = ", ".join(f"{k} = {sizes[k]}" for k in sorted(sizes)) or "these sizes"
    bits = math.log2(err.magnitude) if err.magnitude > 0 else 0
    bound = DTYPES[dtype].bound
    hint = f"; compile for float64 (exact below {DTYPES['float64'].bound})" \
        if dtype == "float32" else ""
    span = err.origin if isinstance(err.origin, A.Span) else checked.program.name_span
    return NclError.at(span, "not-exact",
                       f"the network for this value needs intermediates up to "
                       f"{err.magnitude:.0f} (2^{bits:.1f}) at {at}, past {bound}, where "
                       f"{dtype} stops being exact{hint}")


def _count(domain, sizes) -> int:
    return math.prod(max(ir.size_int(a.size, sizes), 0) for a in domain)


def _too_large(checked, err: TooLargeError, sizes) -> NclError:
    at = ", ".join(f"{k} = {sizes[k]}" for k in sorted(sizes)) or "these sizes"
    need = "more than " if err.what == "neurons" else ""
    return NclError.at(checked.program.name_span, "too-large",
                       f"the mlp network for '{checked.program.name}' at {at} needs "
                       f"{need}{err.count:,} {err.what}, past the mlp target's limit of "
                       f"{err.limit:,} (its layers are dense matrices); use a smaller size")


def _check_step_inputs(checked) -> None:
    for prm in checked.program.params:
        t = T.from_syntax(prm.type)
        elem = t.elem if isinstance(t, T.Field) else t
        if not isinstance(elem, T.Bool):
            raise NclError.at(prm.span, "step-needs-bool",
                              f"--activation step builds a Boolean threshold circuit, which "
                              f"reads bits; '{prm.name}' is {pretty_type(prm.type)} (compile "
                              f"with --activation relu)")


def _unsupported(span, what: str) -> NclError:
    return NclError.at(span, "mlp-unsupported", f"the mlp target cannot compute {what}")

