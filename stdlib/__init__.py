"""The standard library: programs written in nclang, shipped as package data."""
from importlib import resources
from pathlib import Path


def path(name: str) -> Path:
    """The file of a stdlib program, e.g. `path("graph/bfs")`."""
    return Path(str(resources.files("nclang.stdlib").joinpath(f"{name}.ncl")))


def names() -> list[str]:
    """Every stdlib program as `family/name`, sorted."""
    root = resources.files("nclang.stdlib")
    return sorted(f"{d.name}/{f.name[:-4]}" for d in root.iterdir() if d.is_dir()
                  for f in d.iterdir() if f.name.endswith(".ncl"))
