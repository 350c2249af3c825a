"""`nclang train`: train the compiled architecture (from random or the compiled weights) on
data drawn for the program, and write the trained weight file with its training record."""
from __future__ import annotations

import argparse

from .arguments import (TARGETS, add_program_name, check_size_options, count_arg,
                        nonnegative_float, positive_float, range_arg, size_arg, size_options,
                        vocab_arg)
from .context import EXIT_OK, STDIO, Context

HELP = "train the compiled architecture from data; write the trained weight file"

TRAIN_INITS = ("random", "compiled")
# nclang.compiler.training.train.TrainConfig's defaults, restated: building the parser must not
# import torch (tests/test_cli_train.py checks that the two agree)
TRAIN_DEFAULTS = argparse.Namespace(examples=1000, steps=400, batch=32, lr=3e-3, weight_decay=0.0,
                                    seed=0, n_range=(4, 16),
                                    families=("er", "tree", "grid", "path"))


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = TRAIN_DEFAULTS
    p.add_argument("program", metavar="PROG.ncl", help="source file")
    p.add_argument("-o", "--output", required=True, metavar="OUT.safetensors",
                   help="the trained weight file to write (replaced atomically)")
    p.add_argument("--target", choices=TARGETS,
                   help="the network family (default: the program's own)")
    p.add_argument("--size", action="append", type=size_arg, metavar="NAME=INT",
                   help="fix a size variable as for compile, e.g. --size k=8 (repeatable)")
    p.add_argument("--vocab", type=vocab_arg, metavar="A,B,C",
                   help="the token vocabulary of a sequence program, comma-separated")
    p.add_argument("--train-sizes", type=range_arg, default=d.n_range, metavar="LO..HI",
                   help=f"node counts of training graphs / lengths of training sequences "
                        f"(default {d.n_range[0]}..{d.n_range[1]}, the CLRS protocol)")
    p.add_argument("--families", metavar="F,G",
                   help=f"graph families to train on, comma-separated (default "
                        f"{','.join(d.families)}; also er-p: p per graph as CLRS draws it)")
    p.add_argument("--examples", type=count_arg, default=d.examples, metavar="N",
                   help=f"training inputs drawn (default {d.examples})")
    p.add_argument("--steps", type=count_arg, default=d.steps, metavar="N",
                   help=f"optimiser steps (default {d.steps})")
    p.add_argument("--batch", type=count_arg, default=d.batch, metavar="N",
                   help=f"inputs per step (default {d.batch})")
    p.add_argument("--lr", type=positive_float, default=d.lr, metavar="X",
                   help=f"Adam learning rate (default {d.lr:g})")
    p.add_argument("--weight-decay", type=nonnegative_float, default=d.weight_decay,
                   metavar="X", help=f"Adam weight decay (default {d.weight_decay:g})")
    p.add_argument("--seed", type=int, default=d.seed, metavar="S",
                   help=f"seeds the init, the data and the batches (default {d.seed})")
    p.add_argument("--hints", type=nonnegative_float, nargs="?", const=1.0, default=0.0,
                   metavar="WEIGHT",
                   help="trace supervision (CLRS hints): also fit the state after every round, "
                        "with this weight (default 1 when given without one)")
    p.add_argument("--init", choices=TRAIN_INITS, default="random",
                   help="start from random weights (default) or the compiled ones")
    p.add_argument("--noise", type=nonnegative_float, metavar="SIGMA",
                   help="with --init compiled: add Gaussian noise of std SIGMA · rms(tensor) "
                        "to every weight tensor")
    add_program_name(p)


def command(ctx: Context) -> int:
    from nclang.compiler.driver import read_source
    from nclang.dsl.checker import check_source, select_program
    from nclang.dsl.diagnostics import did_you_mean
    args = ctx.args
    if STDIO in (args.program, args.output):
        ctx.usage_error("train reads the program from a file and writes the weights to a file, "
                        "not stdin or stdout")
    if args.noise is not None and args.init != "compiled":
        ctx.usage_error("argument --noise: applies with --init compiled")
    sizes = size_options(ctx)
    source = read_source(args.program)
    ctx.sources[source.file] = source.text
    checked = select_program(check_source(source.text, source.file), args.name, source.file)
    check_size_options(ctx, checked, {k: v for k, v in sizes.items()
                                       if not (k == "n" and checked.family == "seq")})
    from nclang.compiler.training.data import DEFAULT_FAMILIES, GRAPH_FAMILIES
    families = DEFAULT_FAMILIES
    if args.families is not None:
        if checked.family != "graph":
            ctx.usage_error(f"argument --families: applies to graph programs; "
                            f"'{checked.program.name}' is a {checked.family} program")
        families = tuple(f.strip() for f in args.families.split(","))
        for f in families:
            if f not in GRAPH_FAMILIES:
                ctx.usage_error(f"argument --families: unknown family {f!r}"
                                f"{did_you_mean(f, GRAPH_FAMILIES)} (families: "
                                f"{', '.join(GRAPH_FAMILIES)})")
    lo, hi = args.train_sizes
    if checked.family == "seq" and "n" not in sizes:
        sizes["n"] = hi  # the transformer is built for the longest training sequence
    return _train(ctx, source, checked, sizes, families)


def _train(ctx: Context, source, checked, sizes: dict[str, int], families) -> int:
    from nclang.compiler.training.model import build
    from nclang.compiler.training.train import TrainConfig, accuracy, make_data, train
    args = ctx.args
    trainable = build(checked, target=args.target, sizes=sizes, vocab=args.vocab, init=args.init,
                      noise=args.noise or 0.0, seed=args.seed, source=source)
    config = TrainConfig(examples=args.examples, steps=args.steps, batch=args.batch, lr=args.lr,
                         weight_decay=args.weight_decay, seed=args.seed,
                         n_range=args.train_sizes, families=families, trace_weight=args.hints,
                         sizes=trainable.sizes or None)
    data = make_data(checked, config, vocab=args.vocab)
    result = train(trainable, config, data=data)
    shown = data.instances[:200]
    acc = accuracy(trainable, shown, data.outputs[:len(shown)])
    losses = [x for x in result.losses]
    every = max(1, len(losses) // 50)  # a loss curve of at most ~50 points
    doc = {"init": args.init, "noise": args.noise or 0.0, "seed": args.seed,
           "steps": result.steps, "batch": args.batch, "lr": args.lr,
           "weight_decay": args.weight_decay, "examples": result.examples,
           "train_sizes": list(args.train_sizes), "families": list(families)
           if checked.family == "graph" else [], "hints": args.hints, "sizes": trainable.sizes,
           "loss_curve": {"every": every, "losses": losses[::every]},
           "final_loss": losses[-1] if losses else None,
           "train_accuracy": {"exact": acc.exact, "elements": acc.elements,
                              "examples": acc.count}}
    trainable.save(args.output, doc)
    params = sum(p.numel() for p in trainable.module.parameters())
    final = f"{losses[-1]:.4g}" if losses else "n/a"
    first = f"{losses[0]:.4g} -> " if len(losses) > 1 else ""
    print(f"trained {checked.program.name} ({trainable.family}, {params} parameters, "
          f"init {args.init}) for {result.steps} steps on {result.examples} examples in "
          f"{result.seconds:.1f} s: loss {first}{final}; train accuracy {acc.exact:.1%} exact, "
          f"{acc.elements:.1%} of elements; wrote {args.output}")
    return EXIT_OK
