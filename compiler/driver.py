"""The compile pipeline behind `nclang compile`: source → checked program → one `Compilation`
(the IR, lowered once, and the analyses, run once: `compilation`) → the registered target's
`compile` → weight file (docs/weights.md).

No torch here, nor in anything this imports: a cold compile must stay well under a second.
The same source bytes and options give the same file, byte for byte: every metadata document is
canonical JSON (nclang.compiler.weights), and nothing in it depends on the time, the machine, or the
path the source was named by (only the file's base name appears, in analysis spans).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from nclang.dsl.diagnostics import Diagnostic, NclError
from nclang.dsl.source import Source, read_source  # noqa: F401 - the driver's callers import it here

from .compilation import Compilation, Options, check_options, choose_target, prepare
from .targets.registry import DTYPES

# the targets, their options and exactness limits: nclang.compiler.targets.registry; one
# compile's lowering and analyses: nclang.compiler.compilation (the `Compilation` each target gets)


@dataclass
class Compiled:
    path: Path
    tensors: dict
    meta: dict
    warnings: list[Diagnostic] = field(default_factory=list)


def compile_checked(source: Source, checked, out_path, target: str | None = None,
                    sizes: dict[str, int] | None = None, activation: str = "relu",
                    dtype: str = "float32", vocab: tuple[str, ...] | None = None, *,
                    mlp_layers: int | None = None) -> Compiled:
    """Compile one checked program of `source` and write its weight file atomically. `dtype` is
    the arithmetic the network must be exact in: float32 (integers below 2^24) or float64 (2^53).

    Raises NclError for what the user can fix: a target that does not fit, a size left open, a
    declared class the analysis disagrees with, values `dtype` cannot hold exactly at these
    sizes, a constant index outside its field at these sizes, sizes or unrolled loops beyond
    the limits of dsl/limits.py, an output file that cannot be written."""
    from nclang.compiler.weights import write_weights
    artifact, meta, warnings = build_checked(source, checked, target, sizes, activation, dtype,
                                             vocab, mlp_layers=mlp_layers)
    out = Path(out_path)
    try:
        write_weights(out, artifact.tensors, meta)
    except OSError as err:
        raise NclError(Diagnostic(str(out), 1, 1, 1, 1, "error", "cannot-write",
                                  f"cannot write file: {err.strerror or err}")) from None
    return Compiled(out, artifact.tensors, meta, warnings)


# the size a target build gets, at check time, for a size variable the user left open: the
# target's refusals are about constructs, not sizes, so any small size finds them
CHECK_SIZE = 4


def target_refusals(source: Source, checked, target: str,
                    sizes: dict[str, int] | None = None) -> list[Diagnostic]:
    """What `nclang check --target T` reports: the diagnostics with which compiling `checked`
    for `target` would stop, found by running the compile itself (lowering and the target's
    build, writing nothing), so that check and compile share one source of truth.

    Sizes the user left open are CHECK_SIZE; then only the target's own refusals (its
    `T-unsupported` diagnostics and a target that does not fit the family) are reported, as
    errors that depend on the sizes (exactness, resource limits) would be about sizes the user
    never chose. The mlp and transformer targets are asked for every refusal (a refused
    construct is stood in for by a constant of its type and the rest of the program is still
    tried), in source order; the gnn stops at its first."""
    from nclang.dsl.jsonio import input_sizes
    sizes = dict(sizes or {})
    # the sizes a compile needs: those no input fixes, and a sequence's most positions
    needed = set(checked.size_vars) - set(input_sizes(checked))
    if checked.family == "seq":
        needed.add("n")
    open_sizes = sorted(needed - set(sizes))
    trial = {**sizes, **{x: CHECK_SIZE for x in open_sizes}}
    try:
        try:
            build_checked(source, checked, target, trial, all_refusals=True)
        except NclError:
            raise
        except Exception:  # noqa: BLE001 - a stand-in the target could not take
            # the first refusal is still the compile's own: ask for it alone
            build_checked(source, checked, target, trial)
    except NclError as err:
        found = sorted(err.diagnostics, key=lambda d: (d.line, d.col))
        if not open_sizes:
            return [d for d in found if d.severity == "error"]
        # (and a --size the program has no variable for: the user's own option)
        own = (f"{target}-unsupported", "wrong-target", "no-target", "unknown-size")
        return [d for d in found if d.code in own]
    return []


def compilation(checked, target: str | None = None, sizes: dict[str, int] | None = None,
                activation: str = "relu", dtype: str = "float32",
                vocab: tuple[str, ...] | None = None, *, file: str | None = None,
                source: str | None = None, all_refusals: bool = False,
                mlp_layers: int | None = None) -> Compilation:
    """The one `Compilation` of `checked` for a compile, after every refusal the driver makes
    before a target builds: options, sizes and resource limits, reads outside a field, the
    declared class, values `dtype` cannot hold. `file` names the source in diagnostics about
    sizes; `source` (its text) supplies the analysis' hints."""
    from nclang.dsl.checker import reads_outside
    from nclang.dsl.jsonio import check_sizes
    from nclang.dsl.limits import MAX_SIZE

    sizes = dict(sorted((sizes or {}).items()))
    options = Options(choose_target(checked, target), sizes, activation, dtype,
                      tuple(vocab) if vocab else None, all_refusals=all_refusals,
                      mlp_layers=mlp_layers)
    t = check_options(checked, options)
    p = checked.program
    if mlp_layers is not None and t.name != "transformer":
        raise NclError.at(p.name_span, f"{t.name}-unsupported",
                          f"--mlp-layers shapes the transformer target's blocks; the {t.name} "
                          "target has no attention blocks to fit")
    unknown = sorted(set(sizes) - set(checked.size_vars))
    if unknown:
        raise NclError.at(p.name_span, "unknown-size",
                          f"program '{p.name}' has no size variable {unknown[0]} (its sizes: "
                          f"{', '.join(sorted(checked.size_vars)) or 'none'})")
    too_big = sorted(k for k, v in sizes.items() if v > MAX_SIZE)
    if too_big:
        raise NclError.at(p.name_span, "resource-limit",
                          f"size {too_big[0]} = {sizes[too_big[0]]} is beyond the limit of "
                          f"{MAX_SIZE:,} for any size (docs/language.md#resource-limits)")
    check_sizes(checked, sizes, file if file is not None else p.span.file)
    if t.unrolls:
        _refuse_long_unroll(checked, sizes, t.name)
    outside = reads_outside(checked, sizes)
    if outside:
        raise NclError(outside)
    c = prepare(checked, options, source)
    errors = [d for d in c.cost.diagnostics if d.severity == "error"]
    if errors:
        raise NclError(errors)
    # The target refuses what `dtype` cannot compute exactly at these sizes: it knows its own
    # intermediates (weighted sums, attention scores), which can exceed the program's values.
    _refuse_inexact(checked, c.ranges, sizes, dtype)
    return c


