"""Kling's own video-to-audio API (``/v1/audio/video-to-audio``), signed with a short-lived JWT.

The clip must be reachable by URL, so it goes to an upload host first (WaveSpeed
when a WaveSpeed key is set). Every submit carries a client-chosen
``external_task_id``: if the answer to a submit is lost, the task is looked up
by that id instead of being sent again.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jwt
import requests
from pydantic import Field, model_validator

from .base import GenerationRequest, TaskState, TaskStatus, VendorTask
from .catalog import INFOS
from .errors import (
    AuthError,
    ConfigError,
    CreditsError,
    FoleyError,
    InputError,
    ModerationError,
    SubmitUncertainError,
    TaskFailedError,
    VendorBusyError,
    VendorUnavailableError,
    proves_no_task,
)
from .http import (
    answer_lost,
    json_body,
    path_segment,
    safe_url,
    task_gone,
    unavailable_refusal,
    with_retry_after,
)
from .recovery import LookupSchedule
from .settings import PREFS_PATH, FoleySettings
from .upload_hosts import UPLOAD_OPTIONS, UploadHost, release_upload, select_upload_host
from .vendor_client import VendorClient, VendorInput, build_input, first_str

log = logging.getLogger(__name__)

PATH = "/v1/audio/video-to-audio"
#: Seed 001 says 文件≤100MB. MB is read as 10^6 bytes, the smaller of the two readings
#: (100 MiB would allow 4.9 MB more): a clip we pass must never be one Kling refuses.
MAX_CLIP_BYTES = 100 * 1000 * 1000
#: Task list paging for the lookup of a lost submit (the document allows pageSize 1-500).
LIST_PAGE_SIZE = 500
LIST_PAGES = 4
CLIP_SECONDS = (3.0, 20.0)
#: VendorTask.data key: the uploaded clip's address, deleted once the task left the queue.
UPLOADED_CLIP = "uploaded_clip"
CLIP_TICK = 1e-6  # only mvhd tick rounding: 3.0 s written as 3000/1000 ticks must pass
_KEYS_HINT = f"Check KLING_ACCESS_KEY and KLING_SECRET_KEY or {PREFS_PATH} ▸ Kling access key / secret key"
_STATES = {
    "submitted": TaskState.PENDING,
    "processing": TaskState.RUNNING,
    "succeed": TaskState.SUCCEEDED,
    "succeeded": TaskState.SUCCEEDED,
    "failed": TaskState.FAILED,
}


class KlingToken:
    """``Authorization: Bearer <JWT>`` for Kling: HS256, iss = access key, valid 30 min, renewed early."""

    lifetime = 1800
    renew_margin = 300  # a token is replaced when less than this many seconds remain

    def __init__(
        self,
        access_key: str,
        secret_key: str,
        clock: Callable[[], float] = time.time,
        on_new_token: Callable[[str], None] | None = None,
    ) -> None:
        self._access_key = access_key
        self._secret_key = secret_key
        self._clock = clock
        self._on_new_token = on_new_token
        self._token = ""
        self._expires = 0.0
        self._lock = threading.Lock()

    def get(self, *, force_new: bool = False) -> str:
        with self._lock:
            now = self._clock()
            if force_new or not self._token or now >= self._expires - self.renew_margin:
                issued = int(now)
                self._token = jwt.encode(
                    {"iss": self._access_key, "exp": issued + self.lifetime, "nbf": issued - 5},
                    self._secret_key,
                    algorithm="HS256",
                    headers={"typ": "JWT"},
                )
                self._expires = issued + self.lifetime
                if self._on_new_token:
                    self._on_new_token(self._token)
            return self._token

    def headers(self, *, force_new: bool = False) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.get(force_new=force_new)}"}


class KlingVideoToAudioInput(VendorInput):
    """The documented body of ``POST /v1/audio/video-to-audio`` (flat fields, as in the seed)."""

    video_id: str | None = None
    video_url: str | None = None
    sound_effect_prompt: str | None = Field(None, max_length=200)
    bgm_prompt: str | None = Field(None, max_length=200)
    asmr_mode: bool = False
    external_task_id: str | None = Field(None, max_length=64)
    callback_url: str | None = None

    @model_validator(mode="after")
    def _one_video(self) -> KlingVideoToAudioInput:
        if bool(self.video_id) == bool(self.video_url):
            raise ValueError("give exactly one of a Kling video id or a clip, not both or neither")
        return self


def _code(body: Any) -> int | None:
    code = body.get("code") if isinstance(body, Mapping) else None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def kling_error(status: int, body: Any, redact: Callable[[object], str], action: str) -> FoleyError:  # noqa: PLR0911 - one exit per documented code range
    """Map Kling's HTTP status + ``code`` to an error with a sentence."""
    code = _code(body)
    message = redact(first_str(body, "message"))[:300]
    detail = f" (code {code}: {message})" if code is not None else (f" ({message})" if message else "")
    vendor_code = code if code is not None else status
    if code == 1003:
        return AuthError(
            f"Kling says the login token is not valid yet{detail}. Set this computer's clock to the correct "
            "time and try again.",
            vendor_code=vendor_code,
        )
    if (code is not None and 1000 <= code <= 1004) or (code is None and status == 401):
        return AuthError(
            f"Kling rejected the access key or secret key{detail}. {_KEYS_HINT}.", vendor_code=vendor_code
        )
    if code in (1101, 1102):
        return CreditsError(
            f"The Kling account has no resource pack or balance left{detail}. Top it up in the Kling console "
            "and try again.",
            vendor_code=vendor_code,
        )
    if code == 1100:
        return AuthError(
            f"Kling reports a problem with the account{detail}. Check the Kling console.",
            vendor_code=vendor_code,
        )
    if code == 1103 or (code is None and status == 403):
        return AuthError(
            f"This Kling account has no access to video-to-audio{detail}. Enable the API in the Kling "
            "console, or use wavespeed.kling-video-to-audio.",
            vendor_code=vendor_code,
        )
    if code in (1300, 1301):
        return ModerationError(
            f"Kling refused the content on policy grounds{detail}. Change the prompts or the clip.",
            vendor_code=vendor_code,
        )
    if code in (1302, 1303) or (code is None and status == 429):
        # 1302 rate, 1303 over the account's concurrency: refused, so no task was created
        return VendorBusyError(
            f"Kling is busy for this account (too many requests or tasks at once){detail}; nothing was "
            "created. The job waits for a free slot and sends it again.",
            vendor_code=vendor_code,
        )
    if code in (1202, 1203) or status == 404:
        return TaskFailedError(
            f"Kling does not know this task{detail}; it may have expired. Generate again.",
            vendor_code=vendor_code,
        )
    if code in (1200, 1201) or status == 400:
        return InputError(
            f"Kling rejected the request{detail}. Fix that input and try again.", vendor_code=vendor_code
        )
    if (code is not None and 5000 <= code <= 5002) or status >= 500:
        return VendorUnavailableError(
            f"Kling had a server error while {action}{detail}. Try again in a few minutes.",
            vendor_code=vendor_code,
        )
    return VendorUnavailableError(
        f"Kling gave an unexpected answer (HTTP {status}) while {action}{detail}. Try again later.",
        vendor_code=vendor_code,
    )


