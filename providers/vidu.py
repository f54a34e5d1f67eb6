"""Vidu audio1.0: text to audio and timed sound events (no video input).

``POST /ent/v2/text2audio`` or ``/ent/v2/timing2audio`` with
``Authorization: Token <key>``; ``GET /ent/v2/tasks/{id}/creations`` until the
state is ``success`` or ``failed``. Seed 0 or absent means random.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import requests
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .base import GenerationRequest, TaskState, TaskStatus, VendorTask
from .catalog import INFOS, SEED_MAX
from .errors import (
    AuthError,
    CreditsError,
    FoleyError,
    InputError,
    ModerationError,
    TaskFailedError,
    VendorBusyError,
    VendorUnavailableError,
)
from .http import (
    answer_lost,
    json_body,
    path_segment,
    safe_url,
    task_gone,
    uncertain_answer,
    with_retry_after,
)
from .settings import PREFS_PATH, FoleySettings, ViduSettings
from .vendor_client import VendorClient, VendorInput, build_input, first_str, json_number

log = logging.getLogger(__name__)

#: seconds sent to Vidu are frame-exact (23.976 fps frames are not whole milliseconds)
SECONDS_PLACES = 6

_STATES = {
    "created": TaskState.PENDING,
    "queueing": TaskState.PENDING,
    "processing": TaskState.RUNNING,
    "success": TaskState.SUCCEEDED,
    "failed": TaskState.FAILED,
}
_CREDIT_REASONS = ("creditinsufficient", "insufficient")
_POLICY_REASONS = ("policy", "violation", "audit", "sensitive")
# QuotaExceeded is "Exceeded concurrency limit" (Vidu's error page), not out of credits: wait.
_RATE_REASONS = ("quotaexceeded", "toomanyrequests", "systemthrottling", "throttl")


class TimingPrompt(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: float = Field(alias="from", ge=0.0)
    end: float = Field(alias="to", ge=0.0)
    prompt: str = Field(min_length=1, max_length=1500)

    @model_validator(mode="after")
    def _ordered(self) -> TimingPrompt:
        if self.start >= self.end:
            raise ValueError(
                f"a sound event must end after it starts (from {self.start:g} s to {self.end:g} s)"
            )
        return self


class TextToAudioInput(VendorInput):
    model: Literal["audio1.0"] = "audio1.0"
    prompt: str = Field(min_length=1, max_length=1500)
    duration: float = Field(10.0, ge=2.0, le=10.0)
    seed: int | None = Field(None, ge=0, le=SEED_MAX)


class TimingToAudioInput(VendorInput):
    model: Literal["audio1.0"] = "audio1.0"
    duration: float = Field(10.0, ge=2.0, le=10.0)
    timing_prompts: list[TimingPrompt] = Field(min_length=1)
    seed: int | None = Field(None, ge=0, le=SEED_MAX)

    @model_validator(mode="after")
    def _within_duration(self) -> TimingToAudioInput:
        for number, event in enumerate(self.timing_prompts, 1):
            if event.end > self.duration + 1e-6:
                raise ValueError(
                    f"sound event #{number} ends at {event.end:g} s, after the {self.duration:g} s duration"
                )
        return self


def _seed(seed: int) -> int | None:
    """Our -1 (random) becomes "absent"; Vidu also treats 0 as random."""
    return None if seed in (-1, 0) else seed


def vidu_error(status: int, body: Any, redact: Any, action: str) -> FoleyError:  # noqa: PLR0911 - one exit per documented reason
    """Map Vidu's HTTP status and code/reason/err_code to an error with a sentence."""
    reason = first_str(body, "reason", "err_code", "code", "error")
    message = redact(first_str(body, "message", "msg", "detail"))[:300]
    detail = ", ".join(part for part in (reason, message) if part)
    detail = f" ({redact(detail)})" if detail else ""
    lowered = reason.lower().replace("_", "")
    # the code reaches the job's note (ledger, UI): only a short token, redacted, never vendor prose
    code = redact(reason)[:40]
    vendor_code: str | int = code if code and code.replace("_", "").isalnum() else status
    if status == 401 or lowered in ("unauthorized", "unauthenticated"):
        return AuthError(
            f"Vidu rejected the API key{detail}. Check VIDU_API_KEY or {PREFS_PATH} ▸ Vidu API key, and the "
            "region (vidu.com or vidu.cn).",
            vendor_code=vendor_code,
        )
    if any(word in lowered for word in _CREDIT_REASONS):
        return CreditsError(
            f"The Vidu account has no credits left{detail}. Top it up and try again.", vendor_code=vendor_code
        )
    if any(word in lowered for word in _POLICY_REASONS):
        return ModerationError(
            f"Vidu refused the prompt on policy grounds{detail}. Change the prompt.", vendor_code=vendor_code
        )
    if status == 429 or any(word in lowered for word in _RATE_REASONS):
        return VendorBusyError(
            f"Vidu is busy for this account (too many tasks at once or too many requests){detail}; nothing "
            "was created. The job waits for a free slot and sends it again.",
            vendor_code=vendor_code,
        )
    if status == 403:
        return AuthError(
            f"Vidu refused access{detail}. Check the API key's permissions in the Vidu console.",
            vendor_code=vendor_code,
        )
    if status == 404 or lowered == "tasknotfound":
        return TaskFailedError(
            f"Vidu does not know this task{detail}; it may have expired. Generate again.",
            vendor_code=vendor_code,
        )
    if status == 400 or lowered.startswith(("field", "badrequest")):
        return InputError(
            f"Vidu rejected the request{detail}. Fix that input and try again.", vendor_code=vendor_code
        )
    if status >= 500:
        return VendorUnavailableError(
            f"Vidu had a server error while {action}{detail}. Try again later.", vendor_code=vendor_code
        )
    return VendorUnavailableError(
        f"Vidu gave an unexpected answer (HTTP {status}) while {action}{detail}.", vendor_code=vendor_code
    )


