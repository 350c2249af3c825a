"""The nclang language: grammar, parser, checker, reference interpreter."""
import sys

# The checker, interpreter and analyses walk the AST recursively, several frames per nesting
# level; the parser bounds nesting at 1000 levels (parser.MAX_NESTING), which needs more than
# Python's default limit of 1000 frames. Python 3.11 frames of pure-Python calls do not use the
# C stack, so a higher limit is safe.
if sys.getrecursionlimit() < 20000:
    sys.setrecursionlimit(20000)
