"""The static checker: names, program families, size expressions, types, shapes, and the
associativity of user fold operators.

Every error in a file is collected (a faulty expression gets the error type, which silences the
errors that would follow from it) and raised at the end as one `NclError`.

Integer ranges use interval arithmetic. A bound of `None` means *finite but unknown*; a bound of
±inf means the value itself may be ±inf. Variables carried around a `repeat` are widened: a bound
that still moves after one round of joining becomes unknown, so no loop needs a fixpoint over
exact ranges.

The package, one job a module: `module` checks a module's names, defs and programs; `body` (with
its mixins `statements`, `expressions`, `size_checks`) one body; `relations`, `intervals` and
`size_ranges` are the type lattice it computes in; `associativity` and `evaluator` tabulate fold
operators; `messages` formats what the errors quote; `reads` finds reads that always fail.
"""
from .module import (GRAPH_INPUT_KEYS, SIZE_NAMES, CheckedProgram, check_module, check_source,
                     select_program)
from .names import (AGGREGATIONS, ASSOCIATIVITY_LIMIT, BUILTINS, CLASSES, FOLD_BUILTINS,
                    SIZE_FUNCS)
from .reads import reads_outside
from .relations import ERR, ErrorType

__all__ = ["AGGREGATIONS", "ASSOCIATIVITY_LIMIT", "BUILTINS", "CLASSES", "ERR", "FOLD_BUILTINS",
           "GRAPH_INPUT_KEYS", "SIZE_FUNCS", "SIZE_NAMES", "CheckedProgram", "ErrorType",
           "check_module", "check_source", "reads_outside", "select_program"]
