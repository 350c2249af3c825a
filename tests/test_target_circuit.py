"""`targets/mlp/circuit.py` on its own: random circuits of exact gates over small integer ranges, in
relu and step mode, checked against the circuit as built.

- a form's interval holds every value it takes, and a gate's output form computes the gadget's
  function;
- the assembled layers compute, on every input in the ranges, exactly what the circuit's units
  compute one by one (`act(pre)` of the units they read), and every output form's value;
- the network is strictly layered with the requested depth, its recorded magnitude bounds every
  weight and pre-activation, assembly leaves the circuit as it was (assembling twice gives the
  same matrices), and the exactness and size limits refuse with the errors the mlp target turns
  into diagnostics.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nclang.compiler import gadgets as G
from nclang.compiler.targets.mlp.circuit import (Circuit, ExactnessError, Form, TooLargeError,
                                                  clip, const, lin)

ACT = {"relu": lambda z: np.maximum(z, 0), "step": lambda z: (z >= 0).astype(np.float64),
       "id": lambda z: z}


# ---------------------------------------------------------------- evaluating what was built

def _points(circuit: Circuit) -> np.ndarray:
    """Every assignment of the input channels within their ranges (points x inputs)."""
    ranges = [range(circuit.units[u].lo, circuit.units[u].hi + 1) for u in circuit.inputs]
    return np.array(list(itertools.product(*ranges)), np.float64).reshape(-1, len(ranges))


def _unit_values(circuit: Circuit, X: np.ndarray) -> dict[int, np.ndarray]:
    """Each unit's value at every point, from its own definition: an input's channel, else the
    activation of its pre-activation form over earlier units."""
    vals = {u: X[:, i] for i, u in enumerate(circuit.inputs)}
    for u, unit in enumerate(circuit.units):
        if unit.act != "input":
            vals[u] = ACT[unit.act](_form_value(unit.pre, vals))
    return vals


def _form_value(f: Form, vals: dict[int, np.ndarray]) -> np.ndarray:
    out = np.full(len(next(iter(vals.values()))) if vals else 1, float(f.c))
    for u, a in f.terms:
        out = out + a * vals[u]
    return out


def _forward(layers, X: np.ndarray):
    """The assembled network on every point; also the largest |pre-activation| seen."""
    h = X if X.shape[1] else np.zeros((len(X), 1))
    seen = 0.0
    for W, b, act in layers:
        z = h @ W.T + b
        seen = max(seen, float(np.abs(z).max(initial=0)))
        h = ACT[act](z)
    return h, seen


# ---------------------------------------------------------------- random circuits

_RANGE = st.integers(-3, 1).flatmap(lambda lo: st.tuples(st.just(lo), st.integers(lo, lo + 3)))


@st.composite
def circuits(draw, mode: str):
    """A circuit in `mode`, its forms (with the function each computes of the input point) and
    the outputs chosen among them."""
    c = Circuit(mode)
    forms: list[tuple[Form, object]] = []
    for i in range(draw(st.integers(1, 3))):
        lo, hi = draw(_RANGE)
        forms.append((c.input(lo, hi), lambda X, i=i: X[:, i]))
    bools: list[tuple[Form, object]] = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["max", "min", "ge", "select", "table", "lin"]))
        (a, fa), (b, fb) = draw(st.sampled_from(forms)), draw(st.sampled_from(forms))
        if kind == "lin":
            p, q = draw(st.integers(-2, 2)), draw(st.integers(-2, 2))
            k = draw(st.integers(-2, 2))
            f = lin([(p, a), (q, b)], k)
            if max(abs(f.lo), abs(f.hi)) > 12:
                continue
            forms.append((f, lambda X, fa=fa, fb=fb, p=p, q=q, k=k: p * fa(X) + q * fb(X) + k))
            continue
        if kind in ("max", "min"):
            sh = G.extremum_shallow(kind, a.range, b.range, mode)
            fn = np.maximum if kind == "max" else np.minimum
            out = c.gate(sh, [a, b])
            forms.append((out, lambda X, fa=fa, fb=fb, fn=fn: fn(fa(X), fb(X))))
        elif kind == "ge":
            sh = G.ridge(lambda d: int(d >= 0), (1, -1), [a.range, b.range], mode)
            out = c.gate(sh, [a, b])
            item = (out, lambda X, fa=fa, fb=fb: (fa(X) >= fb(X)).astype(np.float64))
            forms.append(item)
            bools.append(item)
        elif kind == "select" and bools:
            cond, fc = draw(st.sampled_from(bools))
            sh = G.select_shallow(a.range, b.range, mode)
            out = c.gate(sh, [cond, a, b])
            forms.append((out, lambda X, fc=fc, fa=fa, fb=fb: np.where(fc(X) > 0, fa(X),
                                                                       fb(X))))
        elif kind == "table":
            def f(x, y):
                return (x * y + x) % 3 - 1
            sh = G.table(f, [a.range, b.range], mode)
            out = c.gate(sh, [a, b])
            forms.append((out, lambda X, fa=fa, fb=fb: (fa(X) * fb(X) + fa(X)) % 3 - 1))
    chosen = draw(st.lists(st.integers(0, len(forms) - 1), min_size=1, max_size=3, unique=True))
    return c, forms, [forms[i][0] for i in chosen]


SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@pytest.mark.parametrize("mode", ["relu", "step"])
@SETTINGS
@given(data=st.data())
def test_forms_hold_their_values_and_gates_compute_their_gadgets(mode, data):
    c, forms, _ = data.draw(circuits(mode))
    X = _points(c)
    vals = _unit_values(c, X)
    for f, fn in forms:
        v = _form_value(f, vals)
        assert np.array_equal(v, np.broadcast_to(fn(X), v.shape)), f
        assert (v >= f.lo).all() and (v <= f.hi).all(), f


@pytest.mark.parametrize("mode", ["relu", "step"])
@SETTINGS
@given(data=st.data(), min_hidden=st.integers(0, 4))
def test_assembled_layers_compute_the_circuit_exactly(mode, data, min_hidden):
    c, _, outputs = data.draw(circuits(mode))
    X = _points(c)
    want = np.stack([_form_value(f, _unit_values(c, X)) for f in outputs], axis=1)
    units_before = len(c.units)
    net = c.assemble(outputs, min_hidden, "id", limit=2 ** 24)
    assert len(c.units) == units_before  # carrying copies do not stay in the circuit
    got, seen = _forward(net.layers, X)
    assert np.array_equal(got, np.broadcast_to(want, got.shape))
    # strictly layered: each layer reads the one before, the first the input channels
    hidden = max(max(f.layer for f in outputs), min_hidden)
    assert len(net.layers) == hidden + 1
    assert net.natural_depth == max(f.layer for f in outputs) + 1
    assert net.layers[0][0].shape[1] == max(len(c.inputs), 1)
    for (W0, _, _), (W1, _, _) in zip(net.layers, net.layers[1:]):
        assert W1.shape[1] == W0.shape[0]
    assert [act for _, _, act in net.layers] == [mode] * hidden + ["id"]
    # the magnitude the exactness check uses bounds what the network computes and holds
    assert seen <= net.magnitude
    assert all(np.abs(W).max(initial=0) <= net.magnitude for W, _, _ in net.layers)
    again = c.assemble(outputs, min_hidden, "id", limit=2 ** 24)
    assert all(np.array_equal(W, W2) and np.array_equal(b, b2) and a == a2
               for (W, b, a), (W2, b2, a2) in zip(net.layers, again.layers))


@SETTINGS
@given(data=st.data())
def test_step_mode_reads_boolean_outputs_through_a_step(data):
    c, forms, _ = data.draw(circuits("step"))
    bools = [f for f, _ in forms if f.range == (0, 1) and not f.is_const]
    if not bools:
        return
    X = _points(c)
    vals = _unit_values(c, X)
    want = np.stack([_form_value(f, vals) for f in bools], axis=1)
    net = c.assemble(bools, 0, "step", limit=2 ** 24)
    got, _ = _forward(net.layers, X)
    assert np.array_equal(got, want)
    assert all(act == "step" for _, _, act in net.layers)


def test_an_output_that_is_one_step_neuron_of_the_last_layer_needs_no_read_out():
    c = Circuit("step")
    x, y = c.input(0, 1), c.input(0, 1)
    both = c.gate(G.ridge(lambda s: int(s >= 2), (1, 1), [(0, 1), (0, 1)], "step"), [x, y])
    net = c.assemble([both], 0, "step", limit=2 ** 24)
    assert len(net.layers) == 1  # the gate's neuron is the output
    got, _ = _forward(net.layers, _points(c))
    assert got[:, 0].tolist() == [0, 0, 0, 1]


def test_a_value_read_later_is_carried_through_every_layer_between():
    c = Circuit("relu")
    x = c.input(-2, 3)
    y = c.input(0, 2)
    m = c.gate(G.extremum_shallow("max", x.range, y.range, "relu"), [x, y])
    deeper = c.gate(G.extremum_shallow("min", m.range, y.range, "relu"), [m, y])
    # the input x is read again only by the output, two layers after it enters
    out = lin([(1, deeper), (1, x)])
    net = c.assemble([out], 0, "id", limit=2 ** 24)
    X = _points(c)
    got, _ = _forward(net.layers, X)
    assert np.array_equal(got[:, 0], np.minimum(np.maximum(X[:, 0], X[:, 1]), X[:, 1]) + X[:, 0])
    assert len(net.layers) == 3


def test_a_sum_of_units_carried_across_layers_is_one_neuron_per_layer_and_exact():
    # min(x, y) = x - relu(x - y) is two units; read three layers later it is held as one
    # neuron relu(f - lo) + lo, exact although f can be negative
    c = Circuit("relu")
    x, y = c.input(-2, 3), c.input(0, 2)
    m = c.gate(G.extremum_shallow("min", x.range, y.range, "relu"), [x, y])
    assert len(m.terms) == 2 and m.lo < 0
    net = c.assemble([m], 3, "id", limit=2 ** 24)
    X = _points(c)
    got, _ = _forward(net.layers, X)
    assert np.array_equal(got[:, 0], np.minimum(X[:, 0], X[:, 1]))
    assert [W.shape[0] for W, _, _ in net.layers[1:-1]] == [1, 1]


def test_a_magnitude_at_the_limit_is_an_exactness_error():
    c = Circuit("relu")
    x = c.input(0, 100)
    big = c.gate(G.extremum_shallow("max", x.range, (0, 0), "relu"), [x, const(0)])
    out = lin([(1000, big)])
    net = c.assemble([out], 0, "id", limit=2 ** 24)
    with pytest.raises(ExactnessError) as info:
        c.assemble([out], 0, "id", limit=net.magnitude)
    assert info.value.magnitude >= net.magnitude
    assert c.assemble([out], 0, "id", limit=net.magnitude + 1).magnitude == net.magnitude


def test_size_limits_refuse_before_building_past_them():
    c = Circuit("relu", max_units=3)
    x, y = c.input(0, 3), c.input(0, 3)
    c.gate(G.extremum_shallow("max", x.range, y.range, "relu"), [x, y])  # one neuron: 3 units
    with pytest.raises(TooLargeError) as info:
        c.gate(G.extremum_shallow("min", x.range, y.range, "relu"), [x, y])
    assert (info.value.what, info.value.limit) == ("neurons", 3)
    c = Circuit("relu", max_params=2)
    x, y = c.input(0, 3), c.input(0, 3)
    out = c.gate(G.extremum_shallow("max", x.range, y.range, "relu"), [x, y])
    with pytest.raises(TooLargeError) as info:
        c.assemble([out], 0, "id", limit=2 ** 24)
    assert info.value.what == "parameters" and info.value.count > 2


def test_lin_and_clip_keep_sound_intervals():
    c = Circuit("relu")
    x, y = c.input(-2, 3), c.input(1, 4)
    f = lin([(2, x), (-3, y)], 5)
    assert f.range == (2 * -2 - 3 * 4 + 5, 2 * 3 - 3 * 1 + 5) and f.terms == ((0, 2), (1, -3))
    assert lin([(1, x), (-1, x)], 7) == const(7)  # cancelling terms leave a constant
    assert clip(f, -100, 0).range == (f.lo, 0) and clip(f, 0, 100).range == (0, f.hi)
    assert clip(const(4), 0, 1) == const(4)  # a constant is never narrowed past itself
