"""The CLRS stdlib programs compiled once per test process, shared by the tests that need their
networks (test_clrs_interop, test_clrs_docs)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import nclang
from nclang import clrs

ROOT = Path(__file__).resolve().parent.parent


@lru_cache(maxsize=None)
def compiled(name: str) -> nclang.Network:
    """The gnn of CLRS algorithm `name`'s program (NclError, cached too, if it is refused)."""
    return nclang.compile(ROOT / clrs.ALGORITHMS[name].path)
