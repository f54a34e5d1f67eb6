"""The history panel's view of the ledger: finished jobs, parsed once, re-read only when the file changed.

The sidebar redraws many times a second while the mouse moves over it. Turning every
stored record into a ``Job`` costs ~0.3 ms each, so 2,000 finished jobs would cost more
than half a second per redraw. This view compares the file's (inode, size, mtime) with
what it saw last; only when it changed does it refresh the ledger (which reads just the
new lines) and parse the records whose stored object is new — one per job that changed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from .jobs import Job
from .ledger import JobLedger

Parse = Callable[[Mapping[str, Any]], Job]


def _parse(record: Mapping[str, Any]) -> Job:
    return Job.from_dict(dict(record))


class HistoryView:
    """Finished jobs of ``ledger`` (every window's), newest first, kept between redraws."""

    def __init__(self, ledger: JobLedger, parse: Parse = _parse) -> None:
        self.ledger = ledger
        self._parse = parse
        self._lock = threading.Lock()
        self._key: object = object()  # never equal to a file key: the first look reads
        self._parsed: dict[str, tuple[Mapping[str, Any], Job | None]] = {}
        self._finished: list[Job] = []

    def recent(self, limit: int = 20) -> list[Job]:
        """The newest ``limit`` finished jobs (inserted, failed, cancelled with nothing still due)."""
        with self._lock:
            key = self.ledger.file_key()
            if key != self._key:
                self.ledger.refresh()  # other windows' new lines, if any
                self._key = self.ledger.file_key()
                self._rebuild()
            return [job.copy() for job in self._finished[:limit]]

    def _rebuild(self) -> None:
        parsed: dict[str, tuple[Mapping[str, Any], Job | None]] = {}
        for job_id, record in self.ledger.records().items():
            known = self._parsed.get(job_id)
            if known is not None and known[0] is record:
                parsed[job_id] = known
                continue
            try:
                parsed[job_id] = (record, self._parse(record))
            except (ValueError, TypeError):  # set aside by the ledger with a warning; not shown
                parsed[job_id] = (record, None)
        self._parsed = parsed
        finished = [job for _record, job in parsed.values() if job is not None and not job.unfinished]
        self._finished = sorted(finished, key=lambda job: -job.created_at)


_views: dict[int, HistoryView] = {}


def view_of(ledger: JobLedger) -> HistoryView:
    """The one view of ``ledger`` (a new ledger object, after a restart of the session, gets a new one)."""
    view = _views.get(id(ledger))
    if view is None or view.ledger is not ledger:
        _views.clear()  # the session keeps one ledger: an older view is of a closed one
        view = _views[id(ledger)] = HistoryView(ledger)
    return view
