"""fal.ai: MMAudio v2, ThinkSound, Kling video-to-audio and Mirelo SFX through fal's queue.

The queue protocol (docs/vendors/fal.md, confirmed from fal's docs and the official
``fal-client`` 1.0.3 source): ``POST {queue}/{model_id}`` with ``Authorization: Key
<FAL_KEY>`` answers ``{request_id, status_url, response_url, cancel_url}``; ``GET
status_url`` says ``IN_QUEUE`` (with ``queue_position``), ``IN_PROGRESS`` or
``COMPLETED``; ``GET response_url`` is the model's output; ``PUT cancel_url`` cancels a
request that has not started. Request URLs use the model's owner and alias only
(``fal-ai/kling-video/requests/{id}``), as fal-client builds them.

Money: fal documents no idempotency key, so a submit whose answer is lost is never
sent again (the job ends *may have been charged*); a 429 proves nothing was queued.
Some models answer with the clip and its new sound track: the sound is written as a
WAV beside the kept movie (``providers/soundtrack.py``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import Field

from .base import AudioFile, GenerationRequest, TaskState, TaskStatus, VendorTask
from .catalog import INFOS, SEED_MAX
from .download import download_audio
from .errors import (
    AuthError,
    CreditsError,
    DownloadError,
    FoleyError,
    InputError,
    ModerationError,
    SubmitUncertainError,
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
from .settings import PREFS_PATH, FoleySettings, VendorSettings
from .soundtrack import extract_soundtrack
from .upload_hosts import FalStorageUploadHost
from .vendor_client import VendorClient, VendorInput, build_input, first_str
from .wording import ordinal

log = logging.getLogger(__name__)

#: the name at the start of sentences (the brand is written "fal.ai" elsewhere)
LABEL = "Fal.ai"
_STATES = {"IN_QUEUE": TaskState.PENDING, "IN_PROGRESS": TaskState.RUNNING, "COMPLETED": TaskState.SUCCEEDED}
_CREDIT_WORDS = ("balance", "credit", "exhausted", "billing", "payment")
_MODERATION_WORDS = ("nsfw", "content policy", "moderation", "safety", "prohibited")
#: fal's 1-based words for a queue position (``queue_position`` is 0-based, fal-client's docstring)


# -- payload models (fal's published schemas, docs/vendors/fal.md) ---------------------------------


class MMAudioOnFalInput(VendorInput):
    prompt: str = Field(min_length=1)
    negative_prompt: str | None = None
    seed: int | None = Field(None, ge=0, le=65535)
    num_steps: int = Field(25, ge=4, le=50)
    duration: float = Field(8.0, ge=1.0, le=30.0)
    cfg_strength: float = Field(4.5, ge=0.0, le=20.0)
    mask_away_clip: bool = False


class ThinkSoundOnFalInput(VendorInput):
    prompt: str | None = None
    seed: int | None = Field(None, ge=0, le=SEED_MAX)  # fal: an integer; ours: a 32-bit one
    num_inference_steps: int = Field(24, ge=2, le=100)
    cfg_scale: float = Field(5.0, ge=1.0, le=20.0)


class KlingOnFalInput(VendorInput):
    # Sent even when empty: fal's defaults for these are example prompts ("intense car race").
    sound_effect_prompt: str = Field("", max_length=200)
    background_music_prompt: str = Field("", max_length=200)
    asmr_mode: bool = False


class MireloOnFalInput(VendorInput):
    text_prompt: str | None = None
    duration: float = Field(ge=1.0, le=10.0)
    seed: int | None = Field(None, ge=1, le=SEED_MAX)


def _text(value: str) -> str | None:
    return value.strip() or None


def _seed(seed: int) -> int | None:
    return None if seed < 0 else seed


def _number(seconds: float) -> float | int:
    rounded = round(seconds, 2)
    return int(rounded) if rounded.is_integer() else rounded



# -- errors -----------------------------------------------------------------------------------------


def _detail(body: Any, redact: Any) -> str:
    """fal's ``detail`` (a sentence, or pydantic's list of ``{loc, msg}``), short and redacted."""
    detail = body.get("detail") if isinstance(body, Mapping) else None
    if isinstance(detail, list):
        parts = []
        for item in detail[:3]:
            if isinstance(item, Mapping):
                where = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
                parts.append(f"{where}: {item.get('msg', '')}" if where else str(item.get("msg", "")))
        text = "; ".join(parts)
    else:
        text = first_str(body, "detail", "error", "message")
    return redact(text)[:300]


def fal_error(status: int, body: Any, redact: Any, action: str) -> FoleyError:  # noqa: PLR0911 - one exit per case
    """An HTTP refusal from fal as an error with a sentence."""
    message = _detail(body, redact)
    detail = f": {message}" if message else ""
    lowered = message.lower()
    if any(word in lowered for word in _CREDIT_WORDS) and status in (402, 403):
        return CreditsError(
            f"The fal.ai account has no balance left{detail}. Top it up at fal.ai/dashboard/billing and try "
            "again.",
            vendor_code=status,
        )
    if status in (401, 403):
        return AuthError(
            f"Fal.ai rejected the API key while {action}{detail}. Check FAL_KEY or {PREFS_PATH} ▸ fal.ai API "
            "key.",
            vendor_code=status,
        )
    if status == 429:
        return VendorBusyError(
            f"Fal.ai is limiting requests for this key right now{detail}; nothing was queued. The job waits "
            "for a free slot and sends it again.",
            vendor_code=status,
        )
    if any(word in lowered for word in _MODERATION_WORDS):
        return ModerationError(
            f"Fal.ai refused the content on policy grounds{detail}. Change the prompt or the clip.",
            vendor_code=status,
        )
    if status in (400, 422):
        return InputError(
            f"Fal.ai rejected the request{detail}. Fix that input and try again.", vendor_code=status
        )
    if status == 404:
        return InputError(
            f"Fal.ai does not know this model{detail}. Update VSE Foley or choose another provider.",
            vendor_code=status,
        )
    return VendorUnavailableError(
        f"Fal.ai gave an unexpected answer (HTTP {status}) while {action}{detail}. Try again later.",
        vendor_code=status,
    )


def _file_url(value: Any) -> str:
    """The ``url`` of a fal File object (or of the first one of a list)."""
    if isinstance(value, list):
        value = value[0] if value else None
    return first_str(value, "url")


# -- the providers ----------------------------------------------------------------------------------


class FalModel(VendorClient):
    """One model on fal's queue. Subclasses name it and map the request onto its fields."""

    model_id: ClassVar[str]
    input_model: ClassVar[type[VendorInput]]
    clip_seconds: ClassVar[tuple[float, float]]
    max_clip_bytes: ClassVar[int | None] = None
    field_labels: ClassVar[dict[str, str]] = {}
    #: the output field holding the result: "video" (the clip with its new sound) or "audio"
    result_field: ClassVar[str] = "audio"

    def __init__(self, settings: FoleySettings) -> None:
        super().__init__(settings)
        self.http.label = LABEL  # the shared HTTP sentences start with it ("Fal.ai did not answer ...")
        self.fal: VendorSettings = settings.vendor("fal")
        self.host = FalStorageUploadHost(self.fal, self.http)

    @property
    def app_path(self) -> str:
        """``owner/alias``: where fal keeps a model's requests (fal-client ``SyncRequestHandle``)."""
        return "/".join(self.model_id.split("/")[:2])

    def fields(self, request: GenerationRequest) -> dict[str, Any]:
        raise NotImplementedError

    def _input(self, request: GenerationRequest) -> VendorInput:
        values = {key: value for key, value in self.fields(request).items() if value is not None}
        return build_input(self.input_model, self.info.label, values, self.field_labels)

    def _key(self) -> str:
        return self.fal.require("api_key")[0]

    def validate(self, request: GenerationRequest) -> None:
        self._key()
        if request.duration <= 0:
            raise InputError(f"{self.info.label}: the range is empty; select a longer range.")
        clip = self.check_clip(request, max_bytes=self.max_clip_bytes or self.host.max_bytes)
        self.check_duration(request, *self.clip_seconds)
        self.check_clip_length(clip, *self.clip_seconds)
        self._input(request)

    def upload_clip(self, request: GenerationRequest, cancel: threading.Event | None = None) -> str | None:
        self.validate(request)  # the clip exists now: check its size, container and length
        if not request.video_path:
            raise InputError(f"{self.info.label} needs a video clip; render the range first and try again.")
        return self.host.upload(Path(request.video_path), cancel)

    # -- submit ------------------------------------------------------------------------------------

    def submit(
        self, request: GenerationRequest, clip_url: str | None, cancel: threading.Event | None = None
    ) -> VendorTask:
        if not clip_url:
            raise InputError(f"{self.info.label} needs the clip's URL; upload the clip first.")
        key = self._key()
        payload = {"video_url": clip_url, **self._input(request).model_dump(exclude_none=True)}
        response = self.http.submit(
            f"{self.base_url}/{self.model_id}",
            headers={"Authorization": f"Key {key}"},
            json=payload,
            cancel=cancel,
        )
        body = json_body(response)
        request_id = first_str(body, "request_id")
        if response.status_code in (200, 201, 202) and request_id:
            log.info("Fal.ai %s request %s queued", self.model_id, request_id)
            return VendorTask(request_id, {"model": self.model_id, **self._own_urls(body, request_id)})
        if answer_lost(response.status_code):  # any 5xx, a bare 503 too: fal documents no refusal code
            raise uncertain_answer(LABEL, response.status_code)
        if 200 <= response.status_code < 300:  # accepted, but no request id to follow
            raise SubmitUncertainError(
                "Fal.ai answered the request that starts the task without a request id, so it is not known "
                "whether a paid task was queued. Check your fal.ai dashboard before generating again.",
                what="Fal.ai answered the request that starts the task without a request id",
            )
        raise with_retry_after(
            fal_error(response.status_code, body, self.http.redact, "queueing the task"), response
        )

    def _built_url(self, request_id: str, suffix: str) -> str:
        return f"{self.base_url}/{self.app_path}/requests/{path_segment(request_id)}{suffix}"

    def _own_urls(self, body: Any, request_id: str) -> dict[str, str]:
        """The answer's URLs where they point at the queue host itself (the key goes nowhere else)."""
        urls = {}
        for name, suffix in (("status_url", "/status"), ("response_url", ""), ("cancel_url", "/cancel")):
            given = first_str(body, name)
            urls[name] = given if self._same_origin(given) else self._built_url(request_id, suffix)
        return urls

    def _same_origin(self, url: str) -> bool:
        if not url:
            return False
        ours, theirs = urlsplit(self.base_url), urlsplit(url)
        return (ours.scheme, ours.hostname, ours.port) == (theirs.scheme, theirs.hostname, theirs.port)

    def _task_url(self, task: VendorTask, name: str, suffix: str) -> str:
        given = str(task.data.get(name) or "")
        return given if self._same_origin(given) else self._built_url(task.task_id, suffix)

    # -- poll --------------------------------------------------------------------------------------

    def poll(self, task: VendorTask) -> TaskStatus:
        headers = {"Authorization": f"Key {self._key()}"}
        response = self.http.request("GET", self._task_url(task, "status_url", "/status"), headers=headers)
        body = json_body(response)
        if response.status_code == 404:
            raise task_gone(LABEL, task.task_id)
        if response.status_code not in (200, 202) or not isinstance(body, Mapping):
            raise with_retry_after(
                fal_error(response.status_code, body, self.http.redact, "checking the task"), response
            )
        raw = first_str(body, "status").upper()
        state = _STATES.get(raw)
        if state is None:
            log.warning("Fal.ai request %s has unknown status %r; treating it as running", task.task_id, raw)
            return TaskStatus(TaskState.RUNNING)
        if state is TaskState.PENDING:
            position = body.get("queue_position")
            where = (
                f"{ordinal(position + 1)} in fal.ai's queue"
                if isinstance(position, int) and not isinstance(position, bool) and position >= 0
                else "waiting in fal.ai's queue"
            )
            return TaskStatus(TaskState.PENDING, message=where)
        if state is TaskState.RUNNING:
            return TaskStatus(TaskState.RUNNING, message="running at fal.ai")
        error = self.http.redact(first_str(body, "error"))[:300]
        if error:  # COMPLETED with an error: the request failed (fal-client's Completed.error)
            return self._failed(error, first_str(body, "error_type"))
        return self._result(task, headers)

    def _failed(self, reason: str, code: str = "") -> TaskStatus:
        return TaskStatus(
            TaskState.FAILED,
            message=f"Fal.ai reported the request failed: {reason or 'no reason given'}. Change the input or "
            "try again.",
            vendor_code=code or None,
        )

    def _result(self, task: VendorTask, headers: Mapping[str, str]) -> TaskStatus:
        response = self.http.request("GET", self._task_url(task, "response_url", ""), headers=headers)
        body = json_body(response)
        if response.status_code == 404:
            raise task_gone(LABEL, task.task_id)
        if response.status_code in (400, 422) or (
            400 < response.status_code < 500 and response.status_code != 429
        ):
            return self._failed(_detail(body, self.http.redact), str(response.status_code))
        if response.status_code != 200 or not isinstance(body, Mapping):
            raise with_retry_after(
                fal_error(response.status_code, body, self.http.redact, "fetching the result"), response
            )
        url = _file_url(body.get(self.result_field))
        if not url:
            url = _file_url(body.get("audio")) or _file_url(body.get("video"))
        if not url:
            raise DownloadError(
                f"{self.info.label} finished but its answer names no result file. Generate again, or report "
                "it "
                "to fal.ai."
            )
        log.info("Fal.ai request %s completed: %s", task.task_id, safe_url(url))
        return TaskStatus(TaskState.SUCCEEDED, audio_urls=(url,), progress=1.0)

    def failure_error(self, status: TaskStatus) -> FoleyError:
        lowered = status.message.lower()
        if any(word in lowered for word in _MODERATION_WORDS):
            return ModerationError(status.message, vendor_code=status.vendor_code)
        return TaskFailedError(status.message, vendor_code=status.vendor_code)

    # -- cancel and download -----------------------------------------------------------------------

    def cancel_remote(self, task: VendorTask) -> bool:
        """``PUT cancel_url``: True only when fal confirms the request is cancelled before it started."""
        try:
            response = self.http.request(
                "PUT",
                self._task_url(task, "cancel_url", "/cancel"),
                headers={"Authorization": f"Key {self._key()}"},
            )
        except FoleyError as exc:
            log.info("Fal.ai cancel of %s could not be sent: %s", task.task_id, exc)
            return False
        body = json_body(response)
        confirmed = (
            response.status_code in (200, 202) and first_str(body, "status") == "CANCELLATION_REQUESTED"
        )
        log.info(
            "Fal.ai cancel of %s -> HTTP %d (%s)",
            task.task_id,
            response.status_code,
            first_str(body, "status") or "no status",
        )
        return confirmed

    def download(
        self, status: TaskStatus, dest_stem: Path, cancel: threading.Event | None = None
    ) -> AudioFile:
        if not status.audio_urls:
            raise DownloadError(f"{self.info.label} reported success but returned no file. Generate again.")
        result = download_audio(self.http, status.audio_urls[0], Path(dest_stem), cancel=cancel)
        if result.format == "mp4":  # the clip with its new sound track: keep it, and its sound as a WAV
            return extract_soundtrack(result, self.info.label)
        return result


