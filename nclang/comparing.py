"""`nclang.test`: the property test of `nclang test` — a network computes exactly what the
reference interpreter does on inputs hypothesis draws — run in memory by the same runner
(`nclang.compiler.testing.test_program`), returning its result instead of printing it."""
from __future__ import annotations

from nclang.dsl import deep_recursion
from nclang.dsl.diagnostics import Diagnostic, NclError

from . import options
from .program import check


@deep_recursion()
def test(program, network, *, examples: int = 200, seed: int | None = None,
         max_n: int | None = None):
    """Compare `network` (a `Network`, or a weight file's path or bytes) with the interpreter
    running `program` (a `Program`, source text or a path) on up to `examples` drawn inputs,
    at the sizes the network was compiled for, with at most `max_n` nodes or positions.
    Returns `nclang.compiler.testing.Result`: `ok`, `summary()`, and the shrunk
    `counterexample` (JSON `input`, `expected`, `got`) when they disagree. Raises NclError
    when the network does not take the program's inputs or no drawn input is valid."""
    from nclang.compiler.testing import test_program

    from .network import Network, load
    prog = check(program)
    net = network if isinstance(network, Network) else load(network)
    options.positive(prog, "examples", examples)
    options.positive(prog, "max_n", max_n)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise NclError.at(prog.checked.program.name_span, "bad-seed",
                          f"seed must be an integer, got {seed!r}")
    _check_signature(prog, net)
    _check_limits(prog, net, max_n)
    vocab = net.meta["encodings"].get("vocab")
    vocab = tuple(vocab) if vocab and all(isinstance(t, str) for t in vocab) else None
    # the sizes the runtime decodes inputs at, as `nclang test --weights` tests at
    runtime = net.compiled_net
    result = test_program(prog.checked, runtime, runtime.sizes, examples=examples, seed=seed,
                          max_n=max_n, vocab=vocab)
    if result.examples == 0:
        raise NclError.at(prog.checked.program.name_span, "no-valid-input",
                          f"none of the {result.rejected} inputs drawn for {prog.name} runs "
                          f"without an error in the interpreter; nothing was tested")
    return result


# pytest collects functions named test_*, and a module that imports this one would see `test`
test.__test__ = False


def _signature(checked) -> tuple[list, list]:
    from nclang.dsl import types as T
    program = checked.program
    return ([(p.name, str(T.from_syntax(p.type))) for p in program.params],
            [(n, str(T.from_syntax(t))) for n, t in zip(checked.result_names, program.results)])


def _check_signature(prog, net) -> None:
    """A network whose parameters or results are not the program's cannot even be fed its
    inputs (as `nclang test --weights` refuses it)."""
    mine, theirs = _signature(prog.checked), _signature(net.compiled_net.signature)
    if mine != theirs:
        def shown(sig):
            ins, outs = sig
            return (f"({', '.join(f'{n}: {t}' for n, t in ins)}) -> "
                    f"({', '.join(f'{n}: {t}' for n, t in outs)})")
        raise NclError(Diagnostic(net.name, 1, 1, 1, 1, "error", "weights-mismatch",
                                  f"the network takes and returns {shown(theirs)}, but "
                                  f"{prog.name} is {shown(mine)}: it cannot be tested against "
                                  f"this program"))


def _check_limits(prog, net, max_n: int | None) -> None:
    """Refuse before drawing anything a network whose runs on the largest inputs the test draws
    would pass the runtime's resource limits (`nclang.compiler.runtime.limits`)."""
    from nclang.compiler.testing.domains import DEFAULT_MAX_N, largest_draw_exceeds
    top = max_n or net.compiled_net.sizes.get("n") or DEFAULT_MAX_N
    why = largest_draw_exceeds(net.meta, top)
    if why is not None:
        raise net._error("resource-limit", f"{why}; test with a smaller max_n")