def build_checked(source: Source, checked, target: str | None = None,
                  sizes: dict[str, int] | None = None, activation: str = "relu",
                  dtype: str = "float32", vocab: tuple[str, ...] | None = None,
                  all_refusals: bool = False, mlp_layers: int | None = None):
    """Everything `compile_checked` does but the write: (artifact, metadata, warnings). With
    `all_refusals`, the mlp and transformer targets report every construct they refuse."""
    c = compilation(checked, target, sizes, activation, dtype, vocab, file=source.file,
                    source=source.text, all_refusals=all_refusals, mlp_layers=mlp_layers)
    artifact = c.target.compile(c)
    encodings = dict(artifact.encodings)
    encodings.setdefault("family", checked.family)
    o = c.options
    meta = {
        "program": checked.program.name,
        "source_sha256": hashlib.sha256(source.data).hexdigest(),
        "target": o.target,
        "architecture": artifact.architecture,
        "encodings": encodings,
        "analysis": {"cost": _portable(c.cost.to_json()), "ranges": c.ranges.to_json()},
        # `vocab` (the transformer's token vocabulary) only where given
        "options": {"target": o.target, "sizes": o.sizes, "activation": o.activation,
                    "dtype": o.dtype, **({"vocab": list(o.vocab)} if o.vocab else {}),
                    **({"mlp_layers": o.mlp_layers} if o.mlp_layers is not None else {})},
    }
    warnings = [d for d in c.cost.diagnostics if d.severity != "error"]
    return artifact, meta, warnings