class MMAudioV2OnFal(FalModel):
    info = INFOS["fal.mmaudio-v2"]
    model_id = "fal-ai/mmaudio-v2"
    input_model = MMAudioOnFalInput
    clip_seconds = (1.0, 30.0)
    result_field = "video"
    field_labels: ClassVar[dict[str, str]] = {
        "prompt": "the prompt",
        "num_steps": "steps",
        "cfg_strength": "guidance",
    }

    def fields(self, request: GenerationRequest) -> dict[str, Any]:
        options = request.options
        return {
            "prompt": request.prompt.strip(),
            "negative_prompt": _text(request.negative_prompt),
            "seed": _seed(request.seed),
            "num_steps": options.get("num_inference_steps"),
            "duration": _number(request.duration),
            "cfg_strength": options.get("guidance_scale"),
            "mask_away_clip": options.get("mask_away_clip"),
        }


class ThinkSoundOnFal(FalModel):
    info = INFOS["fal.thinksound"]
    model_id = "fal-ai/thinksound"
    input_model = ThinkSoundOnFalInput
    clip_seconds = (1.0, 30.0)
    result_field = "video"
    field_labels: ClassVar[dict[str, str]] = {"num_inference_steps": "steps", "cfg_scale": "guidance"}

    def fields(self, request: GenerationRequest) -> dict[str, Any]:
        options = request.options
        return {
            "prompt": _text(request.prompt),
            "seed": _seed(request.seed),
            "num_inference_steps": options.get("num_inference_steps"),
            "cfg_scale": options.get("guidance_scale"),
        }


