"""The engine's scheduling: vendor-account slots, waits for a busy vendor, held chunks.

A mixin of ``JobEngine`` (core/engine.py; the state it shares is declared in
``engine_parts.py``), kept apart so the engine stays readable:
``_dispatch`` starts a queued job only while its vendor ACCOUNT (one key, shared by
every model on it) has a free slot; a job the vendor refused as busy waits, without a
slot, until its ``retry_at`` (the waker thread dispatches it then); submits follow the
account's submits-a-minute bucket; a poll answered 429 slows every job of the account;
and a long range whose chunk failed for a reason a retry will not fix holds its unsent
chunks. The numbers and sentences come from ``accounts.py`` and ``holding.py``.
Everything here runs under the engine's lock unless it says otherwise.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import deque
from collections.abc import Sequence

from ..providers.base import AccountLimits, ProviderInfo
from ..providers.errors import RateLimitError, VendorBusyError
from . import accounts as pacing
from . import holding, render_ahead
from .engine_parts import EngineParts
from .jobs import Job, JobState


class _ShutdownError(Exception):
    """The engine is shutting down; leave the job as it is (resumable)."""


class _AbandonedError(Exception):
    """The job was cancelled before anything was sent; stop quietly."""


log = logging.getLogger(__name__)


class SchedulingMixin(EngineParts):
    """Account slots, busy waits, pacing and held chunks for ``JobEngine``."""

    def peak_in_account(self, account: str) -> int:
        """Most jobs that ever held a slot of this vendor account at once (tests, bench)."""
        return self._accounts.peak(account)

    def set_account_limits(self, account: str, limits: AccountLimits) -> None:
        """A preference changed: new limits for ``account``; queued jobs may start now."""
        self._accounts.set_limits(account, limits)
        with self._lock:
            self._dispatch()

    def counting_down(self) -> bool:
        """Some job shows a countdown (it waits for a vendor): the job list redraws each second."""
        now = self._clock()
        # no lock: the main thread asks, and a worker may hold the lock through an fsync; a
        # snapshot of the values (one C-level copy) is enough for a redraw decision
        return any(job.retry_at > now and not job.settled for job in list(self._jobs.values()))

    def _account(self, provider_id: str, info: ProviderInfo | None = None) -> str:
        """The vendor account whose slots ``provider_id`` uses (its own id when unknown)."""
        if info is None and self._provider_info is not None:
            with contextlib.suppress(Exception):  # an unknown id fails in the worker, with a sentence
                info = self._provider_info(provider_id)
        account = info.account_id if info is not None else provider_id
        if info is not None and not self._accounts.known(account):
            # an account the catalog does not list: the provider's own default, per provider
            self._accounts.set_limits(account, AccountLimits(info.vendor, max(1, info.default_concurrency)))
        return account

    def _schedule(self, job_id: str) -> None:
        queued = self._pending.setdefault(self._account(self._jobs[job_id].provider_id), deque())
        if job_id not in queued:
            queued.append(job_id)
        abort = self._aborts.get(job_id)
        if abort is None or abort.is_set():
            # A fresh one for a retry of a cancelled job. An unset one is kept: a render ahead of this
            # job's clip may hold it (a chunk released after being held), and a Cancel or shutdown that
            # set only a new event would leave that Blender rendering for up to 30 minutes.
            self._aborts[job_id] = threading.Event()
        self._dispatch()

    def _dispatch(self) -> None:
        """Start queued jobs while their account has a free slot (counted across every model).

        A job waiting out a busy vendor (``retry_at`` ahead) or a held chunk stays queued
        without a slot; the waker thread dispatches again when a wait ends.
        """
        if self._stop.is_set():
            return
        now = self._clock()
        for account, queued in list(self._pending.items()):  # a nested dispatch may add an account
            # a freed slot takes a job whose clip is ready first (issue 13: render ahead)
            for job_id in render_ahead.start_order(list(queued), self._clip_ready(list(queued))):
                job = self._jobs.get(job_id)
                if job is None or job.settled:
                    queued.remove(job_id)
                    continue
                if job_id in self._workers or job.held or job.retry_at > now:
                    continue
                provider_id = job.provider_id
                cap = self._model_caps.get(provider_id)  # an explicit per-model cap, if any
                if cap is not None and self._in_flight.get(provider_id, 0) >= cap:
                    continue
                if not self._accounts.try_take(account):
                    break
                queued.remove(job_id)
                self._slot_of[job_id] = account
                running = self._in_flight.get(provider_id, 0) + 1
                self._in_flight[provider_id] = running
                self._peak[provider_id] = max(self._peak.get(provider_id, 0), running)
                if job.retry_at:
                    self._update(job_id, retry_at=0.0, note="")
                thread = threading.Thread(
                    target=self._work, args=(job_id,), name=f"foley-{job_id}", daemon=True
                )
                self._workers[job_id] = thread
                thread.start()
        self._render_ahead_now()
        self._wake_later(now)

    def _wake_later(self, now: float) -> None:
        """One thread sleeps until the next ``retry_at`` and dispatches; it ends when none is ahead."""
        if self._waker is not None or not any(
            self._jobs[j].retry_at > now for q in self._pending.values() for j in q if j in self._jobs
        ):
            return
        self._waker = threading.Thread(target=self._wake_loop, name="foley-waker", daemon=True)
        self._waker.start()

    def _wake_loop(self) -> None:
        try:
            while True:
                with self._lock:
                    now = self._clock()
                    ahead = [
                        self._jobs[j].retry_at
                        for q in self._pending.values()
                        for j in q
                        if j in self._jobs and self._jobs[j].retry_at > now
                    ]
                    if not ahead or self._stop.is_set():
                        self._waker = None
                        return
                    nap = min(1.0, min(ahead) - now)  # short naps: a sooner wait may be added
                self._pause(nap)
                with self._lock:
                    self._dispatch()
        except _ShutdownError:
            pass
        except Exception:  # a waiting job must never be stranded by a dead waker
            log.exception("The wake-up of waiting jobs stopped")
        finally:
            with self._lock:
                if self._waker is threading.current_thread():
                    self._waker = None

    def _account_label(self, info: ProviderInfo) -> str:
        return self._accounts.limits(info.account_id).label or info.vendor

    def _pace_submit(self, job_id: str, info: ProviderInfo) -> None:
        """Wait for the account's submits-a-minute bucket (the job holds its slot meanwhile)."""
        until = self._accounts.reserve_submit_at(info.account_id)  # on the monotonic clock
        wait = until - self._monotonic()
        if wait <= 0:
            return
        limits = self._accounts.limits(info.account_id)
        note = pacing.submit_rate_note(self._account_label(info), limits.submits_per_minute, wait)
        self._show_wait(job_id, until + self._wall_offset, note)
        while (left := until - self._monotonic()) > 0:  # never before the reserved time
            self._pause(left)
        self._check(job_id)
        self._show_wait(job_id, 0.0, "")

    def _check_held(self, job_id: str) -> None:
        """A chunk held while it rendered or uploaded is not sent: back to the queue, no slot."""
        if self._jobs[job_id].held:
            self._update(job_id, JobState.QUEUED, progress=None)
            self._schedule(job_id)
            raise _AbandonedError

    def _wait_for_slot(self, job_id: str, info: ProviderInfo, exc: VendorBusyError) -> None:
        """Re-queue a job the vendor refused as busy, to be sent again at ``retry_at``; bounded."""
        label = self._account_label(info)
        with self._lock:
            now = self._clock()
            since = self._jobs[job_id].waiting_since or now
            delay = pacing.busy_backoff(now - since, exc.retry_after)
            if now + delay - since > pacing.MAX_BUSY_WAIT_S:
                self._update(
                    job_id,
                    JobState.FAILED,
                    submit_attempted=False,
                    keep_result=False,
                    retry_at=0.0,
                    waiting_since=0.0,
                    error=pacing.busy_gave_up(label, now - since, exc.vendor_code),
                    error_kind=type(exc).__name__,
                    progress=None,
                )
                return
            self._update(
                job_id,
                JobState.QUEUED,
                submit_attempted=False,
                submit_key="",
                keep_result=False,
                retry_at=now + delay,
                waiting_since=since,
                note=pacing.busy_note(label, delay, exc.vendor_code),
                progress=None,
            )
            self._schedule(job_id)  # starts only at retry_at, after this worker released its slot

    def _note_throttled(self, job_id: str, info: ProviderInfo, account: str, exc: RateLimitError) -> None:
        """A poll got 429: the whole account slows down; the job counts down to its next poll."""
        pause = self._accounts.throttled(account or info.account_id, getattr(exc, "retry_after", None))
        note = pacing.slow_down_note(self._account_label(info), pause)
        self._show_wait(job_id, self._clock() + pause, note)

    def _show_wait(self, job_id: str, retry_at: float, note: str) -> None:
        """The countdown and its sentence; a cancelled job keeps its own note (what was charged)."""
        with self._lock:
            job = self._jobs[job_id]
            if job.state is JobState.CANCELLED or (not retry_at and not job.retry_at):
                return
            self._update(job_id, retry_at=retry_at, note=note)

    def _children(self, parent: Job) -> list[Job]:
        return [self._jobs[c] for c in parent.chunk_ids if c in self._jobs]

    def _hold_or_release(self, kids: Sequence[Job]) -> None:
        """Hold unsent chunks while a sibling failed unfixably; let them go once it was accepted."""
        for child in holding.to_hold(kids):
            self._set_held(child.id, True, "Held: another chunk of this range failed; not sent.")
        for child in holding.to_release(kids):
            self._set_held(child.id, False, "")
            self._schedule(child.id)

    def _set_held(self, job_id: str, held: bool, note: str) -> None:
        """Saved like ``_update`` but without refreshing the parent (the caller is doing that)."""
        new = self._jobs[job_id].copy()
        new.held, new.note, new.updated_at = held, note, self._clock()
        new = self._record(new)  # a full disk is a warning on the job, never an exception here
        self._jobs[job_id] = new
        self._publish(new)  # a JobChanged

    def _cancel_held(self, children: Sequence[Job]) -> str:
        """Cancel of a failed long job: the unsent chunks are dropped; sent ones finish and are kept."""
        unsent = [c for c in children if holding.unsent(c)]
        sent = sum(1 for c in children if not c.settled and not holding.unsent(c))
        for child in unsent:
            self._cancel_one(child.id)
        if not unsent:
            return "The job already failed; there is nothing to cancel."
        message = f"Cancelled {len(unsent)} chunk(s) not sent yet; nothing was sent or charged for them."
        if sent:
            message += f" {sent} chunk(s) already sent finish and are kept in the library (not inserted)."
        return message
