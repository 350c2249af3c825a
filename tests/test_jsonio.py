"""The JSON codec: reading records, decoding instances, encoding outputs, and where errors point."""
from __future__ import annotations

import json

import numpy as np
import pytest

from nclang.dsl import jsonio
from nclang.dsl.checker import check_source
from nclang.dsl.diagnostics import NclError
from nclang.dsl.parser import parse
from nclang.dsl.values import NONE_INDEX

GRAPH = """
program g(gr: graph, w: edge[int[0..1000]], source: node[bool], d: pair[int[0..inf]],
          p: node[node], c: int[-inf..5], f: frac) -> node[bool] {
    return source
}
"""

SEQ = """
program s(tokens: seq[token], x: seq[int[0..9]]) -> seq[token] {
    return tokens
}
"""

BITS = """
program b(a: bits[k], v: vec[int[0..3], k]) -> bits[k + 1] {
    s[i in range(k + 1)] = i < k and a[i]
    return s
}
"""


def checked(src: str):
    (program,) = check_source(src, "p.ncl")
    return program


def errors(fn, *args) -> list:
    with pytest.raises(NclError) as info:
        fn(*args)
    return info.value.diagnostics


def record(text: str):
    ((obj, line),) = jsonio.read_records(text, "in.json")
    return obj, line


def decode_text(src: str, text: str, sizes=None):
    obj, line = record(text)
    return jsonio.decode(checked(src), obj, sizes or {}, "in.json", line)


def decode_errors(src: str, text: str, sizes=None) -> list:
    obj, line = record(text)
    return errors(jsonio.decode, checked(src), obj, sizes or {}, "in.json", line)


GOOD_GRAPH = ('{"n": 3, "edges": [[0, 1], [1, 2]], "w": [4, 5], "source": [true, false, false],'
              ' "d": [[0, 1, "inf"], [1, 0, 2], [3, 4, 0]], "p": [1, null, 0], "c": "-inf",'
              ' "f": 0.5}')


# ---------------------------------------------------------------- read_records

def test_single_document_may_span_lines_and_reports_its_first_line():
    records = jsonio.read_records('\n\n{\n  "n": 2\n}\n', "in.json")
    assert [(dict(obj), line) for obj, line in records] == [({"n": 2}, 3)]


def test_json_lines_give_one_record_per_non_blank_line_with_line_numbers():
    text = '{"a": 1}\n\n{"a": 2}\n{"a": 3}\n'
    records = jsonio.read_records(text, "in.jsonl")
    assert [(obj["a"], line) for obj, line in records] == [(1, 1), (2, 3), (3, 4)]


def test_malformed_document_reports_json_line_and_column():
    (d,) = errors(jsonio.read_records, '{\n  "n": 3,\n  "edges": [[0, 1]\n}\n', "in.json")
    assert (d.file, d.line, d.col, d.code) == ("in.json", 4, 1, "bad-json")
    assert d.message.startswith("malformed JSON")


def test_malformed_json_lines_record_reports_its_own_line():
    text = '{"n": 1}\n{"n": 2}\n{"n": 3,, "edges": []}\n{"n": 4}\n'
    (d,) = errors(jsonio.read_records, text, "in.jsonl")
    assert (d.line, d.col, d.code) == (3, 9, "bad-json")


def test_every_malformed_json_lines_record_is_reported_at_once():
    text = '{"n": 1,}\n{"n": 2}\n{"n" 3}\n'
    diags = errors(jsonio.read_records, text, "in.jsonl")
    assert [d.line for d in diags] == [1, 3]


def test_top_level_value_that_is_not_an_object_is_an_error():
    (d,) = errors(jsonio.read_records, "[1, 2]", "in.json")
    assert d.code == "bad-json" and "expected a JSON object" in d.message


def test_empty_input_is_an_error():
    (d,) = errors(jsonio.read_records, "  \n", "in.json")
    assert d.code == "bad-json" and "empty" in d.message


# ---------------------------------------------------------------- decode: graph family

