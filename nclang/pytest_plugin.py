"""The nclang pytest plugin: `pytest --nclang DIR` property-tests every program of every `.ncl`
file under DIR against its compiled network, one test item per program.

Each item compiles its program (or, with `--nclang-weights WDIR`, loads WDIR/PROGRAM.safetensors
instead) and runs `nclang.test` on it: hypothesis draws inputs (`nclang.testing.inputs`), the
network and the reference interpreter must agree on every output bit, and a disagreement fails
the item with the input shrunk to a small counterexample, the expected and the actual output,
the seed and the `nclang test` command that repeats it.

Why an option and not every `*.ncl` the run walks past: a repository holds `.ncl` files that are
not meant to compile (deliberately broken ones for the fuzzers, docs fragments); naming the
folders to test keeps a plain `pytest` run what it was, and `pytest --nclang stdlib/` runs only
the program tests (the folders named replace the configured `testpaths`; with test paths on the
command line they are added to them). Every item carries the marker `nclang`.

Settings, the later winning: the ini options (`nclang_sizes`, `nclang_examples`, `nclang_max_n`,
`nclang_seed`), then a file's header line `// nclang-test: --size k=4 --max-n 5 --examples 20
--target mlp` (in the file's leading comment block; `nclang test`'s option names), then such a
line in the comment right above a program (for that program alone), then the command line
(`--nclang-size`, `--nclang-examples`, `--nclang-max-n`, `--nclang-seed`). A size
applies to the programs that have that size variable. Without a seed one is drawn per program
and shown on failure, except under a hypothesis profile that derandomizes (CI's): then each
program's seed is fixed by its name, so a CI run repeats.

The plugin is registered through the `pytest11` entry point, so any pytest in an environment
with nclang installed loads it: this module imports pytest and the standard library only, and the
rest (nclang's compiler, hypothesis, torch) when a `--nclang` item runs.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import zlib
from pathlib import Path

import pytest

HEADER = "nclang-test:"
DEFAULT_EXAMPLES = 50
MARKER = "nclang: a property test of an nclang program against its compiled network"


# ---------------------------------------------------------------- options

def pytest_addoption(parser):
    group = parser.getgroup("nclang", "property tests of nclang programs (.ncl) against their "
                                      "compiled networks")
    group.addoption("--nclang", action="append", default=[], metavar="DIR",
                    help="test every program of the .ncl files under DIR (or the file DIR) "
                         "against its compiled network, one test per program; repeatable")
    group.addoption("--nclang-examples", type=int, metavar="N",
                    help=f"inputs to compare per program (default: ini nclang_examples, "
                         f"{DEFAULT_EXAMPLES})")
    group.addoption("--nclang-max-n", type=int, metavar="N",
                    help="the most nodes or positions an input has (default: ini nclang_max_n, "
                         "else nclang test's)")
    group.addoption("--nclang-size", action="append", default=[], metavar="NAME=INT",
                    help="compile at this size, for the programs with that size variable "
                         "(repeatable; adds to ini nclang_sizes)")
    group.addoption("--nclang-seed", type=int, metavar="S",
                    help="draw every program's inputs from this seed")
    group.addoption("--nclang-weights", metavar="WDIR",
                    help="test the weight file WDIR/PROGRAM.safetensors of each program instead "
                         "of compiling it")
    parser.addini("nclang_sizes", "sizes NAME=INT to compile nclang programs at (pytest "
                                  "--nclang)", type="linelist", default=[])
    parser.addini("nclang_examples", "inputs per nclang program", default=str(DEFAULT_EXAMPLES))
    parser.addini("nclang_max_n", "the most nodes or positions of an nclang program's input",
                  default="")
    parser.addini("nclang_seed", "the seed nclang program inputs are drawn from", default="")


def pytest_configure(config):
    config.addinivalue_line("markers", MARKER)
    roots = [Path(p).resolve() for p in config.getoption("nclang")]
    missing = [str(p) for p in roots if not p.exists()]
    if missing:
        raise pytest.UsageError(f"--nclang: no such file or folder: {', '.join(missing)}")
    config._nclang_roots = roots
    if not roots:
        return
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        config.args = [*config.args, *map(str, roots)]
    else:  # no paths given: the programs are what this run tests
        config.args = [str(p) for p in roots]


def pytest_collect_file(file_path: Path, parent):
    if file_path.suffix != ".ncl":
        return None
    roots = getattr(parent.config, "_nclang_roots", [])
    path = file_path.resolve()
    if any(path == root or root in path.parents for root in roots):
        return NclFile.from_parent(parent, path=file_path)
    return None


# ---------------------------------------------------------------- settings

class _HeaderError(Exception):
    pass


class _HeaderParser(argparse.ArgumentParser):
    def error(self, message):  # argparse would exit the process
        raise _HeaderError(message)


def _header_parser() -> argparse.ArgumentParser:
    from nclang.compiler.cli.arguments import count_arg, size_arg
    p = _HeaderParser(prog=HEADER.rstrip(":"), add_help=False)
    p.add_argument("--size", action="append", type=size_arg, default=[])
    p.add_argument("--target")
    p.add_argument("--activation")
    p.add_argument("--examples", type=count_arg)
    p.add_argument("--max-n", type=count_arg)
    p.add_argument("--seed", type=int)
    return p


def _comment_block(lines: list[str], first: int, step: int) -> list[int]:
    """The indices of the `//` lines from `first` on, walking by `step`, until another line."""
    found = []
    i = first
    while 0 <= i < len(lines) and lines[i].strip().startswith("//"):
        found.append(i)
        i += step
    return found


def _header(path: Path, lines: list[str], block: list[int]) -> argparse.Namespace:
    """The options of the `// nclang-test:` line among `lines[block]` (none: the defaults)."""
    for i in sorted(block):
        line = lines[i]
        body = line.strip()[2:].strip()
        if not body.startswith(HEADER):
            continue
        number, column = i + 1, line.index(HEADER) + 1
        try:
            return _header_parser().parse_args(shlex.split(body[len(HEADER):]))
        except (ValueError, _HeaderError) as err:
            from nclang.dsl.diagnostics import Diagnostic, NclError
            raise NclError(Diagnostic(str(path), number, column, number, column + len(HEADER),
                                      "error", "bad-test-header",
                                      f"{HEADER} {err}")) from None
    return _header_parser().parse_args([])


def _merged(file: argparse.Namespace, program: argparse.Namespace) -> argparse.Namespace:
    """A program's own header line over its file's: its sizes added, its other options won."""
    out = argparse.Namespace(**vars(file))
    out.size = [*file.size, *program.size]
    for key, value in vars(program).items():
        if key != "size" and value is not None:
            setattr(out, key, value)
    return out


def _size_list(items, where: str) -> dict[str, int]:
    from nclang.compiler.cli.arguments import size_arg
    sizes = {}
    for item in items:
        try:
            name, value = size_arg(item)
        except argparse.ArgumentTypeError as err:
            raise pytest.UsageError(f"{where}: {err}") from None
        sizes[name] = value
    return sizes


def _int_setting(config, ini: str):
    text = str(config.getini(ini)).strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise pytest.UsageError(f"ini option {ini}: expected an integer, got {text!r}") from None


def _settings(config, header: argparse.Namespace) -> dict:
    """The sizes, target, activation, examples, max_n and seed of a file's programs."""
    sizes = _size_list(config.getini("nclang_sizes"), "ini option nclang_sizes")
    sizes.update(dict(header.size))
    sizes.update(_size_list(config.getoption("nclang_size"), "--nclang-size"))

    def first(option: str, given):
        # the command line, else the header, else the ini option
        value = config.getoption(option)
        return value if value is not None else given if given is not None else \
            _int_setting(config, option)
    examples = first("nclang_examples", header.examples)
    max_n = first("nclang_max_n", header.max_n)
    seed = first("nclang_seed", header.seed)
    for name, value in (("examples", examples), ("max-n", max_n)):
        if value is not None and value < 1:
            raise pytest.UsageError(f"--nclang-{name}: expected a positive integer, got {value}")
    return {"sizes": sizes, "target": header.target, "activation": header.activation,
            "examples": DEFAULT_EXAMPLES if examples is None else examples, "max_n": max_n,
            "seed": seed}


