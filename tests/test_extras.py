"""The base install (no extras) runs check, run, compile and inspect; a command that needs an
extra says which one to install, with exit status 1, instead of an internal error."""
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXTRAS_ONLY = ("torch", "hypothesis", "scipy", "matplotlib", "tqdm")

# Run the CLI in a process where the extras' modules cannot be found, as after `pip install nclang`.
_WITHOUT = """
import sys
class _NotInstalled:
    def find_spec(self, name, *args):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, _NotInstalled())
from nclang.compiler.cli import main
sys.exit(main(sys.argv[1:]))
"""


def nclang_without(blocked, *args):
    return subprocess.run([sys.executable, "-c", _WITHOUT.format(blocked=set(blocked)),
                           *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=300)


def test_check_run_compile_inspect_need_no_extra(tmp_path):
    out = tmp_path / "bfs.safetensors"
    for args in (["check", "stdlib/graph/bellman_ford.ncl"],
                 ["run", "stdlib/bits/add.ncl", "--size", "k=8", "--input", "examples/add.json"],
                 ["compile", "stdlib/graph/bfs.ncl", "-o", out],
                 ["compile", "stdlib/seq/reverse.ncl", "--size", "n=4",
                  "-o", tmp_path / "r.safetensors"],
                 ["inspect", out]):
        proc = nclang_without(EXTRAS_ONLY, *args)
        assert proc.returncode == 0, (args, proc.stderr)
    assert nclang_without(EXTRAS_ONLY, "run", "stdlib/bits/add.ncl", "--size", "k=8", "--input",
                          "examples/add.json").stdout.strip() == '{"s": 213}'


@pytest.mark.parametrize("blocked, args, extra", [
    (EXTRAS_ONLY, ["exec", "{weights}", "--input", "examples/bfs.json"], "torch"),
    (("hypothesis",), ["test", "stdlib/bits/add.ncl", "--size", "k=4"], "test"),
])
def test_a_command_without_its_extra_names_the_extra(tmp_path, blocked, args, extra):
    weights = tmp_path / "bfs.safetensors"
    assert nclang_without((), "compile", "stdlib/graph/bfs.ncl", "-o", weights).returncode == 0
    proc = nclang_without(blocked, *[a.format(weights=weights) for a in args])
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("\n") == 1 and "internal error" not in proc.stderr
    assert f'pip install "nclang[{extra}]"' in proc.stderr
