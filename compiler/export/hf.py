"""`nclang export WEIGHTS --format hf -o DIR` (the `export` command's `hf` format: `export`,
`DESCRIPTION`): a compiled transformer as a Hugging Face-style
folder, `config.json` + `model.safetensors`, that TransformerLens loads with its own calls:

    cfg = TransformerBridgeConfig.from_dict(json.load(open("DIR/config.json")))
    model = TransformerBridge.boot_native(cfg)
    model.load_state_dict(safetensors.torch.load_file("DIR/model.safetensors"))

`config.json` holds the `TransformerBridgeConfig` fields (`transformer_lens.plan`), the dtype
as `torch_dtype`, and under "nclang" the readout `decode` needs (which logits are which output's
values) and the program's name and source hash. The tensors carry the bridge's own state-dict
names. `transformers` cannot load it: no architecture of theirs is a transformer without
normalization with bidirectional attention and learned positions (docs/transformer_lens.md).
Writing needs numpy and safetensors only; each file is written atomically, the tensors first.
"""
from __future__ import annotations

import json
from pathlib import Path

from nclang.dsl.diagnostics import Diagnostic, NclError

from .transformer_lens import plan

DESCRIPTION = ("a Hugging Face-style folder (config.json + model.safetensors) that "
               "TransformerLens loads (transformer files)")
CONFIG, TENSORS = "config.json", "model.safetensors"


def write_hf(meta: dict, tensors: dict, file: str, out_dir, length: int | None = None) -> Path:
    """Write the folder `out_dir` (created if missing) for the network of a weight file's
    `meta` and `tensors` (`file` names it in diagnostics)."""
    from safetensors.numpy import save

    from nclang.compiler.atomic import write_atomic
    config, state, readout = plan(meta, tensors, file, length)
    config = dict(config, nclang=dict(readout, source_sha256=meta.get("source_sha256")))
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(out / TENSORS, save(state, metadata={"format": "pt"}))
        write_atomic(out / CONFIG, (json.dumps(config, indent=1, sort_keys=True) + "\n")
                     .encode())
    except OSError as err:
        raise NclError(Diagnostic(str(out), 1, 1, 1, 1, "error", "cannot-write",
                                  f"cannot write folder: {err.strerror or err}")) from None
    return out


def save_hf(network, out_dir, length: int | None = None) -> Path:
    """`write_hf` for an `nclang.Network`."""
    from nclang.compiler import weights
    tensors, meta = weights.read_weights_bytes(network.to_bytes(), network.name, False)
    return write_hf(meta, tensors, network.name, out_dir, length)


def load_hf(folder, device=None):
    """The TransformerBridge of a folder `write_hf` wrote, its readout attached (the three
    calls of this module's docstring, plus the dtype)."""
    from safetensors.numpy import load_file

    from .transformer_lens import boot
    folder = Path(folder)
    config = json.loads((folder / CONFIG).read_text())
    return boot(config, load_file(str(folder / TENSORS)), config["nclang"], device=device)


def export(net, path, options=None) -> Path:
    """The `nclang export --format hf` writer (the `export` command's protocol: `net` the
    runtime's `CompiledNet` of a validated weight file, `path` the folder, `options` its
    ExportOptions; a `length` there builds for that one length). NclError for a network
    TransformerLens cannot hold, OSError where the folder cannot be written."""
    tensors = {k: v.detach().to("cpu").numpy() for k, v in net.module.state_dict().items()}
    return write_hf(net.meta, tensors, net.file, path, getattr(options, "length", None))
