"""The reference interpreter: what an nclang program means.

It works on the AST directly and shares no code with the compiler's lowering, so that a lowering
bug cannot hide in both. Every statement is evaluated as a whole with numpy:

- an expression's value is a `Val`: an array with one numpy dimension per *iteration axis* in
  scope (a binder of an indexed assignment, the variable of a comprehension), named by integer
  ids that grow with creation order; operands are aligned by axis id, so broadcasting does the
  "for every element" part of the semantics;
- laziness (`and`, `or`, `a if c else b`) is an *active mask*: the right operand is evaluated only
  under the mask of elements that need it, and every run-time error is raised only where the mask
  is set, so `i > 0 and c[i - 1] == 2` never complains about `c[-1]`;
- a comprehension over `nodes`, `positions` or `range(S)` adds a dense axis and reduces it;
- a comprehension over `in(x)` / `out(x)` joins every element of x's axes with the edges at the
  node x names (CSR order; a `none` names no node and joins no edge), *substitutes* those axes by
  the joined edge axis in everything in scope (variables, edge bindings, the mask), and reduces
  segment by segment (`ufunc.reduceat`). For `in(v)` with v a binder this is one pass over the m
  edges, never an n × m matrix.

The package: `values` (run-time values and context), `segments` (segmented reduction),
`program` (the interpreter, its statements and `run`) with one mixin per kind of expression:
`expressions`, `indexing`, `calls`, `comprehensions`, `folds`.
"""
from .program import run
from .values import RunError, Stored, Val

__all__ = ["RunError", "Stored", "Val", "run"]
