"""Output files are written whole or not at all: every file nclang writes (weight files, JSON
output, plots, gap reports) goes through `write_atomic`, so an interrupted or failed write
leaves the old file (or none), never a part of the new one.

The temporary file is `.NAME.PID.RANDOM.tmp` beside the target NAME (PID the writer's process
id, RANDOM mkstemp's random part). A writer that is killed (SIGKILL, power loss) cannot remove
it, so the next write to the same target removes the stale ones: files whose name matches that
pattern for exactly this NAME (nothing else is touched) and that are either older than
STALE_AFTER seconds, or older than a few seconds and named with a pid that is no live process
on this machine. A live concurrent writer's file is young and its pid alive, so it is left
alone. A target that is a symlink is written through: the link's target is replaced and the
link stays. A target that exists and is neither a regular file nor a folder (/dev/null,
/dev/full, a named pipe) is written in place (`special`, `open_in_place`): renaming over it
would replace the device with a regular file, so there "whole or not at all" cannot hold.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import stat
import tempfile
import time

# any temporary of ours this old is stale whatever its pid (another machine's, or reused)
STALE_AFTER = 3600.0
# a dead writer's temporary is removed once it is this old (guards against a pid read too soon)
DEAD_AFTER = 5.0


class AtomicFile:
    """A file written as a temporary beside `path` and renamed over it by `commit`: flushed to
    disk first, with the mode an ordinary new file gets (mkstemp makes 0600). Closed without a
    commit (`discard`, or leaving the `with` block), the temporary is removed and `path` is as it
    was. A `special` path is written in place instead. For output produced a piece at a time (a
    JSON Lines stream); `write_atomic` for bytes held whole. OSError on failure."""

    def __init__(self, path, text: bool = False):
        # through a symlink to its target: renaming over the link would replace it with a file
        self.path = os.path.realpath(os.fspath(path))
        self.tmp = None
        if special(self.path):
            raw = open_in_place(self.path)
            self.file = io.TextIOWrapper(raw, encoding="utf-8") if text else raw
            return
        folder, name = os.path.split(self.path)
        remove_stale(folder, name)
        fd, self.tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.{os.getpid()}.",
                                        suffix=".tmp")
        self.file = os.fdopen(fd, "w" if text else "wb", encoding="utf-8" if text else None)

    def __enter__(self) -> "AtomicFile":
        return self

    def __exit__(self, *exc) -> None:
        self.discard()

    def commit(self) -> None:
        if self.tmp is None:  # written in place
            self.file.close()
            return
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(self.tmp, 0o666 & ~umask)
            os.replace(self.tmp, self.path)
        except BaseException:
            self.discard()
            raise
        self.tmp = None
        with contextlib.suppress(OSError):  # persist the rename; not every platform opens a folder
            dfd = os.open(os.path.dirname(self.path), os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.file.close()
        if self.tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.tmp)
            self.tmp = None


def write_atomic(path, data: bytes) -> None:
    """Write `data` to `path` whole or not at all (an `AtomicFile`). OSError on failure, with the
    temporary file removed."""
    with AtomicFile(path) as out:
        out.file.write(data)
        out.commit()


def special(path) -> bool:
    """Whether `path` (through symlinks) exists and is neither a regular file nor a folder: a
    device, a named pipe or a socket, which is written in place rather than replaced."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    return not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode))


def open_in_place(path):
    """`path` (a `special` one) opened for writing as it is, binary: never created, truncated
    or replaced. A named pipe with no reader is OSError (ENXIO) at once, not a wait."""
    import fcntl
    fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    return os.fdopen(fd, "wb")


def remove_stale(folder: str, name: str, now: float | None = None) -> list[str]:
    """Remove stale temporaries of target `name` in `folder` (the rule in the module docstring);
    the paths removed. Never fails: cleaning up is a courtesy, not part of the write."""
    pattern = re.compile(r"\." + re.escape(name) + r"\.(?:(\d+)\.)?[a-z0-9_]{8}\.tmp")
    now = time.time() if now is None else now
    removed = []
    try:
        entries = os.listdir(folder or ".")
    except OSError:
        return removed
    for entry in entries:
        m = pattern.fullmatch(entry)
        if not m:
            continue
        full = os.path.join(folder, entry)
        try:
            st = os.lstat(full)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        age = now - st.st_mtime
        pid = int(m.group(1)) if m.group(1) else None
        if age > STALE_AFTER or (age > DEAD_AFTER and pid is not None and not _alive(pid)):
            with contextlib.suppress(OSError):
                os.unlink(full)
                removed.append(full)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # someone else's live process, or a pid we cannot ask about: keep it
    return True
