"""A durable job store: JSON lines, one full job snapshot per line.

Why this survives a kill at any instant: a record is one ``write`` of a line
ending in ``\\n``, followed by flush and ``os.fsync`` before ``append`` returns.
On load, the last complete line per job id wins and a torn last line (no
newline, or bad JSON) is ignored and cut off, so a kill loses at most the write
in flight, never an earlier record. ``compact`` writes a temporary file, fsyncs
it, and swaps it in with ``os.replace`` (atomic on POSIX and Windows).

One Blender process owns a ledger at a time; a second process appending to the
same file does not corrupt it (lines are appended whole) but it will not see
the other's records until it reloads.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from .jobs import Job

log = logging.getLogger(__name__)


class JobLedger:
    """Append-only, fsync'd job snapshots. Thread-safe."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        # raw dicts, so records from a newer version survive compaction untouched
        self._records: dict[str, dict[str, Any]] = {}
        self._file: IO[bytes] | None = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self._load()

    # -- reading ----------------------------------------------------------------------

    def _load(self) -> None:
        self._records.clear()
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        complete = data.rfind(b"\n") + 1  # bytes up to and including the last newline
        for line in data[:complete].splitlines():
            record = self._parse(line)
            if record is not None:
                self._records.pop(record["id"], None)  # re-insert: order = last write
                self._records[record["id"]] = record
        if complete < len(data):
            # a torn write: cut it off so the next append starts on a fresh line
            log.warning("Ignoring a torn last record in %s (%d bytes).", self.path, len(data) - complete)
            with open(self.path, "r+b") as handle:
                handle.truncate(complete)
                handle.flush()
                os.fsync(handle.fileno())

    @staticmethod
    def _parse(line: bytes) -> dict[str, Any] | None:
        if not line.strip():
            return None
        try:
            record = json.loads(line)
        except ValueError:
            log.warning("Ignoring a corrupt ledger line (%d bytes).", len(line))
            return None
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            return None
        return record

    def reload(self) -> None:
        """Read the file again (e.g. after another process wrote to it)."""
        with self._lock:
            self._close_file()
            self._load()

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            record = self._records.get(job_id)
        return self._to_job(record) if record is not None else None

    def jobs(self) -> list[Job]:
        """Every job's latest snapshot, oldest created first."""
        with self._lock:
            records = list(self._records.values())
        jobs = [job for job in map(self._to_job, records) if job is not None]
        return sorted(jobs, key=lambda job: job.created_at)

    def unfinished(self) -> list[Job]:
        """Jobs with something still due: resumable work, a kept paid result, or a strip to insert."""
        return [job for job in self.jobs() if job.unfinished]

    def history(self) -> list[Job]:
        """Finished jobs (inserted, failed, cancelled), newest first."""
        return sorted((job for job in self.jobs() if not job.unfinished), key=lambda j: -j.created_at)

    @staticmethod
    def _to_job(record: dict[str, Any] | None) -> Job | None:
        if record is None:
            return None
        try:
            return Job.from_dict(record)
        except (ValueError, TypeError) as exc:  # written by a newer version: keep, don't show
            log.warning("Skipping job %s the ledger cannot read: %s", record.get("id"), exc)
            return None

    # -- writing ----------------------------------------------------------------------

    def append(self, job: Job) -> None:
        """Write one snapshot durably; returns only after it is on disk."""
        record = job.to_dict()
        line = json.dumps(record, ensure_ascii=True, separators=(",", ":"), sort_keys=True) + "\n"
        payload = line.encode("ascii")
        with self._lock:
            handle = self._open_file()
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
            self._records.pop(job.id, None)
            self._records[job.id] = record

    def compact(self, keep_finished: int | None = None) -> None:
        """Rewrite the file, one line per job; ``keep_finished`` keeps only that many newest finished."""
        with self._lock:
            records = list(self._records.values())
            if keep_finished is not None:
                records = self._drop_old_finished(records, keep_finished)
            tmp = self.path.with_name(self.path.name + ".tmp")
            with open(tmp, "wb") as handle:
                for record in records:
                    handle.write(
                        (
                            json.dumps(record, ensure_ascii=True, separators=(",", ":"), sort_keys=True)
                            + "\n"
                        ).encode("ascii")
                    )
                handle.flush()
                os.fsync(handle.fileno())
            self._close_file()
            os.replace(tmp, self.path)
            _fsync_directory(self.path.parent)
            self._records = {record["id"]: record for record in records}

    def _drop_old_finished(self, records: list[dict[str, Any]], keep: int) -> list[dict[str, Any]]:
        finished = []
        for record in records:
            job = self._to_job(record)
            if job is not None and not job.unfinished:
                finished.append((job.created_at, record["id"]))
        drop = {job_id for _created, job_id in sorted(finished, reverse=True)[keep:]}
        return [record for record in records if record["id"] not in drop]

    def close(self) -> None:
        with self._lock:
            self._close_file()

    def _open_file(self) -> IO[bytes]:
        if self._file is None:
            created = not self.path.exists()
            self._file = open(self.path, "ab")  # noqa: SIM115 - kept open between appends
            if created:
                _fsync_directory(self.path.parent)
        return self._file

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> JobLedger:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def extend(self, jobs: Iterable[Job]) -> None:
        for job in jobs:
            self.append(job)


def _fsync_directory(directory: Path) -> None:
    """Make a new or replaced file's directory entry durable (POSIX; a no-op where unsupported)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
