"""`nclang gap` on the command line: its options, and the run they ask for (one program, head
to head, or an examples sweep). Building the parser imports no torch: the CLI builds every
command's parser, and `check`/`compile` must not import torch."""
from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
from pathlib import Path

from .config import default_train
from .gap import GapConfig, gap
from .head_to_head import head_to_head
from .subject import DEFAULT_K, FULL_EVAL_N
from .sweep import examples_sweep


def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers separated by commas, got "
                                         f"{text!r}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers separated by commas, "
                                         f"got {text!r}")
    return values


def _float_list(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got "
                                         f"{text!r}") from None
    if any(not math.isfinite(v) or v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected non-negative numbers, got {text!r}")
    return values


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `nclang gap`. Imports no torch: the CLI builds every command's parser."""
    from nclang.compiler.cli import (_count_arg, _positive_float, _range_arg, _size_arg,
                              _vocab_arg)
    d = {f.name: f.default for f in dataclasses.fields(GapConfig)}
    t = default_train()
    p.add_argument("programs", nargs="+", metavar="PROG.ncl",
                   help="the program; two programs for the same function: head to head")
    p.add_argument("--out", metavar="DIR",
                   help="where to write gap.json, gap.md and the plots (default: gap-NAME, or "
                        "gap-A-vs-B head to head, gap-NAME-sweep)")
    p.add_argument("--target", choices=("mlp", "gnn", "transformer"),
                   help="the network family (default: the program's own)")
    p.add_argument("--size", action="append", type=_size_arg, metavar="NAME=INT",
                   help=f"fix a size variable, e.g. --size k=8 (bits programs default to "
                        f"k={DEFAULT_K})")
    p.add_argument("--vocab", type=_vocab_arg, metavar="A,B,C",
                   help="the token vocabulary of a sequence program")
    p.add_argument("--seeds", type=_count_arg, default=d["seeds"], metavar="N",
                   help=f"trained networks per program (default {d['seeds']})")
    p.add_argument("--load", action="append", metavar="FILE.safetensors",
                   help="compare these trained weight files (nclang train) instead of training "
                        "seeds (repeatable)")
    p.add_argument("--steps", type=_count_arg, default=t.steps, metavar="N",
                   help=f"the most training steps per network (default {t.steps}; "
                        f"training stops sooner when the validation loss stops improving)")
    p.add_argument("--patience", type=int, default=t.patience, metavar="N",
                   help=f"stop after N validation checks (every 100 steps) without a new best, "
                        f"keeping the best weights; 0: run exactly --steps (default "
                        f"{t.patience})")
    p.add_argument("--examples", type=_count_arg, default=t.examples, metavar="N",
                   help=f"training examples (default {t.examples})")
    p.add_argument("--batch", type=_count_arg, metavar="N",
                   help="batch size (default: nclang train's)")
    p.add_argument("--lr", type=_positive_float, metavar="X",
                   help="Adam learning rate (default: nclang train's)")
    p.add_argument("--seed", type=int, metavar="S",
                   help="the first training seed; seed i is S + i (default: nclang train's, 0)")
    p.add_argument("--train-sizes", type=_range_arg, metavar="LO..HI",
                   help="training graph sizes or sequence lengths (default: nclang train's, "
                        "4..16)")
    p.add_argument("--families", metavar="F,G",
                   help=f"graph families to train and score on, each scored on its own "
                        f"(default: {','.join(t.families)}; also tree, grid, path)")
    p.add_argument("--hints", type=_positive_float, nargs="?", const=1.0, metavar="WEIGHT",
                   help="trace supervision: the state after each round as an extra target "
                        "(default: on with weight 1 for a graph program with one loop)")
    p.add_argument("--no-hints", action="store_true",
                   help="no trace supervision (train on the outputs alone)")
    p.add_argument("--eval-sizes", type=_int_list, default=d["eval_sizes"], metavar="N,N",
                   help=f"graph sizes to score at (default "
                        f"{','.join(map(str, d['eval_sizes']))})")
    p.add_argument("--eval-examples", type=_count_arg, default=d["eval_examples"], metavar="N",
                   help=f"inputs per eval size and family (pair programs: fewer above "
                        f"n={FULL_EVAL_N}; default {d['eval_examples']})")
    p.add_argument("--noise", type=_float_list, default=d["noise"], metavar="S,S",
                   help=f"stability: σ of the noise (std σ · rms of each tensor) added to the "
                        f"compiled weights before "
                        f"training (default {','.join(map(str, d['noise']))}; '' for none)")
    p.add_argument("--stability-steps", type=_count_arg, default=d["stability_steps"],
                   metavar="N",
                   help=f"the step cap of each stability run (default {d['stability_steps']})")
    p.add_argument("--variants", type=_count_arg, default=d["variants"], metavar="N",
                   help=f"random function-equivalent copies of the compiled network that "
                        f"check the distance's invariance (default {d['variants']})")
    p.add_argument("--sweep", type=_int_list, nargs="?", const=(), metavar="N,N",
                   help="examples sweep: accuracy against the number of training examples, "
                        "for these counts (default: k/2·2^i, i < 6, for bits programs; "
                        "16·2^i otherwise)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")


def _config_from(args) -> GapConfig:
    t = default_train()
    if args.hints and args.no_hints:
        _usage(args, "argument --no-hints: not allowed with --hints")
    if args.patience < 0:
        _usage(args, "argument --patience: must be >= 0")
    changes = {"examples": args.examples, "steps": args.steps, "patience": args.patience,
               "trace_weight": args.hints or 0.0}
    for option, name in (("batch", "batch"), ("lr", "lr"), ("seed", "seed"),
                         ("train_sizes", "n_range")):
        if getattr(args, option) is not None:
            changes[name] = tuple(getattr(args, option)) if name == "n_range" \
                else getattr(args, option)
    if args.families:
        from .data import GRAPH_FAMILIES
        families = tuple(f.strip() for f in args.families.split(",") if f.strip())
        bad = [f for f in families if f not in GRAPH_FAMILIES]
        if bad or not families:
            _usage(args, f"argument --families: unknown {', '.join(bad) or '(none)'}; choose "
                         f"from {', '.join(GRAPH_FAMILIES)}")
        changes["families"] = families
    return GapConfig(seeds=args.seeds, train=dataclasses.replace(t, **changes),
                     eval_sizes=tuple(args.eval_sizes), eval_examples=args.eval_examples,
                     noise=tuple(args.noise), variants=args.variants,
                     stability_steps=args.stability_steps, hints=not args.no_hints)


def _usage(args, message: str):
    parser = getattr(args, "_parser", None)
    if parser is not None:
        parser.error(message)  # exits with status 2
    sys.stderr.write(f"nclang gap: error: {message}\n")
    raise SystemExit(2)


def main(args) -> int:
    """`nclang gap`: 0 when done, 3 when the compiled network was not exact (the report is
    still written, naming the problem)."""
    programs = list(args.programs)
    if len(programs) > 2:
        _usage(args, "argument PROG.ncl: one program, or two for head to head")
    if "-" in programs:
        _usage(args, "argument PROG.ncl: gap reads programs from files, not stdin")
    if args.load and (len(programs) > 1 or args.sweep is not None):
        _usage(args, "argument --load: applies to a single program without --sweep")
    if args.sweep is not None and len(programs) > 1:
        _usage(args, "argument --sweep: applies to a single program")
    sizes: dict[str, int] = {}
    for name, value in args.size or ():
        if sizes.get(name, value) != value:
            _usage(args, f"argument --size: {name} is given twice ({sizes[name]} and {value})")
        sizes[name] = value
    config = _config_from(args)
    names = [Path(p).stem for p in programs]
    if args.out:
        out = args.out
    elif args.sweep is not None:
        out = f"gap-{names[0]}-sweep"
    else:
        out = f"gap-{'-vs-'.join(names)}"
    kw = dict(target=args.target, sizes=sizes, vocab=args.vocab, out_dir=out,
              progress=not args.quiet)
    if args.sweep is not None:
        doc = examples_sweep(programs[0], config, args.sweep or None, **kw)
        problems = doc["problems"]
    elif len(programs) == 2:
        doc = head_to_head(programs[0], programs[1], config, **kw)
        problems = [p for d in doc["programs"] for p in d["problems"]]
    else:
        doc = gap(programs[0], config, load=args.load or (), **kw)
        problems = doc["problems"]
    print(_summary(doc, out))
    for problem in problems:
        sys.stderr.write(f"nclang gap: error: {problem}\n")
    return 3 if problems else 0


def _summary(doc: dict, out: str) -> str:
    lines = [f"wrote {os.path.join(out, 'gap.md')} (and gap.json, plots)"]
    docs = doc["programs"] if doc["kind"] == "head_to_head" else \
        [doc] if doc["kind"] == "gap" else []
    for d in docs:
        b = d["behaviour"]
        cells = []
        for label in b["sizes"]:
            ex = [r["by_size"][label]["exact_match"] for r in b["seeds"]]
            mean = sum(ex) / len(ex) if ex else float("nan")
            cells.append(f"{label}: {100 * mean:.1f}% "
                         f"(compiled {100 * b['compiled'][label]['exact_match']:.1f}%)")
        lines.append(f"{d['program']['name']}: trained exact match " + ", ".join(cells))
        lift = d.get("lift")
        if lift:
            for r in lift["seeds"]:
                cells = []
                for label in lift["sizes"]:
                    x = r["by_size"][label]["lift_exact_match"]
                    lo, hi = x["ci"]
                    cells.append(f"{label}: {100 * x['value']:+.1f} [{100 * lo:+.1f}, "
                                 f"{100 * hi:+.1f}] over "
                                 f"{r['by_size'][label]['best_baseline_exact_match']['name']}")
                flags = f" ({', '.join(r['flags'])})" if r["flags"] else ""
                lines.append(f"  seed {r['seed']}{flags}: lift " + ", ".join(cells))
    if doc["kind"] == "examples_sweep":
        sections = (doc.get("lift") or {}).get("by_count") or [None] * len(doc["counts"])
        for j, (count, sec) in enumerate(zip(doc["counts"], sections)):
            ex = [s["points"][j]["exact_match"] for s in doc["seeds"]]
            line = f"{count} examples: exact match {100 * sum(ex) / len(ex):.1f}%"
            if sec:
                m = sec["mean"][sec["label"]]
                x = m["lift_exact_match"]
                line += (f", lift {100 * x['value']:+.1f} [{100 * x['ci'][0]:+.1f}, "
                         f"{100 * x['ci'][1]:+.1f}], {m['learned_seeds']} of "
                         f"{len(sec['seeds'])} seeds learned")
            lines.append(line)
    return "\n".join(lines)
