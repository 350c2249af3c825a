"""Network targets: each lowers a checked program to the tensors and metadata of one weight file
(`mlp`: bits and scalar programs; see compiler/targets/mlp.py). Targets do not import each other;
what they share lives in compiler/gadgets.py."""
