"""Trained counterparts of compiled networks, and the gap between them (issue 7).

The pipeline is train → gap: `data` draws random program inputs (graph families, bit vectors,
sequences) and their reference outputs and traces from the interpreter; `model` builds the very
architecture the compiler emits, with compiled or random weights, as a trainable torch module;
`loss` and `train` fit it to the data (`nclang train`), with the settings of `config` (torch-free:
the CLI reads its defaults); `similarity` compares hidden states and weights up to the
symmetries that leave a network's function unchanged; `gap` measures how a trained network
differs from the compiled one, on the program under study (`subject`: its networks and eval
inputs) with the figures of `scoring`, `faithfulness` and `internal` (its sections) and the
`baselines`; `head_to_head` runs it on two programs for the same function, `sweep` measures
accuracy against the number of training examples, `report` writes gap.md and plots, and
`gap_cli` runs what `nclang gap` asks for (its options are the CLI's, `nclang.compiler.cli.gap`).
"""
