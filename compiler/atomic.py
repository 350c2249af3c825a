"""Output files are written whole or not at all: every file nclang writes (weight files, JSON
output, plots, gap reports) goes through `write_atomic`, so an interrupted or failed write
leaves the old file (or none), never a part of the new one.
"""
from __future__ import annotations

import contextlib
import os
import tempfile


def write_atomic(path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, flush it to disk, give it the mode an
    ordinary new file gets (mkstemp makes 0600), then rename it over `path`. OSError on failure,
    with the temporary file removed."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # persist the rename; not every platform can open a folder
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
