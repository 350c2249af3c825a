"""Programs given as source text, each written to a file, checked and compiled once (for a
module-scope fixture): the tests then draw only inputs."""
from __future__ import annotations

from nclang.compiler.driver import compile_file
from nclang.compiler.runtime import load
from nclang.dsl.checker import check_source


def compile_texts(folder, texts: dict[str, str]) -> dict:
    """name -> (checked program, loaded network) for each one-program source in `texts`."""
    out = {}
    for name, text in texts.items():
        src = folder / f"{name}.ncl"
        src.write_text(text)
        (c,) = check_source(text, str(src))
        out[name] = (c, load(compile_file(src, folder / f"{name}.safetensors")))
    return out
