"""`nclang.check`: a program read, parsed, type-checked and analysed, as `nclang check` does,
kept as a `Program` that the other API functions take in place of source."""
from __future__ import annotations

import functools

from nclang.dsl import deep_recursion
from nclang.dsl.diagnostics import NclError


class Program:
    """One checked program (`nclang.check`): its signature, cost analysis, value ranges and IR.

    `checked` is the checker's `CheckedProgram`, `source` the driver's `Source` it was read
    from; `warnings` are the analysis' warnings (errors raise instead)."""

    def __init__(self, source, checked, lowered, analysis):
        self.source = source
        self.checked = checked
        self._lowered = lowered
        self.cost = analysis
        self.warnings = [d for d in analysis.diagnostics if d.severity != "error"]

    @property
    def name(self) -> str:
        return self.checked.program.name

    @property
    def family(self) -> str:
        """"bits", "graph" or "seq": the network family it compiles to is mlp, gnn, transformer."""
        return self.checked.family

    @property
    def file(self) -> str:
        return self.source.file

    @property
    def params(self) -> dict[str, str]:
        """Each parameter's type, as the language writes it, in order."""
        return {p.name: _type_text(p.type) for p in self.checked.program.params}

    @property
    def results(self) -> dict[str, str]:
        return {name: _type_text(t)
                for name, t in zip(self.checked.result_names, self.checked.program.results)}

    @property
    def size_vars(self) -> tuple[str, ...]:
        return tuple(sorted(self.checked.size_vars))

    @property
    def declared_class(self) -> str | None:
        return self.checked.program.declared_class

    @functools.cached_property
    def ranges(self):
        """The value ranges (the exactness bound, docs/analysis.md); computed on first use, as
        it is the slowest analysis."""
        from nclang.compiler.analysis.ranges import value_ranges
        with deep_recursion():
            return value_ranges(self.checked)

    @functools.cached_property
    def ir(self) -> str:
        """The program's IR as `nclang check --ir` prints it."""
        from nclang.compiler.ir import format_ir
        return format_ir(self._lowered)

    def signature(self) -> dict:
        """The program's entry of `nclang check --json`, without the analyses."""
        return {"name": self.name, "family": self.family,
                "params": [{"name": k, "type": v} for k, v in self.params.items()],
                "results": [{"name": k, "type": v} for k, v in self.results.items()],
                "size_vars": list(self.size_vars), "declared_class": self.declared_class}

    def to_json(self) -> dict:
        """The program's entry of `nclang check --json`: the signature, cost and ranges."""
        return {**self.signature(), "analysis": self.cost.to_json(),
                "ranges": self.ranges.to_json()}

    def summary(self) -> str:
        """What `nclang check` prints for the program."""
        params = ", ".join(f"{k}: {v}" for k, v in self.params.items())
        results = ", ".join(f"{k}: {v}" for k, v in self.results.items())
        lines = [f"{self.name}: {self.family} program", f"  parameters: {params or '(none)'}",
                 f"  results:    {results}"]
        lines += [f"  {line}" for line in self.cost.summary_lines()]
        lines.append(f"  values:     {self.ranges.summary()}")
        return "\n".join(lines) + "\n"

    def __repr__(self) -> str:
        params = ", ".join(f"{k}: {v}" for k, v in self.params.items())
        results = ", ".join(f"{k}: {v}" for k, v in self.results.items())
        return f"<nclang.Program {self.name}({params}) -> ({results}), {self.family}>"


def _type_text(texpr) -> str:
    from nclang.dsl import types as T
    return str(T.from_syntax(texpr))


@deep_recursion()
def check(source_or_path, *, program: str | None = None) -> Program:
    """Read, parse, type-check and analyse a program, as `nclang check` does. `source_or_path`
    is source text or a path (nclang/sources.py says which); `program` chooses one program of a
    file that holds several. Raises NclError with every error found."""
    if isinstance(source_or_path, Program):
        if program is not None and program != source_or_path.name:
            raise NclError.at(source_or_path.checked.program.name_span, "unknown-program",
                              f"this is program '{source_or_path.name}', not '{program}'")
        return source_or_path
    from nclang.compiler.analysis import analyse
    from nclang.compiler.lower import lower
    from nclang.dsl.checker import check_source, select_program

    from . import sources
    source = sources.read(source_or_path)
    checked = select_program(check_source(source.text, source.file), program, source.file)
    lowered = lower(checked)
    analysis = analyse(checked, source.text, lowered)
    errors = [d for d in analysis.diagnostics if d.severity == "error"]
    if errors:
        raise NclError(errors)
    return Program(source, checked, lowered, analysis)
