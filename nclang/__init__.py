"""nclang: compile parallel graph and bit-level algorithms to exact neural-network weights.

The Python API (docs/api.md) mirrors the command line, in memory: `check` reads and checks a
program, `run` runs it with the reference interpreter, `compile` builds its network and `load`
reads a weight file (each a `Network`, whose `run` and `module` need torch, imported on first
use), `test` property-tests a network against the interpreter, and `testing` holds the
hypothesis strategies `nclang test` draws inputs with. Every error in what the API is given is
an `NclError` whose message is the CLI's `FILE:LINE:COL: error: ...` line.

Importing nclang changes no global state and imports neither torch nor hypothesis.
"""
import importlib

from nclang.dsl.diagnostics import NclError

from .comparing import test
from .interpret import run
from .network import Network, compile, load
from .program import Program, check

__version__ = "0.1.0"

__all__ = ["NclError", "Network", "Program", "__version__", "check", "compile", "load", "run",
           "test", "testing"]


def __getattr__(name):
    # `nclang.testing` imports hypothesis: only when asked for
    if name == "testing":
        return importlib.import_module(".testing", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
