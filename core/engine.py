"""The job engine: worker threads run each job's steps; the main thread drains events.

A job's life: validate → render the clip (video providers) → upload → submit →
poll → download → ready; the main thread inserts the strip and calls
``mark_inserted``. Each worker thread runs one job; a job starts only when its
vendor ACCOUNT has a free slot (limits are per key, shared by every model on it;
``core/scheduling.py``), otherwise it stays queued. A submit the vendor refuses as
busy (proof no task exists) waits for a free slot and is sent again by itself.

Durability: every state change is written to the ledger BEFORE the step that
spends money or creates a file (``rendering`` before the render, ``submitted``
with ``submit_attempted=True`` before the paid submit, the vendor task id as
soon as submit returns, ``downloading`` before the download, the audio path
together with ``ready``). So after a kill, ``resume_from_ledger`` knows exactly
what may have happened: a job with a vendor task is polled (never resubmitted);
a job whose submit may have left without an answer is looked up by the
provider's ``recover_submit`` when it has one (``core/submit_recovery.py``: for
several minutes, and again at each start while it is not found), otherwise
failed with a sentence that says where to check; it is never sent again.
Anything earlier is simply queued again.

Cancel: before submit it stops the job; after submit the vendor task cannot be
recalled, so the job is cancelled (never inserted) but still polled and its
paid result downloaded into the library, and the message says so.

Long ranges: a chunked parent job lists child jobs (one per chunk) that run like
any other job; when every child is ready the parent joins their audio with
equal-power crossfades (``assemble``) and becomes ready itself.

Nothing here imports bpy. Events are small frozen dataclasses carrying a job
snapshot; the Blender pump applies them on the main thread.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from ..providers.base import (
    AccountLimits,
    AudioFile,
    GenerationRequest,
    Provider,
    ProviderInfo,
    TaskState,
    TaskStatus,
    VendorTask,
)
from ..providers.catalog import ACCOUNT_LIMITS
from ..providers.deadline import request_deadline
from ..providers.errors import (
    ConfigError,
    DownloadError,
    FoleyError,
    RateLimitError,
    SubmitUncertainError,
    TimeoutExceededError,
    VendorBusyError,
    proves_no_task,
)
from ..providers.recovery import reason_of
from . import filling, holding, naming, remote_cancel, submit_recovery
from .accounts import AccountBook
from .chunk_repair import DAMAGED_CHUNK_KEY, ChunkAudioError, refetch_chunk
from .chunks import DEFAULT_OVERLAP_S, chunk_limits, needs_chunks, plan_chunks
from .disk import UNRECORDED_PREFIX, folder_problem, oserror_sentence, unrecorded_warning
from .jobs import Job, JobState, can_transition, new_attempt, new_job_id
from .ledger import JobLedger
from .ownership import JobOwnership
from .scheduling import SchedulingMixin, _AbandonedError, _ShutdownError
from .timeline import FrameRange, clip_events

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 3

# -- events (worker → main thread) ----------------------------------------------------------


@dataclass(frozen=True)
class JobChanged:
    """Anything about the job changed (state, progress, files); redraw the job list."""

    job: Job


@dataclass(frozen=True)
class JobReady:
    """The audio is on disk: insert the strip, then call ``JobEngine.mark_inserted``."""

    job: Job

    @property
    def audio_path(self) -> str:
        return self.job.audio_path


@dataclass(frozen=True)
class JobFailed:
    job: Job
    message: str


@dataclass(frozen=True)
class JobCancelled:
    job: Job
    message: str


@dataclass(frozen=True)
class PaidResultKept:
    """A job cancelled after submit: its paid result arrived in the library (not inserted)."""

    job: Job
    message: str


EngineEvent = JobChanged | JobReady | JobFailed | JobCancelled | PaidResultKept

# -- injectable pieces ----------------------------------------------------------------------

RenderClip = Callable[[Job, threading.Event], str]
ProviderFactory = Callable[[str], Provider]
#: (parent, children in chunk order, destination stem) → path of the joined audio
Assemble = Callable[[Job, Sequence[Job], Path], Path]
#: a look at a landed result (job, audio path) -> plain figures; runs on the worker, must not raise
Analyse = Callable[[Job, Path], dict[str, Any]]


@dataclass(frozen=True)
class PollSchedule:
    """Poll after ``initial`` s, then ×``factor`` up to ``maximum`` s; give up after ``deadline`` s."""

    initial: float = 1.0
    factor: float = 1.5
    maximum: float = 10.0
    deadline: float = 30 * 60.0

    def delays(self) -> Iterator[float]:
        delay = self.initial
        while True:
            yield delay
            delay = min(delay * self.factor, self.maximum)


def assemble_wav_chunks(parent: Job, children: Sequence[Job], stem: Path) -> Path:
    """Default join: WAV chunks only (numpy); Blender passes an ``aud``-based one for MP3/M4A."""
    from .conform import AudioFormatError, join_wav_files, read_wav  # numpy loads only for a join

    for child in children:  # a damaged chunk file is named, so Retry fetches that chunk again
        try:
            read_wav(child.audio_path)
        except (AudioFormatError, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ChunkAudioError(
                f"Chunk {child.chunk_index + 1} of {len(children)} could not be joined: {reason} "
                "Retry downloads that chunk again at no new charge and joins again.",
                child.id,
            ) from None
    try:
        report = join_wav_files(
            [child.audio_path for child in children],
            [parent.frame_range.offset_seconds(child.frame_start, parent.fps) for child in children],
            [child.seconds for child in children],
            parent.seconds,
            stem.with_suffix(".wav"),
            parent.fps,
        )
    except AudioFormatError as exc:
        raise DownloadError(f"The chunks could not be joined: {exc}") from exc
    return report.path


class OwnedElsewhereError(ValueError):
    """The job belongs to another live Blender process (issue 11): this one must not touch it."""


def analyse_result(job: Job, path: Path) -> dict[str, Any]:
    """Default look at a result: loudness, peaks and flags from a WAV (``core.analysis``)."""
    from .analysis import analyse_file  # numpy loads only when a result lands

    return analyse_file(path)



_JOB_FIELDS = frozenset(spec.name for spec in fields(Job))


class JobEngine(SchedulingMixin):
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
    ) -> None:
        self._ledger = ledger
        self._provider_factory = provider_factory
        self._render_clip = render_clip
        self._output_dir_for = output_dir_for
        self._provider_info = provider_info
        self._poll = poll_schedule or PollSchedule()
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
                # children first: a kill in between leaves unsent orphans, which resume cancels
                for child in children:
                    self._save(child, JobChanged)
                self._save(parent, JobChanged)
                for child in children:
                    self._schedule(child.id)
                return parent.copy()
            self._ownership.claim(job.id, new=True)
            self._save(job, JobChanged)
            self._schedule(job.id)
            return job.copy()

    def drain(self, budget_s: float = 0.004, max_events: int | None = None) -> list[EngineEvent]:
        """Events since the last call, returning within about ``budget_s`` seconds."""
        deadline = time.perf_counter() + budget_s
        events: list[EngineEvent] = []
        while max_events is None or len(events) < max_events:
            try:
                events.append(self._events.get_nowait())
            except queue.Empty:
                break
            if time.perf_counter() >= deadline:
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
                self._save(result, JobChanged)
                if job.parent_id in self._jobs:
                    parent = self._jobs[job.parent_id].copy()
                    parent.chunk_ids = [result.id if c == job.id else c for c in parent.chunk_ids]
                    self._save(parent, JobChanged)
            self._schedule(result.id)
            if result.parent_id:
                self._refresh_parent(result.parent_id)
            return result.copy()

    def _refetch_damaged_chunk(self, parent: Job) -> Job:
        """Retry of a join that failed on one chunk's file: download that chunk again (free), then join."""
        damaged_id = str(parent.extra[DAMAGED_CHUNK_KEY])
        damaged = self._jobs.get(damaged_id) or self._load(damaged_id)
        if damaged is None or damaged.task is None:
            raise ValueError("The damaged chunk has no vendor task to fetch again; generate the range again.")
        fresh = refetch_chunk(damaged, self._clock())
        self._ownership.claim(fresh.id, new=True)
        extra = {k: v for k, v in parent.extra.items() if k != DAMAGED_CHUNK_KEY}
        chunk_ids = [fresh.id if c == damaged.id else c for c in parent.chunk_ids]
        # the parent first: it must never see the old, damaged set as complete again
        self._update(parent.id, JobState.GENERATING, error="", error_kind="", progress=None,
                     chunk_ids=chunk_ids, extra=extra)
        self._save(fresh, JobChanged)
        if damaged.state == JobState.READY:
            self._update(damaged.id, JobState.CANCELLED,
                         note=f"Its audio file was damaged; it was downloaded again as job {fresh.id}.")
        self._schedule(fresh.id)
        return self._jobs[parent.id].copy()

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
                    self._publish(known, JobReady)
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

    def in_flight(self, provider_id: str) -> int:
        with self._lock:
            return self._in_flight.get(provider_id, 0)

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

    def _save(self, job: Job, event: Any = None, message: str = "") -> Job:
        """Write to the ledger, then publish; the ledger write comes first, always."""
        with self._lock:
            job = self._record(job)
            self._jobs[job.id] = job
            self._publish(job, event, message)
            if not job.unfinished and job.id not in self._unrecorded:
                self._ownership.release(job.id)  # finished and on disk: nothing left to own
            if job.parent_id and job.parent_id in self._jobs:
                self._refresh_parent(job.parent_id)
            return job

    def _record(self, job: Job) -> Job:
        """Append ``job`` to the ledger; when the disk refuses, keep it in memory with a warning.

        The next save of any job writes its full snapshot again, and
        ``take_over_orphans`` retries the ones still unwritten, so a full disk
        after a paid submit costs a warning, never the task id (issue 11).
        """
        warnings = [w for w in job.warnings if not w.startswith(UNRECORDED_PREFIX)]
        if warnings != job.warnings:
            job = replace(job, warnings=warnings)
        try:
            self._ledger.append(job)
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
                self._save(self._jobs[job_id], JobChanged)

    def _publish(self, job: Job, event: Any, message: str = "") -> None:
        snapshot = job.copy()
        if event is None or event is JobChanged:
            self._events.put(JobChanged(snapshot))
        elif event is JobReady:
            self._events.put(JobReady(snapshot))
        else:
            self._events.put(event(snapshot, message))
        self._changed.notify_all()

    def _update(
        self,
        job_id: str,
        state: JobState | None = None,
        *,
        event: Any = None,
        message: str = "",
        **changes: Any,
    ) -> Job:
        """Apply a change to the current job and save it. A cancelled job stays cancelled."""
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
                event = self._default_event(job, new)
                message = message or (new.error if new.state == JobState.FAILED else new.note)
            self._save(new, event, message)
            return new.copy()

    @staticmethod
    def _default_event(old: Job, new: Job) -> Any:
        if old.state == new.state:
            return JobChanged
        if new.state == JobState.READY:
            return JobChanged if new.parent_id else JobReady  # a chunk is inserted via its parent
        if new.state == JobState.FAILED:
            return JobFailed
        if new.state == JobState.CANCELLED:
            return JobCancelled
        return JobChanged

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
        else:
            message = f"Cancelled before anything was sent to {who}; nothing was charged."
            abort = self._aborts.get(job_id)
            if abort is not None:
                abort.set()
            with contextlib.suppress(ValueError):
                self._pending.get(self._account(job.provider_id), deque()).remove(job_id)
        self._update(job_id, JobState.CANCELLED, note=message, keep_result=keep, progress=None)
        return message

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
                self._publish(job, JobReady)  # the pump inserts it if its file and scene are open
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

    def _refresh_parent(self, parent_id: str) -> None:
        """Derive a chunked parent's state from its children; join them when all are ready."""
        parent = self._jobs.get(parent_id)
        if parent is None or parent.state in (JobState.CANCELLED, JobState.INSERTED, JobState.READY):
            return
        children = [self._jobs.get(child_id) for child_id in parent.chunk_ids]
        if any(child is None for child in children):
            return
        kids = [child for child in children if child is not None]
        self._hold_or_release(kids)
        bad = [child for child in kids if child.state in (JobState.FAILED, JobState.CANCELLED)]
        if bad:
            if parent.state != JobState.FAILED and not self._settle_on_first_result(parent, kids):
                first = next((c for c in bad if holding.blocks_siblings(c)), bad[0])
                reason = first.error or first.note
                if first.state == JobState.FAILED:
                    held = sum(1 for c in self._children(parent) if c.held)
                    error = holding.failure_sentence(first.chunk_index, len(kids), reason, held)
                else:
                    error = (
                        f"Chunk {first.chunk_index + 1} of {len(kids)} was cancelled: {reason} "
                        "Retry it alone; the other chunks are kept."
                    )
                self._update(
                    parent_id, JobState.FAILED, error=error, error_kind=first.error_kind or "CancelledError"
                )
            return
        ready = sum(1 for child in kids if child.state == JobState.READY)
        progress = ready / len(kids)
        if parent.state == JobState.FAILED or (
            parent.state == JobState.QUEUED and any(c.state != JobState.QUEUED for c in kids)
        ):
            self._update(parent_id, JobState.GENERATING, error="", error_kind="", progress=progress)
            parent = self._jobs[parent_id]
        if ready == len(kids):
            if parent_id in self._assembling or self._stop.is_set():
                return
            if parent.state != JobState.DOWNLOADING:
                self._update(parent_id, JobState.DOWNLOADING, progress=1.0)
            self._assembling.add(parent_id)
            threading.Thread(
                target=self._assemble_parent, args=(parent_id,), name=f"foley-join-{parent_id}", daemon=True
            ).start()
        elif progress != parent.progress:
            updated = parent.copy()
            updated.progress = progress
            self._jobs[parent_id] = updated  # progress only: not worth an fsync
            self._publish(updated, JobChanged)

    def _settle_on_first_result(self, parent: Job, kids: list[Job]) -> bool:
        """A short result's tail failed or was cancelled alone: the first, paid result is the job's result."""
        if not filling.keeps_first_result(parent, kids):
            return False
        if parent.state != JobState.DOWNLOADING:
            self._update(parent.id, JobState.DOWNLOADING)
        self._update(parent.id, JobState.READY, **filling.fallback_changes(parent, kids[0], kids[-1]))
        return True

    def _make_chunk(self, parent: Job, index: int, frames: FrameRange, count: int) -> Job:
        request = parent.generation_request
        offset = float(parent.frame_range.offset_seconds(frames.start, parent.fps))
        seconds = float(frames.seconds(parent.fps))
        chunk_request = replace(
            request, duration=seconds, events=clip_events(request.events, offset, offset + seconds)
        )
        now = self._clock()
        return Job(
            id=new_job_id(),
            provider_id=parent.provider_id,
            request=chunk_request.to_dict(),
            blend_path=parent.blend_path,
            scene_name=parent.scene_name,
            frame_start=frames.start,
            frame_end=frames.end,
            fps_num=parent.fps_num,
            fps_den=parent.fps_den,
            channel=parent.channel,
            created_at=now,
            updated_at=now,
            timings={JobState.QUEUED.value: now},
            label=f"{parent.label or parent.prompt} (chunk {index + 1}/{count})",
            prompt=parent.prompt,
            parent_id=parent.id,
            chunk_index=index,
        )

    def _fresh_copy(self, job: Job) -> Job:
        """The same request as a new job: a new paid call (no vendor task, nothing sent yet)."""
        clip = job.files.get("clip")
        return new_attempt(
            job, JobState.QUEUED, self._clock(), {"clip": clip} if clip else {},
            vendor_task=None, submit_attempted=False, submit_key="", task_failed=False, keep_result=False,
        )

    # == worker side =======================================================================

    def _snapshot(self, job_id: str) -> Job:
        with self._lock:
            return self._jobs[job_id].copy()

    def _check(self, job_id: str) -> None:
        """Between pre-submit steps: stop for shutdown or a cancel."""
        if self._stop.is_set():
            raise _ShutdownError
        if self._snapshot(job_id).state == JobState.CANCELLED:
            raise _AbandonedError

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self._sleep(seconds)
        if self._stop.is_set():
            raise _ShutdownError

    def _work(self, job_id: str) -> None:
        try:
            self._run(job_id)
        except (_ShutdownError, _AbandonedError):
            pass
        except Exception as exc:
            self._fail(job_id, exc)
        finally:
            with self._lock:
                provider_id = self._jobs[job_id].provider_id
                self._in_flight[provider_id] = max(0, self._in_flight.get(provider_id, 1) - 1)
                account = self._slot_of.pop(job_id, None)
                if account is not None:
                    self._accounts.release(account)
                self._workers.pop(job_id, None)
                self._dispatch()
                self._changed.notify_all()

    def _run(self, job_id: str) -> None:
        job = self._snapshot(job_id)
        provider = self._provider_factory(job.provider_id)
        try:
            with self._lock:
                self._learned_limits.setdefault(job.provider_id, max(1, provider.info.default_concurrency))
                account = self._account(job.provider_id, provider.info)
            request = job.generation_request
            task = job.task
            fresh = task is None
            if task is None:
                if job.submit_attempted:
                    task = self._recover(job_id, provider, request)
                else:
                    task = self._prepare_and_submit(job_id, provider, request)
            if job.waiting_since:
                self._update(job_id, waiting_since=0.0)  # accepted: the wait is over
            status = self._poll_until_done(
                job_id, provider, task, first_delay=self._poll.initial if fresh else 0, account=account
            )
            self._download(job_id, provider, status)
        finally:
            with contextlib.suppress(Exception):
                provider.close()

    def _prepare_and_submit(self, job_id: str, provider: Provider, request: GenerationRequest) -> VendorTask:
        info = provider.info
        self._check(job_id)
        provider.validate(request)
        abort = self._aborts.setdefault(job_id, threading.Event())
        if info.needs_video:
            clip = self._snapshot(job_id).files.get("clip", "")
            if not (clip and Path(clip).is_file()):
                if self._render_clip is None:
                    raise ConfigError(
                        f"{info.label} needs a video clip, but no renderer is available here; "
                        "generate from Blender instead."
                    )
                self._update(job_id, JobState.RENDERING)
                clip = self._render_clip(self._snapshot(job_id), abort)
                self._check(job_id)
                self._update(job_id, files={**self._snapshot(job_id).files, "clip": str(clip)})
            request = replace(request, video_path=str(clip))
            self._check(job_id)
            self._update(job_id, JobState.UPLOADING)
        try:
            clip_url = provider.upload_clip(request, abort)
        except VendorBusyError as exc:  # an upload host that is busy: nothing was made, wait like a submit
            self._wait_for_slot(job_id, info, exc)
            raise _AbandonedError from exc
        self._pace_submit(job_id, info)
        with self._lock:  # atomic against cancel: the intent is on disk before any byte leaves
            self._check(job_id)
            self._check_held(job_id)
            key = f"vsefoley-{uuid.uuid4().hex}" if provider.supports_recovery else ""
            self._update(job_id, JobState.SUBMITTED, submit_attempted=True, submit_key=key)
            if job_id in self._unrecorded:  # the intent is not on disk: spend nothing (issue 11)
                self._update(job_id, JobState.FAILED, submit_attempted=False,
                             error=f"Could not record the job before sending it: {self._unrecorded[job_id]}. "
                             "Nothing was sent or charged.", error_kind="LedgerWriteError")
                raise _AbandonedError
        if key:
            request = replace(request, options={**request.options, "external_task_id": key})
        try:
            task = provider.submit(request, clip_url)
        except VendorBusyError as exc:
            # "busy" proves no task was made: wait for a free slot at the vendor, then send again
            self._wait_for_slot(job_id, info, exc)
            raise _AbandonedError from exc
        except Exception as exc:
            if not (isinstance(exc, FoleyError) and proves_no_task(exc)):
                # a lost or unreadable answer: the task may exist; look for it, never send again
                if not isinstance(exc, FoleyError):
                    log.exception("Submit of job %s raised", job_id)
                found_key = str(getattr(exc, "external_task_id", "") or key)
                task = self._find_lost_submit(job_id, provider, request, found_key, exc)
            else:
                # the vendor refused it as a whole: nothing was created, so Retry may send it again
                self._update(
                    job_id,
                    JobState.FAILED,
                    submit_attempted=False,
                    keep_result=False,
                    error=str(exc),
                    error_kind=type(exc).__name__,
                )
                raise _AbandonedError from exc
        self._update(job_id, vendor_task={"task_id": task.task_id, "data": dict(task.data)})
        return task

    def _find_lost_submit(
        self, job_id: str, provider: Provider, request: GenerationRequest, key: str, error: BaseException
    ) -> VendorTask:
        """Look for the task of an unanswered submit by its key (core/submit_recovery.py)."""
        label = provider.info.label

        def say(note: str) -> None:
            with self._lock:  # a cancelled job keeps its own note (it says the result is still fetched)
                if self._jobs[job_id].state != JobState.CANCELLED:
                    self._update(job_id, note=note)

        def missed(lookups: int, waited: float) -> None:
            say(
                f"{label} lost the answer; the task has not shown up yet under its id {key} "
                f"({lookups} lookups in {waited:.0f} s). Still looking; it is never sent again."
            )

        try:
            task = submit_recovery.lost_submit_task(
                provider,
                request,
                key if provider.supports_recovery else "",
                reason_of(error, label),
                sleep=self._pause,
                on_miss=missed,
            )
        except SubmitUncertainError:
            say("")  # the error says it all
            raise
        say(f"{label} task {task.task_id} was found by its id {key}; it was not sent again.")
        return task

    def _recover(self, job_id: str, provider: Provider, request: GenerationRequest) -> VendorTask:
        """Resume or Retry of a submit that may have left: look it up by its key, never send it again."""
        job = self._snapshot(job_id)
        reason = (
            f"Blender stopped while the request was being sent to {provider.info.label}, or its answer "
            "was lost"
        )
        task = self._find_lost_submit(job_id, provider, request, job.submit_key, SubmitUncertainError(reason))
        self._update(job_id, vendor_task={"task_id": task.task_id, "data": dict(task.data)})
        return task

    def _poll_until_done(
        self, job_id: str, provider: Provider, task: VendorTask, first_delay: float, account: str = ""
    ) -> TaskStatus:
        schedule = self._poll
        deadline = self._monotonic() + schedule.deadline
        delays = schedule.delays()
        delay = first_delay
        while True:
            self._pause(min(delay, max(0.0, deadline - self._monotonic())))
            remote_cancel.stop_if_recalled(self, job_id)
            self._pause(self._accounts.reserve_poll(account or provider.info.account_id))
            try:
                # a slow (trickling) answer must not outlive the loop's own deadline
                with request_deadline(max(0.0, deadline - self._monotonic())):
                    status: TaskStatus | None = provider.poll(task)
            except FoleyError as exc:
                if not exc.retryable:
                    raise
                log.info("Poll of job %s failed, will retry: %s", job_id, exc)
                status = None
                if isinstance(exc, RateLimitError):  # slow down every poll of the account
                    self._note_throttled(job_id, provider.info, account, exc)
            else:
                self._accounts.poll_succeeded(account or provider.info.account_id)
                self._show_wait(job_id, 0.0, "")  # a slow-down countdown is over
            if status is not None:
                if status.state == TaskState.SUCCEEDED:
                    return status
                if status.state == TaskState.FAILED:
                    self._update(job_id, task_failed=True)
                    raise provider.failure_error(status)
                self._note_progress(job_id, status.progress)
                remote_cancel.note_queue_place(self, job_id, status.message)
            if self._monotonic() >= deadline:
                minutes = math.ceil(schedule.deadline / 60)
                raise TimeoutExceededError(
                    f"{provider.info.label} did not finish within {minutes} minutes; "
                    "the task may still finish."
                )
            delay = next(delays)

    def _note_progress(self, job_id: str, progress: float | None) -> None:
        with self._lock:
            job = self._jobs[job_id]
            if job.state == JobState.SUBMITTED:
                self._update(job_id, JobState.GENERATING, progress=progress)
            elif progress is not None and progress != job.progress:
                updated = job.copy()
                updated.progress = progress
                self._jobs[job_id] = updated  # progress only: not worth an fsync
                self._publish(updated, JobChanged)

    def _download(self, job_id: str, provider: Provider, status: TaskStatus) -> None:
        job = self._snapshot(job_id)
        directory, moved = self._audio_folder(job)
        self._update(job_id, JobState.DOWNLOADING)
        try:
            audio = provider.download(status, self._audio_stem(directory, job))
        except OSError as exc:  # the folder filled up during the download: once more in the library
            library = Path(self._library_dir()) if self._library_dir is not None else None
            if library is None or library == directory or folder_problem(library):
                raise DownloadError(f"Could not save the result: {oserror_sentence(exc)}") from exc
            moved = f"The result could not be saved in {directory} ({oserror_sentence(exc)}); it was saved " \
                f"in the library folder {library} instead."
            audio = provider.download(status, self._audio_stem(library, job))
        with self._lock:  # the paid file is recorded before anything else happens to it
            self._update(job_id, files={**self._jobs[job_id].files, "audio": str(audio.path)})
        info = {"format": audio.format, "size": audio.size, "duration": audio.duration,
                "analysis": self._look_at(job, Path(audio.path))}
        with self._lock:
            job = self._jobs[job_id]
            files = {**job.files, "audio": str(audio.path)}
            if job.state == JobState.CANCELLED:
                message = (
                    f"Cancelled after it was sent; the paid result was still downloaded to {audio.path}."
                )
                self._update(
                    job_id, files=files, audio_info=info, note=message, event=PaidResultKept, message=message
                )
                return
            warnings = list(job.warnings) + ([moved] if moved else [])
            if audio.duration is not None:
                from .conform import check_duration  # numpy stays out of registration

                check = check_duration(audio.duration, job.seconds, job.fps)
                unfilled = (
                    self._start_fill(job_id, provider.info, audio, check.message, files, info, warnings)
                    if check.is_short and self.fill_short else ""
                )
                if unfilled is None:
                    return  # the job now joins its first result with the tail (core/filling.py)
                if check.message:
                    warnings.append(check.message)
                if unfilled:
                    warnings.append(unfilled)
            self._update(
                job_id, JobState.READY, files=files, audio_info=info, warnings=warnings, progress=1.0
            )

    def _start_fill(
        self, job_id: str, info: ProviderInfo, audio: AudioFile, flag: str,
        files: dict[str, str], audio_info: dict[str, Any], warnings: list[str],
    ) -> str | None:
        """Make a short job the parent of its first result and one tail request (None), or say why not."""
        job = self._jobs[job_id]
        if not filling.may_fill(job, audio.format) or audio.duration is None:
            return ""
        job = replace(job, files=files, audio_info=audio_info, warnings=warnings)
        low, high = chunk_limits(info)
        plan = filling.plan_tail(job.frame_range, job.fps, float(audio.duration), low, high, self._overlap)
        if isinstance(plan, str):
            return plan
        now = self._clock()
        first = filling.first_part(job, plan, now)
        tail = self._make_chunk(job, 1, plan.tail, 2)
        tail.label = f"{job.label or job.prompt} (filling the last {plan.missing_s:.1f} s)"
        parent = filling.as_parent(replace(job, updated_at=now), [first.id, tail.id], plan, flag)
        for owned in (first, tail):
            self._ownership.claim(owned.id, new=True)
        self._jobs[job_id] = parent  # in memory first: saving a chunk refreshes its parent
        # chunks first: a kill before the parent is saved leaves orphans that resume cancels, and
        # the job itself, still "downloading" its kept task in the ledger, downloads again for free
        self._save(first, JobChanged)
        self._save(tail, JobChanged)
        self._save(parent, JobChanged)
        self._schedule(tail.id)
        return None

    def _audio_folder(self, job: Job) -> tuple[Path, str]:
        """The job's audio folder, or the library folder (with a warning) when it cannot be written."""
        directory = Path(self._output_dir_for(job))
        problem = folder_problem(directory)
        if not problem or self._library_dir is None:
            return directory, ""  # a failure now is the download's sentence
        library = Path(self._library_dir())
        if library == directory or folder_problem(library):
            return directory, ""
        return library, f"The audio folder {directory} cannot be used ({problem}); the result was saved in " \
            f"the library folder {library} instead."

    @staticmethod
    def _audio_stem(directory: Path, job: Job) -> Path:
        stem = naming.audio_stem(job.provider_id, job.prompt or job.label, job.id)
        return naming.unique_stem(directory, stem)

    def _look_at(self, job: Job, path: Path) -> dict[str, Any]:
        """The analysis of a landed result (off the main thread); a failure is a figure, not an error."""
        try:
            return self._analyse(job, path)
        except Exception as exc:
            log.warning("Could not analyse %s: %s", path, exc)
            return {"measured": False, "reason": f"The result could not be measured ({exc})."}

    def _fail(self, job_id: str, exc: Exception) -> None:
        if self._stop.is_set():
            return  # shutting down: the ledger keeps the job resumable
        if isinstance(exc, FoleyError):
            message = str(exc)
        elif isinstance(exc, OSError):
            message = oserror_sentence(exc)
        else:
            log.error("Job %s stopped on an unexpected error", job_id, exc_info=exc)
            message = f"Unexpected error ({type(exc).__name__}: {exc}); the job stopped. Please report this."
        with self._lock:
            job = self._jobs[job_id]
            if job.state == JobState.CANCELLED:
                if job.keep_result:
                    self._update(
                        job_id,
                        keep_result=False,
                        note=f"{job.note} The result could not be fetched: {message}",
                    )
                return
            if not can_transition(job.state, JobState.FAILED):
                log.error("Job %s failed in state %s: %s", job_id, job.state.value, message)
                return
            if job.task is not None and not job.task_failed:
                message += " The vendor task is kept: Retry checks it again without a new charge."
            self._update(job_id, JobState.FAILED, error=message, error_kind=type(exc).__name__, progress=None)

    def _assemble_parent(self, parent_id: str) -> None:
        try:
            parent = self._snapshot(parent_id)
            with self._lock:
                children = [self._jobs[child_id].copy() for child_id in parent.chunk_ids]
            directory = Path(self._output_dir_for(parent))
            directory.mkdir(parents=True, exist_ok=True)
            stem = naming.unique_stem(
                directory, naming.audio_stem(parent.provider_id, parent.prompt or parent.label, parent.id)
            )
            path = self._assemble(parent, children, stem)
            info = {"analysis": self._look_at(parent, Path(path))}
            warnings = [f"Chunk {c.chunk_index + 1}: {w}" for c in children for w in c.warnings]
            with self._lock:
                if self._jobs[parent_id].state == JobState.CANCELLED:
                    return
                self._update(
                    parent_id, JobState.READY, files={"audio": str(path)}, audio_info=info, warnings=warnings,
                    progress=1.0, note=filling.done_note(self._jobs[parent_id]),
                )
        except ChunkAudioError as exc:
            with self._lock:  # remembered, so Retry fetches that chunk instead of joining the same file
                parent = self._jobs[parent_id]
                self._update(parent_id, extra={**parent.extra, DAMAGED_CHUNK_KEY: exc.chunk_id})
            self._fail(parent_id, exc)
        except Exception as exc:
            with self._lock:
                parent = self._jobs[parent_id]
                if filling.is_fill_parent(parent) and parent.state != JobState.CANCELLED:
                    first, tail = (self._jobs[c] for c in parent.chunk_ids)  # the paid first result is kept
                    self._update(parent_id, JobState.READY,
                                 **filling.fallback_changes(parent, first, replace(tail, error=str(exc))))
                    return
            self._fail(parent_id, exc)
        finally:
            with self._lock:
                self._assembling.discard(parent_id)
                self._changed.notify_all()
