"""What the pump needs to know about jobs, kept up to date from the engine's events.

The pump runs ten times a second. Asking the engine every tick ("which jobs are still
running?", "which wait to be inserted?", "does one count down?") walks every job it
knows, and a session with a 100-shot batch knows hundreds. Every change of a job
reaches the main thread as an event carrying its snapshot (``JobEngine._save`` and
``_publish``), so this view is updated from events alone and a tick costs what
changed, not how many jobs exist. Jobs that are picked up from the ledger without an
event of their own (a resume, a takeover) are passed to ``note`` by the caller.

Main thread only; no bpy, so it is unit-tested in milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..core.jobs import Job


class JobView:
    """The running jobs and the ready jobs that wait to be inserted, by id."""

    def __init__(self) -> None:
        self._running: dict[str, Job] = {}  # not settled: a worker still acts on them
        self._waiting: dict[str, Job] = {}  # top-level, ready, no insertion failure waiting for the user
        # waiting jobs changed since the pump last tried them, in the order they changed (a dict: ordered)
        self._untried: dict[str, None] = {}

    def note(self, job: Job) -> None:
        """The newest snapshot of ``job`` (from an event, in the order they were published)."""
        from ..core.jobs import JobState

        if job.settled:
            self._running.pop(job.id, None)
        else:
            self._running[job.id] = job
        if job.state is JobState.READY and not job.parent_id and not job.insert_error:
            self._waiting[job.id] = job
            self._untried[job.id] = None
        else:
            self._waiting.pop(job.id, None)
            self._untried.pop(job.id, None)

    def note_all(self, jobs: Iterable[Job]) -> None:
        for job in jobs:
            self.note(job)

    def running_count(self) -> int:
        return len(self._running)

    def counting_down(self, now: float) -> bool:
        """Some running job waits for a vendor until a time it shows (a countdown)."""
        return any(job.retry_at > now for job in self._running.values())

    def waiting(self) -> list[Job]:
        """Ready jobs that are not on the timeline yet (their file may not be open)."""
        return list(self._waiting.values())

    def has_waiting(self) -> bool:
        return bool(self._waiting)

    def retry_all(self) -> None:
        """Something every waiting job depends on changed (a file was opened, a render ended)."""
        self._untried.update(dict.fromkeys(self._waiting))

    def retry(self, job_ids: Iterable[str]) -> None:
        self._untried.update(dict.fromkeys(job_id for job_id in job_ids if job_id in self._waiting))

    def tried(self, job_id: str) -> None:
        """The pump tried ``job_id`` just now (a ready event is tried at once)."""
        self._untried.pop(job_id, None)

    def has_untried(self) -> bool:
        return bool(self._untried)

    def take_untried(self) -> list[Job]:
        """The waiting jobs to try now, once each (until they change or ``retry_all``)."""
        jobs = [self._waiting[job_id] for job_id in self._untried if job_id in self._waiting]
        self._untried.clear()
        return jobs
