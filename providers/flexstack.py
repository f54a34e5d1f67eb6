"""FlexStack AudioGen / MusicGen: text to audio, with a pasted token or a username/password login.

``POST {base}/ai/audio_generation`` ``{prompt, configs:{model, duration, top_k, top_p}}``
answers ``{data:{task_id}, errors, error_description}``; ``GET
{base}/ai/audio_generation/{task_id}`` is polled. The result JSON is not
documented, so it is read tolerantly: the state from any ``status``/``state``/
``task_status`` key (Celery or REST words) and the audio from any http(s) URL
whose path ends in an audio extension.
"""

from __future__ import annotations

import base64
import logging
import math
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

import requests
from pydantic import Field

from .base import GenerationRequest, TaskState, TaskStatus, VendorTask
from .catalog import INFOS
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
from .settings import PREFS_PATH, FlexStackSettings, FoleySettings
from .vendor_client import VendorClient, VendorInput, build_input, first_str

log = logging.getLogger(__name__)

_STATUS_KEYS = ("status", "state", "task_status")
_STATES = {
    **dict.fromkeys(
        ("pending", "received", "queued", "queueing", "created", "submitted", "waiting"), TaskState.PENDING
    ),
    **dict.fromkeys(
        ("started", "progress", "processing", "running", "retry", "in_progress"), TaskState.RUNNING
    ),
    **dict.fromkeys(
        ("success", "succeeded", "succeed", "completed", "complete", "done", "finished"), TaskState.SUCCEEDED
    ),
    **dict.fromkeys(
        ("failure", "failed", "error", "revoked", "rejected", "cancelled", "canceled"), TaskState.FAILED
    ),
}
_AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg", ".m4a", ".aac", ".opus")
_REASON_KEYS = ("error_description", "exc_message", "error", "message", "errors", "detail", "reason")
_CREDENTIALS_HINT = (
    f"Check FLEXSTACK_ACCESS_TOKEN, or FLEXSTACK_USERNAME and FLEXSTACK_PASSWORD, or {PREFS_PATH} ▸ FlexStack"
)


class AudioGenConfigs(VendorInput):
    model: Literal["audiogen", "musicgen"] = "audiogen"
    duration: int = Field(5, ge=1, le=300)
    top_k: int = Field(15, ge=1, le=1000)
    top_p: float = Field(0.9, ge=0.0, le=1.0)


class AudioGenInput(VendorInput):
    prompt: str = Field(min_length=1)
    configs: AudioGenConfigs


def _walk(value: Any, depth: int = 0) -> Iterator[tuple[str, Any, int]]:
    """Every (key, value, depth) in nested dicts/lists, breadth first."""
    queue: deque[tuple[str, Any, int]] = deque([("", value, depth)])
    while queue:
        key, item, level = queue.popleft()
        if key:
            yield key, item, level
        if isinstance(item, Mapping):
            queue.extend((str(k), v, level + 1) for k, v in item.items())
        elif isinstance(item, list):
            queue.extend((key or "item", v, level + 1) for v in item)


def find_state(body: Any) -> TaskState | None:
    """The task state from the shallowest status/state/task_status key with a known word."""
    for key, value, _ in _walk(body):
        if key in _STATUS_KEYS and isinstance(value, str):
            state = _STATES.get(value.strip().lower())
            if state is not None:
                return state
    return None


def find_audio_urls(body: Any) -> tuple[str, ...]:
    """Every http(s) URL whose path ends in an audio extension (WAV first); shallowest first."""
    found: list[str] = []
    for _, value, _ in _walk(body):
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            path = urlsplit(value).path.lower()
            if path.endswith(_AUDIO_EXTENSIONS) and value not in found:
                found.append(value)
    return tuple(sorted(found, key=lambda url: not urlsplit(url).path.lower().endswith(".wav")))


def find_reason(body: Any) -> str:
    for key, value, _ in _walk(body):
        if key in _REASON_KEYS:
            if isinstance(value, str) and value.strip():
                return value.strip()
            if isinstance(value, list):
                texts = [str(item) for item in value if isinstance(item, str | int) and str(item).strip()]
                if texts:
                    return "; ".join(texts)
    return ""


