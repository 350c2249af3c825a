"""`python -m nclang` is the `nclang` command."""
import sys

from nclang.compiler.cli import main

sys.exit(main())