# ---------------------------------------------------------------- collection

class NclFile(pytest.File):
    """A `.ncl` file: one item per program in it."""

    def collect(self):
        from nclang.dsl.parser import parse
        text = self.path.read_text(encoding="utf-8")
        module = parse(text, str(self.path))
        lines = text.splitlines()
        leading = _comment_block(lines, 0, 1)
        file_header = _header(self.path, lines, leading)
        several = len(module.programs) > 1
        for program in module.programs:
            line = program.name_span.line
            # the comment lines right above `program` (unless they are the file's own header)
            above = [i for i in _comment_block(lines, line - 2, -1) if i not in leading]
            header = _merged(file_header, _header(self.path, lines, above))
            yield NclItem.from_parent(self, name=program.name, program=program.name, line=line,
                                      settings=_settings(self.config, header), several=several)

    def repr_failure(self, excinfo):
        from nclang.dsl.diagnostics import NclError
        if isinstance(excinfo.value, NclError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class NclMismatch(AssertionError):
    """The network and the interpreter disagree: carries the test's `Result`."""

    def __init__(self, result, reproduce: str):
        super().__init__(result.summary())
        self.result, self.reproduce = result, reproduce


class NclItem(pytest.Item):
    """One program of a `.ncl` file, tested against its network."""

    def __init__(self, *, program: str, line: int, settings: dict, several: bool, **kwargs):
        super().__init__(**kwargs)
        self.program, self.line, self.settings, self.several = program, line, settings, several
        self.sizes: dict[str, int] = {}
        self.add_marker("nclang")

    def reportinfo(self):
        return self.path, self.line - 1, f"nclang program {self.program}"

    def _seed(self, s: dict) -> int:
        if s["seed"] is not None:
            return s["seed"]
        from hypothesis import settings as current
        if current().derandomize:
            # the profile wants repeatable runs: a seed of the program's own, the same each run
            return zlib.crc32(f"{self.path.name}:{self.program}".encode())
        import random
        return random.SystemRandom().randrange(2 ** 32)

    def _network(self, prog, s: dict):
        from .network import compile, load
        weights = self.config.getoption("nclang_weights")
        if weights is not None:
            path = Path(weights) / f"{self.program}.safetensors"
            if not path.is_file():
                pytest.fail(f"--nclang-weights: no weight file {path} for program "
                            f"{self.program}", pytrace=False)
            return load(path), path
        sizes = {k: v for k, v in s["sizes"].items() if k in prog.size_vars}
        self.sizes = dict(sizes)
        if prog.family == "seq" and "n" not in sizes:
            # a transformer holds at most n positions: compile for the longest drawn
            from nclang.compiler.testing.inputs import DEFAULT_MAX_N
            sizes["n"] = s["max_n"] or DEFAULT_MAX_N
        options = {"sizes": sizes, "program": self.program}
        if s["target"] is not None:
            options["target"] = s["target"]
        if s["activation"] is not None:
            options["activation"] = s["activation"]
        return compile(prog, **options), None

    def runtest(self):
        from .comparing import test
        from .program import check
        s = self.settings
        prog = check(self.path, program=self.program)
        net, weights = self._network(prog, s)
        seed = self._seed(s)
        result = test(prog, net, examples=s["examples"], seed=seed, max_n=s["max_n"])
        self.user_properties.append(("nclang", result.summary()))
        if result.counterexample is not None:
            self.user_properties.append(("counterexample",
                                         json.dumps(result.counterexample.to_json())))
            raise NclMismatch(result, self._reproduce(weights, seed))

    def _reproduce(self, weights, seed: int) -> str:
        """The `nclang test` command that draws the same inputs and finds the same failure."""
        s = self.settings
        words = ["nclang", "test", self._shown(self.path)]
        if weights is not None:
            words += ["--weights", self._shown(weights)]
        else:
            for k, v in sorted(self.sizes.items()):
                words += ["--size", f"{k}={v}"]
            for option in ("target", "activation"):
                if s[option] is not None:
                    words += [f"--{option}", s[option]]
        if self.several:
            words += ["--program", self.program]
        words += ["--examples", str(s["examples"]), "--seed", str(seed)]
        if s["max_n"] is not None:
            words += ["--max-n", str(s["max_n"])]
        return shlex.join(words)

    def _shown(self, path) -> str:
        """`path` as the user would type it where pytest was started."""
        here = self.config.invocation_params.dir
        full = Path(path).resolve()
        return os.path.relpath(full, here) if here in full.parents else str(full)

    def repr_failure(self, excinfo):
        from nclang.dsl.diagnostics import NclError
        err = excinfo.value
        if isinstance(err, NclMismatch):
            c = err.result.counterexample
            return "\n".join([
                f"{self.path.name}: {self.program}: {err.result.summary()}",
                f"  input:     {json.dumps(c.input)}",
                f"  expected:  {json.dumps(c.expected)}",
                f"  got:       {json.dumps(c.got)}",
                f"  reproduce: {err.reproduce}",
            ])
        if isinstance(err, NclError):
            return str(err)
        return super().repr_failure(excinfo)
