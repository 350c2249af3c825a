"""`python -m nclang.compiler.cli` is the `nclang` command."""
import sys

from nclang.compiler.cli import main

sys.exit(main())
