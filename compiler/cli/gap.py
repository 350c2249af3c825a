"""`nclang gap`: its options, and the command, which checks `--out` and hands the parsed options
to `nclang.compiler.training.gap_cli` (one program, head to head, or an examples sweep).
Building the parser imports no torch: the CLI builds every command's parser, and
`check`/`compile` must not import torch."""
from __future__ import annotations

import argparse
import dataclasses
import math
import os

from .arguments import TARGETS, count_arg, positive_float, range_arg, size_arg, vocab_arg
from .context import Context

HELP = "train seeds and compare them with the compiled network: gap.json, gap.md, plots"


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
    from nclang.compiler.training.config import GapConfig, default_train
    from nclang.compiler.training.subject import DEFAULT_K, FULL_EVAL_N
    d = {f.name: f.default for f in dataclasses.fields(GapConfig)}
    t = default_train()
    p.add_argument("programs", nargs="+", metavar="PROG.ncl",
                   help="the program; two programs for the same function: head to head")
    p.add_argument("--out", metavar="DIR",
                   help="where to write gap.json, gap.md and the plots (default: gap-NAME, or "
                        "gap-A-vs-B head to head, gap-NAME-sweep)")
    p.add_argument("--target", choices=TARGETS,
                   help="the network family (default: the program's own)")
    p.add_argument("--size", action="append", type=size_arg, metavar="NAME=INT",
                   help=f"fix a size variable, e.g. --size k=8 (bits programs default to "
                        f"k={DEFAULT_K})")
    p.add_argument("--vocab", type=vocab_arg, metavar="A,B,C",
                   help="the token vocabulary of a sequence program")
    p.add_argument("--seeds", type=count_arg, default=d["seeds"], metavar="N",
                   help=f"trained networks per program (default {d['seeds']})")
    p.add_argument("--load", action="append", metavar="FILE.safetensors",
                   help="compare these trained weight files (nclang train) instead of training "
                        "seeds (repeatable)")
    p.add_argument("--steps", type=count_arg, default=t.steps, metavar="N",
                   help=f"the most training steps per network (default {t.steps}; "
                        f"training stops sooner when the validation loss stops improving)")
    p.add_argument("--patience", type=int, default=t.patience, metavar="N",
                   help=f"stop after N validation checks (every 100 steps) without a new best, "
                        f"keeping the best weights; 0: run exactly --steps (default "
                        f"{t.patience})")
    p.add_argument("--examples", type=count_arg, default=t.examples, metavar="N",
                   help=f"training examples (default {t.examples})")
    p.add_argument("--batch", type=count_arg, metavar="N",
                   help="batch size (default: nclang train's)")
    p.add_argument("--lr", type=positive_float, metavar="X",
                   help="Adam learning rate (default: nclang train's)")
    p.add_argument("--seed", type=int, metavar="S",
                   help="the first training seed; seed i is S + i (default: nclang train's, 0)")
    p.add_argument("--train-sizes", type=range_arg, metavar="LO..HI",
                   help="training graph sizes or sequence lengths (default: nclang train's, "
                        "4..16)")
    p.add_argument("--families", metavar="F,G",
                   help=f"graph families to train and score on, each scored on its own "
                        f"(default: {','.join(t.families)}; also tree, grid, path)")
    p.add_argument("--hints", type=positive_float, nargs="?", const=1.0, metavar="WEIGHT",
                   help="trace supervision: the state after each round as an extra target "
                        "(default: on with weight 1 for a graph program with one loop)")
    p.add_argument("--no-hints", action="store_true",
                   help="no trace supervision (train on the outputs alone)")
    p.add_argument("--eval-sizes", type=_int_list, default=d["eval_sizes"], metavar="N,N",
                   help=f"graph sizes to score at (default "
                        f"{','.join(map(str, d['eval_sizes']))})")
    p.add_argument("--eval-examples", type=count_arg, default=d["eval_examples"], metavar="N",
                   help=f"inputs per eval size and family (pair programs: fewer above "
                        f"n={FULL_EVAL_N}; default {d['eval_examples']})")
    p.add_argument("--noise", type=_float_list, default=d["noise"], metavar="S,S",
                   help=f"stability: σ of the noise (std σ · rms of each tensor) added to the "
                        f"compiled weights before "
                        f"training (default {','.join(map(str, d['noise']))}; '' for none)")
    p.add_argument("--stability-steps", type=count_arg, default=d["stability_steps"],
                   metavar="N",
                   help=f"the step cap of each stability run (default {d['stability_steps']})")
    p.add_argument("--variants", type=count_arg, default=d["variants"], metavar="N",
                   help=f"random function-equivalent copies of the compiled network that "
                        f"check the distance's invariance (default {d['variants']})")
    p.add_argument("--sweep", type=_int_list, nargs="?", const=(), metavar="N,N",
                   help="examples sweep: accuracy against the number of training examples, "
                        "for these counts (default: k/2·2^i, i < 6, for bits programs; "
                        "16·2^i otherwise)")
    p.add_argument("--plot-format", choices=("png", "svg"), default="png",
                   help="the plots' file format (default png)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")


def command(ctx: Context) -> int:
    from nclang.compiler.training import gap_cli
    out = getattr(ctx.args, "out", None)
    if out is not None and os.path.exists(out) and not os.path.isdir(out):
        ctx.usage_error(f"argument --out: {out} exists and is not a folder; gap writes "
                        f"gap.json, gap.md and plots into a folder")
    return gap_cli.main(ctx.args)
