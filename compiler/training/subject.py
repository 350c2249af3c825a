"""The program under study in `nclang gap`: the file and sizes it is taken at, its compiled
network and trainable copies, and the inputs it is scored on."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

import numpy as np

from nclang.dsl.diagnostics import NclError

from .config import GapConfig, TrainConfig

# eval inputs come from this seed, not the training seed: every seed and the compiled net see
# the same inputs, and a different training seed does not change the test set
EVAL_SEED = 7_000_003
# above this many nodes an eval size gets fewer inputs (each costs n rounds of n nodes)
FULL_EVAL_N = 64
# the largest n a dense family (`er-p`: p up to 0.9, some 30,000 edges per graph at n = 256) is
# scored at, CLRS's test size; sparse families are scored at every eval size
DENSE_MAX_N = 64
DENSE_FAMILIES = ("er-p",)
# k for a bits program when neither --size nor the caller fixes it
DEFAULT_K = 8


@dataclass(frozen=True)
class Subject:
    checked: object
    file: str                     # display name
    # nclang.compiler.driver.Source: compiled exactly as nclang compile compiles it
    source: object
    target: str | None
    sizes: dict = field(default_factory=dict)
    vocab: tuple | None = None

    @property
    def name(self) -> str:
        return self.checked.program.name


def subject_of(path_or_checked, target, sizes, vocab, config: GapConfig) -> Subject:
    from nclang.compiler.driver import read_source
    if isinstance(path_or_checked, (str, os.PathLike)):
        from nclang.dsl.checker import check_source, select_program
        source = read_source(os.fspath(path_or_checked))
        checked = select_program(check_source(source.text, source.file), None, source.file)
    else:
        # a checked program knows the file it was read from (as `model.build` reads it)
        checked = path_or_checked
        source = read_source(checked.program.span.file)
    file = os.path.basename(source.file)
    sizes = dict(sizes or {})
    if checked.family == "bits":
        for name in sorted(checked.size_vars):
            sizes.setdefault(name, DEFAULT_K)
    elif checked.family == "seq":
        sizes.setdefault("n", max(config.train.n_range[1], 1))
    return Subject(checked, file, source, target, sizes, tuple(vocab) if vocab else None)


def node_axes(checked) -> int:
    """How many node axes the widest assigned value has: 1 for node state, 2 for pair state."""
    widest = 0
    for axes in checked.assign_axes.values():
        widest = max(widest, sum(1 for a in axes if a.kind in ("node", "pos")))
    return max(widest, 1)


@dataclass(frozen=True)
class Point:
    label: str                 # "n=64", "k=8", "n=64 er" (several families)
    n: int | None
    count: int
    family: str | None = None  # graph programs scored per family


def eval_points(subject: Subject, config: GapConfig, examples: int | None = None) -> list[Point]:
    """Where behaviour is measured: each eval size (graphs; sequences up to their compiled
    length), or the compiled sizes (bits programs have one width)."""
    examples = examples or config.eval_examples
    family = subject.checked.family
    if family == "bits":
        label = ",".join(f"{k}={v}" for k, v in sorted(subject.sizes.items())) or "fixed"
        return [Point(label, None, examples)]
    sizes = list(dict.fromkeys(int(s) for s in config.eval_sizes))
    if family == "seq":
        sizes = [s for s in sizes if s <= subject.sizes["n"]] or [subject.sizes["n"]]
    # node programs get `examples` inputs at every size (the interval at n = 256 must be as
    # narrow as at 16); a pair program's input costs n^3 per round, so above FULL_EVAL_N it
    # gets examples · (64/n)^3 inputs (at least 2), which the report states
    power = 0 if node_axes(subject.checked) == 1 else 3
    families = [None]
    if family == "graph":
        families = list(config.eval_families or config.train.families)
    out = []
    for s in sizes:
        share = min(1.0, FULL_EVAL_N / s) ** power
        for f in families:
            if f in DENSE_FAMILIES and s > DENSE_MAX_N and len(families) > 1:
                continue
            label = f"n={s}" if len(families) == 1 else f"n={s} {f}"
            out.append(Point(label, s, max(2, round(examples * share)),
                             f if len(families) > 1 else None))
    return out


def sample(subject: Subject, config: GapConfig, point: Point, salt: int):
    from .data import reference, sample_instances
    rng = np.random.default_rng([EVAL_SEED, salt, point.n or 0])
    n_range = (point.n, point.n) if point.n is not None else config.train.n_range
    instances = sample_instances(subject.checked, point.count, rng, sizes=subject.sizes,
                                 n_range=n_range,
                                 families=(point.family,) if point.family
                                 else (config.eval_families or config.train.families),
                                 vocab=subject.vocab)
    # inputs outside the program's domain (the interpreter rejects them) are dropped, as the
    # training data drops them
    kept, expected = [], []
    for instance in instances:
        try:
            expected.append(reference(subject.checked, [instance])[0])
        except NclError:
            continue
        kept.append(instance)
    if not kept:
        raise NclError.at(subject.checked.program.name_span, "no-valid-input",
                          f"none of the {len(instances)} inputs drawn at {point.label} runs "
                          f"without an error in the interpreter; nothing to score")
    return kept, expected


def instance_key(inst) -> bytes:
    """The bytes that identify an input (its sizes, graph and values): equal inputs, equal
    keys, so eval inputs that a training set also holds can be found and dropped."""
    parts = [repr(sorted(inst.sizes.items())).encode()]
    if inst.graph is not None:
        g = inst.graph
        parts += [str(g.n).encode(), np.asarray(g.src).tobytes(), np.asarray(g.dst).tobytes()]
    for name in sorted(inst.values):
        v = np.asarray(inst.values[name])
        parts += [name.encode(), v.astype(str).tobytes() if v.dtype == object else v.tobytes()]
    return b"\x00".join(parts)


def training_inputs(subject, config, seed: int) -> list:
    """The inputs `make_data` draws for this seed (before the interpreter drops any)."""
    from .data import sample_instances
    c = train_config(subject, config.train, seed=seed)
    kw = {"families": c.families} if subject.checked.family == "graph" else {}
    return sample_instances(subject.checked, c.examples, np.random.default_rng(c.seed),
                            sizes=c.sizes, n_range=c.n_range, vocab=subject.vocab, **kw)


def compiled_net(subject: Subject, folder: str):
    """The compiled network as `nclang compile` + `nclang exec` run it: the measurement of
    "the compiled network" goes through the real runtime, not through the trainable copy."""
    from nclang.compiler.runtime import load
    from nclang.compiler.driver import compile_checked
    out = os.path.join(folder, f"{subject.name}.safetensors")
    compile_checked(subject.source, subject.checked, out, subject.target,
                    _compile_sizes(subject), vocab=subject.vocab)
    return load(out), out


def _compile_sizes(subject: Subject) -> dict:
    from nclang.dsl.jsonio import input_sizes
    if subject.checked.family == "seq":
        return dict(subject.sizes)
    fixed = input_sizes(subject.checked)
    return {k: v for k, v in subject.sizes.items() if k not in fixed}


def build_net(subject: Subject, **kw):
    from .model import build
    return build(subject.checked, target=subject.target, sizes=_compile_sizes(subject),
                 vocab=subject.vocab, source=subject.source, **kw)


def train_config(subject: Subject, config: TrainConfig, **changes) -> TrainConfig:
    if subject.checked.family != "graph" and config.sizes is None:
        changes.setdefault("sizes", dict(subject.sizes))
    return dataclasses.replace(config, **changes)


def train_net(subject: Subject, trainable, config: TrainConfig, progress: bool):
    from .train import train
    return train(trainable, config, progress=progress)


def program_info(subject: Subject, net, weights_path: str) -> dict:
    from nclang.compiler.weights import read_weights
    tensors, meta = read_weights(weights_path)
    cost = (meta.get("analysis") or {}).get("cost") or {}
    return {"name": subject.name, "file": subject.file, "family": subject.checked.family,
            "target": meta.get("target"), "sizes": dict(sorted(subject.sizes.items())),
            "rounds": _rounds(meta.get("architecture", {}).get("program")) or None,
            "class": cost.get("class"),
            "parameters": int(sum(int(np.prod(t.shape)) for t in tensors.values()))}


def _rounds(program) -> str:
    counts = []

    def walk(x):
        if isinstance(x, dict):
            if x.get("op") == "loop" and "count" in x:
                counts.append(str(x["count"]))
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(program)
    return ", ".join(dict.fromkeys(counts))
