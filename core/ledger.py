"""A durable job store: JSON lines, one full job snapshot per line, shared by every Blender process.

Why this survives a kill at any instant: a record is one ``os.write`` of a line
ending in ``\\n`` on an ``O_APPEND`` descriptor, followed by ``os.fsync`` before
``append`` returns. On load, the last complete line per job id wins and a torn
last line (no newline, or bad JSON) is ignored and cut off, so a kill loses at
most the write in flight, never an earlier record. ``compact`` writes a
temporary file, fsyncs it, and swaps it in with ``os.replace`` (atomic on POSIX
and Windows).

Several processes (two Blender windows on one user folder) share the file:

* every append and every compaction holds an advisory lock on ``jobs.jsonl.lock``
  (``core.file_lock``), so lines never interleave, and a line torn by a killed
  writer gets a newline before the next record, so it never glues to it;
* ``compact`` re-reads the file under that lock and rewrites what it read, so it
  never drops a record another process appended after our last load;
* ``refresh`` reads what another process appended since our last read (only the new
  lines: the file is append-only between compactions), the whole file after another
  process compacted it (a new inode) or cut a torn line (a shorter file);
* which process *runs* a job is decided by ``core.ownership`` (one lock per job).

The file stays small (issue 13 item 5): every state change appends a full snapshot, so a
job leaves ~10 lines; once the superseded lines outnumber the records (and at least
``COMPACT_AFTER_SUPERSEDED``), an append asks for a compaction, which folds every job into
its last snapshot. It runs through ``run_later`` (a short thread by default), so the thread
that appended (the main thread, inserting a strip) never rewrites the file itself. No
record is ever dropped by it: only ``compact(keep_finished=...)`` (Clear History) forgets.

A record that cannot be read (bad JSON, wrong field types, a torn line glued to
another) is copied once to ``jobs.rejected.jsonl`` with a warning and skipped;
every other job still loads. Parseable records stay in the file, so nothing a
newer version wrote is lost by compaction.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from .file_lock import FileLock
from .jobs import Job, JobState

log = logging.getLogger(__name__)

#: Windows opens descriptors in text mode unless told otherwise ("\n" would become "\r\n")
_BINARY = getattr(os, "O_BINARY", 0)
#: ``os.open``-shaped: tests inject one that fails like a full disk
Opener = Callable[[str, int, int], int]
#: how compaction is run when an append finds it due: a thread by default; tests run it inline
RunLater = Callable[[Callable[[], None]], None]
#: superseded lines a file may hold before it is compacted (and never more than it has records)
COMPACT_AFTER_SUPERSEDED = 1000


def _in_a_thread(work: Callable[[], None]) -> None:
    threading.Thread(target=work, name="foley-ledger-compact", daemon=True).start()


class LedgerWriteError(OSError):
    """The ledger could not be written; ``sentence`` says why and what to do."""

    def __init__(self, cause: OSError, path: Path) -> None:
        super().__init__(cause.errno, cause.strerror, str(path))
        self.sentence = write_problem_sentence(cause, path)

    def __str__(self) -> str:
        return self.sentence


def write_problem_sentence(exc: OSError, path: Path) -> str:
    """What went wrong writing ``path``, in words a user can act on."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "disk full — free space, then Retry"
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"the folder {path.parent} is read-only — make it writable, then Retry"
    if exc.errno == errno.EISDIR or path.is_dir():
        return f"{path} is a folder, not the job file — move it away, then Retry"
    return f"{exc.strerror or exc} — check {path.parent}, then Retry"


def _dumps(record: dict[str, Any]) -> bytes:
    text = json.dumps(record, ensure_ascii=True, separators=(",", ":"), sort_keys=True)
    return (text + "\n").encode("ascii")