def test_graph_instance_decodes_to_runtime_forms():
    inst = decode_text(GRAPH, GOOD_GRAPH)
    assert inst.sizes["n"] == 3 and inst.sizes["m"] == 2
    assert inst.graph.n == 3
    assert inst.graph.src.tolist() == [0, 1] and inst.graph.dst.tolist() == [1, 2]
    assert inst.graph.src.dtype == np.int64
    assert inst.values["w"].dtype == np.float64 and inst.values["w"].tolist() == [4.0, 5.0]
    assert inst.values["source"].dtype == np.bool_
    assert inst.values["d"].shape == (3, 3) and inst.values["d"][0, 2] == np.inf
    assert inst.values["p"].dtype == np.int64
    assert inst.values["p"].tolist() == [1, NONE_INDEX, 0]
    assert inst.values["c"].shape == () and inst.values["c"] == -np.inf
    assert inst.values["f"] == 0.5
    assert "gr" not in inst.values


def test_edges_default_to_empty_and_edge_fields_are_then_empty():
    src = "program e(g: graph, w: edge[int[0..3]]) -> node[bool] { r[v] = true\n return r }"
    inst = decode_text(src, '{"n": 2, "w": []}')
    assert inst.graph.m == 0 and inst.values["w"].shape == (0,)


def test_wrong_field_length_points_at_the_key():
    text = GOOD_GRAPH.replace('"source": [true, false, false]', '"source": [true, false]')
    (d,) = decode_errors(GRAPH, text)
    assert d.code == "bad-input"
    assert d.col == text.index('"source"') + 1
    assert "source has 2 elements but n = 3" in d.message


def test_out_of_range_element_names_field_index_value_and_range_at_the_element():
    text = GOOD_GRAPH.replace('"w": [4, 5]', '"w": [4, 1001]')
    (d,) = decode_errors(GRAPH, text)
    assert d.message == "w[1]: 1001 is out of range int[0..1000]"
    assert d.col == text.index("1001") + 1 and d.end_col == d.col + 4


def test_pair_element_error_names_both_indices():
    text = GOOD_GRAPH.replace("[3, 4, 0]", "[3, -4, 0]")
    (d,) = decode_errors(GRAPH, text)
    assert d.message.startswith("d[2][1]: -4 is out of range")
    assert d.col == text.index("-4") + 1


def test_unknown_field_suggests_the_closest_parameter():
    text = GOOD_GRAPH.replace('"source"', '"sorce"')
    diags = decode_errors(GRAPH, text)
    unknown = [d for d in diags if "unknown field" in d.message]
    assert len(unknown) == 1
    assert "did you mean 'source'?" in unknown[0].message
    assert unknown[0].col == text.index('"sorce"') + 1


def test_missing_field_is_reported_at_the_record():
    text = GOOD_GRAPH.replace(', "f": 0.5', "")
    (d,) = decode_errors(GRAPH, text)
    assert (d.line, d.col) == (1, 1) and "missing field 'f'" in d.message


def test_every_error_in_a_record_is_reported_at_once_in_text_order():
    text = (GOOD_GRAPH.replace('"w": [4, 5]', '"w": [4, true]')
            .replace('"c": "-inf"', '"c": 6').replace('"f": 0.5', '"ff": 0.5'))
    diags = decode_errors(GRAPH, text)
    assert len(diags) == 4  # w[1], c, unknown ff, missing f
    assert [d.col for d in diags] == sorted(d.col for d in diags)


def test_inf_is_accepted_only_where_the_declared_range_allows_it():
    assert "out of range int[-inf..5]" in decode_errors(
        GRAPH, GOOD_GRAPH.replace('"c": "-inf"', '"c": "inf"'))[0].message
    assert "out of range int[0..1000]" in decode_errors(
        GRAPH, GOOD_GRAPH.replace('"w": [4, 5]', '"w": [4, "inf"]'))[0].message


def test_booleans_are_not_integers_and_integers_are_not_booleans():
    d1 = decode_errors(GRAPH, GOOD_GRAPH.replace('"w": [4, 5]', '"w": [4, false]'))[0]
    assert "expected an integer" in d1.message
    d2 = decode_errors(GRAPH, GOOD_GRAPH.replace("[true, false, false]", "[true, 0, false]"))[0]
    assert "expected true or false" in d2.message


def test_node_ids_must_name_nodes():
    (d,) = decode_errors(GRAPH, GOOD_GRAPH.replace('"p": [1, null, 0]', '"p": [1, 3, 0]'))
    assert d.message == "p[1]: node id 3 is outside 0..2"


