"""Per-account limits of the emulated vendors: tasks running at once, enforced the unkind way.

One key is one account, so every model of a vendor shares its count. A task is
*running* from the accepted submit until a poll sees it finished. A submit that
would go over the account's limit is refused with the vendor's "busy" answer
(WaveSpeed 429 + Retry-After, Kling 429/1303, Vidu 429 QuotaExceeded, FlexStack
429) and no task is made. WaveSpeed's document says excess tasks *wait*; refusing
is the unkinder reading, because the client must then wait and send again itself.

Tests read ``running``, ``peak_demand`` (the most tasks the client ever tried to
have at once: accepted ones plus the refused attempt) and ``busy_refusals``.
The ``busy`` fault answers one submit with the same refusal whatever the count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import kling, vidu, wavespeed
from .wire import Reply, json_reply

#: Tasks at once per account (vendors.md): WaveSpeed default tier 3, Vidu 5 per organisation.
#: Kling and FlexStack document no number: not enforced unless a test sets one.
DEFAULT_ACCOUNT_LIMITS: dict[str, int | None] = {
    "wavespeed": 3, "vidu": 5, "kling": None, "flexstack": None, "elevenlabs": None,
    "fal": None,  # fal queues what is over the account's limit; it never refuses for it
}


def busy_reply(vendor: str, retry_after: float | None = None) -> Reply:
    """The vendor's documented "over the concurrency limit" refusal (no task was created)."""
    if vendor == "kling":
        reply = kling._error(429, 1303, "Parallel task over resource pack limit")
    elif vendor == "vidu":
        reply = vidu._error(429, "QuotaExceeded", "Exceeded concurrency limit")
    elif vendor == "elevenlabs":
        from .elevenlabs import busy_refusal

        reply = busy_refusal()
    elif vendor == "wavespeed":
        reply = wavespeed._envelope(
            429, 429, "Too many concurrent tasks for this API key, please retry later"
        )
    elif vendor == "fal":
        reply = json_reply(429, {"detail": "Too many requests"})
    else:
        reply = json_reply(429, {"data": None, "errors": ["Too many requests"], "error_description": "busy"})
    if retry_after is not None:
        reply.headers["Retry-After"] = (
            str(int(retry_after)) if float(retry_after).is_integer() else f"{retry_after:g}"
        )
    return reply


@dataclass
class AccountGauge:
    """Counts per vendor account, kept under the emulator's lock."""

    limits: dict[str, int | None] = field(default_factory=lambda: dict(DEFAULT_ACCOUNT_LIMITS))
    peak_demand: dict[str, int] = field(default_factory=dict)
    busy_refusals: dict[str, int] = field(default_factory=dict)
    #: Retry-After sent with a refusal over the limit (seconds; None: no header)
    retry_after: float | None = 1.0

    def admit(self, vendor: str, running: int) -> Reply | None:
        """None when one more task may start; else the refusal to answer with."""
        demand = running + 1
        self.peak_demand[vendor] = max(self.peak_demand.get(vendor, 0), demand)
        limit = self.limits.get(vendor)
        if limit is not None and demand > limit:
            self.busy_refusals[vendor] = self.busy_refusals.get(vendor, 0) + 1
            return busy_reply(vendor, self.retry_after)
        return None

    def reset(self) -> None:
        """Counts forgotten, limits back to the documented defaults."""
        self.limits = dict(DEFAULT_ACCOUNT_LIMITS)
        self.retry_after = 1.0
        self.peak_demand.clear()
        self.busy_refusals.clear()


def running_count(tasks: Any, vendor: str) -> int:
    return sum(1 for task in tasks if task.vendor == vendor and task.phase not in ("succeeded", "failed"))
