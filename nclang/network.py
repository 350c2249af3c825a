"""`nclang.compile` and `nclang.load`: a compiled network in memory, as a `Network`.

A `Network` is a weight file's bytes (docs/weights.md), validated as `nclang exec` validates a
file (`nclang.compiler.weights.read_weights_bytes`), and written only by `save`. Its torch side
(`run`, `module`) is built on first use by the runtime's own loader, so compiling, loading and
saving never import torch. The runtime reads weight files from a path, not from bytes: the
bytes are handed to it through a private temporary file, removed as soon as it has read them
(the one place to change once the runtime takes bytes).
"""
from __future__ import annotations

import os
from pathlib import Path

from nclang.dsl import deep_recursion
from nclang.dsl.diagnostics import Diagnostic, NclError

from . import options, records
from .program import check

BYTES_NAME = "<bytes>"


class Network:
    """A compiled program's network: `run` it on inputs in the JSON formats, take its
    `module` (a `torch.nn.Module` whose state_dict is the file's tensors), `save` it or get its
    bytes. `meta` is the file's metadata, `name` what its diagnostics call it (the path it was
    loaded from, `<bytes>`, or `<compiled NAME>`)."""

    def __init__(self, data: bytes, meta: dict, name: str, *, device="cpu",
                 dtype: str | None = None, warnings=(), blame=None):
        self._data = bytes(data)
        self.meta = meta
        self.name = name
        self.device = device
        self.dtype = dtype
        self.warnings = list(warnings)
        # where to point a diagnostic about the network itself: a compiled one has no file,
        # so its program's name is blamed, as `nclang test` does for the file it compiles
        self._blame = blame
        self._net = None

    # ---- what the file says
    @property
    def program(self) -> str:
        return self.meta["program"]

    @property
    def target(self) -> str:
        return self.meta["target"]

    @property
    def architecture(self) -> dict:
        return self.meta["architecture"]

    @property
    def sizes(self) -> dict[str, int]:
        """The sizes it was compiled for."""
        return dict(self.meta["options"]["sizes"])

    # ---- bytes and files
    def to_bytes(self) -> bytes:
        """The weight file, byte for byte what `nclang compile` writes for the same source and
        options."""
        return self._data

    def save(self, path) -> Path:
        """Write the weight file to `path` atomically (the old file or the whole new one, never
        a part); NclError when it cannot be written."""
        from nclang.compiler.atomic import write_atomic
        out = Path(path)
        try:
            write_atomic(out, self._data)
        except OSError as err:
            raise NclError(Diagnostic(str(out), 1, 1, 1, 1, "error", "cannot-write",
                                      f"cannot write file: {err.strerror or err}")) from None
        return out

    # ---- torch
    @property
    def compiled_net(self):
        """The runtime's `CompiledNet` (nclang.compiler.runtime), built on first use."""
        if self._net is None:
            self._net = self._build()
        return self._net

    @property
    def module(self):
        """The `torch.nn.Module`; its `state_dict()` keys are the file's tensor names."""
        return self.compiled_net.module

    def _build(self):
        from nclang.compiler.runtime import load_bytes
        try:
            # the digest was checked (or skipped) when these bytes were read
            net = load_bytes(self._data, self.name, self.device, self.dtype, verify=False)
        except NclError as err:  # e.g. a resource limit: at the program when compiled from one
            raise NclError([self._error(d.code, d.message).diagnostics[0]
                            if d.file == self.name else d for d in err.diagnostics]) from None
        except ValueError as err:  # a device or dtype this network cannot run on
            raise self._error("bad-option", str(err)) from None
        return net

    def _error(self, code: str, message: str) -> NclError:
        if self._blame is not None:
            return NclError.at(self._blame, code, message)
        return NclError(Diagnostic(self.name, 1, 1, 1, 1, "error", code, message))

    @deep_recursion()
    def run(self, inputs):
        """The network's outputs for `inputs` (a dict in the JSON input format, or a list of
        them): a dict for a dict, a list for a list, as `nclang exec` prints them. Inputs are
        checked as `nclang exec` checks them (the program's types, what this network can take,
        the runtime's resource limits); an output the network did not compute exactly is an
        NclError, never a wrong answer."""
        from nclang.compiler.runtime import limits
        from nclang.dsl.jsonio import decode, encode, input_error
        net = self.compiled_net
        found, single = records.read(inputs)
        decoded, errors = [], []
        for record, line in found:
            try:
                instance = decode(net.signature, record, net.sizes, records.INPUTS_NAME, line)
            except NclError as err:
                errors += err.diagnostics
                continue
            refused = net.refusals(instance) or net.limits(instance)
            errors += [input_error(record, records.INPUTS_NAME, line, field, path, message)
                       for field, path, message in refused]
            if not refused:
                decoded.append((instance, line))
        if errors:
            raise NclError(errors)
        outputs = limits.run_in_groups(net, [instance for instance, _ in decoded])
        for (_, line), out in zip(decoded, outputs):
            errors += [Diagnostic(records.INPUTS_NAME, line, 1, line, 2, "error",
                                  "inexact-output", f"{problem}: {self.name} does not compute "
                                                    f"{self.program} exactly on this input")
                       for problem in net.inexact(out)]
        if errors:
            raise NclError(errors)
        results = [encode(net.signature, out) for out in outputs]
        return results[0] if single else results

    def run_networkx(self, G, *, write=False, **fields) -> dict:
        """`run` on networkx graph `G`: its nodes are `sorted(G)`, an undirected edge two
        directed ones, and each keyword names the node or edge attribute holding a parameter
        (default: the parameter's own name) or gives a scalar's value
        (`nclang.compiler.runtime.graphs.graph_input`). Returns the outputs as `run` does;
        `write=True` also stores every result on `G` under its own name, `write={result:
        attribute}` the named ones (`nclang.graph_attrs` says how each is stored)."""
        from nclang.compiler.runtime.graphs import graph_input

        from . import graph_attrs
        outs = self.meta["encodings"]["outputs"]
        names = graph_attrs.targets([e["name"] for e in outs], write) if write else {}
        result = self.run(graph_input(self.compiled_net, G, **fields))
        graph_attrs.write_back(G, result, outs, names)
        return result

    def to_pyg(self):
        """The network as a PyTorch Geometric `MessagePassing` module that runs the program on
        a `Batch` (`nclang.pyg`, docs/interop.md); a gnn network's only. Needs the `pyg` extra."""
        from . import pyg
        return pyg.module(self)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={v}" for k, v in sorted(self.sizes.items()))
        return (f"<nclang.Network {self.program} ({self.target}"
                f"{', ' + sizes if sizes else ''}) from {self.name}>")


