"""What the API's `source_or_path` argument names: a file, or the program's text itself.

The rule, the same for every function that takes a program (docs/api.md):
- a `pathlib.Path` (any `os.PathLike`) is a path;
- a `str` of one line that ends in `.ncl` is a path (no program's text is one line ending so);
- any other `str` is source text, and its diagnostics name the file `<source>`;
- a `Program` (what `nclang.check` returns) is used as it is.
A path is read by the driver's own reader (`nclang.compiler.driver.read_source`), so a file
means the same to the API as to `nclang compile`.
"""
from __future__ import annotations

import os

SOURCE_NAME = "<source>"


def is_path(source_or_path) -> bool:
    """Whether `source_or_path` names a file (the rule above) rather than holding the text."""
    if isinstance(source_or_path, os.PathLike):
        return True
    if isinstance(source_or_path, str):
        return "\n" not in source_or_path and source_or_path.endswith(".ncl")
    raise TypeError(f"expected a program's source text, a path (str or pathlib.Path) or an "
                    f"nclang.Program, got {type(source_or_path).__name__}")


def read(source_or_path):
    """The `nclang.compiler.driver.Source` that `source_or_path` denotes; NclError when a file
    cannot be read."""
    from nclang.compiler.driver import Source, read_source
    if is_path(source_or_path):
        return read_source(os.fspath(source_or_path))
    text = source_or_path
    # (the bytes only feed the weight file's source hash; a lone surrogate still hashes)
    return Source(SOURCE_NAME, text.encode("utf-8", "surrogatepass"), text)
