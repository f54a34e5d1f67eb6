"""Cancel at the vendor: a job cancelled after its task was accepted asks the vendor to drop it.

Most vendors cannot recall a task, so a cancelled job keeps polling and fetches the paid
result. fal.ai can cancel a request that is still in its queue (``Provider.cancel_remote``):
then nothing is charged and the job stops polling. The request goes out on a short
thread of its own, never on the main thread (Cancel is clicked there), and right away,
not at the worker's next poll: every second counts before the vendor starts the task.

Also here: a pending task's place in the vendor's queue ("3rd in fal.ai's queue",
``TaskStatus.message``) becomes the job's note while it waits.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from .jobs import Job, JobState

if TYPE_CHECKING:
    from .engine_parts import EngineParts as JobEngine

log = logging.getLogger(__name__)

#: a recall in flight, by job id: the job's poll waits for its answer (a poll in between would see
#: the request cancelled at the vendor and take it for a failure)
_RECALLS: dict[str, threading.Event] = {}
_RECALLS_LOCK = threading.Lock()
#: the longest a poll waits for the vendor's answer to the recall (its HTTP call is bounded anyway)
RECALL_WAIT_S = 180.0


def start(engine: JobEngine, job: Job) -> threading.Thread | None:
    """Ask the vendor to cancel ``job``'s task on a thread of its own (called with the engine's lock held)."""
    task = job.task
    if task is None:
        return None
    thread = threading.Thread(
        target=_recall,
        args=(engine, job.id, job.provider_id, task),
        name=f"foley-recall-{job.id}",
        daemon=True,
    )
    thread.start()
    return thread


def _recall(engine: JobEngine, job_id: str, provider_id: str, task: object) -> None:
    try:
        provider = engine._provider_factory(provider_id)
    except Exception:  # an unknown provider cannot be asked; the job fetches its result as before
        log.debug("No provider to recall job %s", job_id, exc_info=True)
        return
    try:
        confirmed = provider.cancel_remote(task)  # type: ignore[arg-type]
    except Exception:
        log.warning("Asking %s to cancel job %s failed", provider_id, job_id, exc_info=True)
        confirmed = False
    finally:
        provider.close()
    if not confirmed:
        return
    label = provider.info.label
    with engine._lock:
        job = engine._jobs.get(job_id)
        if job is None or job.state != JobState.CANCELLED or not job.keep_result:
            return
        engine._update(
            job_id,
            note=f"Cancelled at {label} before it started: nothing will be charged and no result is fetched.",
            keep_result=False,
        )
        engine._changed.notify_all()


def stop_if_recalled(engine: JobEngine, job_id: str) -> None:
    """In the poll loop: wait for a recall in flight; a job whose task the vendor dropped polls no more."""
    from .scheduling import _AbandonedError

    with _RECALLS_LOCK:
        recall = _RECALLS.get(job_id)
    if recall is not None:
        recall.wait(RECALL_WAIT_S)
        with _RECALLS_LOCK:
            _RECALLS.pop(job_id, None)
    with engine._lock:
        job = engine._jobs[job_id]
        recalled = job.state == JobState.CANCELLED and not job.keep_result
    if recalled:
        raise _AbandonedError


#: ``Job.extra`` key of the queue note shown, so it is cleared (and only it) once the task is done
QUEUE_NOTE = "queue_note"


def note_queue_place(engine: JobEngine, job_id: str, where: str) -> None:
    """A waiting task's place in the vendor's queue becomes the job's note; "" clears a note shown so.

    Not for a cancelled job (its note says what happens to the paid result).
    """
    with engine._lock:
        job = engine._jobs[job_id]
        shown = str(job.extra.get(QUEUE_NOTE, ""))
        if job.state not in (JobState.SUBMITTED, JobState.GENERATING) or where == shown:
            return
        updated = job.copy()
        extra = dict(job.extra)
        if where:
            updated.note, extra[QUEUE_NOTE] = where, where
        else:
            if job.note == shown:
                updated.note = ""
            extra.pop(QUEUE_NOTE, None)
        updated.extra = extra
        engine._jobs[job_id] = updated  # like progress: shown, not worth an fsync
        engine._publish(updated)
