"""The README's quickstart is the first thing a newcomer runs: its main-job command must work."""
import re
import shlex
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _quickstart_commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert len(blocks) == 2, "the quickstart is exactly two commands"
    return [c.strip() for c in blocks[0].strip().split("&&")]


def test_readme_main_job_compiles_and_executes_a_stdlib_program(tmp_path):
    for folder in ("stdlib", "examples"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    steps = [c for c in _quickstart_commands() if not c.startswith("pip ")]
    assert steps and steps[0].startswith("nclang compile")
    for step in steps:
        proc = subprocess.run(shlex.split(step), cwd=tmp_path, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == '{"s": 213}'
