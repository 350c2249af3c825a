"""One compile's shared state, computed once and handed to the target: the checked program, its
verified IR, the cost analysis, the value ranges and the options. A target reads what it needs
from here and lowers and analyses nothing itself, so a compile lowers once and runs each analysis
once (tests/test_compilation.py counts the calls).

`prepare` builds it; the driver (`nclang.compiler.driver.compilation`) adds the refusals a
compile makes before any target builds (sizes, limits, the declared class, exactness).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nclang.dsl.diagnostics import NclError

from .targets.registry import ACTIVATIONS, DTYPES, OF_FAMILY, TARGETS, Dtype, Target

if TYPE_CHECKING:  # the driver imports this module; the IR (and sympy) load when a compile runs
    from nclang.compiler import ir

FAMILY_WORDS = {"bits": "bits", "graph": "graph", "seq": "sequence"}


@dataclass(frozen=True)
class Options:
    """What the user chose: the target, the sizes (every size no input fixes), the activation,
    the dtype the network must be exact in, the transformer's token vocabulary, and how the
    target runs (its self-check against the interpreter; every refusal rather than the first,
    for `nclang check --target`)."""
    target: str
    sizes: dict[str, int] = field(default_factory=dict)
    activation: str = "relu"
    dtype: str = "float32"
    vocab: tuple[str, ...] | None = None
    self_check: bool = True
    all_refusals: bool = False
    mlp_layers: int | None = None  # the transformer's most hidden layers per block's MLP


@dataclass(frozen=True)
class Compilation:
    checked: object        # the checked program (nclang.dsl.checker)
    program: ir.Program    # its IR, verified
    cost: object           # nclang.compiler.analysis.Analysis: depth, work, layers, class
    ranges: object         # nclang.compiler.analysis.ranges' report: every value's interval
    options: Options

    @property
    def target(self) -> Target:
        return TARGETS[self.options.target]

    @property
    def dtype(self) -> Dtype:
        return DTYPES[self.options.dtype]

    @property
    def sizes(self) -> dict[str, int]:
        return self.options.sizes


def choose_target(checked, target: str | None) -> str:
    """The target for this program: `target` when given and it fits the program's family, else
    the family's own; NclError when it does not fit, ValueError for a name no target has."""
    p = checked.program
    own = OF_FAMILY[checked.family]
    if target is None:
        return own
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; one of {', '.join(TARGETS)}")
    if target != own:
        raise NclError.at(p.name_span, "wrong-target",
                          f"the {target} target compiles {FAMILY_WORDS[TARGETS[target].family]} "
                          f"programs; '{p.name}' is a {FAMILY_WORDS[checked.family]} program "
                          f"(its target is {own})")
    return target


def check_options(checked, options: Options) -> Target:
    """The options' target, once every option is one the registry knows (else ValueError: a
    caller's mistake) and one this target builds networks with (else the user's NclError)."""
    target = TARGETS[choose_target(checked, options.target)]
    if options.activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {options.activation!r}; one of "
                         f"{', '.join(ACTIVATIONS)}")
    if options.dtype not in DTYPES:
        raise ValueError(f"unknown dtype {options.dtype!r}; one of {', '.join(DTYPES)}")
    for what, value, allowed in (("activation", options.activation, target.activations),
                                 ("dtype", options.dtype, target.dtypes)):
        if value not in allowed:
            others = [t.name for t in TARGETS.values()
                      if value in (t.activations if what == "activation" else t.dtypes)]
            raise NclError.at(checked.program.name_span, f"{target.name}-unsupported",
                              f"the {target.name} target builds {target.builds}; --{what} "
                              f"{value} is for the {' and '.join(others)} target")
    return target


def prepare(checked, options: Options, source: str | None = None) -> Compilation:
    """The one lowering and the analyses of `checked` under `options` (checked first, see
    `check_options`); `source` (the file's text) supplies the analysis' `nc-alternative`
    hint."""
    from nclang.compiler.analysis import analyse
    from nclang.compiler.analysis.ranges import value_ranges
    from nclang.compiler.lower import lower

    check_options(checked, options)
    program = lower(checked)
    return Compilation(checked, program, analyse(checked, source, program),
                       value_ranges(checked), options)


def standalone(target: str, checked, sizes, activation: str, dtype: str, **options):
    """A target's artifact for `checked` without the driver's refusals (a target's tests and
    tools call it directly): `prepare`, then the target's `compile`."""
    c = prepare(checked, Options(target, dict(sizes or {}), activation, dtype, **options))
    return c.target.compile(c)
