"""The JSON codec between the input/output formats of DESIGN.md and run-time values.

Input is one JSON object (one instance) or JSON Lines (one object per non-blank line, a batch).
`read_records` parses the text and remembers where each object stood, so that `decode` can point
a diagnostic at the key or the list element that is wrong rather than at the whole record.
`encode` turns a run's outputs into a JSON-ready dict.

Element encodings: `bool` is `true`/`false`; an int is a JSON integer, or `"inf"`/`"-inf"` where
its declared range allows them; `frac` a number; `token` a string; a node id an integer in
0..n-1 or `null` for `none`; `bits[SIZE]` an unsigned integer below 2^SIZE; a field nested lists.

The package: `reading` (strict parsing into located records), `decoding` (a record to an
`Instance`), `encoding` (outputs to JSON), `describe` (how messages name a JSON value).
"""
from .decoding import check_sizes, decode, input_error, input_sizes
from .encoding import dumps, encode, encode_value
from .reading import (MAX_DEPTH, MAX_INT_DIGITS, MAX_RECORD_BYTES, Item, Record, iter_records,
                      read_records)

__all__ = ["MAX_DEPTH", "MAX_INT_DIGITS", "MAX_RECORD_BYTES", "Item", "Record", "check_sizes",
           "decode", "dumps", "encode", "encode_value", "input_error", "input_sizes",
           "iter_records", "read_records"]
