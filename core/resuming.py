"""Picking up jobs after a restart or from a dead Blender window: claim them, then resume each.

A mixin of ``JobEngine`` (core/engine.py), behind ``resume_from_ledger`` and
``take_over_orphans``. A job with a vendor task is polled (never resubmitted); a job
whose submit may have left without an answer is looked up by the provider's
``recover_submit`` (``core/submit_recovery.py``: for several minutes, and again at each
start while it is not found), otherwise failed with a sentence that says where to
check; it is never sent again. Anything earlier is simply queued again.
"""

from __future__ import annotations

import logging

from . import filling, submit_recovery
from .engine_parts import EngineParts
from .events import EventKind
from .jobs import Job, JobState, can_transition

log = logging.getLogger(__name__)


class ResumingMixin(EngineParts):
    """Claim unfinished jobs no live process owns and resume them (see the module docstring)."""

    def _take_over_unowned(self, *, lost_submits: bool = False) -> list[Job]:
        """Claim and resume unfinished jobs no live process owns. ``lost_submits``: also failed
        Kling jobs whose lost submit is looked for again — at start-up only, never from another
        live window's failed job every few seconds (its owner shows it as failed)."""
        self._retry_unrecorded()
        resumed = self._claim_ownerless()
        if lost_submits:
            resumed += self._load_lost_submits()  # failed, but their submit is still looked for
        if not resumed:
            return []
        for job in resumed:
            for child_id in job.chunk_ids:
                child = None if child_id in self._jobs else self._ledger.get(child_id)
                if child is not None and (not child.unfinished or self._ownership.claim(child_id)):
                    self._jobs[child_id] = child
            if job.held and job.parent_id and job.parent_id not in self._jobs:
                self._load(job.parent_id)  # its failed parent offers Retry and Cancel again
        for job in resumed:
            try:
                self._resume_one(job)
            except Exception:  # one odd record must not stop the others (issue 11)
                log.exception("Job %s could not be resumed", job.id)
        for job in resumed:
            if job.is_chunked:
                self._refresh_parent(job.id)
        return [self._jobs[job.id].copy() for job in resumed]

    def _claim_ownerless(self) -> list[Job]:
        """Unfinished jobs of the ledger that no live process owns, now owned and known here."""
        self._ledger.refresh()
        claimed = [
            job.id for job in self._ledger.unfinished()
            if job.id not in self._jobs and self._ownership.claim(job.id)
        ]
        if claimed:
            self._ledger.refresh()  # the dead owner's last records, written before its lock died
        resumed: list[Job] = []
        for job_id in claimed:
            job = self._ledger.get(job_id)
            if job is None or not job.unfinished:  # finished before its owner died
                self._ownership.release(job_id)
                continue
            self._jobs[job_id] = job
            resumed.append(job)
        return resumed

    def _load_lost_submits(self) -> list[Job]:
        """Failed jobs whose lost submit is still looked for at start-up (never resent)."""
        now = self._clock()
        loaded: list[Job] = []
        for job in self._ledger.jobs_where(submit_recovery.may_keep_looking):
            if (job.id not in self._jobs and submit_recovery.keeps_looking(job, now)
                    and self._ownership.claim(job.id)):  # one Blender window looks for it
                self._jobs[job.id] = job
                loaded.append(job)
                parent = self._jobs.get(job.parent_id) or self._load(job.parent_id) if job.parent_id else None
                for sibling in parent.chunk_ids if parent is not None else ():
                    if sibling not in self._jobs:  # the parent is derived from all its chunks
                        self._load(sibling)
        return loaded

    def _resume_one(self, job: Job) -> None:
        if submit_recovery.keeps_looking(job, self._clock()):
            self._update(job.id, JobState.SUBMITTED, error="", error_kind="", progress=None)
            self._schedule(job.id)
            return
        parent = (self._jobs.get(job.parent_id) or self._ledger.get(job.parent_id)) if job.parent_id else None
        if filling.orphaned(job, parent):
            self._update(job.id, JobState.CANCELLED, note=filling.ORPHAN_NOTE)  # its parent starts over
            return
        if job.state == JobState.READY:
            if not job.parent_id:
                self._publish(job, EventKind.READY)  # the pump inserts it if its file and scene are open
            return
        if job.is_chunked:
            return
        if job.parent_id and self._ledger.get(job.parent_id) is None and not job.submit_attempted:
            self._update(
                job.id,
                JobState.CANCELLED,
                note="Interrupted while the long-range job was being created; nothing was sent.",
            )
            return
        if job.task is None and not job.submit_attempted and job.state != JobState.QUEUED:
            if not can_transition(job.state, JobState.QUEUED):
                log.error("Job %s cannot resume from %s", job.id, job.state.value)
                return
            self._update(job.id, JobState.QUEUED, progress=None)  # nothing was sent: start over
        self._schedule(job.id)
