"""Output files are written whole or not at all: every file nclang writes (weight files, JSON
output, plots, gap reports) goes through `write_atomic`, so an interrupted or failed write
leaves the old file (or none), never a part of the new one.

The temporary file is `.NAME.PID.XXXXXXXX.tmp` beside the target NAME (PID the writer's process
id, XXXXXXXX mkstemp's random part). A writer that is killed (SIGKILL, power loss) cannot remove
it, so the next write to the same target removes the stale ones: files whose name matches that
pattern for exactly this NAME (nothing else is touched) and that are either older than
STALE_AFTER seconds, or older than a few seconds and named with a pid that is no live process
on this machine. A live concurrent writer's file is young and its pid alive, so it is left
alone. A target that is a symlink is written through: the link's target is replaced and the
link stays. A target that exists and is neither a regular file nor a folder (/dev/null,
/dev/full, a named pipe) is written in place (`special`, `open_in_place`): renaming over it
would replace the device with a regular file.
"""
from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import time

# any temporary of ours this old is stale whatever its pid (another machine's, or reused)
STALE_AFTER = 3600.0
# a dead writer's temporary is removed once it is this old (guards against a pid read too soon)
DEAD_AFTER = 5.0


def write_atomic(path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, flush it to disk, give it the mode an
    ordinary new file gets (mkstemp makes 0600), then rename it over `path`. OSError on failure,
    with the temporary file removed."""
    # through a symlink to its target: renaming over the link would replace it with a file
    path = os.path.realpath(os.fspath(path))
    if special(path):
        with open_in_place(path) as f:
            f.write(data)
        return
    folder, name = os.path.split(path)
    remove_stale(folder, name)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.{os.getpid()}.", suffix=".tmp")
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
