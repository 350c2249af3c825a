"""Compiled networks written in other frameworks' formats (`nclang export`, docs/export.md;
PyTorch Geometric: `pyg`, docs/interop.md).

`FORMATS` maps each format's name to the module that writes it; a module defines `DESCRIPTION`
(one line for `nclang export --help`) and `export(net, path, options) -> Path`, where `net` is
the runtime's `CompiledNet` of a validated weight file, `path` the file to write (atomically) and
`options` the `ExportOptions` the command line or the Python API gave. A new format is one line
here. Nothing heavy is imported until a format is used: building the CLI parser reads only this.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

FORMATS: dict[str, str] = {
    "onnx": "nclang.compiler.export.onnx",
    "hf": "nclang.compiler.export.hf",
}


@dataclass(frozen=True)
class ExportOptions:
    """What an export may be told beyond the network. `rounds`: per loop of a gnn file (program
    order) the rounds the exported graph runs, or one count for every loop; None: enough for
    every graph of up to `max_nodes` nodes (`onnx.default_rounds`). `length`: hf, a
    transformer built for that one sequence length (where a loop's trip count depends on it)."""
    rounds: tuple[int, ...] | None = None
    max_nodes: int = 32
    length: int | None = None


def writer(fmt: str):
    """The module that writes format `fmt` (KeyError for a format not in FORMATS)."""
    return importlib.import_module(FORMATS[fmt])
