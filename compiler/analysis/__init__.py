"""Depth, work and complexity class of a checked program (the cost model: docs/analysis.md).

`analyse(checked, source)` lowers the program to the IR, costs it, classifies it and compares the
class with the one the program declares (`program p(...) -> T in NC2 { … }`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy

from nclang.dsl import ast as A
from nclang.dsl.diagnostics import Diagnostic

from .. import ir
from ..lower import lower
from .classify import NOT_IN_NC, classify, size_variable, within
from .cost import cost
from .hints import nc_alternative


@dataclass(frozen=True)
class Analysis:
    program: str
    layers: sympy.Expr
    depth_bounded: sympy.Expr
    depth_threshold: sympy.Expr
    work: sympy.Expr
    cls: str
    reason: str | None = None
    reason_span: A.Span | None = None
    hint: str | None = None
    early_exit: bool = False
    declared: str | None = None
    diagnostics: tuple[Diagnostic, ...] = field(default_factory=tuple)
    size_variable: str = "n"

    def to_json(self) -> dict:
        span = self.reason_span
        return {
            "program": self.program,
            "layers": ir.format_size(self.layers),
            "depth_bounded": ir.format_size(self.depth_bounded),
            "depth_threshold": ir.format_size(self.depth_threshold),
            "work": ir.format_size(self.work),
            "class": self.cls,
            "declared_class": self.declared,
            "reason": self.reason,
            "reason_span": None if span is None else {
                "file": span.file, "line": span.line, "col": span.col,
                "end_line": span.end_line, "end_col": span.end_col},
            "hint": self.hint,
            "early_exit": self.early_exit,
            "size_variable": self.size_variable,
        }

    def summary_lines(self) -> list[str]:
        bound = " (a bound: `until stable` may stop earlier)" if self.early_exit else ""
        lines = [
            f"layers:     {ir.format_size(self.layers)}{bound}",
            f"depth:      {ir.format_size(self.depth_bounded)} (bounded fan-in), "
            f"{ir.format_size(self.depth_threshold)} (threshold gates)",
            f"work:       {ir.format_size(self.work)}",
            f"class:      {self.cls}" + (f" (declared {self.declared})" if self.declared else ""),
        ]
        if self.reason:
            where = f" ({self.reason_span.file}:{self.reason_span.line})" \
                if self.reason_span else ""
            lines.append(f"  reason:   {self.reason}{where}")
        if self.hint:
            lines.append(f"  hint:     {self.hint}")
        return lines


def analyse(checked, source: str | None = None, program: ir.Program | None = None) -> Analysis:
    """Cost and class of one checked program; `source` (the file's text) supplies the
    `// nc-alternative: NAME` hint; `program` is its IR when the caller has lowered it already."""
    program = program if program is not None else lower(checked)
    c = cost(program)
    found = classify(c, checked.family)
    p = checked.program
    hint = None
    if found.cls == NOT_IN_NC:
        alternative = nc_alternative(source, p, checked.module)
        if alternative:
            hint = f"'{alternative}' computes this in NC"
    diagnostics = _declared(p, found.cls)
    return Analysis(
        program=p.name, layers=c.layers, depth_bounded=c.depth_bounded,
        depth_threshold=c.depth_threshold, work=c.work, cls=found.cls, reason=found.reason,
        reason_span=found.reason_span, hint=hint,
        early_exit=any(loop.until_stable for loop in c.loops), declared=p.declared_class,
        diagnostics=tuple(diagnostics), size_variable=str(size_variable(checked.family)))


def transformer_layers(checked, n: int) -> sympy.Expr:
    """The transformer's layers for a sequence program compiled for lengths up to n: the blocks
    its network runs, a formula in `n` (a repeat's body counted `count` times). It comes from the
    target's own block plan (`nclang.compiler.targets.transformer.block_count`: the tasks and the
    residual allocator's schedule, no weights, no self-check; numpy only), so the two cannot
    drift apart. `layers` above is the target-independent model (1 + communication rounds); the
    transformer adds rounds of its own (counting the rows to learn n, a `mean` as two heads) and
    MLP-only blocks (query and key features, decoders feeding another MLP), see
    docs/analysis.md. Raises the target's NclError where the target refuses the program."""
    from ..targets.transformer import block_count  # lazy: the analysis itself needs no numpy
    return block_count(checked, n)


def _declared(p: A.Program, found: str) -> list[Diagnostic]:
    declared = p.declared_class
    if declared is None or declared == found:
        return []
    if within(found, declared):
        return [Diagnostic.at(p.class_span, "class-not-tight",
                              f"program '{p.name}' is declared {declared}; the analysis shows "
                              f"the smaller class {found}", severity="warning")]
    return [Diagnostic.at(p.class_span, "class-mismatch",
                          f"program '{p.name}' is declared {declared}, but the analysis "
                          f"finds {found} as written")]