@deep_recursion()
def compile(source_or_path, target: str | None = None, sizes: dict[str, int] | None = None, *,
            activation: str = "relu", dtype: str = "float32",
            vocab: tuple[str, ...] | None = None, program: str | None = None,
            device="cpu") -> Network:
    """Compile a program (a `Program`, source text or a path; `program` chooses one program of
    a file that holds several) to a `Network` in memory, as `nclang compile` does with the same
    options: `target` (default: the program's family's own), `sizes` (`--size`), `activation`
    ("relu" or "step"), `dtype` (the arithmetic the network is exact in: "float32" or
    "float64"), `vocab` (a sequence program's tokens). `device` is where `run` runs."""
    from nclang.compiler import driver
    from nclang.compiler.targets import registry
    prog = check(source_or_path, program=program)
    options.choice(prog, "target", target, registry.NAMES)
    options.choice(prog, "activation", activation, registry.ACTIVATIONS)
    options.choice(prog, "dtype", dtype, tuple(registry.DTYPES))
    fixed = options.sizes(prog, sizes, allow_input_n=True)
    tokens = options.vocab(prog, vocab)
    data, meta, warnings = driver.compile_bytes(prog.source, prog.checked, target, fixed,
                                                activation, dtype, tokens)
    span = prog.checked.program.name_span
    return Network(data, meta, f"<compiled {prog.name}>", device=device, warnings=warnings,
                   blame=span)


def load(path_or_bytes, *, device="cpu", dtype: str | None = None,
         verify: bool = True) -> Network:
    """A weight file (a path, or its bytes) as a `Network`, validated as `nclang exec`
    validates it: a bounded read, strict metadata, the schema, the tensors' digest (`verify=False`
    skips only the digest, as `--no-verify` does). `dtype` overrides the file's arithmetic (a
    float64 file refuses float32); `device` is where `run` runs. Raises NclError for a broken
    file; no code in it is ever run."""
    from nclang.compiler import weights
    from nclang.compiler.runtime import limits
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        name, data = BYTES_NAME, bytes(path_or_bytes)
    elif isinstance(path_or_bytes, (str, os.PathLike)):
        name = os.fspath(path_or_bytes)
        data = weights.read_file_bytes(name)
    else:
        raise TypeError(f"expected a weight file's path (str or pathlib.Path) or its bytes, got "
                        f"{type(path_or_bytes).__name__}")
    _, meta = weights.read_weights_bytes(data, name, verify)
    why = limits.constant_exceeded(meta)  # what the runtime would refuse whatever the input
    if why is not None:
        raise NclError(Diagnostic(name, 1, 1, 1, 1, "error", "resource-limit", why))
    if dtype is not None:
        dtype = str(dtype).removeprefix("torch.")
    return Network(data, meta, name, device=device, dtype=dtype)