def _refused_submit(response: requests.Response) -> bool:
    """429 (QuotaExceeded = over the concurrency limit, TooManyRequests, SystemThrottling): no task
    was created. A 503 is not a refusal (Vidu documents no code for it; issue 9): the task may exist."""
    return response.status_code == 429


def _retry_poll(response: requests.Response) -> bool:
    return response.status_code in (429, 500, 502, 503, 504)


class ViduAudio(VendorClient):
    """Shared protocol of the two Vidu audio endpoints."""

    endpoint: ClassVar[str]

    def __init__(self, settings: FoleySettings) -> None:
        super().__init__(settings)
        self.vidu: ViduSettings = settings.vidu

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.vidu.require_key()}"}

    def payload(self, request: GenerationRequest) -> dict[str, Any]:
        raise NotImplementedError

    def validate(self, request: GenerationRequest) -> None:
        self.vidu.require_key()
        if request.seed < -1:
            raise InputError(
                f"{self.info.label}: the seed must be -1 (random) or 0–{SEED_MAX}; nothing was sent."
            )
        self.payload(request)

    def upload_clip(self, request: GenerationRequest, cancel: threading.Event | None = None) -> str | None:
        return None  # Vidu's audio endpoints take no video

    def submit(
        self, request: GenerationRequest, clip_url: str | None, cancel: threading.Event | None = None
    ) -> VendorTask:
        payload = self.payload(request)
        response = self.http.submit(
            f"{self.base_url}{self.endpoint}",
            headers=self._headers(),
            json=payload,
            refused_response=_refused_submit,
            cancel=cancel,
        )
        body = json_body(response)
        if answer_lost(response.status_code):
            raise uncertain_answer("Vidu", response.status_code)
        if response.status_code != 200:
            raise with_retry_after(
                vidu_error(response.status_code, body, self.http.redact, "starting the task"), response
            )
        task_id = first_str(body, "task_id", "id")
        if not task_id:
            raise uncertain_answer("Vidu", response.status_code)
        log.info("Vidu %s task %s created", self.endpoint, task_id)
        return VendorTask(task_id, {"endpoint": self.endpoint})

    def poll(self, task: VendorTask) -> TaskStatus:
        response = self.http.request(
            "GET",
            f"{self.base_url}/ent/v2/tasks/{path_segment(task.task_id)}/creations",
            headers=self._headers(),
            retry_response=_retry_poll,
        )
        body = json_body(response)
        if response.status_code == 404:
            raise task_gone("Vidu", task.task_id)
        if response.status_code != 200 or not isinstance(body, Mapping):
            raise with_retry_after(
                vidu_error(response.status_code, body, self.http.redact, "checking the task"), response
            )
        raw_state = first_str(body, "state").lower()
        state = _STATES.get(raw_state)
        if state is None:
            log.warning("Vidu task %s has unknown state %r; treating it as running", task.task_id, raw_state)
            state = TaskState.RUNNING
        if state is TaskState.FAILED:
            code = self.http.redact(first_str(body, "err_code", "reason", "code"))
            message = self.http.redact(first_str(body, "message", "err_msg"))
            reason = ", ".join(part for part in (code, message) if part) or "no reason given"
            return TaskStatus(
                TaskState.FAILED,
                message=f"Vidu reported the task failed ({reason}). Change the prompt or try again.",
                vendor_code=code or None,
            )
        if state is TaskState.SUCCEEDED:
            creations = body.get("creations")
            urls = tuple(
                url
                for item in (creations if isinstance(creations, list) else [])
                if (url := first_str(item, "url"))
            )
            if not urls:
                return TaskStatus(TaskState.RUNNING)
            log.info("Vidu task %s succeeded: %s", task.task_id, ", ".join(safe_url(u) for u in urls))
            return TaskStatus(TaskState.SUCCEEDED, audio_urls=urls, progress=1.0)
        return TaskStatus(state)

    def failure_error(self, status: TaskStatus) -> FoleyError:
        code = str(status.vendor_code or "").lower()
        if any(word in code for word in _POLICY_REASONS):
            return ModerationError(status.message, vendor_code=status.vendor_code)
        if any(word in code for word in _CREDIT_REASONS):
            return CreditsError(status.message, vendor_code=status.vendor_code)
        return TaskFailedError(status.message, vendor_code=status.vendor_code)


