"""One generation, start to end, in the calling thread: validate → upload → submit → poll → download.

The CLI's one-shot path (``python -m vse_foley.cli generate``) and the provider tests. The
job engine runs the same steps one at a time on worker threads (so it can save the task in
its ledger and resume after a restart); both poll with ``providers.polling.poll_until_done``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .base import AudioFile, GenerationRequest, Provider, TaskState, TaskStatus, VendorTask, with_answer_stem
from .errors import CancelledError, FoleyError, TimeoutExceededError, proves_no_task
from .polling import PollSchedule, PollWatch, default_schedule, poll_until_done
from .recovery import can_look_up, find_lost_task, may_have_been_charged, reason_of, schedule_for
from .vendor_client import VendorClient

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str], None]

#: A returned length this far from the asked one is reported (the engine conforms it).
LENGTH_TOLERANCE = 0.25


def _noop(_message: str) -> None:
    pass


def wait_for_result(
    provider: Provider,
    task: VendorTask,
    *,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    deadline_s: float = 1800.0,
    schedule: PollSchedule | None = None,
    max_poll_failures: int = 3,
) -> TaskStatus:
    """Poll on the growing schedule until the task succeeds; raise its error, a timeout or a cancel."""
    say = on_progress or _noop
    label = provider.info.label
    last_state: list[TaskState] = []

    def pause(seconds: float) -> None:
        if cancel is None:
            time.sleep(seconds)
        elif cancel.wait(seconds):
            raise CancelledError(
                f"Cancelled while waiting; the {label} task {task.task_id} may still finish and be charged."
            )

    def on_answer(status: TaskStatus) -> None:
        if not last_state or status.state is not last_state[-1]:
            say(f"{label}: {status.state.value}")
            last_state[:] = [status.state]

    def on_error(exc: FoleyError) -> None:
        say(f"{label}: status check failed ({exc}); trying again")

    def timed_out() -> FoleyError:
        return TimeoutExceededError(
            f"{label} did not finish task {task.task_id} within {deadline_s:.0f} s. It may still finish; "
            "try again later or raise the time limit."
        )

    delays = (schedule or default_schedule()).delays()
    return poll_until_done(
        provider, task, first_delay=next(delays), deadline_s=deadline_s, delays=delays, pause=pause,
        timed_out=timed_out, max_failures=max_poll_failures,
        watch=PollWatch(on_answer=on_answer, on_error=on_error),
    )


def submit_once(
    provider: Provider,
    request: GenerationRequest,
    clip_url: str | None,
    *,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    sleep: Callable[[float], object] | None = None,
) -> VendorTask:
    """``provider.submit``, sent once; a lost answer is looked up by its key, never sent again.

    Raises SubmitUncertainError with the *may have been charged* sentence when the task cannot
    be found (or the vendor cannot be asked).
    """
    say = on_progress or _noop
    info = provider.info
    try:
        return provider.submit(request, clip_url, cancel)
    except FoleyError as exc:
        if proves_no_task(exc):
            raise
        error: Exception = exc
    except Exception as exc:  # no answer we understand: it may have arrived
        log.exception("%s submit raised", info.label)
        error = exc
    key = str(getattr(error, "external_task_id", "") or request.options.get("external_task_id") or "")
    reason = reason_of(error, info.label)
    lookup = schedule_for(provider)

    def wait(seconds: float) -> None:
        if sleep is not None:
            sleep(seconds)
        elif cancel is None:
            time.sleep(seconds)
        if cancel is not None and (cancel.is_set() or (sleep is None and cancel.wait(seconds))):
            raise CancelledError(
                f"Cancelled while looking for the {info.label} task {key}; it was not sent again and may "
                "have been charged."
            )

    def missed(lookups: int, waited: float) -> None:
        say(f"{info.label}: task {key} not found yet ({lookups} lookups in {waited:.0f} s); still looking")

    if can_look_up(provider, key):
        say(f"{info.label}: the answer was lost; looking the task up by its id {key} (it is never resent)")
        found = find_lost_task(provider, request, key, sleep=wait, schedule=lookup, on_miss=missed)
        if found is not None:
            say(f"{info.label}: task {found.task_id} found by its id {key}")
            return found
        raise may_have_been_charged(info, reason, key, looked_minutes=lookup.minutes) from None
    raise may_have_been_charged(info, reason) from None


def run_generation(
    provider: Provider,
    request: GenerationRequest,
    dest_stem: str | Path,
    *,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    deadline_s: float = 1800.0,
    schedule: PollSchedule | None = None,
    max_poll_failures: int = 3,
    sleep: Callable[[float], object] | None = None,
) -> AudioFile:
    """Generate and download one audio file to ``dest_stem`` + its real extension.

    ``deadline_s`` counts from the moment the vendor accepted the task. Polls
    that fail with a retryable error (after the HTTP layer's own retries) are
    tolerated ``max_poll_failures`` times in a row: the task is already paid.
    Raises a FoleyError subclass with a sentence on any failure. ``sleep`` (tests) replaces
    the waits while a lost submit is looked up.
    """
    say = on_progress or _noop
    label = provider.info.label

    def check_cancel(what: str) -> None:
        if cancel is not None and cancel.is_set():
            raise CancelledError(f"Cancelled {what}.")

    check_cancel("before starting; nothing was sent")
    say(f"{label}: checking the request")
    provider.validate(request)
    check_cancel("before uploading; nothing was sent")
    if provider.info.needs_video:
        say(f"{label}: uploading the clip")
    clip_url = provider.upload_clip(request, cancel)
    check_cancel("before starting the task; nothing was charged")
    say(f"{label}: starting the task")
    if provider.answer_is_audio:  # the answer is the paid audio itself: it is written straight to dest_stem
        request = with_answer_stem(request, Path(dest_stem))
    task = submit_once(provider, request, clip_url, on_progress=say, cancel=cancel, sleep=sleep)
    say(f"{label}: task {task.task_id} accepted; waiting for the result")
    status = wait_for_result(
        provider,
        task,
        on_progress=say,
        cancel=cancel,
        deadline_s=deadline_s,
        schedule=schedule,
        max_poll_failures=max_poll_failures,
    )
    say(f"{label}: downloading the result")
    if isinstance(provider, VendorClient):
        audio = provider.download(status, Path(dest_stem), cancel=cancel)
    else:
        audio = provider.download(status, Path(dest_stem))
    if audio.duration is not None and abs(audio.duration - request.duration) > LENGTH_TOLERANCE:
        say(
            f"{label}: warning: the audio lasts {audio.duration:.2f} s but {request.duration:.2f} s were "
            "asked for; it will be padded or trimmed to the range."
        )
    say(f"{label}: saved {audio.path.name} ({audio.format}, {audio.size} bytes)")
    return audio
