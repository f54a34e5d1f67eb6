"""An advisory lock on a file, shared by every Blender process on this computer (stdlib only).

POSIX uses ``fcntl.flock`` and Windows ``msvcrt.locking`` on the first byte.
Both locks belong to the open file, so they end when the process dies, even on
SIGKILL: "the holder died" is exact, with no stale heartbeat to judge. Two
``FileLock`` objects on the same path exclude each other even inside one
process (flock locks an open file description, not a process).
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(fd: int, blocking: bool) -> bool:
        while True:  # LK_LOCK gives up after 10 tries of 1 s: a blocking lock keeps trying
            os.lseek(fd, 0, os.SEEK_SET)
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK if blocking else msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
            except OSError:
                if blocking:
                    continue
                return False
            return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        with contextlib.suppress(OSError):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]

else:
    import fcntl

    def _lock(fd: int, blocking: bool) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class FileLock:
    """An exclusive lock on ``path`` (created if missing). Re-entrant use is a bug: use one per holder."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, blocking: bool = True) -> bool:
        """Take the lock; with ``blocking=False`` return False at once when another holder has it."""
        if self._fd is not None:
            return True
        for _ in range(20):  # bounded: a holder may delete the file between our open and our lock
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
            try:
                if not _lock(fd, blocking):
                    os.close(fd)
                    return False
                if _same_file(fd, self.path):
                    self._fd = fd
                    return True
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)  # we locked a file that was unlinked meanwhile: try the new one
            time.sleep(0)
        return False

    def release(self, *, delete: bool = False) -> None:
        """Give the lock up; ``delete`` removes the file first (only safe while holding it)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        if delete and os.name != "nt":  # Windows cannot delete an open file; it stays, harmless
            with contextlib.suppress(OSError):
                self.path.unlink()
        with contextlib.suppress(OSError):
            _unlock(fd)
        os.close(fd)

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    """The locked descriptor is still the file at ``path`` (not one deleted by its last holder)."""
    if os.name == "nt":  # pragma: no cover - lock files are never deleted on Windows
        return True
    try:
        here, there = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)
