"""The torch runtime: a weight file becomes an `nn.Module` that runs the compiled program, with no
source needed (docs/weights.md).

`load(path)` validates the file (`nclang.compiler.weights.read_weights`), then hands it to the
module of its network family, `architecture["family"]`, listed in `FAMILIES`. A family module
defines `build(file, tensors, meta, device, dtype) -> CompiledNet`; a new target adds its module
with `register`. The family module owns how instances become tensors, because that differs between
families (a flat feature vector for an MLP, node features and an edge list for a GNN).

Exactness: the compiler proves every value a network computes is an integer below 2^24 (2^53 for
a float64 file), which float32 (float64) arithmetic represents exactly in any summation order.
That holds only at full precision, so `run` keeps TF32 and reduced-precision matmuls off while it
runs, and never uses autocast.
"""
from __future__ import annotations

import abc
import contextlib
import importlib
import os

from nclang.compiler.targets import registry
from nclang.dsl.diagnostics import Diagnostic, NclError
from nclang.dsl.values import Instance

# family -> module that builds it; imported on first use so that loading an MLP needs no GNN code
FAMILIES: dict[str, str] = {t.name: t.runtime for t in registry.TARGETS.values()}

DTYPES = tuple(registry.DTYPES)


def register(family: str, module: str) -> None:
    """Make `load` build networks of `family` with `module`'s `build` function."""
    FAMILIES[family] = module


class CompiledNet(abc.ABC):
    """A loaded weight file, ready to run. Subclasses (one per family) define `run` and `inexact`.

    `module` is the `torch.nn.Module`; its `state_dict()` keys are the file's tensor names.
    `signature` stands in for the checked program in `nclang.dsl.jsonio.decode/encode`, and `sizes`
    are the size variables the file was compiled for, so JSON input is decoded exactly as
    `nclang run` decodes it."""

    def __init__(self, file: str, meta: dict, module, device, dtype):
        from .encoding import signature
        self.file = file
        self.meta = meta
        self.module = module
        self.device = device
        self.dtype = dtype
        self.signature, self.sizes = signature(meta, file)

    @property
    def program(self) -> str:
        return self.meta["program"]

    @property
    def architecture(self) -> dict:
        return self.meta["architecture"]

    @property
    def encodings(self) -> dict:
        return self.meta["encodings"]

    @property
    def readout(self) -> str:
        """How outputs are read: "exact" (a compiled file: a value off the encoding stays raw,
        so that a comparison fails visibly) or "nearest" (a trained file, `nclang train`: each
        output is the nearest valid value, see `encoding.nearest`)."""
        return self.encodings.get("readout", "exact")

    @abc.abstractmethod
    def run(self, instances: list[Instance]) -> list[dict]:
        """The outputs for each instance, by result name, in `nclang.dsl.values` forms (see
        `nclang.compiler.runtime.encoding` for how inexact outputs are kept visible)."""

    def refusals(self, instance: Instance) -> list[tuple[str, tuple[int, ...], str]]:
        """The parts of a decoded input this network cannot take although the language can
        (a token outside its vocabulary, a sequence longer than it was built for), each as
        (field, element index path, why), so that `nclang exec` refuses the input at that
        element before running it; [] when it can take all of it. What the interpreter itself
        refuses in an input (node ids outside 0..n-1, ints outside their range, bits wider
        than their type) `nclang.dsl.jsonio.decode` refuses for both."""
        return []

    def limits(self, instance: Instance) -> list[tuple[str, tuple[int, ...], str]]:
        """Like `refusals`: the resource limit this instance's run would pass (its loops'
        rounds, its largest value, its work: `nclang.compiler.runtime.limits`), estimated from the
        architecture before anything runs; [] when it stays within them."""
        from . import limits
        sizes = limits.instance_sizes(self, instance)
        why = limits.exceeded(self.meta, sizes) if sizes is not None else None
        if why is None:
            return []
        field = "n" if self.architecture.get("family") == "gnn" \
            else self.encodings["inputs"][0]["name"]
        return [(field, (), why)]

    def cost(self, instance: Instance) -> int:
        """The bytes of the largest tensor this instance's run allocates (an estimate), so that
        a caller can keep a batch's sum under `limits.MAX_BYTES`."""
        from . import limits
        sizes = limits.instance_sizes(self, instance)
        return limits.estimate(self.meta, sizes).bytes if sizes is not None else 0

    @abc.abstractmethod
    def inexact(self, outputs: dict) -> list[str]:
        """Why these outputs (from `run`) are not exact values, one sentence each; [] when
        they are."""


