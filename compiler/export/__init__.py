"""Compiled networks in the forms other frameworks take (ONNX, PyTorch Geometric)."""
