"""The property-testing kit: hypothesis strategies that draw valid inputs for any checked program
(`inputs`), and the runner that compares a compiled network with the reference interpreter on
them and shrinks a disagreement to a small counterexample (`property`).

`nclang test` is built on `test_program`; the tests of every target use the same two pieces, so a
target is held to one definition of "agrees with the interpreter".
"""
import importlib

# Loaded on first use, so that `nclang.compiler.testing.boundary` (numpy only: the compiler's
# self-check uses it) does not load hypothesis with the package.
_WHERE = {"instance_to_json": "inputs", "instances": "inputs", "vocabulary": "domains",
          "Counterexample": "property", "Result": "property", "outputs_agree": "boundary",
          "test_program": "property"}


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Counterexample", "Result", "instance_to_json", "instances", "outputs_agree",
           "test_program", "vocabulary"]
