"""The worker steps of one job: prepare and submit, recover a lost submit, poll, download, fail.

A mixin of ``JobEngine`` (core/engine.py). ``_work`` runs on the job's own worker
thread: render the clip (video providers) → upload → submit → poll → download →
ready. Every state change goes through the engine's ``_update``, so it is written to
the ledger BEFORE the step that spends money or creates a file: ``submitted`` with
``submit_attempted=True`` before the paid submit, the vendor task id as soon as submit
returns, ``downloading`` before the download, the audio path together with ``ready``.
A submit whose answer was lost is looked up by its key (``core/submit_recovery.py``)
and never sent again. Workers never touch bpy.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..providers.base import (
    AudioFile,
    GenerationRequest,
    Provider,
    ProviderInfo,
    TaskState,
    TaskStatus,
    VendorTask,
    with_answer_stem,
)
from ..providers.errors import (
    CancelledError,
    ConfigError,
    DownloadError,
    FoleyError,
    RateLimitError,
    SubmitUncertainError,
    TimeoutExceededError,
    VendorBusyError,
    proves_no_task,
)
from ..providers.polling import PollWatch, poll_until_done
from ..providers.recovery import reason_of
from . import filling, host_fallback, naming, remote_cancel, submit_recovery
from .chunks import chunk_limits
from .disk import folder_problem, oserror_sentence
from .engine_parts import EngineParts
from .events import EventKind
from .extra_takes import extra_outputs, skipped_warning, take_jobs
from .jobs import Job, JobState, can_transition
from .scheduling import _AbandonedError, _ShutdownError

log = logging.getLogger(__name__)


class JobStepsMixin(EngineParts):
    """The steps a worker thread runs for one job (see the module docstring)."""

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
                # "Jobs at once per model" counts whole jobs, download included
                self._in_flight[provider_id] = max(0, self._in_flight.get(provider_id, 1) - 1)
                self._give_slot_back(job_id)
                self._workers.pop(job_id, None)
                self._dispatch()
                self._changed.notify_all()

    def _give_slot_back(self, job_id: str) -> None:
        """Under the lock: the job's vendor slot is free (once: later calls do nothing)."""
        account = self._slot_of.pop(job_id, None)
        if account is not None:
            self._accounts.release(account)

    def _vendor_finished(self, job_id: str) -> None:
        """The vendor says the task is done: it no longer counts against the account's tasks at once
        (the emulator counts a task running until a poll sees it finished, as a vendor would), so
        the next job starts while this one downloads and measures its result."""
        with self._lock:
            self._give_slot_back(job_id)
            self._dispatch()

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
        provider.preflight(abort)  # a self-hosted server that is down says so before any render
        if info.needs_video:
            self._await_clip_ahead(job_id)  # rendered ahead while it waited for a slot: never twice
            clip = self._snapshot(job_id).files.get("clip", "")
            if not (clip and Path(clip).is_file()):
                if self._render_clip is None:
                    raise ConfigError(
                        f"{info.label} needs a video clip, but no renderer is available here; "
                        "generate from Blender instead."
                    )
                self._update(job_id, JobState.RENDERING, durable=False)
                with self._render_in_slot(job_id):  # recorded inside: the next render ahead starts as it ends
                    clip = self._render_clip(self._snapshot(job_id), abort)
                    self._check(job_id)
                    self._update(job_id, files={**self._snapshot(job_id).files, "clip": str(clip)})
            request = replace(request, video_path=str(clip))
            self._check(job_id)
            self._update(job_id, JobState.UPLOADING, durable=False)
        try:
            clip_url = provider.upload_clip(request, abort)
        except VendorBusyError as exc:  # an upload host that is busy: nothing was made, wait like a submit
            self._wait_for_slot(job_id, info, exc)
            raise _AbandonedError from exc
        return self._submit(job_id, provider, request, clip_url, abort)

    def _submit(
        self, job_id: str, provider: Provider, request: GenerationRequest, clip_url: str | None,
        abort: threading.Event,
    ) -> VendorTask:
        """Record the intent, then send the paid submit once (a refusal that proves no task may be resent)."""
        info = provider.info
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
        request = self._answer_goes_to(job_id, provider, request)
        try:
            task = provider.submit(request, clip_url, abort)  # a Cancel ends a wait between re-sends
        except VendorBusyError as exc:
            # "busy" proves no task was made: wait for a free slot at the vendor, then send again
            self._wait_for_slot(job_id, info, exc)
            raise _AbandonedError from exc
        except CancelledError as exc:
            self._stopped_between_sends(job_id, info.label)
            raise _AbandonedError from exc
        except Exception as exc:
            if not (isinstance(exc, FoleyError) and proves_no_task(exc)):
                # a lost or unreadable answer: the task may exist; look for it, never send again
                if not isinstance(exc, FoleyError):
                    log.exception("Submit of job %s raised", job_id)
                found_key = str(getattr(exc, "external_task_id", "") or key)
                task = self._find_lost_submit(job_id, provider, request, found_key, exc)
            else:
                # the vendor refused it as a whole: nothing was created, so Retry may send it again;
                # with "any host" a proven-unavailable host hands the job to the next (issue 14 item 6)
                if host_fallback.move_to_next_host(self, job_id, info, request, exc):
                    raise _AbandonedError from exc
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

    def _stopped_between_sends(self, job_id: str, label: str) -> None:
        """Cancel or shutdown ended the wait before a refused submit was sent again (issue 9).

        Every attempt so far was refused, so no task exists: a cancelled job says nothing was
        charged; at shutdown the job is queued again (resume sends it afresh), never "may have
        been charged".
        """
        with self._lock:
            if self._stop.is_set() and self._jobs[job_id].state is not JobState.CANCELLED:
                self._update(job_id, JobState.QUEUED, submit_attempted=False, submit_key="", progress=None)
                raise _ShutdownError
            self._update(
                job_id, submit_attempted=False, submit_key="", keep_result=False, progress=None,
                note=f"Cancelled before it was sent again; {label} had refused it, so nothing was charged.",
            )

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
        """The shared poll loop (providers/polling.py), paced by the vendor account, on the engine's clock."""
        schedule = self._poll
        account = account or provider.info.account_id

        def before_poll() -> None:
            remote_cancel.stop_if_recalled(self, job_id)  # the vendor dropped it: nothing to fetch
            self._pause(self._accounts.reserve_poll(account))

        def on_answer(status: TaskStatus) -> None:
            self._accounts.poll_succeeded(account)
            self._show_wait(job_id, 0.0, "")  # a slow-down countdown is over
            waiting = status.state in (TaskState.PENDING, TaskState.RUNNING)
            remote_cancel.note_queue_place(self, job_id, status.message if waiting else "")
            if status.state is TaskState.FAILED:
                remote_cancel.stop_if_recalled(self, job_id)  # "failed" because Cancel dropped it there
                self._update(job_id, task_failed=True)
            elif status.state is not TaskState.SUCCEEDED:
                self._note_progress(job_id, status.progress)

        def on_error(exc: FoleyError) -> None:
            if isinstance(exc, RateLimitError):  # slow down every poll of the account
                self._note_throttled(job_id, provider.info, account, exc)

        def timed_out() -> FoleyError:
            minutes = math.ceil(schedule.deadline / 60)
            return TimeoutExceededError(
                f"{provider.info.label} did not finish within {minutes} minutes; the task may still finish."
            )

        return poll_until_done(
            provider, task, first_delay=first_delay, deadline_s=schedule.deadline, delays=schedule.delays(),
            pause=self._pause, timed_out=timed_out, monotonic=self._monotonic,
            watch=PollWatch(before_poll=before_poll, on_answer=on_answer, on_error=on_error),
        )

    def _note_progress(self, job_id: str, progress: float | None) -> None:
        with self._lock:
            job = self._jobs[job_id]
            if job.state == JobState.SUBMITTED:
                self._update(job_id, JobState.GENERATING, progress=progress, durable=False)
            elif progress is not None and progress != job.progress:
                updated = job.copy()
                updated.progress = progress
                self._jobs[job_id] = updated  # progress only: not worth an fsync
                self._publish(updated)

    def _download(self, job_id: str, provider: Provider, status: TaskStatus) -> None:
        job = self._snapshot(job_id)
        directory, moved = self._audio_folder(job)
        self._update(job_id, JobState.DOWNLOADING, durable=False)
        self._vendor_finished(job_id)  # downloading: the vendor's task is over, its slot is free
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
        variations = self._keep_variations(job_id, provider, status, directory)
        info = {"format": audio.format, "size": audio.size, "duration": audio.duration,
                "analysis": self._look_at(job, Path(audio.path))}
        with self._lock:
            job = self._jobs[job_id]
            files = {**job.files, "audio": str(audio.path)}
            if job.state == JobState.CANCELLED:
                message = (
                    f"Cancelled after it was sent; the paid result was still downloaded to {audio.path}."
                )
                self._update(job_id, files=files, audio_info=info, note=message,
                             event=EventKind.PAID_RESULT_KEPT, message=message)
                return
            warnings = list(job.warnings) + [text for text in (moved, variations) if text]
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

    def _keep_variations(self, job_id: str, provider: Provider, status: TaskStatus, directory: Path) -> str:
        """Further outputs of one request land as ready takes of the job's group (core/extra_takes.py)."""
        urls = extra_outputs(provider, status)
        job = self._snapshot(job_id)
        if not urls:
            return ""
        if job.parent_id:
            return skipped_warning(len(urls))
        group, takes = take_jobs(job, urls, provider.download, lambda take: self._audio_stem(directory, take),
                                 self._clock())
        with self._lock:
            if not job.group_id:
                self._update(job_id, group_id=group)
            for take in takes:
                self._ownership.claim(take.id, new=True)
                self._save(take, EventKind.READY)
        return ""

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
        self._save(first)
        self._save(tail)
        self._save(parent)
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

    def _answer_goes_to(
        self, job_id: str, provider: Provider, request: GenerationRequest
    ) -> GenerationRequest:
        """A provider whose answer IS the paid audio writes it where the download would put it."""
        if not provider.answer_is_audio:
            return request
        job = self._snapshot(job_id)
        return with_answer_stem(request, self._audio_stem(self._audio_folder(job)[0], job))

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
