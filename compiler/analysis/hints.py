"""NC alternatives named in a program's own source: a comment line
`// nc-alternative: NAME` in the program's header (the comments just above `program`) or body.

The hint comes from the program text, never from a table keyed by program names, so a renamed
copy keeps its hint and an unrelated program with a familiar name gets none.
"""
from __future__ import annotations

import re

from nclang.dsl import ast as A

_ANNOTATION = re.compile(r"^[ \t]*//[ \t]*nc-alternative:[ \t]*([A-Za-z_][A-Za-z0-9_/]*)",
                         re.MULTILINE)


def nc_alternative(source: str | None, program: A.Program, module: A.Module) -> str | None:
    """The alternative annotated for `program`: an annotation belongs to the first program that
    ends at or after its line."""
    if not source:
        return None
    ends = sorted((p.span.end_line, p.name) for p in module.programs)
    for match in _ANNOTATION.finditer(source):
        line = source.count("\n", 0, match.start()) + 1
        owner = next((name for end, name in ends if end >= line), None)
        if owner == program.name:
            return match.group(1)
    return None