def resolve_device(device):
    """A `torch.device`, or ValueError saying why `device` cannot be used here."""
    import torch
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"{device!r} is not a torch device ({err})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{device}: CUDA is not available on this machine")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"{device}: MPS is not available on this machine")
    return dev


def load(path, device="cpu", dtype: str | None = None, verify: bool = True) -> CompiledNet:
    """Load and validate a weight file. `dtype` is "float32" or "float64"; None means the file's
    own (`architecture["dtype"]`, float32 when absent). Raises NclError (`FILE:1:1:` diagnostics,
    code `bad-weights`) for a broken file, ValueError for a device or dtype that cannot be used.
    `verify=False` skips the check of the tensors against their digest (`--no-verify`)."""
    from nclang.compiler.weights import read_weights
    file = os.fspath(path)
    tensors, meta = read_weights(file, verify=verify)
    return from_weights(file, tensors, meta, device, dtype)


def load_bytes(data: bytes, name: str = "<bytes>", device="cpu", dtype: str | None = None,
               verify: bool = True) -> CompiledNet:
    """`load` for a weight file's bytes (`nclang.load(bytes)`, `nclang.compile(...).run`), with
    the same checks; diagnostics name the bytes `name`."""
    from nclang.compiler.weights import read_weights_bytes
    tensors, meta = read_weights_bytes(data, name, verify=verify)
    return from_weights(name, tensors, meta, device, dtype)


def from_weights(file: str, tensors: dict, meta: dict, device="cpu",
                 dtype: str | None = None) -> CompiledNet:
    """The network of a validated weight file's tensors and metadata (`read_weights`)."""
    import torch
    arch = meta["architecture"]
    family = arch.get("family")
    if family not in FAMILIES:
        known = ", ".join(sorted(FAMILIES))
        raise NclError(Diagnostic(file, 1, 1, 1, 1, "error", "bad-weights",
                                  f"architecture family {family!r} is not one this nclang runs "
                                  f"({known})"))
    needs = arch.get("dtype", "float32")
    if needs not in DTYPES:
        raise NclError(Diagnostic(file, 1, 1, 1, 1, "error", "bad-weights",
                                  f"architecture dtype {needs!r}; one of {', '.join(DTYPES)}"))
    dtype = needs if dtype is None else str(dtype).removeprefix("torch.")
    if dtype not in DTYPES:
        raise ValueError(f"dtype {dtype!r}; one of {', '.join(DTYPES)}")
    if needs == "float64" and dtype == "float32":
        raise ValueError("this network holds values beyond 2^24 and is exact only in float64")
    from . import limits
    why = limits.constant_exceeded(meta)
    if why is not None:
        raise NclError(Diagnostic(file, 1, 1, 1, 1, "error", "resource-limit",
                                  why))
    dev = resolve_device(device)
    build = importlib.import_module(FAMILIES[family]).build
    net = build(file, tensors, meta, dev, getattr(torch, dtype))
    limits.guard(net)  # rounds of `until stable` loops are counted as they run
    return net


@contextlib.contextmanager
def exact_matmul():
    """Full-precision float32 matmuls for the duration (TF32 off), restoring the settings after:
    a runtime must not change a caller's global torch state for good."""
    import torch
    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    saved = (matmul.allow_tf32, cudnn.allow_tf32, torch.get_float32_matmul_precision())
    matmul.allow_tf32 = False
    cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    try:
        yield
    finally:
        matmul.allow_tf32, cudnn.allow_tf32 = saved[0], saved[1]
        torch.set_float32_matmul_precision(saved[2])
