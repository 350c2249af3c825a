"""The property test: a compiled network computes exactly what the reference interpreter does.

`test_program` draws inputs with `inputs.instances`, runs the interpreter on each (an input the
interpreter rejects is outside the program's domain and is discarded) and the network on all of
them, and compares every output bit for bit: no tolerance, since an exact network has no excuse.

It works in two passes with the same seed. The first collects the inputs without running the
network and then runs the network on all of them in batches, which is where the time goes when
everything agrees. Only when an input disagrees does the second pass run, one input per call:
hypothesis, seeded alike, draws the same inputs in the same order, reaches the failure again and
shrinks it to a small counterexample.
"""
from __future__ import annotations

import math
import os
import random
from dataclasses import dataclass, field

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, assume, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import Unsatisfiable

from nclang.dsl import types as T
from nclang.dsl.diagnostics import NclError
from nclang.dsl.interpreter import run as interpret
from nclang.dsl.jsonio import encode, encode_value, input_sizes
from nclang.dsl.values import Instance

from .boundary import instance_key as _key
from .boundary import outputs_agree, same as _same  # noqa: F401
from .inputs import DEFAULT_MAX_N, instance_to_json, instances

DEFAULT_EXAMPLES = 200
# Inputs per network call in the first pass: large enough to amortise torch's per-call cost,
# small enough that a batch of large graphs stays within memory.
BATCH = 1024


@dataclass
class Counterexample:
    """An input on which the network and the interpreter disagree, in JSON form: `input` for
    `nclang run --input`, `expected` the interpreter's output, `got` the network's (exact: a
    value the network produced off the output encoding is shown as the number it is)."""
    input: dict
    expected: dict
    got: dict
    outputs: list[str]
    instance: Instance = field(repr=False)

    def to_json(self) -> dict:
        return {"input": self.input, "expected": self.expected, "got": self.got}


@dataclass
class Result:
    program: str
    sizes: dict[str, int]
    max_n: int | None
    seed: int
    examples: int
    rejected: int
    counterexample: Counterexample | None = None
    shrunk: bool = False

    @property
    def ok(self) -> bool:
        return self.counterexample is None and self.examples > 0

    def describe_sizes(self) -> str:
        parts = [f"{k}={v}" for k, v in sorted(self.sizes.items())]
        if self.max_n is not None:
            parts.append(f"n<={self.max_n}")
        return ", ".join(parts)

    def summary(self) -> str:
        where = self.describe_sizes()
        where = f"{where}, seed {self.seed}" if where else f"seed {self.seed}"
        if self.counterexample is not None:
            how = "shrunk counterexample" if self.shrunk else "counterexample"
            return (f"FAILED: the network disagrees with the interpreter on "
                    f"{', '.join(self.counterexample.outputs)} ({how}; {where})")
        if self.examples == 0:
            return (f"no input found that the interpreter accepts ({self.rejected} drawn, all "
                    f"rejected; {where})")
        noun = "input agrees" if self.examples == 1 else "distinct inputs agree"
        return f"ok: {self.examples} {noun} ({where})"


class _Disagreement(Exception):
    def __init__(self, instance, expected, got, outputs):
        super().__init__(f"network and interpreter disagree on {', '.join(outputs)}")
        self.instance, self.expected, self.got, self.outputs = instance, expected, got, outputs


# ---------------------------------------------------------------- comparing

# ---------------------------------------------------------------- showing what the network gave

def _well_formed(t: T.Type, value: np.ndarray) -> bool:
    """Whether `value` is a value of `t` in its numpy form, so the JSON encoding shows it as is."""
    elem = t.elem if isinstance(t, T.Field) else t
    if value.dtype == object:
        return isinstance(elem, T.Token) and all(isinstance(x, str) for x in value.reshape(-1))
    if isinstance(elem, T.Token):
        return False
    x = value.astype(np.float64)
    if np.isnan(x).any():
        return False
    if isinstance(elem, T.Bool):
        return bool(np.isin(x, (0.0, 1.0)).all())
    if isinstance(elem, T.Frac):
        return True
    finite = x[np.isfinite(x)]
    if not (finite == np.round(finite)).all():
        return False
    if isinstance(elem, (T.Index, T.NoneType)):
        return bool(np.isfinite(x).all() and (x >= -1).all())
    return True


def _raw(x: float):
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return int(x) if float(x).is_integer() else x


def _nested(value, f):
    if isinstance(value, list):
        return [_nested(v, f) for v in value]
    return f(value)


