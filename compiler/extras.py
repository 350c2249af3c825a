"""The optional dependencies (pyproject's extras) by the module that needs them, so that a command
run without its extra says what to install instead of failing with an internal error."""

EXTRA_OF_MODULE = {
    "torch": "torch",
    "hypothesis": "test",
    "scipy": "train",
    "matplotlib": "train",
    "tqdm": "train",
    "torch_geometric": "pyg",
}


def missing_extra(err: ModuleNotFoundError) -> str | None:
    """What to tell the user for `err`, or None if the missing module is not an extra's."""
    module = (err.name or "").split(".")[0]
    extra = EXTRA_OF_MODULE.get(module)
    if extra is None:
        return None
    return f'{module}, which is not installed: pip install "nclang[{extra}]"'
