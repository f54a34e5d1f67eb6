"""The job engine: worker threads run each job's steps; the main thread drains events.

A job's life: validate → render the clip (video providers) → upload → submit →
poll → download → ready; the main thread inserts the strip and calls
``mark_inserted``. Each worker thread runs one job; a job starts only when its
vendor ACCOUNT has a free slot (limits are per key, shared by every model on it),
otherwise it stays queued. A submit the vendor refuses as busy (proof no task
exists) waits for a free slot and is sent again by itself.

``JobEngine`` keeps the public API and the bookkeeping (every change is written to
the ledger, then published as an event); its parts live next to it, one concern each:

- ``core/scheduling.py``: account slots, busy waits, submit pacing, held chunks;
- ``core/job_steps.py``: the worker steps of one job (submit, recover, poll, download, fail)
  and the durability rules they follow;
- ``core/chunk_parents.py``: long ranges (make chunks, derive the parent, join the audio);
- ``core/resuming.py``: resume after a restart, take over a dead window's jobs;
- ``core/events.py``: the events ``drain`` returns.

Cancel: before submit it stops the job; after submit the vendor task cannot be
recalled, so the job is cancelled (never inserted) but still polled and its
paid result downloaded into the library, and the message says so.

Nothing here imports bpy.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from ..providers.base import AccountLimits, ProviderInfo
from ..providers.catalog import ACCOUNT_LIMITS
from ..providers.polling import PollSchedule, default_schedule
from . import filling, remote_cancel
from .accounts import AccountBook
from .chunk_parents import ChunkParentsMixin, assemble_wav_chunks
from .chunk_repair import DAMAGED_CHUNK_KEY
from .chunks import DEFAULT_OVERLAP_S, chunk_limits, needs_chunks, plan_chunks
from .disk import UNRECORDED_PREFIX, unrecorded_warning
from .engine_parts import Analyse, Assemble, EngineParts, ProviderFactory, RenderClip
from .events import (
    EngineEvent,
    EventKind,
    JobCancelled,
    JobChanged,
    JobFailed,
    JobReady,
    PaidResultKept,
    kind_of_change,
    make_event,
)
from .job_steps import JobStepsMixin
from .jobs import Job, JobState, new_attempt
from .ledger import JobLedger
from .ownership import JobOwnership
from .render_ahead_runner import RenderAheadMixin
from .resuming import ResumingMixin
from .scheduling import SchedulingMixin
from .timeline import FrameRange

__all__ = [
    "Analyse", "Assemble", "EngineEvent", "JobCancelled", "JobChanged", "JobEngine", "JobFailed", "JobReady",
    "OwnedElsewhereError", "PaidResultKept", "PollSchedule", "ProviderFactory", "RenderClip",
    "analyse_result", "assemble_wav_chunks",
]

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 3


class OwnedElsewhereError(ValueError):
    """The job belongs to another live Blender process (issue 11): this one must not touch it."""


def analyse_result(job: Job, path: Path) -> dict[str, Any]:
    """Default look at a result: loudness, peaks and flags from a WAV (``core.analysis``)."""
    from .analysis import analyse_file  # numpy loads only when a result lands

    return analyse_file(path)



_JOB_FIELDS = frozenset(spec.name for spec in fields(Job))


class JobEngine(
    SchedulingMixin, JobStepsMixin, ChunkParentsMixin, ResumingMixin, RenderAheadMixin, EngineParts
):
    """Runs jobs on worker threads, records every step in ``ledger``, reports through ``drain``."""

    def __init__(
        self,
        ledger: JobLedger,
        provider_factory: ProviderFactory,
        render_clip: RenderClip | None,
        output_dir_for: Callable[[Job], Path],
        *,
        concurrency: Mapping[str, int] | None = None,
        account_limits: Mapping[str, AccountLimits] | None = None,
        provider_info: Callable[[str], ProviderInfo] | None = None,
        poll_schedule: PollSchedule | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
        assemble: Assemble = assemble_wav_chunks,
        overlap_seconds: float = DEFAULT_OVERLAP_S,
        ownership: JobOwnership | None = None,
        library_dir: Callable[[], Path] | None = None,
        analyse: Analyse = analyse_result,
        fill_short: bool = True,
        render_ahead: int = 0,
    ) -> None:
        self._ledger = ledger
        self._provider_factory = provider_factory
        self._render_clip = render_clip
        self._output_dir_for = output_dir_for
        self._provider_info = provider_info
        self._poll = poll_schedule or default_schedule()
        self._clock = clock
        self._monotonic = monotonic
        self._stop = threading.Event()
        self._sleep: Callable[[float], object] = sleep or self._stop.wait
        self._assemble = assemble
        self._overlap = overlap_seconds
        #: which jobs this process runs; other processes' live jobs are left alone (issue 11)
        self._ownership = ownership or JobOwnership(ledger.owners_folder)
        self._library_dir = library_dir  # where audio goes when the job's folder cannot be written
        self._unrecorded: dict[str, str] = {}  # job id → why its last ledger write failed
        self._analyse = analyse
        #: a short result gets one follow-up for its tail (core/filling.py); the preference sets it
        self.fill_short = fill_short

        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._jobs: dict[str, Job] = {}
        self._events: queue.SimpleQueue[EngineEvent] = queue.SimpleQueue()
        self._pending: dict[str, deque[str]] = {}
        self._in_flight: dict[str, int] = {}
        self._peak: dict[str, int] = {}
        self._workers: dict[str, threading.Thread] = {}
        self._assembling: set[str] = set()
        self._aborts: dict[str, threading.Event] = {}
        self._limits: dict[str, int] = {pid: max(1, int(n)) for pid, n in (concurrency or {}).items()}
        self._model_caps = self._limits  # per-model caps on top of the account's (scheduling.py)
        self._learned_limits: dict[str, int] = {}  # from ProviderInfo.default_concurrency
        # limits of vendor ACCOUNTS (one key): slots, submit rate, poll pacing (core/accounts.py)
        self._accounts = AccountBook(ACCOUNT_LIMITS if account_limits is None else account_limits, monotonic)
        self._wall_offset = clock() - monotonic()  # shows a monotonic "send at" as a wall-clock time
        self._slot_of: dict[str, str] = {}  # job id → the account whose slot its worker holds
        self._waker: threading.Thread | None = None
        #: clip renders at once for queued jobs' clips while slots are full (core/render_ahead.py); 0: off
        self._init_render_ahead(render_ahead)

    # == public API (main thread) ==========================================================

    def enqueue(self, job: Job, *, chunk_ranges: Sequence[FrameRange] | None = None) -> Job:
        """Record ``job`` as queued and start it when its provider has a free slot.

        A range longer than the provider's maximum (known through ``provider_info``)
        is split into chunk jobs automatically; pass ``chunk_ranges`` to choose them.
        Returns the job (the chunked parent for a long range).
        """
        if chunk_ranges is None and self._provider_info is not None:
            low, high = chunk_limits(self._provider_info(job.provider_id))
            if needs_chunks(job.seconds, high):
                chunk_ranges = plan_chunks(job.frame_range, job.fps, low, high, overlap_seconds=self._overlap)
        job = job.copy()
        job.timings[JobState.QUEUED.value] = job.updated_at = self._clock()  # phases on one clock
        with self._lock:
            if chunk_ranges is not None and len(chunk_ranges) > 1:
                parent = job.copy()
                children = [
                    self._make_chunk(parent, i, r, len(chunk_ranges)) for i, r in enumerate(chunk_ranges)
                ]
                parent.chunk_ids = [child.id for child in children]
                for owned in (*children, parent):
                    self._ownership.claim(owned.id, new=True)
                # children first: a kill in between leaves unsent orphans, which resume cancels.
                # Queued lines skip the fsync (the main thread waits on it): a queued job has sent
                # nothing, and its submit's line is fsynced before any byte leaves; a killed process's
                # writes stay in the file (only an OS crash can lose them: the job, never money).
                for child in children:
                    self._save(child, durable=False)
                self._save(parent, durable=False)
                for child in children:
                    self._schedule(child.id)
                return parent.copy()
            self._ownership.claim(job.id, new=True)
            self._save(job, durable=False)  # queued: see above
            self._schedule(job.id)
            return job.copy()

    def drain(self, budget_s: float = 0.004, max_events: int | None = None) -> list[EngineEvent]:
        """Events since the last call, returning within about ``budget_s`` seconds (on the engine's
        ``monotonic`` clock, injected like every other clock here)."""
        deadline = self._monotonic() + budget_s
        events: list[EngineEvent] = []
        while max_events is None or len(events) < max_events:
            try:
                events.append(self._events.get_nowait())
            except queue.Empty:
                break
            if self._monotonic() >= deadline:
                break
        return events

    def cancel(self, job_id: str) -> str:
        """Cancel in any state; returns the sentence to show (it says whether the vendor may charge)."""
        with self._lock:
            try:
                job = self._require(job_id)
            except OwnedElsewhereError as exc:
                return str(exc)
            if job.is_chunked:
                children = [self._jobs[cid] for cid in job.chunk_ids if cid in self._jobs]
                if job.state == JobState.FAILED:  # a chunk failed: drop the unsent (held) chunks
                    return self._cancel_held(children)
                if job.state in (JobState.INSERTED, JobState.CANCELLED):
                    return f"The job is already {job.state.value}; there is nothing to cancel."
                sent = any(
                    c.submit_attempted and c.state not in (JobState.FAILED, JobState.CANCELLED)
                    for c in children
                )
                message = (
                    "Cancelled. Chunks already sent cannot be recalled and may be charged; their results "
                    "will still be downloaded into the library."
                    if sent
                    else "Cancelled before anything was sent; nothing was charged."
                )
                # the parent first, so cancelled children do not mark it failed
                self._update(job_id, JobState.CANCELLED, note=message, progress=None)
                for child in children:
                    self._cancel_one(child.id)
                return message
            return self._cancel_one(job_id)

    def retry(self, job_id: str) -> Job:
        """Run a failed job again and return the job that will run.

        Failed before submit: the same job is queued again. Failed after the
        vendor accepted it (timeout, lost connection, download error): the same
        vendor task is polled again, at no new charge. An unanswered submit with
        a lookup key (Kling): the same job looks the task up again and never
        sends it (not found: it fails again with *may have been charged*).
        Failed at the vendor, or an unanswered submit that cannot be looked
        up: a NEW job linked by ``retry_of`` (a new paid call). A chunked parent
        retries its failed chunks.
        """
        with self._lock:
            job = self._require(job_id)
            if not self._ownership.claim(job_id):
                raise OwnedElsewhereError("Another Blender window is running this job; use it there.")
            if job.state != JobState.FAILED:
                raise ValueError(f"Only failed jobs can be retried; this one is {job.state.value}.")
            filling.refuse_late_retry(job, self._jobs.get(job.parent_id))  # it would pay for nothing
            if job.is_chunked and job.extra.get(DAMAGED_CHUNK_KEY) in job.chunk_ids:
                return self._refetch_damaged_chunk(job)
            if job.is_chunked:  # a failed join with good chunks is simply joined again below
                for child_id in list(job.chunk_ids):
                    child = self._jobs.get(child_id) or self._load(child_id)
                    if child is not None and child.state == JobState.FAILED:
                        self.retry(child_id)
                self._refresh_parent(job_id)
                return self._jobs[job_id].copy()
            if job.task is not None and not job.task_failed:
                result = self._update(job_id, JobState.GENERATING, error="", error_kind="", progress=None)
            elif not job.submit_attempted:
                result = self._update(job_id, JobState.QUEUED, error="", error_kind="", progress=None)
            elif job.submit_key:
                # look the unanswered submit up by its key first; found: poll it, no new charge
                result = self._update(job_id, JobState.SUBMITTED, error="", error_kind="", progress=None)
            else:
                result = self._fresh_copy(job)
                self._ownership.claim(result.id, new=True)
                self._save(result)
                if job.parent_id in self._jobs:
                    parent = self._jobs[job.parent_id].copy()
                    parent.chunk_ids = [result.id if c == job.id else c for c in parent.chunk_ids]
                    self._save(parent)
            self._schedule(result.id)
            if result.parent_id:
                self._refresh_parent(result.parent_id)
            return result.copy()

    def mark_inserted(self, job_id: str, strip_name: str) -> Job:
        """Called by the main thread after it inserted the strip for a READY job (else TransitionError).

        The pump should check ``get(job_id).state`` is READY before inserting:
        a ready job can be announced twice (after download and by a resume).
        """
        with self._lock:
            job = self._require(job_id)
            inserted = self._update(job_id, JobState.INSERTED, strip_name=strip_name, progress=None)
            for child_id in job.chunk_ids:  # chunks are inserted as part of the joined strip
                child = self._jobs.get(child_id) or self._load(child_id)
                if child is not None and child.state == JobState.READY:
                    self._update(child_id, JobState.INSERTED, strip_name=strip_name)
            return inserted

    def annotate(self, job_id: str, **changes: Any) -> Job:
        """Change fields other than the state (the file a job belongs to, an insert error) and record it."""
        with self._lock:
            self._require(job_id)
            return self._update(job_id, None, **changes)

    def resume_from_ledger(self) -> list[Job]:
        """Pick up the ledger's unfinished jobs: poll kept tasks, never resubmit; re-queue the rest.

        Safe to call again (e.g. after a file load): jobs already running are
        left alone, and every READY job is announced again with JobReady so the
        pump can insert it now that its file may be open. Returns the newly loaded jobs.
        """
        with self._lock:
            for known in self._jobs.values():
                if known.state == JobState.READY and not known.parent_id:
                    self._publish(known, EventKind.READY)
            return self._take_over_unowned(lost_submits=True)

    def take_over_orphans(self) -> list[Job]:
        """Resume jobs whose owner process has died since we last looked (the pump calls this).

        Jobs another live Blender process owns are skipped and looked at again next time.
        """
        with self._lock:
            return self._take_over_unowned()

    def owns(self, job_id: str) -> bool:
        """True when this process runs ``job_id`` (only its owner may insert it)."""
        return self._ownership.owns(job_id)

    def adopt(self, job_id: str) -> Job:
        """The job, loaded from the ledger and owned by this process if nobody live owns it.

        For actions of the user on a job of the history (Insert): raises
        ``OwnedElsewhereError`` (a sentence) while another Blender window runs it.
        """
        with self._lock:
            job = self._require(job_id)
            if job.unfinished and not self._ownership.claim(job_id):  # known here, run elsewhere
                raise OwnedElsewhereError("Another Blender window is running this job; use it there.")
            return job.copy()

    def claim(self, job_id: str) -> bool:
        """Own ``job_id`` now unless another live Blender process does (True: this one may insert it).

        A job can be known here without being owned (a long range's parent loaded for its
        chunks); the window that inserts it must own it, so exactly one does.
        """
        return self._ownership.claim(job_id)

    def wait(
        self,
        job_ids: Iterable[str] | None = None,
        timeout: float | None = None,
        pump: Callable[[], None] | None = None,
        *,
        interval: float = 0.02,
    ) -> bool:
        """Block until the jobs (default: every job this engine knows) have settled.

        ``pump`` runs on the calling thread every ``interval`` s and should drain
        and apply events (the same pump the timer uses), so in background mode a
        ready job is inserted before ``wait`` returns. Returns False on timeout
        (``None`` or ≤ 0: no limit) or when the engine was shut down.
        """
        ids = list(job_ids) if job_ids is not None else None
        end = None if timeout is None or timeout <= 0 else time.monotonic() + timeout
        while True:
            if pump is not None:
                pump()
            with self._changed:
                if self._stop.is_set():
                    return False
                if self._all_settled(ids) and (pump is None or self._events.empty()):
                    return True
                remaining = interval if end is None else min(interval, end - time.monotonic())
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)

    def shutdown(self, timeout: float = 2.0) -> None:
        """Stop every worker at its next step; jobs stay in the ledger, resumable."""
        self._stop.set()
        with self._lock:
            for abort in self._aborts.values():
                abort.set()
            threads = list(self._workers.values())
            self._changed.notify_all()
        end = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, end - time.monotonic()))
        self._ownership.release_all()  # like a process exit: another window may take them over

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return job.copy() if job is not None else None

    def jobs(self) -> list[Job]:
        """Snapshots of the jobs this engine knows (this session's and resumed ones)."""
        with self._lock:
            return sorted((job.copy() for job in self._jobs.values()), key=lambda j: j.created_at)

    def retry_may_charge_twice(self, job_id: str) -> bool:
        """True when ``retry`` would send a new paid request for a submit that may already have
        been charged (the job, or a failed chunk of it): the caller asks the user first."""
        with self._lock:
            job = self._jobs.get(job_id) or self._ledger.get(job_id)
            if job is None:
                return False
            if not job.is_chunked:
                return job.retry_sends_again
            children = (self._jobs.get(cid) or self._ledger.get(cid) for cid in job.chunk_ids)
            return any(child is not None and child.retry_sends_again for child in children)

    def unsettled_count(self) -> int:
        """How many jobs are still running or waiting (cheap: no copies; the UI asks every tick)."""
        with self._lock:
            return sum(1 for job in self._jobs.values() if not job.settled)

    def ready_to_insert(self) -> list[Job]:
        """Snapshots of top-level jobs whose audio waits to be inserted (copies only those)."""
        with self._lock:
            return [job.copy() for job in self._jobs.values()
                    if job.state is JobState.READY and not job.parent_id]

    def peak_in_flight(self, provider_id: str) -> int:
        """Most jobs of this provider that ever ran at once (for tests and the bench)."""
        with self._lock:
            return self._peak.get(provider_id, 0)

    # == bookkeeping (always under self._lock) =============================================

    def _require(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is not None:
            return job
        if not self._ownership.claim(job_id):  # a live Blender window runs it: leave it to that one
            raise OwnedElsewhereError("Another Blender window is running this job; use it there.")
        job = self._load(job_id)
        if job is None or not job.unfinished:
            self._ownership.release(job_id)  # nothing to run (retry claims it again)
        if job is None:
            raise KeyError(f"No job {job_id} in this session or the ledger.")
        return job

    def _load(self, job_id: str) -> Job | None:
        job = self._ledger.get(job_id)
        if job is None:
            self._ledger.refresh()  # another Blender window may have recorded it since we read the file
            job = self._ledger.get(job_id)
        if job is not None:
            self._jobs[job_id] = job
        return job

    def _save(self, job: Job, event: EventKind = EventKind.CHANGED, message: str = "", *,
              durable: bool = True) -> Job:
        """Write to the ledger, then publish; the ledger write comes first, always."""
        with self._lock:
            job = self._record(job, durable=durable)
            self._jobs[job.id] = job
            self._publish(job, event, message)
            if not job.unfinished and job.id not in self._unrecorded:
                self._ownership.release(job.id)  # finished and on disk: nothing left to own
            if job.parent_id and job.parent_id in self._jobs:
                self._refresh_parent(job.parent_id)
            return job

    def _record(self, job: Job, *, durable: bool = True) -> Job:
        """Append ``job`` to the ledger; when the disk refuses, keep it in memory with a warning.

        The next save of any job writes its full snapshot again, and
        ``take_over_orphans`` retries the ones still unwritten, so a full disk
        after a paid submit costs a warning, never the task id (issue 11).
        """
        warnings = [w for w in job.warnings if not w.startswith(UNRECORDED_PREFIX)]
        if warnings != job.warnings:
            job = replace(job, warnings=warnings)
        try:
            self._ledger.append(job, durable=durable)
        except OSError as exc:
            sentence = getattr(exc, "sentence", "") or str(exc)
            log.warning("Could not record job %s in the ledger: %s", job.id, sentence)
            self._unrecorded[job.id] = sentence
            return replace(job, warnings=[*warnings, unrecorded_warning(sentence)])
        self._unrecorded.pop(job.id, None)
        return job

    def _retry_unrecorded(self) -> None:
        for job_id in list(self._unrecorded):
            if job_id in self._jobs:
                self._save(self._jobs[job_id])

    def _publish(self, job: Job, event: EventKind = EventKind.CHANGED, message: str = "") -> None:
        self._events.put(make_event(event, job.copy(), message))
        self._changed.notify_all()

    def _update(
        self,
        job_id: str,
        state: JobState | None = None,
        *,
        event: EventKind | None = None,
        message: str = "",
        durable: bool = True,
        **changes: Any,
    ) -> Job:
        """Apply a change to the current job and save it. A cancelled job stays cancelled.

        ``durable=False``: a passing state (rendering, uploading, generating, downloading; queued
        at enqueue) whose loss in a crash changes nothing a resume does; its line is written but
        not fsynced (the next durable line's fsync takes it to disk too). Everything that holds
        money or a result is durable.
        """
        unknown = set(changes) - _JOB_FIELDS
        if unknown:
            raise TypeError(f"Unknown job fields: {sorted(unknown)}")
        with self._lock:
            job = self._jobs[job_id]
            now = self._clock()
            if state is not None and job.state == JobState.CANCELLED and state != JobState.CANCELLED:
                state = None
            new = job.with_state(state, now) if state is not None else job.copy()
            new.updated_at = now
            for name, value in changes.items():
                setattr(new, name, value)
            if event is None:
                event = kind_of_change(job, new)
                message = message or (new.error if new.state == JobState.FAILED else new.note)
            self._save(new, event, message, durable=durable)
            return new.copy()

    def _limit(self, provider_id: str) -> int:
        """Configured limit, else the provider's default_concurrency, else DEFAULT_CONCURRENCY.

        A per-provider cap; the vendor ACCOUNT's limit (``_account``) applies on top.
        """
        if provider_id in self._limits:
            return self._limits[provider_id]
        if provider_id not in self._learned_limits and self._provider_info is not None:
            try:
                self._learned_limits[provider_id] = max(
                    1, self._provider_info(provider_id).default_concurrency
                )
            except Exception:  # an unknown id fails in the worker, with a sentence
                log.debug("No provider info for %s", provider_id, exc_info=True)
        return self._learned_limits.get(provider_id, DEFAULT_CONCURRENCY)

    def _all_settled(self, job_ids: list[str] | None) -> bool:
        ids = list(self._jobs) if job_ids is None else job_ids
        for job_id in ids:
            job = self._jobs.get(job_id)
            if job is None:
                continue
            if job_id in self._workers or job_id in self._assembling:
                return False
            if not job.settled and not job.held:  # a held chunk waits for the user's Retry or Cancel
                return False
            if job.is_chunked and not self._all_settled(job.chunk_ids):
                return False
        return True

    def _cancel_one(self, job_id: str) -> str:
        job = self._require(job_id)
        who = job.provider_id
        if job.state in (JobState.INSERTED, JobState.FAILED, JobState.CANCELLED):
            return f"The job is already {job.state.value}; there is nothing to cancel."
        keep = False
        if job.state == JobState.READY:
            message = f"Cancelled; the audio was not inserted and stays in the library at {job.audio_path}."
        elif job.task is not None:
            keep = True
            message = (
                f"Cancelled, but {who} had already accepted the task and it cannot be recalled, so it may "
                "be charged; its result will still be downloaded into the library (not inserted)."
            )
            remote_cancel.start(self, job)  # a vendor that can drop a task not started (fal.ai) is asked
        elif job.submit_attempted:
            keep = True
            message = (
                f"Cancelled, but the request to {who} may already have arrived and cannot be recalled; "
                "if it did, the result will still be downloaded into the library (not inserted)."
            )
            abort = self._aborts.get(job_id)
            if abort is not None:  # ends a wait before a refused submit is sent again (issue 9)
                abort.set()
        else:
            message = f"Cancelled before anything was sent to {who}; nothing was charged."
            abort = self._aborts.get(job_id)
            if abort is not None:
                abort.set()
            with contextlib.suppress(ValueError):
                self._pending.get(self._account(job.provider_id), deque()).remove(job_id)
        self._update(job_id, JobState.CANCELLED, note=message, keep_result=keep, progress=None)
        return message

    def _fresh_copy(self, job: Job) -> Job:
        """The same request as a new job: a new paid call (no vendor task, nothing sent yet)."""
        clip = job.files.get("clip")
        return new_attempt(
            job, JobState.QUEUED, self._clock(), {"clip": clip} if clip else {},
            vendor_task=None, submit_attempted=False, submit_key="", task_failed=False, keep_result=False,
        )
