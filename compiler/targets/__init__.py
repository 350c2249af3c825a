"""Network targets: each lowers a checked program to the tensors and metadata of one weight file
(`mlp`: bits and scalar programs, `gnn`: graph programs, `transformer`: sequence programs; each a
package under compiler/targets/). Targets do not import each other (tests/test_target_imports.py
holds it); what they share lives in compiler/gadgets/, `verify` is the self-check they all
run before a file is written, and `registry` lists them (each once: family, options, dtypes and
their exactness limits, compile and runtime modules). Each target's `compile(Compilation)` builds
from the driver's one lowering and analyses (nclang.compiler.compilation)."""
