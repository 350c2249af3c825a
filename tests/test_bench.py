"""bench/run_all.py runs end to end at its smallest size and reports every section exact (the
figures themselves are docs/performance.md's, measured on an idle machine)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow  # about 15 s idle: a dozen fresh processes that each import torch
def test_the_benchmark_command_runs_at_its_smallest_size_with_every_result_exact():
    proc = subprocess.run([sys.executable, "bench/run_all.py", "--smoke"], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for section in ("## GNN", "## Cold compile", "## Batch throughput", "## Input and output"):
        assert section in proc.stdout
    assert "| NO |" not in proc.stdout and "failed" not in proc.stdout
