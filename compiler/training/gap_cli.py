"""`nclang gap`: the run its options ask for (one program, head to head, or an examples sweep),
from the parsed options. The options themselves are `nclang.compiler.cli.gap`'s: nothing here
imports the command line."""
from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

from .config import GapConfig, default_train
from .gap import gap
from .head_to_head import head_to_head
from .sweep import examples_sweep


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
              plot_format=args.plot_format,
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
