"""The sequence stdlib programs agree with plain-Python oracles, sequences of length 1 included."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import oracles as O
import strategies as S

# program → (input strategy, oracle)
CASES = {
    "seq/length": (S.token_seqs(), O.length),
    "seq/reverse": (S.token_seqs(), O.reverse),
    "seq/hist": (S.token_seqs(), O.hist),
    "seq/sort_unique": (S.int_seqs(unique=True), O.sort_unique),
    "seq/sort": (S.int_seqs(), O.sort),
    "seq/frac_prevs": (S.token_seqs(), O.frac_prevs),
    "seq/pair_balance": (S.token_seqs(S.PARENS + ("a",)), O.pair_balance),
    "seq/dyck1": (S.dyck_seqs(kinds=1), O.dyck1),
    "seq/dyck2": (S.dyck_seqs(kinds=2), O.dyck2),
    "seq/most_freq": (S.token_seqs(), O.most_freq),
}


def test_every_seq_program_is_tested():
    assert sorted(CASES) == S.family("seq")


@pytest.mark.parametrize("name", S.family("seq"))
def test_header_and_parses(name):
    S.assert_header_and_parses(name)


@pytest.mark.parametrize("name", S.family("seq"))
def test_class_in_header(name):
    S.assert_class_in_header(name)


@pytest.mark.parametrize("name", sorted(CASES))
def test_example(name):
    inp, sizes = S.example(name)
    assert S.run_json(name, inp, sizes) == CASES[name][1](inp)


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_agrees_with_oracle(name, data):
    strategy, oracle = CASES[name]
    inp = data.draw(strategy, label="input")
    assert S.run_json(name, inp) == oracle(inp)


def test_cli_example():
    S.assert_cli_example("seq/reverse", O.reverse)
