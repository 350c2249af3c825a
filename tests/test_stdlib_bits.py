"""The bit-level stdlib programs agree with Python integer arithmetic at widths 1..64."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import oracles as O
import strategies as S


def _two(k):
    return st.fixed_dictionaries({"a": S.unsigned(k), "b": S.unsigned(k)})


def _one(k):
    return st.fixed_dictionaries({"x": S.unsigned(k)})


# program → (k → input strategy, oracle)
CASES = {
    "bits/add": (_two, O.add),
    "bits/add_ripple": (_two, O.add_ripple),
    "bits/parity": (_one, O.parity),
    "bits/majority": (_one, O.majority),
    "bits/less_than": (_two, O.less_than),
    "bits/popcount": (_one, O.popcount),
    "bits/multiply": (_two, O.multiply),
    "bits/permute": (_one, O.permute),
}


def test_every_bits_program_is_tested():
    assert sorted([*CASES, "bits/sbn_step"]) == S.family("bits")


@pytest.mark.parametrize("name", S.family("bits"))
def test_header_and_parses(name):
    S.assert_header_and_parses(name)


@pytest.mark.parametrize("name", S.family("bits"))
def test_class_in_header(name):
    S.assert_class_in_header(name)


@pytest.mark.parametrize("name", sorted(CASES))
def test_example(name):
    inp, sizes = S.example(name)
    assert S.run_json(name, inp, sizes) == CASES[name][1](inp, sizes["k"])


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_agrees_with_oracle(name, data):
    inputs, oracle = CASES[name]
    k = data.draw(S.WIDTHS, label="k")
    inp = data.draw(inputs(k), label="input")
    assert S.run_json(name, inp, {"k": k}) == oracle(inp, k)


def test_sbn_step_example():
    inp, sizes = S.example("bits/sbn_step")
    assert S.run_json("bits/sbn_step", inp, sizes) == O.sbn_step(inp)


@settings(max_examples=50, deadline=None)
@given(S.sbn_input())
def test_sbn_step_agrees_with_oracle(inp):
    assert S.run_json("bits/sbn_step", inp) == O.sbn_step(inp)


def test_cli_example():
    S.assert_cli_example("bits/add", O.add)
