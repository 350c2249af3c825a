"""nclang: compile parallel graph and bit-level algorithms to exact neural-network weights."""
__version__ = "0.1.0"
