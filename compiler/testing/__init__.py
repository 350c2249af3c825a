"""The property-testing kit: hypothesis strategies that draw valid inputs for any checked program
(`inputs`), and the runner that compares a compiled network with the reference interpreter on
them and shrinks a disagreement to a small counterexample (`property`).

`nclang test` is built on `test_program`; the tests of every target use the same two pieces, so a
target is held to one definition of "agrees with the interpreter".
"""
from .inputs import instance_to_json, instances, vocabulary
from .property import Counterexample, Result, outputs_agree, test_program

__all__ = ["Counterexample", "Result", "instance_to_json", "instances", "outputs_agree",
           "test_program", "vocabulary"]
