"""The schema of an `mlp` weight file: its layers, the input and output slots that fill their
widths, and each encoding item's shape against its declared type at the file's sizes."""
from __future__ import annotations


def _mlp(meta: dict, tensors: dict) -> list[str]:
    from nclang.compiler.runtime.encoding import check_layers, slots
    arch = meta["architecture"]
    p = check_layers(arch, tensors)
    if p:
        return p
    width_in, width_out = arch["layers"][0]["in"], arch["layers"][-1]["out"]
    p = slots(meta["encodings"]["inputs"], "inputs", width_in)[1]
    p += slots(meta["encodings"]["outputs"], "outputs", width_out)[1]
    return p or _mlp_shapes(meta)


def _mlp_shapes(meta: dict) -> list[str]:
    """Each encoding item's `shape` must be its declared type's at the file's sizes: the runtime
    lays a decoded value of that type into exactly those channels."""
    from nclang.dsl import types as T
    from nclang.dsl.diagnostics import NclError
    from nclang.dsl.sizes import eval_size
    from nclang.compiler.runtime.encoding import signature
    try:
        shim, sizes = signature(meta, "")
    except NclError:
        return []  # the runtime reports it when it builds the signature (runtime.CompiledNet)
    enc = meta["encodings"]
    typed = list(zip(enc["inputs"], shim.program.params)) + \
        list(zip(enc["outputs"], shim.program.results))
    p = []
    for item, syntax in typed:
        t = T.from_syntax(getattr(syntax, "type", syntax))
        try:
            shape = [eval_size(a.size, sizes) for a in t.axes] if isinstance(t, T.Field) \
                else []
        except (NclError, TypeError, AttributeError):
            p.append(f"encodings item '{item['name']}' has type {item['type']!r}, whose sizes "
                     f"the file does not give")
            continue
        if shape != item["shape"]:
            p.append(f"encodings item '{item['name']}' has shape {item['shape']}, but its type "
                     f"{item['type']} is {shape} at the file's sizes")
    return p