def test_edges_must_name_existing_nodes():
    (d,) = decode_errors(GRAPH, GOOD_GRAPH.replace("[1, 2]]", "[1, 5]]"))
    assert d.message.startswith("edges[1]") and "outside 0..2" in d.message


def test_n_must_be_a_positive_integer():
    diags = decode_errors(GRAPH, GOOD_GRAPH.replace('"n": 3', '"n": 0'))
    assert any("n must be a positive integer" in d.message for d in diags)


def test_integers_beyond_two_to_the_53_are_refused():
    src = "program big(g: graph, c: int[0..inf]) -> node[bool] { r[v] = true\n return r }"
    (d,) = decode_errors(src, '{"n": 1, "c": 9007199254740992}')
    assert "too large to represent exactly" in d.message


def test_a_repeated_key_is_an_error():
    text = GOOD_GRAPH.replace('"f": 0.5', '"f": 0.5, "f": 1.5')
    (d,) = decode_errors(GRAPH, text)
    assert "more than once" in d.message


def test_plain_dicts_decode_and_errors_fall_back_to_the_given_line():
    obj = json.loads(GOOD_GRAPH)
    inst = jsonio.decode(checked(GRAPH), obj, {}, "in.json", 7)
    assert inst.values["w"].tolist() == [4.0, 5.0]
    obj["w"] = [1]
    (d,) = errors(jsonio.decode, checked(GRAPH), obj, {}, "in.json", 7)
    assert (d.file, d.line) == ("in.json", 7)


# ---------------------------------------------------------------- decode: sequences

def test_sequence_length_is_n_and_tokens_are_strings():
    inst = decode_text(SEQ, '{"tokens": ["a", "b", "c"], "x": [1, 2, 3]}')
    assert inst.sizes["n"] == 3
    assert inst.values["tokens"].dtype == object
    assert inst.values["tokens"].tolist() == ["a", "b", "c"]


def test_sequences_of_different_lengths_give_one_error():
    text = '{"tokens": ["a", "b", "c"], "x": [1, 2]}'
    (d,) = decode_errors(SEQ, text)
    assert d.message.startswith("x has 2 elements but tokens has 3")
    assert d.col == text.index('"x"') + 1


def test_empty_sequence_is_an_error():
    diags = decode_errors(SEQ, '{"tokens": [], "x": []}')
    assert any("at least one position" in d.message for d in diags)


# ---------------------------------------------------------------- decode: bits

def test_bits_are_unsigned_integers_least_significant_bit_first():
    inst = decode_text(BITS, '{"a": 6, "v": [0, 1, 2, 3]}', {"k": 4})
    assert inst.values["a"].dtype == np.bool_
    assert inst.values["a"].tolist() == [False, True, True, False]
    assert inst.sizes == {"k": 4}


def test_bits_value_must_fit_in_its_width():
    (d,) = decode_errors(BITS, '{"a": 16, "v": [0, 1, 2, 3]}', {"k": 4})
    assert "16 does not fit in bits[k]" in d.message and "below 2^4" in d.message


def test_vec_length_is_its_size():
    (d,) = decode_errors(BITS, '{"a": 1, "v": [0, 1]}', {"k": 4})
    assert d.message.startswith("v has 2 elements but k = 4")


def test_unfixed_size_variable_asks_for_size_option_at_its_use_in_the_program():
    (d,) = decode_errors(BITS, '{"a": 1, "v": [0]}')
    assert d.code == "missing-size"
    assert d.message == "size k is not fixed: pass --size k=N"
    assert d.file == "p.ncl" and d.line == 2


# ---------------------------------------------------------------- encode

def test_encode_gives_json_ready_values_for_every_type():
    src = """
program out(g: graph) -> (node[bool], node[int], node[frac], node[node], pair[int]) {
    return a, b, c, d, e
}
"""
    (prog,) = parse(src, "p.ncl").programs  # only the result types matter here
    names = ("a", "b", "c", "d", "e")

    class Stub:
        program = prog
        result_names = names

    doc = jsonio.encode(Stub, {
        "a": np.array([True, False]),
        "b": np.array([3.0, np.inf]),
        "c": np.array([0.5, -np.inf]),
        "d": np.array([1, NONE_INDEX], dtype=np.int64),
        "e": np.array([[0.0, -np.inf], [2.0, 1.0]]),
    })
    assert doc == {"a": [True, False], "b": [3, "inf"], "c": [0.5, "-inf"], "d": [1, None],
                   "e": [[0, "-inf"], [2, 1]]}
    assert type(doc["b"][0]) is int
    json.dumps(doc, allow_nan=False)