class JobLedger:
    """Append-only, fsync'd job snapshots. Thread-safe, and safe to share between processes."""

    def __init__(
        self, path: Path | str, *, opener: Opener = os.open, run_later: RunLater = _in_a_thread,
        compact_after: int = COMPACT_AFTER_SUPERSEDED,
    ) -> None:
        self.path = Path(path)
        self.rejected_path = self.path.with_name(self.path.stem + ".rejected" + self.path.suffix)
        self.owners_folder = self.path.parent / "owners"
        self.opener = opener  # public: a test may swap in one that fails like a full disk
        self._lock = threading.Lock()
        self._file_lock = FileLock(self.path.with_name(self.path.name + ".lock"))
        # raw dicts, so records from a newer version survive compaction untouched
        self._records: dict[str, dict[str, Any]] = {}
        self._unwritten: set[str] = set()  # ids whose last append failed (kept in memory only)
        self._seen: tuple[int, int, int] | None = None  # (inode, size, mtime) after our last read/write
        self._stale = False
        self._rejected: set[str] | None = None  # digests of lines already set aside
        # The file as we read it, held open: while it is open its inode cannot be reused, so "the
        # path still names this inode" proves nobody compacted it since (a reused inode number
        # once made a new-lines read start mid-line). ``_read_to``: (inode, bytes read).
        self._held: int | None = None
        self._read_to: tuple[int, int] = (-1, 0)
        self._lines = 0  # record lines in the file as far as we know (superseded ones included)
        self._run_later = run_later
        self.compact_after = compact_after
        self._compaction_asked = False
        #: how many whole-file and new-lines-only reads happened (tests and the bench read them)
        self.reads = {"whole": 0, "new_lines": 0}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self._shared_file():
            self._load()

    # -- the cross-process lock ---------------------------------------------------------------

    @contextlib.contextmanager
    def _shared_file(self) -> Iterator[None]:
        """Hold the lock file while reading or writing; a folder that cannot hold one is read unlocked."""
        try:
            self._file_lock.acquire()
        except OSError as exc:
            log.debug("No ledger lock in %s (%s)", self.path.parent, exc)
        try:
            yield
        finally:
            self._file_lock.release()

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    # -- reading ----------------------------------------------------------------------

    def _load(self) -> None:
        """Under both locks: read what is new in the file (all of it after a compaction elsewhere);
        keep in-memory snapshots that could not be written."""
        fresh = self._read_new() if self._can_read_on() else self._read_file()
        for job_id in self._unwritten:
            if job_id in self._records:
                fresh.pop(job_id, None)
                fresh[job_id] = self._records[job_id]
        self._records = fresh
        self._seen = self._stat()
        self._stale = False

    def _can_read_on(self) -> bool:
        """True when the path names the file we hold, grown by appends only (not shorter)."""
        inode, offset = self._read_to
        st = self._stat()
        # Windows: a file held open cannot be replaced by another process's compaction
        return (os.name != "nt" and self._held is not None and st is not None and offset > 0
                and st[0] == inode and st[1] >= offset)

    def _hold(self, fd: int | None) -> None:
        if self._held is not None:
            with contextlib.suppress(OSError):
                os.close(self._held)
        self._held = fd

    def _read_file(self) -> dict[str, dict[str, Any]]:
        records: dict[str, dict[str, Any]] = {}
        self._read_to, self._lines = (-1, 0), 0
        self._hold(None)
        if not self.path.is_file():
            return records
        try:
            fd = os.open(self.path, os.O_RDONLY | _BINARY)
        except FileNotFoundError:
            return records
        self.reads["whole"] += 1
        inode = os.fstat(fd).st_ino
        with open(fd, "rb", closefd=False) as handle:
            data = handle.read()
        if os.name != "nt":
            self._hold(fd)
        else:
            os.close(fd)
        self._take_lines(data, 0, inode, records)
        return records

    def _read_new(self) -> dict[str, dict[str, Any]]:
        """The records we hold, updated by the lines appended since our last read."""
        assert self._held is not None
        inode, offset = self._read_to
        records = dict(self._records)
        self.reads["new_lines"] += 1
        with open(self._held, "rb", closefd=False) as handle:
            handle.seek(offset)
            data = handle.read()
        self._take_lines(data, offset, inode, records)
        return records

    def _take_lines(self, data: bytes, offset: int, inode: int, records: dict[str, dict[str, Any]]) -> None:
        """Parse the complete lines of ``data`` (read at ``offset``) into ``records``; cut a torn end."""
        complete = data.rfind(b"\n") + 1  # bytes up to and including the last newline
        for line in data[:complete].splitlines():
            if line.strip():
                self._lines += 1
            for record in self._parse(line):
                records.pop(record["id"], None)  # re-insert: order = last write
                records[record["id"]] = record
        self._read_to = (inode, offset + complete)
        if complete < len(data):
            # a torn write: cut it off so the next append starts on a fresh line
            log.warning("Ignoring a torn last record in %s (%d bytes).", self.path, len(data) - complete)
            with contextlib.suppress(OSError), open(self.path, "r+b") as handle:
                handle.truncate(offset + complete)
                handle.flush()
                os.fsync(handle.fileno())

    def _parse(self, line: bytes) -> list[dict[str, Any]]:
        """The record(s) of one line; a torn line glued to the next record yields that record."""
        if not line.strip():
            return []
        try:
            record = json.loads(line)
        except ValueError:
            salvaged = _salvage(line)
            self._set_aside(line, "not valid JSON" + (" (the record after the torn part was kept)"
                                                      if salvaged else ""))
            return [salvaged] if salvaged is not None else []
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            self._set_aside(line, "not a job record")
            return []
        try:
            Job.from_dict(record)
        except (ValueError, TypeError) as exc:  # wrong types, or written by a newer version: keep, don't show
            self._set_aside(line, str(exc))
        return [record]

    def _set_aside(self, line: bytes, reason: str) -> None:
        """Copy an unreadable line to ``jobs.rejected.jsonl`` once, and say so in the log."""
        digest = hashlib.sha1(line.strip(), usedforsecurity=False).hexdigest()
        if self._rejected is None:
            self._rejected = set()
            with contextlib.suppress(OSError, ValueError):
                for old in self.rejected_path.read_bytes().splitlines():
                    with contextlib.suppress(ValueError, KeyError, TypeError):
                        self._rejected.add(json.loads(old)["sha1"])
        if digest in self._rejected:
            return
        self._rejected.add(digest)
        log.warning("Set aside an unreadable job record in %s (%s); it is copied to %s.",
                    self.path.name, reason, self.rejected_path.name)
        entry = {"sha1": digest, "reason": reason, "line": line.strip().decode("utf-8", "replace")}
        with contextlib.suppress(OSError), open(self.rejected_path, "ab") as handle:
            handle.write(_dumps(entry))

    def refresh(self) -> bool:
        """Reload only when another process changed the file since we last read or wrote it."""
        with self._lock:
            if not self._stale and self._stat() == self._seen:
                return False
            with self._shared_file():
                self._load()
            return True

    def file_key(self) -> tuple[int, int, int] | None:
        """(inode, size, mtime) of the file now: it changes with every append and compaction."""
        return self._stat()

    def records(self) -> dict[str, Mapping[str, Any]]:
        """The stored records by job id (shared, never to be changed): a record object is replaced,
        never modified, when its job changes, so a reader can keep what it parsed from one."""
        with self._lock:
            return dict(self._records)

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            record = self._records.get(job_id)
        return self._to_job(record) if record is not None else None

    def __contains__(self, job_id: object) -> bool:
        with self._lock:
            return job_id in self._records

    def jobs(self) -> list[Job]:
        """Every job's latest snapshot, oldest created first."""
        with self._lock:
            records = list(self._records.values())
        jobs = [job for job in map(self._to_job, records) if job is not None]
        return sorted(jobs, key=lambda job: job.created_at)

    def jobs_where(self, keep: Callable[[Mapping[str, Any]], bool]) -> list[Job]:
        """Jobs whose stored record passes ``keep``, oldest first. Only those records are turned
        into jobs: parsing every record costs ~0.3 ms each, and the pump asks every few seconds."""
        with self._lock:
            records = [record for record in self._records.values() if keep(record)]
        jobs = [job for job in map(self._to_job, records) if job is not None]
        return sorted(jobs, key=lambda job: job.created_at)

    def unfinished(self) -> list[Job]:
        """Jobs with something still due: resumable work, a kept paid result, or a strip to insert."""
        return [job for job in self.jobs_where(_may_be_unfinished) if job.unfinished]

    def history(self) -> list[Job]:
        """Finished jobs (inserted, failed, cancelled), newest first."""
        return sorted((job for job in self.jobs() if not job.unfinished), key=lambda j: -j.created_at)

    @staticmethod
    def _to_job(record: dict[str, Any] | None) -> Job | None:
        if record is None:
            return None
        try:
            return Job.from_dict(record)
        except (ValueError, TypeError) as exc:  # set aside at load (warned there): keep, don't show
            log.debug("Skipping job %s the ledger cannot read: %s", record.get("id"), exc)
            return None

    # -- writing ----------------------------------------------------------------------

    def check_writable(self) -> str:
        """"" when a record can be appended now, else the sentence saying why not (nothing is written)."""
        try:
            fd = self.opener(str(self.path), os.O_WRONLY | os.O_APPEND | os.O_CREAT | _BINARY, 0o644)
            os.close(fd)
            with self._lock:
                self._file_lock.acquire()
                self._file_lock.release()
        except OSError as exc:
            return write_problem_sentence(exc, self.path)
        return ""

    def append(self, job: Job, *, durable: bool = True) -> None:
        """Write one snapshot durably; returns only after it is on disk.

        ``durable=False`` writes the line without waiting for the disk (a passing state whose
        loss changes nothing a resume does); the next durable append's fsync covers it too.

        Raises LedgerWriteError (an OSError with a ``sentence``) when the disk refuses;
        the snapshot is then kept in memory and written by the next append or compaction.
        """
        record = job.to_dict()
        payload = _dumps(record)
        with self._lock:
            # A refused write of this job may have held what must be durable (a task id): the
            # snapshot that first reaches the disk carries it, so it is fsynced whatever its state.
            durable = durable or job.id in self._unwritten
            self._records.pop(job.id, None)
            self._records[job.id] = record
            try:
                with self._shared_file():
                    self._write_line(payload, durable=durable)
            except OSError as exc:
                self._unwritten.add(job.id)
                raise LedgerWriteError(exc, self.path) from exc
            self._unwritten.discard(job.id)
            due = self.compaction_due() and not self._compaction_asked
            if due:
                self._compaction_asked = True
        if due:
            self._run_later(self._compact_when_due)

    def compaction_due(self) -> bool:
        """More superseded lines in the file than records, and at least ``compact_after`` of them."""
        superseded = self._lines - len(self._records)
        return superseded >= max(self.compact_after, len(self._records))

    def _compact_when_due(self) -> None:
        """Fold the file into one line per job (``run_later`` runs this); a failure waits for the next ask."""
        try:
            with self._lock:
                if not self.compaction_due():
                    return
            self.compact()
        except OSError as exc:  # a full disk: the appends go on, the file stays as it is
            log.warning("Could not compact %s: %s", self.path, exc)
        finally:
            with self._lock:
                self._compaction_asked = False

    def _write_line(self, payload: bytes, *, durable: bool = True) -> None:
        """Under both locks: one write of the whole line at the end of the file, then fsync."""
        created = not self.path.exists()
        fd = self.opener(str(self.path), os.O_RDWR | os.O_APPEND | os.O_CREAT | _BINARY, 0o644)
        try:
            st = os.fstat(fd)
            if (st.st_ino, st.st_size, st.st_mtime_ns) != self._seen:
                self._stale = True  # another process wrote or compacted: refresh() reads it
            read_all = self._read_to == (st.st_ino, st.st_size) or (self._read_to[1] <= 0 and not st.st_size)
            if st.st_size:
                os.lseek(fd, -1, os.SEEK_END)
                if os.read(fd, 1) != b"\n":
                    payload = b"\n" + payload  # a killed writer's torn line stays alone, never glued
            written = os.write(fd, payload)
            while written < len(payload):  # a short write (rare); still under the lock, so never interleaved
                written += os.write(fd, payload[written:])
            if durable:
                os.fsync(fd)
            after = os.fstat(fd)
            if read_all:  # nobody appended between our last read and this line: it is read too
                self._read_to = (after.st_ino, after.st_size)
                self._lines += 1
            if not self._stale:
                self._seen = (after.st_ino, after.st_size, after.st_mtime_ns)
        finally:
            os.close(fd)
        if created:
            _fsync_directory(self.path.parent)

    def compact(self, keep_finished: int | None = None) -> None:
        """Rewrite the file, one line per job; ``keep_finished`` keeps only that many newest finished.

        The file is re-read under the cross-process lock first, so records other
        processes appended since our last load are kept.
        """
        with self._lock, self._shared_file():
            self._load()
            records = list(self._records.values())
            if keep_finished is not None:
                records = self._drop_old_finished(records, keep_finished)
            tmp = self.path.with_name(self.path.name + ".tmp")
            try:
                with open(tmp, "wb") as handle:
                    for record in records:
                        handle.write(_dumps(record))
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self.path)
            except OSError:
                with contextlib.suppress(OSError):
                    tmp.unlink()
                raise
            _fsync_directory(self.path.parent)
            self._records = {record["id"]: record for record in records}
            self._unwritten.clear()
            self._seen = self._stat()
            self._hold(None)
            with contextlib.suppress(OSError):
                fd = os.open(self.path, os.O_RDONLY | _BINARY)
                if os.name != "nt" and os.fstat(fd).st_size == (self._seen[1] if self._seen else -1):
                    self._hold(fd)
                    self._read_to = (os.fstat(fd).st_ino, os.fstat(fd).st_size)
                else:
                    os.close(fd)
                    self._read_to = (-1, 0)
            self._lines = len(records)

    def _drop_old_finished(self, records: list[dict[str, Any]], keep: int) -> list[dict[str, Any]]:
        finished = []
        for record in records:
            job = self._to_job(record)
            if job is not None and not job.unfinished:
                finished.append((job.created_at, record["id"]))
        drop = {job_id for _created, job_id in sorted(finished, reverse=True)[keep:]}
        return [record for record in records if record["id"] not in drop]

    def close(self) -> None:
        """Let go of the file held open for reading new lines (it is opened again when needed)."""
        with self._lock:
            self._hold(None)
            self._read_to = (-1, 0)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self._hold(None)

    def __enter__(self) -> JobLedger:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

def _salvage(line: bytes) -> dict[str, Any] | None:
    """A whole record at the end of a line whose start is torn (a killed writer's fragment)."""
    decoder = json.JSONDecoder()
    text = line.decode("utf-8", "replace").rstrip()
    start = text.find('{"', 1)
    for _ in range(256):  # bounded: a line holds few record starts
        if start < 0:
            return None
        try:
            record, end = decoder.raw_decode(text, start)
        except ValueError:
            record, end = None, -1
        if end == len(text) and isinstance(record, dict) and isinstance(record.get("id"), str):
            return record
        start = text.find('{"', start + 1)
    return None


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


_SURELY_FINISHED = frozenset({JobState.INSERTED.value, JobState.FAILED.value})


def _may_be_unfinished(record: Mapping[str, Any]) -> bool:
    """A cheap look at a stored record: False only when the job is surely finished
    (inserted or failed; a cancelled job may still await its paid result)."""
    return record.get("state") not in _SURELY_FINISHED