def flexstack_error(status: int, body: Any, redact: Any, action: str) -> FoleyError:  # noqa: PLR0911 - one exit per vendor answer
    reason = redact(find_reason(body))[:300]
    detail = f" ({reason})" if reason else ""
    lowered = reason.lower()
    if status == 401:
        return AuthError(
            f"FlexStack rejected the credentials{detail}. {_CREDENTIALS_HINT}.", vendor_code=status
        )
    if status == 402 or "credit" in lowered or "balance" in lowered:
        return CreditsError(
            f"The FlexStack account has no credits left{detail}. Top it up and try again.", vendor_code=status
        )
    if "policy" in lowered or "moderat" in lowered or "nsfw" in lowered:
        return ModerationError(
            f"FlexStack refused the prompt on policy grounds{detail}. Change the prompt.", vendor_code=status
        )
    if status == 429:
        return VendorBusyError(
            f"FlexStack is busy for this account (too many requests){detail}; nothing was created. The job "
            "waits for a free slot and sends it again.",
            vendor_code=status,
        )
    if status == 403:
        return AuthError(f"FlexStack refused access{detail}. {_CREDENTIALS_HINT}.", vendor_code=status)
    if status == 404:
        return TaskFailedError(
            f"FlexStack does not know this task{detail}; it may have expired. Generate again.",
            vendor_code=status,
        )
    if status in (400, 422):
        return InputError(
            f"FlexStack rejected the request{detail}. Fix that input and try again.", vendor_code=status
        )
    if status >= 500:
        return VendorUnavailableError(
            f"FlexStack had a server error while {action}{detail}. Try again later.", vendor_code=status
        )
    return VendorUnavailableError(
        f"FlexStack gave an unexpected answer (HTTP {status}) while {action}{detail}.", vendor_code=status
    )


