"""Checking a module: its names, its defs (signatures, recursion, bodies), and each program's
family, parameters and results; the statements and expressions of one body are `body.py`'s."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .. import ast as A
from .. import types as T
from ..diagnostics import Diagnostic, NclError, did_you_mean
from ..parser import parse
from .associativity import associativity
from .body import _Checker, _mentions
from .messages import _fmt
from .names import AGGREGATIONS, BUILTINS, CLASSES
from .relations import ERR, _accepts
from .size_ranges import _size_vars_of


@dataclass
class CheckedProgram:
    program: A.Program
    module: A.Module
    family: str
    types: dict[int, T.Type]
    var_types: dict[str, T.Type]
    assign_axes: dict[int, tuple[T.Axis, ...]]
    binder_axes: dict[int, T.Axis]
    comp_axes: dict[int, T.Axis]
    defs: dict[str, A.Def]
    size_vars: frozenset[str]
    result_names: tuple[str, ...]

    def type_of(self, e) -> T.Type:
        return self.types[id(e)]


# ---------------------------------------------------------------- public API

def check_module(module: A.Module, source: str | None = None) -> list[CheckedProgram]:
    """Check every program and def; raise `NclError` with all diagnostics if there are any.
    `source` is accepted so callers can pass the text along; diagnostics carry spans only."""
    mod = _ModuleChecker(module)
    checked = mod.run()
    if mod.diags:
        unique = list(dict.fromkeys(mod.diags))
        unique.sort(key=lambda d: (d.file, d.line, d.col))
        raise NclError(unique)
    return checked


def check_source(text: str, file: str) -> list[CheckedProgram]:
    return check_module(parse(text, file), text)


def select_program(checked: list[CheckedProgram], name: str | None, file: str) -> CheckedProgram:
    names = [c.program.name for c in checked]
    span = A.Span.unknown(file)
    if name is None:
        if len(checked) == 1:
            return checked[0]
        if not checked:
            raise NclError.at(span, "no-program", f"{file} holds no program")
        raise NclError.at(span, "ambiguous-program",
                          f"{file} holds {len(checked)} programs ({', '.join(names)}); "
                          "pass --program NAME to choose one")
    for c in checked:
        if c.program.name == name:
            return c
    raise NclError.at(span, "unknown-program",
                      f"no program '{name}' in {file}" + did_you_mean(name, names))


class _ModuleChecker:
    def __init__(self, module: A.Module):
        self.module = module
        self.diags: list[Diagnostic] = []
        self.defs: dict[str, A.Def] = {}
        self.def_params: dict[str, list] = {}
        self.def_results: dict[str, object] = {}
        self.def_types: dict[int, T.Type] = {}
        self.unevaluable: set[str] = set()  # defs with errors or recursion
        self.associativity: dict[str, tuple[str, str] | None] = {}

    def err(self, span, code, message):
        self.diags.append(Diagnostic.at(span, code, message))
        return ERR

    def run(self) -> list[CheckedProgram]:
        seen: dict[str, A.Span] = {}
        for item in self.module.items:
            if item.name in seen:
                first = seen[item.name]
                self.err(item.name_span, "duplicate-name",
                         f"'{item.name}' is already defined at line {first.line}")
                continue
            seen[item.name] = item.name_span
            if isinstance(item, A.Def):
                if item.name in BUILTINS or item.name in AGGREGATIONS:
                    self.err(item.name_span, "duplicate-name",
                             f"'{item.name}' is a builtin; choose another name")
                self.defs[item.name] = item
        for d in self.defs.values():
            self.def_signature(d)
        self.check_recursion()
        for d in self.defs.values():
            self.check_def(d)
        if not self.module.items:
            # an empty file would otherwise check silently, with exit 0 (a file of defs alone
            # checks them; running it says it holds no program)
            file = self.module.span.file
            self.err(A.Span.unknown(file), "no-program",
                     f"no program in {file}: a file holds one or more "
                     f"'program NAME(…) -> T {{ … }}'")
        return [c for p in self.module.programs if (c := self.check_program(p)) is not None]

    # ---- defs

    def def_signature(self, d: A.Def):
        ch = _Checker(self, None, {}, self.def_types)
        self.def_params[d.name] = [ch.type_of_syntax(p.type, "def") for p in d.params]
        self.def_results[d.name] = ch.type_of_syntax(d.result, "def-result")

    def check_recursion(self):
        calls = {name: [c for c in A.walk(d.body) if isinstance(c, A.Call) and c.func in self.defs]
                 for name, d in self.defs.items()}
        reach: dict[str, set[str]] = {}
        for name in self.defs:
            seen, todo = set(), [c.func for c in calls[name]]
            while todo:
                f = todo.pop()
                if f not in seen:
                    seen.add(f)
                    todo += [c.func for c in calls[f]]
            reach[name] = seen
        for name in self.defs:
            for c in calls[name]:
                if c.func == name or name in reach[c.func]:
                    self.unevaluable.add(name)
                    how = "itself" if c.func == name else f"itself through '{c.func}'"
                    self.err(c.func_span, "recursion",
                             f"'{name}' calls {how}; a def cannot be recursive")

    def check_def(self, d: A.Def):
        before = len(self.diags)
        ch = _Checker(self, None, {}, self.def_types)
        seen: set[str] = set()
        for prm in d.params:
            if prm.name in seen:
                self.err(prm.span, "duplicate-name", f"parameter '{prm.name}' is declared twice")
            seen.add(prm.name)
        ch.declare_params(d.params, self.def_params[d.name])
        ch.assigned_names = {s.target for s in d.body if isinstance(s, A.Assign)}
        result = self.def_results[d.name]
        for i, s in enumerate(d.body):
            match s:
                case A.Assign():
                    ch.assign(s)
                case A.Return(values=values):
                    if i != len(d.body) - 1:
                        self.err(s.span, "misplaced-return", "return must be the last statement")
                    for v in values:
                        ch.scalar(v)
                    if len(values) != 1:
                        self.err(s.span, "result-count",
                                 f"a def returns one value, not {len(values)}")
                    else:
                        found = _accepts(result, ch.types[id(values[0])])
                        if found:
                            self.err(values[0].span, found[0],
                                     f"'{d.name}' returns the wrong type: {found[1]}")
                case _:
                    self.err(s.span, "def-body", "a def body holds only assignments 'x = ...' "
                             "and a final return")
        if not any(isinstance(s, A.Return) for s in d.body):
            self.err(d.name_span, "missing-return", f"def '{d.name}' does not end with a return")
        if len(self.diags) > before:
            self.unevaluable.add(d.name)

    def check_associative(self, name: str) -> tuple[str, str] | None:
        if name not in self.associativity:
            self.associativity[name] = self._associativity(name)
        return self.associativity[name]

    def _associativity(self, name: str) -> tuple[str, str] | None:
        return associativity(name, self.def_params[name], self.def_results[name], self.defs,
                             bool(self.unevaluable))


    # ---- programs

    def check_program(self, p: A.Program) -> CheckedProgram | None:
        before = len(self.diags)
        size_names = {x for prm in p.params for x in _size_vars_of(prm.type)}
        bit_sizes = {x: T.Int(1, None) for x in size_names}
        types: dict[int, T.Type] = {}
        probe = _Checker(self, None, bit_sizes, types)
        param_types: dict[str, T.Type] = {}
        for prm in p.params:
            t = probe.type_of_syntax(prm.type, "param")
            if prm.name in param_types:
                self.err(prm.span, "duplicate-name", f"parameter '{prm.name}' is declared twice")
            else:
                param_types[prm.name] = t
        family = self.family(p, param_types)
        sizes = dict(bit_sizes)
        if family in ("graph", "seq"):
            sizes["n"] = T.Int(1, None)
        if family == "graph":
            sizes["m"] = T.Int(0, None)
        ch = _Checker(self, family, sizes, types)
        for prm in p.params:
            why = _reserved_param(prm.name, family, sizes)
            if why:
                self.err(prm.span, "reserved-name",
                         f"a parameter cannot be named '{prm.name}': {why}; choose another name")
        ch.declare_params(p.params, [param_types.get(prm.name, ERR) for prm in p.params])
        ranges = {a for t in param_types.values() if isinstance(t, T.Field)
                  for a in t.axes if a.kind == "range"}
        ch.default_range = next(iter(ranges)) if len(ranges) == 1 else None
        ch.range_count = len(ranges)
        results = [ch.type_of_syntax(r, "result") for r in p.results]
        for texpr, t in zip(p.results, results):
            ch.check_family_of(texpr.span, t, "return")
        if p.declared_class is not None and not re.fullmatch(r"AC0|TC0|NC|NC[1-9][0-9]*",
                                                              p.declared_class):
            self.err(p.class_span, "unknown-class",
                     f"unknown class '{p.declared_class}'; expected AC0, TC0, NC1, NC2, …, or NC"
                     + did_you_mean(p.declared_class, CLASSES))
        ch.assigned_names = {s.target for s in A.walk(p.body)
                             if isinstance(s, (A.Assign, A.IndexedAssign))}
        ch.block(p.body, top=True)
        result_names: tuple[str, ...] = ()
        ret = p.body[-1] if p.body and isinstance(p.body[-1], A.Return) else None
        if ret is None:
            if not any(isinstance(s, A.Return) for s in A.walk(p.body)):
                self.err(p.name_span, "missing-return",
                         f"program '{p.name}' does not end with a return")
        else:
            result_names = self.check_results(p, ret, results, types)
        if len(self.diags) > before:
            return None
        types.update(self.def_types)
        return CheckedProgram(p, self.module, family, types, ch.var_types, ch.assign_axes,
                              ch.binder_axes, ch.comp_axes, dict(self.defs),
                              frozenset(sizes), result_names)

    def family(self, p: A.Program, params: dict[str, T.Type]) -> str:
        graphs = [prm for prm in p.params if isinstance(params.get(prm.name), T.Graph)]
        graphy = [name for name, t in params.items() if _mentions(t, ("node", "edge"))]
        seqy = [name for name, t in params.items() if _mentions(t, ("pos",))]
        for extra in graphs[1:]:
            self.err(extra.span, "bad-type", "a program takes at most one graph")
        if (graphs or graphy) and seqy:
            self.err(p.name_span, "mixed-family",
                     f"program '{p.name}' mixes graph parameters "
                     f"({', '.join(x.name for x in graphs) or ', '.join(graphy)}) and sequence "
                     f"parameters ({', '.join(seqy)}); a program is one or the other")
            return "graph"
        if graphy and not graphs:
            self.err(p.name_span, "missing-graph",
                     f"program '{p.name}' has node, edge or pair parameters "
                     f"({', '.join(graphy)}) but no graph; add a parameter 'g: graph'")
        if graphs or graphy:
            return "graph"
        return "seq" if seqy else "bits"

    def check_results(self, p, ret: A.Return, results, types) -> tuple[str, ...]:
        if len(ret.values) != len(results):
            self.err(ret.span, "result-count", f"returns {len(ret.values)} value(s) but program "
                     f"'{p.name}' declares {len(results)} result(s)")
        else:
            for v, declared in zip(ret.values, results):
                actual = types.get(id(v), ERR)
                found = _accepts(declared, actual)
                if found:
                    elem = actual.elem if isinstance(actual, T.Field) else actual
                    hint = ""
                    if isinstance(elem, T.Index) and elem.axis.kind in ("node", "pos"):
                        word = "node" if elem.axis.kind == "node" else "position"
                        want = (f"{_fmt(actual).split('[')[0]}[{word}]"
                                if isinstance(actual, T.Field) else word)
                        hint = (f"; declare it {want} (a {word} or none, written as an "
                                f"integer or null)")
                    self.err(v.span, found[0], f"wrong result type: {found[1]}{hint}")
        names = []
        for i, v in enumerate(ret.values):
            if isinstance(v, A.Name):
                name = v.id
            else:
                name = "result" if len(ret.values) == 1 else f"result{i + 1}"
            if name in names:
                self.err(v.span, "duplicate-name", f"'{name}' is returned twice; the output "
                         "would have two entries with that name")
            names.append(name)
        return tuple(names)


# The JSON input of a graph program holds the graph under these keys, beside its parameters.
GRAPH_INPUT_KEYS = {"n": "the number of nodes", "edges": "the edge list"}
SIZE_NAMES = ("n", "m", "k")


def _reserved_param(name: str, family: str, sizes) -> str | None:
    """Why a program parameter may not be called `name`, or None. A parameter is a key of the
    JSON input and a name in every expression, so it may be neither a graph's own key nor a size
    variable (of this program, or one of n, m, k, which the docs always mean as sizes)."""
    if family == "graph" and name in GRAPH_INPUT_KEYS:
        return f"a graph program's input already uses the key \"{name}\" for " \
               f"{GRAPH_INPUT_KEYS[name]}"
    if name in sizes or name in SIZE_NAMES:
        return f"{name} is a size variable"
    return None
