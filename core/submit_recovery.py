"""The job engine's rule for a paid submit whose answer was lost: find the task, never resend.

The engine calls ``lost_submit_task`` when ``Provider.submit`` raised anything that does not
prove the vendor created nothing (``providers.errors.proves_no_task``), and when a job whose
submit may have left is resumed from the ledger or retried. The task is looked up by the
job's ``submit_key`` (Kling's ``external_task_id``) on the provider's lookup schedule, with
the engine's own sleep (it stops at shutdown); when it is not found, the job fails with the
*may have been charged* sentence and keeps its key, so Retry and the next start of Blender
look again. A vendor without a lookup key cannot be asked: the sentence says so at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from ..providers.base import GenerationRequest, Provider, VendorTask
from ..providers.errors import SubmitUncertainError
from ..providers.recovery import can_look_up, find_lost_task, may_have_been_charged, schedule_for
from .jobs import Job, JobState

log = logging.getLogger(__name__)

#: A lost submit is looked for again at each start of Blender for this long after it was sent.
#: Kling keeps tasks and their files 30 days; a task that has not shown up after a day of
#: restarts will not, and the job's sentence already says where to look by hand.
KEEP_LOOKING_S = 24 * 3600.0


def lost_submit_task(
    provider: Provider,
    request: GenerationRequest,
    key: str,
    reason: str,
    *,
    sleep: Callable[[float], object],
    on_miss: Callable[[int, float], None] | None = None,
) -> VendorTask:
    """The task the unanswered submit created, or SubmitUncertainError (*may have been charged*)."""
    info = provider.info
    if not can_look_up(provider, key):
        raise may_have_been_charged(info, reason)
    schedule = schedule_for(provider)
    task = find_lost_task(provider, request, key, sleep=sleep, schedule=schedule, on_miss=on_miss)
    if task is None:
        raise may_have_been_charged(info, reason, key, looked_minutes=schedule.minutes)
    return task


_FAILED = JobState.FAILED.value


def may_keep_looking(record: Mapping[str, Any]) -> bool:
    """A cheap look at a stored record: could ``keeps_looking`` be true for its job?"""
    return (record.get("state") == _FAILED and bool(record.get("submit_key"))
            and bool(record.get("submit_attempted")) and not record.get("vendor_task"))


def keeps_looking(job: Job, now: float) -> bool:
    """A failed job whose lost submit can still be looked up by its key (resumed at start-up)."""
    if job.state != JobState.FAILED or job.task is not None or not job.submit_attempted:
        return False
    if not job.submit_key or job.is_chunked or job.error_kind != SubmitUncertainError.__name__:
        return False
    sent = job.timings.get(JobState.SUBMITTED.value, job.updated_at)
    return now - sent <= KEEP_LOOKING_S
