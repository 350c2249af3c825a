"""The nclang language: grammar, parser, checker, reference interpreter."""
import contextlib
import sys
import threading

# The checker, interpreter and analyses walk the AST recursively, several frames per nesting
# level; the parser bounds nesting at 1000 levels (parser.MAX_NESTING), which needs more than
# Python's default limit of 1000 frames. Python 3.11 frames of pure-Python calls do not use the
# C stack, so a higher limit is safe.
DEEP_RECURSION_LIMIT = 20000

_deep_lock = threading.Lock()
_deep_users = 0
_deep_saved = 0


@contextlib.contextmanager
def deep_recursion():
    """Raise the recursion limit to DEEP_RECURSION_LIMIT for the duration (never lowering it),
    and restore the caller's limit after. Importing nclang changes no global state: the CLI
    and the Python API enter this around the work that walks a program. The limit is one per
    process, so overlapping uses (threads, nesting) share it: the last one to leave restores
    the limit the first one found."""
    global _deep_users, _deep_saved
    with _deep_lock:
        if _deep_users == 0:
            _deep_saved = sys.getrecursionlimit()
            if _deep_saved < DEEP_RECURSION_LIMIT:
                sys.setrecursionlimit(DEEP_RECURSION_LIMIT)
        _deep_users += 1
    try:
        yield
    finally:
        with _deep_lock:
            _deep_users -= 1
            if _deep_users == 0:
                sys.setrecursionlimit(_deep_saved)
