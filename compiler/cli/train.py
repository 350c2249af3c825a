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


def add_arguments(p: argparse.ArgumentParser) -> None:
    # the protocol `nclang gap` trains with too (one definition; it imports no torch)
    from nclang.compiler.training.config import HINT_WEIGHT, default_train
    d = default_train()
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
                        f"{','.join(d.families)}; also tree, grid, path)")
    p.add_argument("--examples", type=count_arg, default=d.examples, metavar="N",
                   help=f"training inputs drawn (default {d.examples})")
    p.add_argument("--steps", type=count_arg, default=d.steps, metavar="N",
                   help=f"the most optimiser steps (default {d.steps}; training stops sooner "
                        f"when the validation loss stops improving)")
    p.add_argument("--patience", type=int, default=d.patience, metavar="N",
                   help=f"stop after N validation checks (every {d.val_every} steps) without a "
                        f"new best, keeping the best weights; 0: run exactly --steps (default "
                        f"{d.patience})")
    p.add_argument("--batch", type=count_arg, default=d.batch, metavar="N",
                   help=f"inputs per step (default {d.batch})")
    p.add_argument("--lr", type=positive_float, default=d.lr, metavar="X",
                   help=f"Adam learning rate (default {d.lr:g})")
    p.add_argument("--weight-decay", type=nonnegative_float, default=d.weight_decay,
                   metavar="X", help=f"Adam weight decay (default {d.weight_decay:g})")
    p.add_argument("--seed", type=int, default=d.seed, metavar="S",
                   help=f"seeds the init, the data and the batches (default {d.seed})")
    p.add_argument("--hints", type=nonnegative_float, nargs="?", const=HINT_WEIGHT,
                   metavar="WEIGHT",
                   help=f"trace supervision (CLRS hints): also fit the state after every round, "
                        f"with this weight (default: on with weight {HINT_WEIGHT:g} for a graph "
                        f"program with one loop)")
    p.add_argument("--no-hints", action="store_true",
                   help="no trace supervision (train on the outputs alone)")
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
    from nclang.compiler.training.data import GRAPH_FAMILIES
    if args.hints is not None and args.no_hints:
        ctx.usage_error("argument --no-hints: not allowed with --hints")
    if args.patience < 0:
        ctx.usage_error("argument --patience: must be >= 0")
    families = None
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


def train_config(args, families=None):
    """The TrainConfig the options ask for, hints not yet resolved (`with_default_hints`): the
    protocol's defaults (`default_train`, as `nclang gap`) with the options given applied."""
    import dataclasses
    from nclang.compiler.training.config import default_train
    d = default_train()
    return dataclasses.replace(d, examples=args.examples, steps=args.steps,
                               patience=args.patience, batch=args.batch, lr=args.lr,
                               weight_decay=args.weight_decay, seed=args.seed,
                               n_range=tuple(args.train_sizes),
                               families=tuple(families or d.families),
                               trace_weight=args.hints or 0.0)


def _train(ctx: Context, source, checked, sizes: dict[str, int], families) -> int:
    import dataclasses
    from nclang.compiler.training.config import with_default_hints
    from nclang.compiler.training.model import build
    from nclang.compiler.training.train import accuracy, make_data, train
    args = ctx.args
    trainable = build(checked, target=args.target, sizes=sizes, vocab=args.vocab, init=args.init,
                      noise=args.noise or 0.0, seed=args.seed, source=source)
    config = dataclasses.replace(train_config(args, families), sizes=trainable.sizes or None)
    # `--hints 0` is off too, as it always was
    config = with_default_hints(config, trainable, hints=not args.no_hints and args.hints != 0)
    families = config.families
    data = make_data(checked, config, vocab=args.vocab)
    result = train(trainable, config, data=data)
    shown = data.instances[:200]
    acc = accuracy(trainable, shown, data.outputs[:len(shown)])
    losses = [x for x in result.losses]
    every = max(1, len(losses) // 50)  # a loss curve of at most ~50 points
    doc = {"init": args.init, "noise": args.noise or 0.0, "seed": args.seed,
           "steps": result.steps, "cap": result.cap, "stopped": result.stopped,
           "best_step": result.best_step, "patience": config.patience,
           "scales": {name: {"scale": v, "from": (result.scale_from or {}).get(name, "data")}
                      for name, v in sorted((result.scales or {}).items())},
           "batch": args.batch, "lr": args.lr,
           "weight_decay": args.weight_decay, "examples": result.examples,
           "train_sizes": list(args.train_sizes), "families": list(families)
           if checked.family == "graph" else [], "hints": config.trace_weight,
           "sizes": trainable.sizes,
           "loss_curve": {"every": every, "losses": losses[::every]},
           "final_loss": losses[-1] if losses else None,
           "train_accuracy": {"exact": acc.exact, "elements": acc.elements,
                              "examples": acc.count}}
    trainable.save(args.output, doc)
    params = sum(p.numel() for p in trainable.module.parameters())
    final = f"{losses[-1]:.4g}" if losses else "n/a"
    first = f"{losses[0]:.4g} -> " if len(losses) > 1 else ""
    stopped = f" ({result.stopped} at step {result.steps}, cap {result.cap})" \
        if result.stopped != "cap" else ""
    print(f"trained {checked.program.name} ({trainable.family}, {params} parameters, "
          f"init {args.init}) for {result.steps} steps on {result.examples} examples in "
          f"{result.seconds:.1f} s: loss {first}{final}{stopped}; hints "
          f"{f'{config.trace_weight:g}' if config.trace_weight else 'off'}; train accuracy "
          f"{acc.exact:.1%} exact, {acc.elements:.1%} of elements; wrote {args.output}")
    return EXIT_OK