def _retry_answer(response: requests.Response) -> bool:
    """Worth another try: rate limits and server errors, not an empty account."""
    if response.status_code not in (429, 500, 502, 503, 504):
        return False
    return _code(json_body(response)) not in (1100, 1101, 1102)


def _refused_submit(response: requests.Response) -> bool:
    """Answers proving no task was created: rate/concurrency limits and Kling's own "unavailable"
    (code 5001). A bare 503 without it proves nothing (a gateway may answer so after the create)."""
    code = _code(json_body(response))
    return (response.status_code == 429 and code not in (1100, 1101, 1102)) or code in (1302, 1303, 5001)


def _duplicate_id(message: str) -> bool:
    """Kling's refusal of an ``external_task_id`` it already has (wording not documented)."""
    lowered = message.lower()
    return "external_task_id" in lowered and any(
        w in lowered for w in ("exist", "duplicate", "unique", "used")
    )


def new_external_task_id() -> str:
    return f"vsefoley-{uuid.uuid4().hex}"


class KlingVideoToAudio(VendorClient):
    info = INFOS["kling.video-to-audio"]
    supports_recovery = True

    def __init__(self, settings: FoleySettings, clock: Callable[[], float] = time.time) -> None:
        super().__init__(settings)
        self.kling = settings.kling
        self._token: KlingToken | None = None
        self._clock = clock
        self._host: UploadHost | None = None
        #: How long a lost submit is looked for (the caller's sleep drives it).
        self.lookup_schedule = LookupSchedule(first=settings.tuning.recover_delay)

    # -- auth --------------------------------------------------------------------------------------

    @property
    def token(self) -> KlingToken:
        if self._token is None:
            access_key, secret_key = self.kling.require_keys()
            self._token = KlingToken(access_key, secret_key, self._clock, on_new_token=self.http.redact.add)
        return self._token

    def _call(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """An idempotent call; one retry with a fresh JWT when Kling says it expired."""
        response = self.http.request(
            method, url, headers=self.token.headers(), retry_response=_retry_answer, **kwargs
        )
        if response.status_code == 401 and _code(json_body(response)) == 1004:
            response = self.http.request(
                method,
                url,
                headers=self.token.headers(force_new=True),
                retry_response=_retry_answer,
                **kwargs,
            )
        return response

    # -- steps -------------------------------------------------------------------------------------

    def _video_id(self, request: GenerationRequest) -> str | None:
        value = request.options.get("video_id")
        return str(value).strip() or None if value else None

    def _upload_host(self) -> UploadHost:
        if self._host is None:
            self._host = select_upload_host(self.settings)
        if self._host is None:
            reason = (
                "the upload host preference is 'none'"
                if self.settings.upload_host == "none"
                else "no upload host is set up"
            )
            raise ConfigError(
                f"Direct Kling needs the clip at a public URL, but {reason}: {UPLOAD_OPTIONS}, with the "
                "upload host 'Automatic'; or choose the provider wavespeed.kling-video-to-audio, which runs "
                "the same Kling model with only a WaveSpeed key. Nothing was sent or charged."
            )
        return self._host

    def _input(
        self, request: GenerationRequest, clip_url: str | None, external_task_id: str | None
    ) -> KlingVideoToAudioInput:
        values = {
            "video_id": self._video_id(request),
            "video_url": clip_url,
            "sound_effect_prompt": request.prompt.strip() or None,
            "bgm_prompt": request.bgm_prompt.strip() or None,
            "asmr_mode": bool(request.options.get("asmr_mode", False)),
            "external_task_id": external_task_id,
        }
        labels = {"sound_effect_prompt": "the sound effect prompt", "bgm_prompt": "the music prompt"}
        return build_input(KlingVideoToAudioInput, self.info.label, values, labels)

    def validate(self, request: GenerationRequest) -> None:
        self.kling.require_keys()
        video_id = self._video_id(request)
        if video_id and request.video_path:
            self._input(request, "https://clip.invalid/clip.mp4", None)  # raises: exactly one video
        self.check_duration(request, *CLIP_SECONDS)
        if not video_id:
            clip = self.check_clip(request, max_bytes=MAX_CLIP_BYTES)
            # The rendered file's own length (mvhd), exactly: Kling measures the clip, not our range.
            self.check_clip_length(clip, *CLIP_SECONDS, tolerance=CLIP_TICK, required=True)
            self._upload_host()
        self._input(request, None if video_id else "https://clip.invalid/clip.mp4", None)

    def upload_clip(self, request: GenerationRequest, cancel: threading.Event | None = None) -> str | None:
        self.validate(request)  # the clip exists now: check its size, container and length
        if self._video_id(request):
            return None
        if not request.video_path:
            raise InputError("Kling needs a video clip; render the range first and try again.")
        return self._upload_host().upload(Path(request.video_path), cancel)

    def submit(
        self, request: GenerationRequest, clip_url: str | None, cancel: threading.Event | None = None
    ) -> VendorTask:
        """Start the task, sending the body exactly once.

        When the answer is lost, raise SubmitUncertainError carrying the ``external_task_id``:
        the caller looks the task up by it (``providers.recovery.find_lost_task``). The body is
        never sent again, because the document only asks the caller to keep the id unique; it
        does not promise that Kling refuses a repeat (vendors.md, "Kling idempotency").
        """
        external_task_id = str(request.options.get("external_task_id") or new_external_task_id())
        payload = self._input(request, clip_url, external_task_id).model_dump(exclude_none=True)
        try:
            outcome = self._send_submit(payload, cancel)
        except FoleyError as exc:
            if clip_url and proves_no_task(exc):  # refused: Kling will never fetch this upload
                release_upload(self._host, clip_url)
            raise
        if isinstance(outcome, VendorTask):
            if clip_url and self._host is not None and hasattr(self._host, "release"):
                # only the object's address (no signature) goes to the ledger, for release_clip
                return VendorTask(outcome.task_id, {**outcome.data, UPLOADED_CLIP: safe_url(clip_url)})
            return outcome
        log.warning("Kling submit got %s; the task is looked up by its external id, never resent", outcome)
        raise SubmitUncertainError(
            f"Kling did not confirm the request that starts the task ({outcome})",
            external_task_id=external_task_id,
        )

    def _send_submit(
        self, payload: dict[str, Any], cancel: threading.Event | None = None
    ) -> VendorTask | str:
        """The task, or why its fate is unknown; raises for a definite refusal."""
        url = f"{self.base_url}{PATH}"
        external_task_id = str(payload.get("external_task_id", ""))
        try:
            response = self.http.submit(
                url, headers=self.token.headers(), json=payload, refused_response=_refused_submit,
                cancel=cancel,
            )
            if response.status_code == 401 and _code(json_body(response)) == 1004:  # refused: safe to resend
                response = self.http.submit(
                    url,
                    headers=self.token.headers(force_new=True),
                    json=payload,
                    refused_response=_refused_submit,
                    cancel=cancel,
                )
        except SubmitUncertainError:
            return "no answer came back"
        body = json_body(response)
        code = _code(body)
        if code == 5001 and (response.status_code == 503 or not answer_lost(response.status_code)):
            raise unavailable_refusal("Kling")  # Kling's own "unavailable" (503/5001): nothing was made
        if answer_lost(response.status_code) or (code is not None and 5000 <= code <= 5002):
            return f"HTTP {response.status_code}" + (f", code {code}" if code is not None else "")
        if code in (1200, 1201) and _duplicate_id(first_str(body, "message")):
            return "a duplicate task id"  # an earlier, unanswered submit did create it
        if response.status_code == 200 and code is None:
            return "an unreadable answer"
        if response.status_code != 200 or code != 0:
            raise with_retry_after(
                kling_error(response.status_code, body, self.http.redact, "starting the task"), response
            )
        task_id = first_str(body.get("data"), "task_id")
        if not task_id:
            return "an answer without task id"
        log.info("Kling task %s created (external id %s)", task_id, external_task_id)
        return VendorTask(task_id, {"external_task_id": external_task_id})

    def release_clip(self, task: VendorTask) -> None:
        """The task left Kling's queue, so Kling has the clip: delete our upload of it."""
        url = str(task.data.get(UPLOADED_CLIP) or "")
        if not url:
            return
        try:
            host = self._upload_host()  # after a restart: the host of today's settings
        except FoleyError as exc:
            log.warning("The uploaded clip of task %s was not deleted (%s)", task.task_id, exc)
            return
        release_upload(host, url)

    def recover_submit(self, request: GenerationRequest, external_task_id: str) -> VendorTask | None:
        """One look for the task by its external id: the query endpoint, then the task list.

        None means "not found now", never "it does not exist": both may lag behind the create.
        """
        response = self._call("GET", f"{self.base_url}{PATH}/{path_segment(external_task_id)}")
        body = json_body(response)
        code = _code(body)
        if response.status_code == 200 and code == 0:
            task_id = first_str(body.get("data"), "task_id")
            if task_id:
                return VendorTask(task_id, {"external_task_id": external_task_id})
        elif not (response.status_code == 404 or code in (1202, 1203)):
            raise kling_error(response.status_code, body, self.http.redact, "looking the task up")
        return self._find_in_list(external_task_id)

    def _find_in_list(self, external_task_id: str) -> VendorTask | None:
        """Scan the newest pages of ``GET /v1/audio/video-to-audio?pageNum=&pageSize=`` for the id.

        The document does not say how the list is ordered, nor that a page is always full, so the
        scan goes on until an empty page or ``LIST_PAGES`` pages (the newest ~2000 tasks).
        """
        for page in range(1, LIST_PAGES + 1):
            response = self._call(
                "GET", f"{self.base_url}{PATH}", params={"pageNum": page, "pageSize": LIST_PAGE_SIZE}
            )
            body = json_body(response)
            if response.status_code != 200 or _code(body) != 0:
                raise kling_error(response.status_code, body, self.http.redact, "listing the tasks")
            items = body.get("data")
            if not isinstance(items, list) or not items:
                return None
            for item in items:
                info = item.get("task_info") if isinstance(item, Mapping) else None
                if first_str(info, "external_task_id") == external_task_id:
                    task_id = first_str(item, "task_id")
                    if task_id:
                        log.info("Kling task %s found in the task list (page %d)", task_id, page)
                        return VendorTask(task_id, {"external_task_id": external_task_id})
        return None

    def poll(self, task: VendorTask) -> TaskStatus:
        response = self._call("GET", f"{self.base_url}{PATH}/{path_segment(task.task_id)}")
        body = json_body(response)
        if response.status_code == 404 or _code(body) == 1203:
            raise task_gone("Kling", task.task_id)
        if response.status_code != 200 or _code(body) != 0:
            raise with_retry_after(
                kling_error(response.status_code, body, self.http.redact, "checking the task"), response
            )
        data = body.get("data")
        raw_state = first_str(data, "task_status").lower()
        state = _STATES.get(raw_state)
        if state is None:
            log.warning(
                "Kling task %s has unknown status %r; treating it as running", task.task_id, raw_state
            )
            state = TaskState.RUNNING
        if state is TaskState.FAILED:
            reason = self.http.redact(first_str(data, "task_status_msg"))[:300]
            return TaskStatus(
                TaskState.FAILED,
                message=f"Kling reported the task failed: "
                f"{reason or 'no reason given'}. Change the input or try again.",
            )
        if state is TaskState.SUCCEEDED:
            urls = self._audio_urls(data)
            if not urls:
                return TaskStatus(TaskState.RUNNING)
            log.info("Kling task %s succeeded: %s", task.task_id, ", ".join(safe_url(u) for u in urls))
            return TaskStatus(TaskState.SUCCEEDED, audio_urls=urls, progress=1.0)
        return TaskStatus(state)

    @staticmethod
    def _audio_urls(data: Any) -> tuple[str, ...]:
        result = data.get("task_result") if isinstance(data, Mapping) else None
        audios = result.get("audios") if isinstance(result, Mapping) else None
        wavs: list[str] = []
        mp3s: list[str] = []
        for audio in audios if isinstance(audios, list) else []:
            if isinstance(audio, Mapping):
                if url_wav := first_str(audio, "url_wav"):
                    wavs.append(url_wav)
                if url_mp3 := first_str(audio, "url_mp3"):
                    mp3s.append(url_mp3)
        return tuple(wavs + mp3s)  # the WAV is lossless: always preferred

    def failure_error(self, status: TaskStatus) -> FoleyError:
        lowered = status.message.lower()
        if any(word in lowered for word in ("policy", "sensitive", "risk", "moderation", "violat")):
            return ModerationError(status.message, vendor_code=status.vendor_code)
        return TaskFailedError(status.message, vendor_code=status.vendor_code)

    def close(self) -> None:
        super().close()
        close_host = getattr(getattr(self._host, "http", None), "close", None)
        if callable(close_host):
            close_host()
