"""`nclang train` and `nclang gap` train with the same protocol when given no options (issue 13:
train kept 400 steps, no hints and the old graph families after gap moved on): the options
of both commands resolve to one TrainConfig, hints included."""
from __future__ import annotations

import dataclasses

from nclang import stdlib
from nclang.compiler import cli
from nclang.compiler.training import gap_cli
from nclang.compiler.training.config import (HINT_WEIGHT, PROTOCOL_FAMILIES, PROTOCOL_PATIENCE,
                                      PROTOCOL_STEPS, default_train, with_default_hints)
from nclang.compiler.weights import read_weights

BFS = str(stdlib.path("graph/bfs"))


def _train_config():
    return cli.train.train_config(cli._parser().parse_args(["train", BFS, "-o", "x.safetensors"]))


def _gap_config():
    return gap_cli._config_from(cli._parser().parse_args(["gap", BFS]))


def test_train_and_gap_resolve_to_the_same_training_config_with_no_options():
    gap = _gap_config()
    assert _train_config() == gap.train == default_train()
    # the protocol itself, not the bare TrainConfig: early stopping with a 5,000-step cap on
    # both Erdős–Rényi kinds
    assert (gap.train.steps, gap.train.patience, gap.train.families) == (
        PROTOCOL_STEPS, PROTOCOL_PATIENCE, PROTOCOL_FAMILIES)
    assert PROTOCOL_STEPS >= 5000 and "er-p" in PROTOCOL_FAMILIES


def test_both_commands_turn_hints_on_for_a_one_loop_graph_program_in_the_same_way():
    from nclang.compiler.training.model import build
    from nclang.dsl.checker import check_source, select_program
    checked = select_program(check_source(open(BFS).read(), BFS), None, BFS)
    net = build(checked)
    gap = _gap_config()
    assert gap.hints
    got = with_default_hints(_train_config(), net)
    assert got == with_default_hints(gap.train, net, gap.hints)
    assert got.trace_weight == HINT_WEIGHT
    # --no-hints and an explicit weight are kept as given
    assert with_default_hints(_train_config(), net, hints=False).trace_weight == 0
    explicit = dataclasses.replace(_train_config(), trace_weight=0.5)
    assert with_default_hints(explicit, net).trace_weight == 0.5


def test_a_trained_file_records_the_protocol_it_ran(tmp_path, capsys):
    out = tmp_path / "bfs.safetensors"
    assert cli.main(["train", BFS, "-o", str(out), "--steps", "2", "--examples", "12",
                     "--train-sizes", "4..5"]) == 0
    assert "hints 1;" in capsys.readouterr().out
    meta = read_weights(out)[1]["training"]
    assert meta["hints"] == HINT_WEIGHT and meta["families"] == list(PROTOCOL_FAMILIES)
    assert meta["patience"] == PROTOCOL_PATIENCE and meta["cap"] == 2
    out2 = tmp_path / "bfs2.safetensors"
    assert cli.main(["train", BFS, "-o", str(out2), "--steps", "2", "--examples", "12",
                     "--train-sizes", "4..5", "--no-hints"]) == 0
    assert read_weights(out2)[1]["training"]["hints"] == 0
    assert cli.main(["train", BFS, "-o", str(out2), "--hints", "--no-hints"]) == 2
