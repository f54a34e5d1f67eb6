"""Waiting for a vendor task: the poll schedule and the one poll loop (the engine and the CLI).

``poll_until_done`` asks the provider for the task's status on a growing schedule until
it succeeds, fails, or the deadline passes. Its callers differ only in how they wait and
what they tell the user: the engine (core/job_steps.py) waits through its own pause (which
ends at shutdown) and paces each poll by the vendor account; the CLI's one-shot path
(providers/one_shot.py) waits on the Cancel event and prints progress.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .base import Provider, TaskState, TaskStatus, VendorTask
from .deadline import request_deadline
from .errors import FoleyError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollSchedule:
    """Poll every ``initial`` s ``steady`` times, then ×``factor`` up to ``maximum`` s; give up after
    ``deadline`` s.

    Short tasks are common (text-to-audio and short shots finish in a few seconds), and a result
    found 1.75 s late per task costs a batch of 3-slot rounds that much per round: so the first
    five polls come a second apart. The default then makes 13 status requests in the first minute
    and at most 6 a minute after (issue 9: at most 15 a minute of latency).
    """

    initial: float = 1.0
    factor: float = 1.5
    maximum: float = 10.0
    deadline: float = 30 * 60.0
    steady: int = 5

    def delays(self) -> Iterator[float]:
        for _ in range(max(0, self.steady - 1)):
            yield self.initial
        delay = self.initial
        while True:
            yield delay
            delay = min(delay * self.factor, self.maximum)


#: The schedule of an engine or a CLI run that is given none. Only tests replace it (with a
#: faster one, so a pipeline test does not wait a real second per job); the product never does.
DEFAULT_POLL_SCHEDULE = PollSchedule()


def default_schedule() -> PollSchedule:
    return DEFAULT_POLL_SCHEDULE


def _nothing(*_args: object) -> None:
    pass


@dataclass(frozen=True)
class PollWatch:
    """What the loop tells its caller; any of these may raise to stop the loop.

    ``before_poll()`` runs before each status request (the engine's account pacing);
    ``on_answer(status)`` after each answer, FAILED and SUCCEEDED included;
    ``on_error(error)`` after a retryable error that the loop will try again.
    """

    before_poll: Callable[[], None] = _nothing
    on_answer: Callable[[TaskStatus], None] = _nothing
    on_error: Callable[[FoleyError], None] = _nothing


def poll_until_done(
    provider: Provider,
    task: VendorTask,
    *,
    first_delay: float,
    deadline_s: float,
    delays: Iterator[float],
    pause: Callable[[float], None],
    timed_out: Callable[[], FoleyError],
    watch: PollWatch | None = None,
    max_failures: int | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> TaskStatus:
    """Poll ``task`` until it succeeds; raise its failure, ``timed_out()`` or what a callback raised.

    Waits ``first_delay`` s, then each of ``delays`` between polls, never past ``deadline_s``
    (counted from now on ``monotonic``); ``pause`` does the waiting (it may raise: cancel,
    shutdown). Every status request is bounded by the time left. A retryable error is tried
    again - ``max_failures`` times in a row at most, when given; the task is already paid.
    """
    hear = watch or PollWatch()
    deadline = monotonic() + deadline_s
    delay = first_delay
    failures = 0
    released = False  # the clip's upload (an S3 object) is deleted once the task left the queue
    while True:
        pause(max(0.0, min(delay, deadline - monotonic())))
        hear.before_poll()
        try:
            # a slow (trickling) answer must not outlive the loop's own deadline
            with request_deadline(max(0.0, deadline - monotonic())):
                status = provider.poll(task)
        except FoleyError as exc:
            failures += 1
            if not exc.retryable or (max_failures is not None and failures > max_failures):
                raise
            log.info("Poll of %s task %s failed, will retry: %s", provider.info.label, task.task_id, exc)
            hear.on_error(exc)
        else:
            failures = 0
            if status.state is not TaskState.PENDING and not released:
                released = True
                provider.release_clip(task)  # the vendor has the clip now
            hear.on_answer(status)
            if status.state is TaskState.SUCCEEDED:
                return status
            if status.state is TaskState.FAILED:
                raise provider.failure_error(status)
        if monotonic() >= deadline:
            raise timed_out()
        delay = next(delays)