class KlingOnFal(FalModel):
    info = INFOS["fal.kling-video-to-audio"]
    model_id = "fal-ai/kling-video/video-to-audio"
    input_model = KlingOnFalInput
    clip_seconds = (3.0, 20.0)
    max_clip_bytes = 100 * 1000 * 1000  # Kling's "≤100MB", read as the smaller 10^6-byte MB
    field_labels: ClassVar[dict[str, str]] = {
        "sound_effect_prompt": "the sound effect prompt",
        "background_music_prompt": "the music prompt",
    }

    def fields(self, request: GenerationRequest) -> dict[str, Any]:
        return {
            "sound_effect_prompt": request.prompt.strip(),
            "background_music_prompt": request.bgm_prompt.strip(),
            "asmr_mode": request.options.get("asmr_mode"),
        }


class MireloSfxOnFal(FalModel):
    info = INFOS["fal.mirelo-sfx"]
    model_id = "mirelo-ai/sfx-v1.5/video-to-audio"
    input_model = MireloOnFalInput
    clip_seconds = (1.0, 10.0)
    field_labels: ClassVar[dict[str, str]] = {"text_prompt": "the prompt"}

    def fields(self, request: GenerationRequest) -> dict[str, Any]:
        return {
            "text_prompt": _text(request.prompt),
            "duration": _number(request.duration),
            "seed": _seed(request.seed),
        }