def test_encode_bits_and_tokens():
    seq = checked(SEQ)
    assert jsonio.encode(seq, {"tokens": np.array(["x", "y"], dtype=object)}) == \
        {"tokens": ["x", "y"]}
    bits = checked(BITS)
    (name,) = bits.result_names
    assert jsonio.encode(bits, {name: np.array([True, False, True, False, True])}) == {name: 21}


def test_decode_then_encode_round_trips_input_values():
    src = "program same(tokens: seq[int[0..inf]]) -> seq[int[0..inf]] { return tokens }"
    inst = decode_text(src, '{"tokens": [3, "inf", 0]}')
    prog = checked(src)
    assert jsonio.encode(prog, {"tokens": inst.values["tokens"]}) == {"tokens": [3, "inf", 0]}


def test_a_field_name_with_a_newline_keeps_the_diagnostic_on_one_line():
    """The fuzzer drew {"\\n": null}: the key was printed raw, splitting the error in two."""
    (d,) = decode_errors(BITS, '{"a": 1, "v": [0, 1], "\\n": null}', {"k": 2})
    assert "\n" not in d.message and 'unknown field "\\n"' in d.message


# ---- the list-at-a-time decoding agrees with element-by-element decoding

# GRAPH's parameters whose element types a list may hold
_ELEMENT_PARAMS = ("w", "source", "p", "c", "f")
_ODD_VALUES = [True, False, 0, 1, -1, 7, 1000, 1001, -6, 2 ** 53, -(2 ** 53), 2 ** 63,
               2 ** 70, 1.5, 3.0, -0.0, 1e308, "inf", "-inf", "x", None, [1], {}]


def _elementwise(t, items, n):
    """What `_scalar` makes of each item, or None when it refuses any."""
    from nclang.dsl.jsonio.decoding import _Bad, _Decoder
    decoder = _Decoder.__new__(_Decoder)
    decoder.n = n
    try:
        return [decoder._scalar(t, v) for v in items]
    except _Bad:
        return None


@pytest.mark.parametrize("name", _ELEMENT_PARAMS)
def test_list_at_a_time_decoding_accepts_only_what_element_decoding_does_as_the_same_values(name):
    from hypothesis import given, strategies as st
    from nclang.dsl import types as T
    from nclang.dsl.jsonio.decoding import _plain_cells
    (param,) = [p for p in checked(GRAPH).program.params if p.name == name]
    t = T.from_syntax(param.type)
    t = t.elem if isinstance(t, T.Field) else t

    @given(st.lists(st.one_of(st.sampled_from(_ODD_VALUES), st.integers(-10, 1100),
                              st.booleans()), max_size=8), st.integers(1, 1100))
    def agree(items, n):
        fast = _plain_cells(t, items, n)
        if fast is None:
            return  # the element-by-element path decides
        slow = _elementwise(t, items, n)
        assert slow is not None, items
        want = np.asarray(slow, dtype=fast.dtype)
        assert fast.dtype == np.asarray(slow).dtype or fast.dtype == want.dtype
        assert np.array_equal(fast, want) and fast.shape == want.shape

    agree()


def test_list_at_a_time_edges_are_the_element_by_element_edges():
    prog = checked(GRAPH)
    record = {"n": 3, "edges": [[0, 1], [2, 0], [1, 1]], "w": [1, 2, 3],
              "source": [True, False, False], "d": [[0] * 3] * 3, "p": [None, 0, 2],
              "c": "-inf", "f": 0.5}
    inst = jsonio.decode(prog, record, {}, "in.json")
    assert inst.graph.src.tolist() == [0, 2, 1] and inst.graph.dst.tolist() == [1, 0, 1]
    assert inst.graph.src.dtype == np.int64 and inst.graph.src.flags.c_contiguous
    with pytest.raises(NclError, match=r"edges\[1\]: expected a pair \[u, v\] of node ids, "
                                       r"got \[true, 0\]"):
        jsonio.decode(prog, {**record, "edges": [[0, 1], [True, 0], [1, 1]]}, {}, "in.json")