def encode_got(checked, got: dict) -> dict:
    """The network's outputs as JSON: the documented encoding where a value is well-formed (what
    `nclang exec` prints), else the raw numbers, so that an off-by-a-fraction output is visible
    rather than rounded into agreement."""
    out = {}
    for name, texpr in zip(checked.result_names, checked.program.results):
        if name not in got:
            out[name] = None
            continue
        t = T.from_syntax(texpr)
        value = np.asarray(got[name])
        if value.dtype != object and value.dtype.kind in "biuf":
            value = value.astype(np.float64) if value.dtype.kind != "b" else value
        if _well_formed(t, value):
            if isinstance(t.elem if isinstance(t, T.Field) else t, T.Bool):
                value = value.astype(np.bool_)
            out[name] = encode_value(t, value)
        elif value.dtype == object:
            out[name] = _nested(value.tolist(), str)
        else:
            out[name] = _nested(value.astype(np.float64).tolist(), _raw)
    return out


def _counterexample(checked, instance, expected, got, outputs) -> Counterexample:
    return Counterexample(instance_to_json(checked, instance), encode(checked, expected),
                          encode_got(checked, got), list(outputs), instance)


# ---------------------------------------------------------------- the runner

def _network(net):
    if isinstance(net, (str, os.PathLike)):
        from nclang.compiler.runtime import load
        return load(net)
    return net


def _settings(examples: int, phases) -> settings:
    return settings(max_examples=examples, database=None, deadline=None, derandomize=False,
                    phases=phases, suppress_health_check=list(HealthCheck),
                    verbosity=Verbosity.quiet, report_multiple_bugs=False)


def _find_disagreement(err: BaseException):
    if isinstance(err, _Disagreement):
        return err
    if isinstance(err, BaseExceptionGroup):
        for inner in err.exceptions:
            found = _find_disagreement(inner)
            if found is not None:
                return found
    return None


def test_program(checked, net, sizes: dict[str, int] | None = None, *,
                 examples: int = DEFAULT_EXAMPLES, seed: int | None = None,
                 max_n: int | None = None, vocab: tuple[str, ...] | None = None) -> Result:
    """Compare the compiled network `net` (a weight file's path, or an object whose
    `run(list[Instance])` returns one output dict per instance) with the interpreter on up to
    `examples` inputs that the interpreter accepts.

    `sizes` are the sizes the network was compiled at; for a size the input fixes (`n`), the
    largest drawn (default `inputs.DEFAULT_MAX_N`, or `max_n`). The same `seed` draws the same
    inputs; without one a seed is chosen and reported in the result, so every run can be
    repeated. A disagreement is returned shrunk, as `Result.counterexample`."""
    sizes = dict(sizes or {})
    net = _network(net)
    if seed is None:
        seed = random.SystemRandom().randrange(2 ** 32)
    from_input = input_sizes(checked)
    if "n" in from_input:
        max_n = max_n or sizes.get("n", DEFAULT_MAX_N)
    else:
        max_n = None
    shown = {k: v for k, v in sizes.items() if k not in from_input}
    strategy = instances(checked, sizes, max_n=max_n, vocab=vocab)
    result = Result(checked.program.name, shown, max_n, seed, 0, 0)

    def expected_or_reject(instance, count: bool):
        try:
            return interpret(checked, instance)
        except NclError:
            # the program's own semantics reject this input: it is outside the domain
            result.rejected += count
            assume(False)

    collected: list[tuple[Instance, dict]] = []
    seen: set[str] = set()

    @hypothesis_seed(seed)
    @_settings(examples, [Phase.generate])
    @given(strategy)
    def collect(instance):
        # Different draws can give one input (a small domain has few); count each input once.
        key = _key(instance)
        if key in seen:
            return
        seen.add(key)
        collected.append((instance, expected_or_reject(instance, True)))

    try:
        collect()
    except Unsatisfiable:
        pass
    result.examples = len(collected)
    first_bad = None
    for start in range(0, len(collected), BATCH):
        chunk = collected[start:start + BATCH]
        outs = net.run([inst for inst, _ in chunk])
        for (inst, expected), got in zip(chunk, outs):
            bad = outputs_agree(checked, expected, got)
            if bad:
                first_bad = (inst, expected, got, bad)
                break
        if first_bad:
            break
    if first_bad is None:
        return result

    @hypothesis_seed(seed)
    @_settings(examples, [Phase.generate, Phase.shrink])
    @given(strategy)
    def check(instance):
        expected = expected_or_reject(instance, False)
        got = net.run([instance])[0]
        bad = outputs_agree(checked, expected, got)
        if bad:
            raise _Disagreement(instance, expected, got, bad)

    try:
        check()
    except Exception as err:  # noqa: BLE001 - hypothesis may wrap our failure in a group
        found = _find_disagreement(err)
        if found is None:
            raise
        first_bad = (found.instance, found.expected, found.got, found.outputs)
        result.shrunk = True
    result.counterexample = _counterexample(checked, *first_bad)
    return result


# pytest collects functions named test_*; this one is a library function that takes arguments.
test_program.__test__ = False