class ViduTextToAudio(ViduAudio):
    info = INFOS["vidu.text2audio"]
    endpoint = "/ent/v2/text2audio"

    def payload(self, request: GenerationRequest) -> dict[str, Any]:
        values = {
            "prompt": request.prompt.strip(),
            "duration": json_number(request.duration, SECONDS_PLACES),
            "seed": _seed(request.seed),
        }
        return build_input(TextToAudioInput, self.info.label, values, {"prompt": "the prompt"}).model_dump(
            exclude_none=True
        )


class ViduTimingToAudio(ViduAudio):
    info = INFOS["vidu.timing2audio"]
    endpoint = "/ent/v2/timing2audio"

    def payload(self, request: GenerationRequest) -> dict[str, Any]:
        if not request.events:
            raise InputError(
                f"{self.info.label} needs at least one timed sound event; add one and try again."
            )
        values = {
            "duration": json_number(request.duration, SECONDS_PLACES),
            "timing_prompts": [
                {
                    "from": json_number(event.start, SECONDS_PLACES),
                    "to": json_number(event.end, SECONDS_PLACES),
                    "prompt": event.prompt.strip(),
                }
                for event in request.events
            ],
            "seed": _seed(request.seed),
        }
        labels = {"timing_prompts": "sound event", "from": "start", "to": "end", "prompt": "prompt"}
        model = build_input(TimingToAudioInput, self.info.label, values, labels)
        return model.model_dump(exclude_none=True, by_alias=True)