def compile_file(path, out_path, target: str | None = None, sizes: dict[str, int] | None = None,
                 activation: str = "relu", program: str | None = None,
                 dtype: str = "float32", vocab: tuple[str, ...] | None = None) -> Path:
    """Compile the program of the file at `path` (the one named `program` when the file holds
    several) to the weight file `out_path`; returns that path."""
    from nclang.dsl.checker import check_source, select_program
    source = read_source(path)
    checked = select_program(check_source(source.text, source.file), program, source.file)
    return compile_checked(source, checked, out_path, target, sizes, activation, dtype,
                           vocab).path


def _refuse_long_unroll(checked, sizes: dict[str, int], target: str) -> None:
    from nclang.dsl.limits import MAX_UNROLLED, MAX_UNROLLED_SIZE, largest_unrolled, widths
    # the mlp bounds its network instead (neurons and weights, estimated before it builds), so
    # that a wide but shallow circuit such as popcount at k = 40,000 still compiles
    if target == "transformer":
        too_big = sorted(k for k, v in sizes.items() if v > MAX_UNROLLED_SIZE)
        if too_big:
            raise NclError.at(checked.program.name_span, "resource-limit",
                              f"size {too_big[0]} = {sizes[too_big[0]]} is beyond the {target} "
                              f"target's limit of {MAX_UNROLLED_SIZE:,} (docs/language.md"
                              "#resource-limits)")
        for span, width in widths(checked, sizes):
            if width > MAX_UNROLLED_SIZE:
                raise NclError.at(span, "resource-limit",
                                  f"this type is {width:,} wide, beyond the {target} target's "
                                  f"limit of {MAX_UNROLLED_SIZE:,} (docs/language.md"
                                  "#resource-limits)")
    found = largest_unrolled(checked.program.body, sizes)
    if found is not None and found[1] > MAX_UNROLLED:
        loop, trips = found
        at = ", ".join(f"{k} = {sizes[k]}" for k in sorted(sizes)) or "every size"
        raise NclError.at(loop.span, "resource-limit",
                          f"this repeat unrolls to {trips:,} iterations at {at}, beyond the "
                          f"{target} target's limit of {MAX_UNROLLED:,} unrolled iterations "
                          "(docs/language.md#resource-limits)")


def _refuse_inexact(checked, ranges, sizes: dict[str, int], dtype: str) -> None:
    """The floor under every target's own exactness checks: where the sizes fix every value, no
    integer value (a literal, a constant, an intermediate) may pass what `dtype` holds exactly.
    It runs before the target, so that no target builds tables over a range it cannot hold;
    targets then refuse in their own terms what their intermediates need beyond it."""
    if not set(checked.size_vars) <= set(sizes) or ranges.max_value is None:
        return
    limit, bound = DTYPES[dtype].limit, DTYPES[dtype].bound
    value = ranges.value_at(sizes)
    if value < limit:
        return
    v = ranges.max_value
    at = ", ".join(f"{k} = {sizes[k]}" for k in sorted(sizes)) or "every size"
    reaches = "has no finite bound" if value == float("inf") else f"reaches {value}"
    hint = ("compile for float64 (--dtype float64) or use smaller sizes" if dtype == "float32"
            else "not even float64 holds it exactly")
    raise NclError.at(v.span, "not-exact", f"{v.name} {reaches}, which passes {bound} at {at}: "
                                           f"{dtype} cannot hold it exactly; {hint}")


def _portable(doc: dict) -> dict:
    """The analysis document with source paths cut to the file's base name, so that the file
    does not change with the directory the compiler was run from."""
    span = doc.get("reason_span")
    if isinstance(span, dict) and isinstance(span.get("file"), str):
        doc = dict(doc, reason_span=dict(span, file=os.path.basename(span["file"])))
    return doc


def compile_bytes(source: Source, checked, target: str | None = None,
                  sizes: dict[str, int] | None = None, activation: str = "relu",
                  dtype: str = "float32",
                  vocab: tuple[str, ...] | None = None, *,
                  mlp_layers: int | None = None) -> tuple[bytes, dict, list[Diagnostic]]:
    """`compile_checked` without the file (`nclang.compile`): the weight file's bytes, exactly
    those `compile_checked` would write, with its metadata and the compile's warnings."""
    from nclang.compiler.weights import encode
    artifact, meta, warnings = build_checked(source, checked, target, sizes, activation, dtype,
                                             vocab, mlp_layers=mlp_layers)
    return encode(artifact.tensors, meta), meta, warnings
