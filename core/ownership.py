"""Which Blender process runs which job: one lock file per job, held while this process owns it.

The choice: a per-job lock file (``owners/<job id>.lock`` next to the ledger),
locked with ``FileLock`` (flock / msvcrt) for as long as this process owns the
job, from enqueue or takeover until the job is finished. Not an ownership
record with a heartbeat: a held lock dies with its process (even on SIGKILL or
a crash), so "the owner died" is exact, with no clock or timeout to guess; and
of several survivors trying to take over at once, the lock admits exactly one.

Another process that finds an unfinished job in the ledger tries the lock
without waiting: while the owner lives it fails, and the job is left alone
(not resubmitted, downloaded nor inserted); once it succeeds, that process owns it.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from .file_lock import FileLock

log = logging.getLogger(__name__)


class JobOwnership:
    """The job locks this process holds. Thread-safe."""

    def __init__(self, folder: Path | str | None) -> None:
        """``folder`` None: a private ledger (tests, the CLI) whose every job is ours."""
        self.folder = Path(folder) if folder is not None else None
        self._held: dict[str, FileLock] = {}
        self._lock = threading.Lock()

    def claim(self, job_id: str, *, new: bool = False) -> bool:
        """Own ``job_id`` if no live process does; True when this process owns it now.

        ``new``: a job this process just created. Only such a job is run without a lock
        when no lock can be made (a folder without locking): for any other job, an error
        means "not known to be free", or every window would take every other's jobs.
        """
        with self._lock:
            if job_id in self._held:
                return True
            if self.folder is None:
                self._held[job_id] = FileLock(Path(job_id))  # a placeholder, never acquired
                return True
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                lock = FileLock(self.folder / f"{job_id}.lock")
                taken = lock.acquire(blocking=False)
            except OSError as exc:
                if not new:  # it may be another window's: leave it, and look again later
                    log.warning("Cannot lock job %s (%s); leaving it to its owner.", job_id, exc)
                    return False
                # our own new job: run it rather than strand it (nothing else knows of it yet)
                log.warning("Cannot lock job %s (%s); running it without a lock.", job_id, exc)
                self._held[job_id] = FileLock(Path(job_id))
                return True
            if taken:
                self._held[job_id] = lock
            return taken

    def owns(self, job_id: str) -> bool:
        with self._lock:
            return job_id in self._held

    def release(self, job_id: str) -> None:
        """Give ``job_id`` up (it finished); its lock file is removed while still held."""
        with self._lock:
            lock = self._held.pop(job_id, None)
        if lock is not None and lock.held:
            lock.release(delete=True)

    def release_all(self) -> None:
        """Give every job up but keep the files (shutdown: the jobs stay resumable elsewhere)."""
        with self._lock:
            locks, self._held = list(self._held.values()), {}
        for lock in locks:
            lock.release()
