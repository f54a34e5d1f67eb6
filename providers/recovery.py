"""After a paid submit's answer was lost: look for the task, never send the request again.

A lost answer (read timeout, connection closed or reset after sending, HTTP 500/502/504)
says nothing about the task: the vendor may have made it and be charging for it. Only a
vendor that can find a task by a client-chosen id (Kling's ``external_task_id``) can be
asked; "not found yet" proves nothing (a lagging backend is normal), so the lookup keeps
trying on a growing schedule for several minutes, and when it still finds nothing the job
ends with a sentence that says the task *may have been charged*, what to look for and where.
The other vendors cannot be asked at all: their sentence says so at once.

The waits are the caller's ``sleep`` (the engine's, which stops at shutdown, or the CLI's,
which stops on Ctrl+C), so tests drive the whole schedule with a fake clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .base import GenerationRequest, Provider, ProviderInfo, VendorTask
from .errors import FoleyError, SubmitUncertainError

log = logging.getLogger(__name__)

#: Where a user can see the tasks an account made, per vendor (the sentence names it).
WHERE_TO_CHECK: dict[str, str] = {
    "kling": "the Kling AI developer console (its API task list and resource-pack usage)",
    "wavespeed": "the prediction history of your WaveSpeed dashboard (wavespeed.ai)",
    "vidu": "the task and credit history of your Vidu platform account (platform.vidu.com)",
    "flexstack": "the task history of your FlexStack account",
    "elevenlabs": "the usage and history pages of your ElevenLabs account (elevenlabs.io)",
    "fal": "the request history of your fal.ai dashboard (fal.ai/dashboard/requests)",
}


@dataclass(frozen=True)
class LookupSchedule:
    """Waits before each lookup: ``first`` s growing ×``factor`` up to ``maximum``, for ``window`` s.

    The defaults make 13 lookups over about five minutes (2, 4, 8, 16, 30, 30 ... s).
    """

    first: float = 2.0
    factor: float = 2.0
    maximum: float = 30.0
    window: float = 300.0

    def delays(self) -> Iterator[float]:
        """The waits, ending once they add up to ``window`` (always at least one lookup)."""
        delay, waited = max(0.0, self.first), 0.0
        while True:
            yield delay
            waited += delay
            if waited >= self.window:
                return
            delay = min(self.maximum, max(delay * self.factor, 1e-3))

    @property
    def minutes(self) -> float:
        return self.window / 60.0


def schedule_for(provider: Provider) -> LookupSchedule:
    """The provider's own schedule when it has one (Kling's follows its tuning), else the default."""
    schedule = getattr(provider, "lookup_schedule", None)
    return schedule if isinstance(schedule, LookupSchedule) else LookupSchedule()


def can_look_up(provider: Provider, key: str) -> bool:
    return bool(key) and provider.supports_recovery


def find_lost_task(
    provider: Provider,
    request: GenerationRequest,
    key: str,
    *,
    sleep: Callable[[float], object],
    schedule: LookupSchedule | None = None,
    on_miss: Callable[[int, float], None] | None = None,
) -> VendorTask | None:
    """The task an unanswered submit created, looked up by ``key`` until the schedule ends.

    None when it was not found: that is NOT proof that no task exists. ``sleep`` may raise to
    stop early (shutdown, cancel). A lookup that fails with a retryable error (network, 5xx) is
    tried again at the next step; a non-retryable one (credentials) ends the search.
    ``on_miss(lookups_so_far, seconds_waited)`` is told after each miss (progress for the job).
    """
    if not can_look_up(provider, key):
        return None
    waited = 0.0
    for number, delay in enumerate((schedule or schedule_for(provider)).delays(), 1):
        sleep(delay)
        waited += delay
        try:
            task = provider.recover_submit(request, key)
        except FoleyError as exc:
            log.info("Looking up %s task %s failed (%s)", provider.info.label, key, exc)
            if not exc.retryable:
                return None
            task = None
        except Exception:  # an answer we cannot read is a miss, not the end of the search
            log.warning("Looking up %s task %s raised", provider.info.label, key, exc_info=True)
            task = None
        if task is not None:
            log.info(
                "%s task %s found by its id %s after %d lookups",
                provider.info.label,
                task.task_id,
                key,
                number,
            )
            return task
        if on_miss is not None:
            on_miss(number, waited)
    return None


def reason_of(error: BaseException, label: str) -> str:
    """What happened, without advice: the first half of the *may have been charged* sentence."""
    if isinstance(error, SubmitUncertainError):
        return error.what
    if isinstance(error, FoleyError):
        return str(error)
    return f"The request to {label} failed ({type(error).__name__}: {error})"


def may_have_been_charged(
    info: ProviderInfo, reason: str, key: str = "", *, looked_minutes: float | None = None
) -> SubmitUncertainError:
    """The sentence a job ends with when a submit's fate is unknown: what happened, what was done,
    what to check and where."""
    where = WHERE_TO_CHECK.get(info.vendor, f"the task history of your {info.vendor} account")
    what = reason.strip().rstrip(".")
    if key:
        looked = f" for {looked_minutes:g} minutes" if looked_minutes else ""
        message = (
            f"{what}. It was not sent again, and {info.label} has not shown a task with the external id "
            f"{key} when asked{looked}, so a paid task may have been charged. Look for external_task_id "
            f"{key} in {where}; Retry keeps looking (it never sends it again), Generate starts a new, paid "
            "task."
        )
    else:
        message = (
            f"{what}. The request may have reached {info.label}, so a paid task may have been charged (or "
            f"may be charged when it finishes); it was not sent again, because {info.label} offers no way "
            f"to look a task up by an id we chose. Check {where} before generating again, to avoid "
            "paying twice (Retry sends it again as a new, paid task)."
        )
    return SubmitUncertainError(message, external_task_id=key or None)