class FlexStackAudioGen(VendorClient):
    info = INFOS["flexstack.audiogen"]

    def __init__(self, settings: FoleySettings) -> None:
        super().__init__(settings)
        self.fs: FlexStackSettings = settings.flexstack
        self._access = self.fs.access_token.reveal()
        self._refresh = ""
        self._auth_lock = threading.Lock()

    # -- auth --------------------------------------------------------------------------------------

    def _remember(self, data: Any) -> bool:
        access = first_str(data, "access_token")
        if not access:
            return False
        self.http.redact.add(access)
        self._access = access
        self._refresh = first_str(data, "refresh_token")
        self.http.redact.add(self._refresh)
        return True

    def _login(self) -> None:
        if not self.fs.can_login:
            raise AuthError(
                f"FlexStack rejected the access token and no username/password is set. {_CREDENTIALS_HINT}."
            )
        basic = base64.b64encode(f"{self.fs.username}:{self.fs.password.reveal()}".encode()).decode()
        self.http.redact.add(basic)
        response = self.http.request(
            "POST", f"{self.base_url}/user/login", headers={"Authorization": f"Basic {basic}"}
        )
        body = json_body(response)
        if response.status_code == 401:
            raise AuthError(
                f"FlexStack rejected the username or password. {_CREDENTIALS_HINT}.", vendor_code=401
            )
        if response.status_code != 200 or not self._remember(
            body.get("data") if isinstance(body, Mapping) else None
        ):
            raise flexstack_error(response.status_code, body, self.http.redact, "logging in")
        log.info("FlexStack login succeeded")

    def _renew(self, rejected: str) -> None:
        """After a 401: refresh the token, else log in again (unless another thread already did)."""
        with self._auth_lock:
            if self._access and self._access != rejected:
                return
            if self._refresh:
                # As the official SDK does (flexstack/flexstackapi.py, ``refresh_token``): the form
                # field plus the current, rejected access token as ``Authorization: Bearer``.
                response = self.http.request(
                    "POST",
                    f"{self.base_url}/user/refresh_token",
                    headers={"Authorization": f"Bearer {rejected}"},
                    data={"refresh_token": self._refresh},
                )
                body = json_body(response)
                if response.status_code == 200 and self._remember(
                    body.get("data") if isinstance(body, Mapping) else None
                ):
                    log.info("FlexStack access token refreshed")
                    return
                log.info("FlexStack token refresh failed (HTTP %d); logging in again", response.status_code)
                self._refresh = ""
            self._access = ""
            self._login()

    def _token(self) -> str:
        with self._auth_lock:
            if not self._access:
                self.fs.require_credentials()
                self._login()
            return self._access

    def _send(
        self, method: str, url: str, *, json: Any = None, cancel: threading.Event | None = None
    ) -> requests.Response:
        """A call with the bearer token; on 401 the token is renewed and the call sent once more.

        A 401 proves the vendor did nothing, so even a submit is safe to resend then.
        """
        for attempt in range(2):
            token = self._token()
            headers = {"Authorization": f"Bearer {token}"}
            if method == "POST":
                response = self.http.submit(url, headers=headers, json=json, cancel=cancel)
            else:
                response = self.http.request(method, url, headers=headers)
            if response.status_code != 401 or attempt:
                return response
            log.info("FlexStack answered 401; renewing the access token")
            self._renew(token)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- steps -------------------------------------------------------------------------------------

    def _input(self, request: GenerationRequest) -> AudioGenInput:
        options = request.options
        configs = {
            "model": options.get("model"),
            "duration": math.ceil(request.duration - 1e-6) if request.duration > 0 else request.duration,
            "top_k": options.get("top_k"),
            "top_p": options.get("top_p"),
        }
        values = {
            "prompt": request.prompt.strip(),
            "configs": {k: v for k, v in configs.items() if v is not None},
        }
        labels = {"prompt": "the prompt", "configs": "settings"}
        return build_input(AudioGenInput, self.info.label, values, labels)

    def validate(self, request: GenerationRequest) -> None:
        self.fs.require_credentials()
        self._input(request)

    def upload_clip(self, request: GenerationRequest, cancel: threading.Event | None = None) -> str | None:
        return None  # text only

    def submit(
        self, request: GenerationRequest, clip_url: str | None, cancel: threading.Event | None = None
    ) -> VendorTask:
        payload = self._input(request).model_dump()
        response = self._send("POST", f"{self.base_url}/ai/audio_generation", json=payload, cancel=cancel)
        body = json_body(response)
        if answer_lost(response.status_code):
            raise uncertain_answer("FlexStack", response.status_code)
        if response.status_code != 200:
            raise with_retry_after(
                flexstack_error(response.status_code, body, self.http.redact, "starting the task"), response
            )
        data = body.get("data") if isinstance(body, Mapping) else None
        task_id = first_str(data, "task_id", "id")
        if not task_id:
            if find_reason(body):
                raise flexstack_error(400, body, self.http.redact, "starting the task")
            raise uncertain_answer("FlexStack", response.status_code)
        log.info("FlexStack task %s created", task_id)
        return VendorTask(task_id, {"model": payload["configs"]["model"]})

    def poll(self, task: VendorTask) -> TaskStatus:
        response = self._send("GET", f"{self.base_url}/ai/audio_generation/{path_segment(task.task_id)}")
        body = json_body(response)
        if response.status_code == 404:
            raise task_gone("FlexStack", task.task_id)
        if response.status_code != 200 or not isinstance(body, Mapping):
            raise with_retry_after(
                flexstack_error(response.status_code, body, self.http.redact, "checking the task"), response
            )
        state = find_state(body)
        urls = find_audio_urls(body)
        if state is None:
            state = TaskState.SUCCEEDED if urls else TaskState.RUNNING
        if state is TaskState.FAILED:
            reason = self.http.redact(find_reason(body))[:300] or "no reason given"
            return TaskStatus(
                TaskState.FAILED,
                message=f"FlexStack reported the task failed ({reason}). Change the prompt or try again.",
            )
        if state is TaskState.SUCCEEDED:
            if not urls:  # the result shape is undocumented: say so rather than poll until the deadline
                log.warning(
                    "FlexStack task %s succeeded but no audio URL was recognised in keys %s",
                    task.task_id,
                    sorted({key for key, _, _ in _walk(body)}),
                )
                return TaskStatus(TaskState.SUCCEEDED, progress=1.0)
            log.info("FlexStack task %s succeeded: %s", task.task_id, ", ".join(safe_url(u) for u in urls))
            return TaskStatus(TaskState.SUCCEEDED, audio_urls=urls, progress=1.0)
        return TaskStatus(state)

    def failure_error(self, status: TaskStatus) -> FoleyError:
        lowered = status.message.lower()
        if "policy" in lowered or "moderat" in lowered:
            return ModerationError(status.message)
        return TaskFailedError(status.message)
