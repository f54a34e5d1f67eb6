"""WaveSpeed: ThinkSound and the other video-to-audio models on the same protocol.

``POST /api/v3/{model}`` with ``Authorization: Bearer <key>`` answers the
envelope ``{code, message, data}``; ``data.urls.get`` (or
``/api/v3/predictions/{id}/result``) is polled until ``data.status`` is
``completed`` or ``failed``. The clip is uploaded to WaveSpeed's media host first.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

import requests
from pydantic import Field

from .base import GenerationRequest, TaskState, TaskStatus, VendorTask
from .catalog import INFOS, SEED_MAX
from .errors import (
    AuthError,
    CreditsError,
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
    unavailable_refusal,
    uncertain_answer,
    with_retry_after,
)
from .settings import PREFS_PATH, FoleySettings, WaveSpeedSettings
from .upload_hosts import WaveSpeedUploadHost
from .vendor_client import VendorClient, VendorInput, build_input, first_str, json_number

log = logging.getLogger(__name__)

_STATES = {
    "created": TaskState.PENDING,
    "pending": TaskState.PENDING,
    "queued": TaskState.PENDING,
    "processing": TaskState.RUNNING,
    "running": TaskState.RUNNING,
    "completed": TaskState.SUCCEEDED,
    "succeeded": TaskState.SUCCEEDED,
    "failed": TaskState.FAILED,
}
_AUDIO_ORDER = (".wav", ".flac", ".m4a", ".mp3", ".ogg", ".mp4")
_CREDIT_WORDS = ("insufficient", "balance", "credit", "top up", "recharge")
_MODERATION_WORDS = ("nsfw", "moderation", "policy", "sensitive", "prohibited")


# -- payload models (the documented limits) -----------------------------------------------------


class ThinkSoundInput(VendorInput):
    prompt: str | None = None
    seed: int = Field(-1, ge=-1, le=SEED_MAX)


class MMAudioInput(VendorInput):
    prompt: str = Field(min_length=1)
    negative_prompt: str | None = None
    num_inference_steps: int = Field(25, ge=4, le=50)
    duration: float = Field(8.0, ge=1.0, le=30.0)
    guidance_scale: float = Field(4.5, ge=0.0, le=20.0)
    mask_away_clip: bool = False


class HunyuanFoleyInput(VendorInput):
    prompt: str | None = None
    seed: int = Field(-1, ge=-1, le=SEED_MAX)


class KlingOnWaveSpeedInput(VendorInput):
    sound_effect_prompt: str | None = Field(None, max_length=200)
    bgm_prompt: str | None = Field(None, max_length=200)
    asmr_mode: bool = False


class MireloSfxInput(VendorInput):
    prompt: str | None = None
    negative_prompt: str | None = None
    preserve_speech: bool = True
    duration: float = Field(10.0, ge=1.0, le=600.0)


def _text(value: str) -> str | None:
    return value.strip() or None


# -- errors -----------------------------------------------------------------------------------------


def wavespeed_error(status: int, body: Any, redact: Any, action: str) -> FoleyError:  # noqa: PLR0911 - one exit per documented code
    """Map an HTTP status + envelope ``code``/``message`` to an error with a sentence."""
    code: int | None = None
    message = ""
    if isinstance(body, Mapping):
        raw = body.get("code")
        code = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
        data = body.get("data")
        message = first_str(body, "message", "error") or first_str(data, "error")
    message = redact(message)[:300]
    detail = f": {message}" if message else ""
    vendor_code = code if code is not None else status
    lowered = message.lower()
    if status in (401, 403) or code in (401, 403):
        return AuthError(
            f"WaveSpeed rejected the API key while {action}{detail}. Check WAVESPEED_API_KEY or {PREFS_PATH} "
            "▸ WaveSpeed API key.",
            vendor_code=vendor_code,
        )
    if status == 402 or code == 402 or any(word in lowered for word in _CREDIT_WORDS):
        return CreditsError(
            f"The WaveSpeed account has no credit left{detail}. Top it up at wavespeed.ai and try again.",
            vendor_code=vendor_code,
        )
    if code == 1200 or any(word in lowered for word in _MODERATION_WORDS):
        return ModerationError(
            f"WaveSpeed refused the content on policy grounds{detail}. Change the prompt or the clip.",
            vendor_code=vendor_code,
        )
    if status == 429 or code == 429:
        # over the key's tasks at once or submits a minute: refused, so no task was created
        return VendorBusyError(
            f"WaveSpeed is busy for this API key (too many tasks at once or submits a minute){detail}; "
            "nothing was created. The job waits for a free slot and sends it again.",
            vendor_code=vendor_code,
        )
    if code in (1400, 1401) or status in (400, 422):
        return InputError(
            f"WaveSpeed rejected the request{detail}. Fix that input and try again.", vendor_code=vendor_code
        )
    if code == 1402:
        return VendorUnavailableError(
            f"WaveSpeed could not fetch the uploaded clip{detail}. Try again in a moment.",
            vendor_code=vendor_code,
        )
    if code in (1403, 1405):
        return TaskFailedError(
            f"WaveSpeed reported the task failed{detail}. Try again or change the input.",
            vendor_code=vendor_code,
        )
    if status == 404:
        return TaskFailedError(
            f"WaveSpeed does not know this task or model{detail}; it may have expired. Generate again.",
            vendor_code=vendor_code,
        )
    if status >= 500 or (code is not None and 5000 <= code < 6000):
        return VendorUnavailableError(
            f"WaveSpeed had a server error while {action}{detail}. Try again in a few minutes.",
            vendor_code=vendor_code,
        )
    return VendorUnavailableError(
        f"WaveSpeed gave an unexpected answer (HTTP {status}) while {action}{detail}. Try again later.",
        vendor_code=vendor_code,
    )


_CODE_IN_TEXT = re.compile(r"(?:\bcode\b|\berror\b|^)\W{0,3}([15]\d{3})\b", re.IGNORECASE)


def task_error_code(body: Mapping[str, Any], data: Mapping[str, Any]) -> int | None:
    """The documented task error code (1200 moderation, 1400-1405, 5000-5004) of a failed task.

    Where WaveSpeed puts it is not documented, so every plausible place is read: the envelope
    ``code`` when it is not 200, ``data.code`` / ``data.error_code``, an ``error`` object's
    ``code``, or a code quoted at the start of the error text ("1200: ...", "[1200] ...").
    """
    candidates: list[Any] = [body.get("code"), data.get("code"), data.get("error_code")]
    error = data.get("error")
    if isinstance(error, Mapping):
        candidates.append(error.get("code"))
    for value in candidates:
        if isinstance(value, int) and not isinstance(value, bool) and value != 200:
            return value
        if isinstance(value, str) and value.strip().isdigit() and value.strip() != "200":
            return int(value)
    text = error if isinstance(error, str) else first_str(error, "message")
    match = _CODE_IN_TEXT.search(text or "")
    return int(match.group(1)) if match else None


def _refused_submit(response: requests.Response) -> bool:
    """Answers proving no task was created: 429, and 503 with WaveSpeed's own code 5003."""
    if response.status_code == 429:
        return True
    body = json_body(response)
    return response.status_code == 503 and isinstance(body, Mapping) and body.get("code") == 5003


def _retry_poll(response: requests.Response) -> bool:
    if response.status_code in (429, 500, 502, 503, 504):
        return True
    body = json_body(response) if response.status_code == 200 else None
    code = body.get("code") if isinstance(body, Mapping) else None
    return isinstance(code, int) and code in (5000, 5003)


def _order_outputs(outputs: Any) -> tuple[str, ...]:
    urls = [url for url in outputs if isinstance(url, str) and url] if isinstance(outputs, list) else []

    def rank(url: str) -> int:
        path = urlsplit(url).path.lower()
        return next((i for i, ext in enumerate(_AUDIO_ORDER) if path.endswith(ext)), len(_AUDIO_ORDER))

    return tuple(sorted(urls, key=rank))


# -- the providers ----------------------------------------------------------------------------------


class WaveSpeedModel(VendorClient):
    """One WaveSpeed model. Subclasses name the model and map the request onto its fields."""

    model_path: ClassVar[str]
    input_model: ClassVar[type[VendorInput]]
    clip_seconds: ClassVar[tuple[float, float] | None] = None  # enforced clip length, when the model has one
    max_clip_bytes: ClassVar[int | None] = None
    field_labels: ClassVar[dict[str, str]] = {}

    def __init__(self, settings: FoleySettings) -> None:
        super().__init__(settings)
        self.ws: WaveSpeedSettings = settings.wavespeed
        self.host = WaveSpeedUploadHost(self.ws, self.http)

    def fields(self, request: GenerationRequest) -> dict[str, Any]:
        raise NotImplementedError

    def _input(self, request: GenerationRequest) -> VendorInput:
        values = {key: value for key, value in self.fields(request).items() if value is not None}
        return build_input(self.input_model, self.info.label, values, self.field_labels)

    def validate(self, request: GenerationRequest) -> None:
        self.ws.require_key()
        if request.duration <= 0:
            raise InputError(f"{self.info.label}: the range is empty; select a longer range.")
        clip = self.check_clip(request, max_bytes=self.max_clip_bytes or self.host.max_bytes)
        if self.clip_seconds is not None:
            self.check_duration(request, *self.clip_seconds)
            self.check_clip_length(clip, *self.clip_seconds)
        self._input(request)

    def upload_clip(self, request: GenerationRequest, cancel: threading.Event | None = None) -> str | None:
        self.validate(request)  # the clip exists now: check its size, container and length
        if not request.video_path:
            raise InputError(f"{self.info.label} needs a video clip; render the range first and try again.")
        return self.host.upload(Path(request.video_path), cancel)

    def payload(self, request: GenerationRequest, clip_url: str | None) -> dict[str, Any]:
        """The submit body: the uploaded clip and the model's fields (a text model overrides it)."""
        if not clip_url:
            raise InputError(f"{self.info.label} needs the clip's URL; upload the clip first.")
        return {"video": clip_url, **self._input(request).model_dump(exclude_none=True)}

    def submit(
        self, request: GenerationRequest, clip_url: str | None, cancel: threading.Event | None = None
    ) -> VendorTask:
        payload = self.payload(request, clip_url)
        key = self.ws.require_key()
        url = f"{self.base_url}/api/v3/{self.model_path}"
        response = self.http.submit(
            url, headers={"Authorization": f"Bearer {key}"}, json=payload, refused_response=_refused_submit,
            cancel=cancel,
        )
        body = json_body(response)
        data = body.get("data") if isinstance(body, Mapping) else None
        task_id = first_str(data, "id")
        code = body.get("code", 200) if isinstance(body, Mapping) else None
        server_code = isinstance(code, int) and 5000 <= code < 6000 and code != 5003  # 5003: unavailable
        # WaveSpeed's own "unavailable" code refuses; a bare 503 proves nothing (issue 9)
        unavailable = code == 5003 and (response.status_code == 503 or not answer_lost(response.status_code))
        if response.status_code == 200 and task_id and code in (200, 5004):
            pass  # 5004 "sync mode timed out" with data: the task exists and is processing
        elif unavailable:
            raise unavailable_refusal("WaveSpeed")
        elif answer_lost(response.status_code) or server_code:
            raise uncertain_answer("WaveSpeed", response.status_code)
        elif response.status_code != 200 or not isinstance(body, Mapping) or code != 200:
            if response.status_code == 200 and not isinstance(body, Mapping):
                raise self._unreadable_submit()
            raise with_retry_after(
                wavespeed_error(response.status_code, body, self.http.redact, "starting the task"), response
            )
        if not task_id:
            raise self._unreadable_submit()
        urls = data.get("urls") if isinstance(data, Mapping) else None
        get_url = first_str(urls, "get")
        log.info("WaveSpeed %s task %s created", self.model_path, task_id)
        return VendorTask(
            task_id, {"model": self.model_path, "get_url": get_url if self._same_origin(get_url) else ""}
        )

    @staticmethod
    def _unreadable_submit() -> SubmitUncertainError:
        return SubmitUncertainError("WaveSpeed answered the request that starts the task without a task id")

    def _same_origin(self, url: str) -> bool:
        """Only send the key to a result URL on the API's own host."""
        if not url:
            return False
        ours, theirs = urlsplit(self.base_url), urlsplit(url)
        return (ours.scheme, ours.hostname, ours.port) == (theirs.scheme, theirs.hostname, theirs.port)

    def poll(self, task: VendorTask) -> TaskStatus:
        key = self.ws.require_key()
        url = str(task.data.get("get_url") or "")
        if not self._same_origin(url):
            url = f"{self.base_url}/api/v3/predictions/{path_segment(task.task_id)}/result"
        response = self.http.request(
            "GET", url, headers={"Authorization": f"Bearer {key}"}, retry_response=_retry_poll
        )
        body = json_body(response)
        data = body.get("data") if isinstance(body, Mapping) else None
        failed = isinstance(data, Mapping) and first_str(data, "status").lower() == "failed"
        if response.status_code == 404:
            raise task_gone("WaveSpeed", task.task_id)
        if not failed and (
            response.status_code != 200 or not isinstance(body, Mapping) or body.get("code", 200) != 200
        ):
            raise with_retry_after(
                wavespeed_error(response.status_code, body, self.http.redact, "checking the task"), response
            )
        if not isinstance(data, Mapping) or not isinstance(body, Mapping):
            raise VendorUnavailableError(
                "WaveSpeed answered the status request without task data; try again."
            )
        raw_state = first_str(data, "status").lower()
        state = _STATES.get(raw_state)
        if state is None:
            log.warning(
                "WaveSpeed task %s has unknown status %r; treating it as running", task.task_id, raw_state
            )
            state = TaskState.RUNNING
        if state is TaskState.FAILED:
            reason = self.http.redact(first_str(data, "error") or first_str(body, "message"))[:300]
            return TaskStatus(
                TaskState.FAILED,
                message=f"WaveSpeed reported the task failed: {reason or 'no reason given'}. "
                "Change the input or try again.",
                vendor_code=task_error_code(body, data),
            )
        if state is TaskState.SUCCEEDED:
            urls = _order_outputs(data.get("outputs"))
            if not urls:  # completed but outputs not attached yet: one more poll
                return TaskStatus(TaskState.RUNNING)
            log.info("WaveSpeed task %s completed: %s", task.task_id, ", ".join(safe_url(u) for u in urls))
            return TaskStatus(TaskState.SUCCEEDED, audio_urls=urls, progress=1.0)
        return TaskStatus(state)

    def failure_error(self, status: TaskStatus) -> FoleyError:
        lowered = status.message.lower()
        if status.vendor_code == 1200 or any(word in lowered for word in _MODERATION_WORDS):
            return ModerationError(status.message, vendor_code=status.vendor_code)
        if any(word in lowered for word in _CREDIT_WORDS):
            return CreditsError(status.message, vendor_code=status.vendor_code)
        return TaskFailedError(status.message, vendor_code=status.vendor_code)


class ThinkSound(WaveSpeedModel):
    info = INFOS["wavespeed.think-sound"]
    model_path = "wavespeed-ai/think-sound"
    input_model = ThinkSoundInput

    def fields(self, request: GenerationRequest) -> dict[str, Any]:
        return {"prompt": _text(request.prompt), "seed": request.seed}


class MMAudioV2(WaveSpeedModel):
    info = INFOS["wavespeed.mmaudio-v2"]
    model_path = "wavespeed-ai/mmaudio-v2"
    input_model = MMAudioInput
    clip_seconds = (1.0, 30.0)
    field_labels: ClassVar[dict[str, str]] = {
        "prompt": "the prompt",
        "num_inference_steps": "steps",
        "guidance_scale": "guidance",
    }

    def fields(self, request: GenerationRequest) -> dict[str, Any]:
        options = request.options
        return {
            "prompt": request.prompt.strip(),
            "negative_prompt": _text(request.negative_prompt),
            "num_inference_steps": options.get("num_inference_steps"),
            "duration": json_number(request.duration, 2),
            "guidance_scale": options.get("guidance_scale"),
            "mask_away_clip": options.get("mask_away_clip"),
        }


class HunyuanVideoFoley(WaveSpeedModel):
    info = INFOS["wavespeed.hunyuan-video-foley"]
    model_path = "wavespeed-ai/hunyuan-video-foley"
    input_model = HunyuanFoleyInput
    clip_seconds = (1.0, 15.0)

    def fields(self, request: GenerationRequest) -> dict[str, Any]:
        return {"prompt": _text(request.prompt), "seed": request.seed}


class KlingViaWaveSpeed(WaveSpeedModel):
    info = INFOS["wavespeed.kling-video-to-audio"]
    model_path = "kwaivgi/kling-video-to-audio"
    input_model = KlingOnWaveSpeedInput
    clip_seconds = (3.0, 20.0)
    max_clip_bytes = 100 * 1000 * 1000  # Kling's "≤100MB", read as the smaller 10^6-byte MB
    field_labels: ClassVar[dict[str, str]] = {
        "sound_effect_prompt": "the sound effect prompt",
        "bgm_prompt": "the music prompt",
    }

    def fields(self, request: GenerationRequest) -> dict[str, Any]:
        return {
            "sound_effect_prompt": _text(request.prompt),
            "bgm_prompt": _text(request.bgm_prompt),
            "asmr_mode": request.options.get("asmr_mode"),
        }


class MireloSfx(WaveSpeedModel):
    info = INFOS["wavespeed.mirelo-sfx"]
    model_path = "mirelo-ai/sfx-2.0/video-to-audio"
    input_model = MireloSfxInput
    clip_seconds = (1.0, 600.0)

    def fields(self, request: GenerationRequest) -> dict[str, Any]:
        return {
            "prompt": _text(request.prompt),
            "negative_prompt": _text(request.negative_prompt),
            "preserve_speech": request.options.get("preserve_speech"),
            "duration": json_number(request.duration, 2),
        }


# -- issue 14: newer models, each with only the fields its WaveSpeed page confirms ---------------


class SoniloInput(VendorInput):
    prompt: str | None = Field(None, max_length=2000)
    audio_format: Literal["wav", "mp3", "aac", "flac"] = "wav"


class SoniloVideoToSfx(WaveSpeedModel):
    """``sonilo/v1/video-to-sfx``: {video*, prompt (≤2,000), audio_format wav|mp3|aac|flac (aac)}.

    The track follows the clip's length (no duration field); up to 180 s and 300 MB. WAV is
    asked for: long ranges are joined from chunks, and WAV joins without a decoder.
    """

    info = INFOS["wavespeed.sonilo-video-to-sfx"]
    model_path = "sonilo/v1/video-to-sfx"
    input_model = SoniloInput
    clip_seconds = (1.0, 180.0)
    max_clip_bytes = 300 * 1000 * 1000

    def fields(self, request: GenerationRequest) -> dict[str, Any]:
        return {"prompt": _text(request.prompt), "audio_format": "wav"}


class MireloSfx16Input(VendorInput):
    prompt: str | None = None
    num_samples: int = Field(2, ge=2, le=4)
    seed: int = Field(-1, ge=-1, le=SEED_MAX)


class MireloSfx16(WaveSpeedModel):
    """``mirelo-ai/sfx-1.6/video-to-video``: {video*, prompt, num_samples (up to 4), seed (-1 random)}.

    Its page names these; the duration field is described but not named, so it is not sent (the
    clip's length decides). One request makes ``num_samples`` variations: every output after the
    first lands as another take (``ProviderInfo.outputs_are_takes``). 2 is the smallest count
    sent: the page gives no minimum and Mirelo 1.5's is 2.
    """

    info = INFOS["wavespeed.mirelo-sfx-1.6"]
    model_path = "mirelo-ai/sfx-1.6/video-to-video"
    input_model = MireloSfx16Input
    clip_seconds = (1.0, 60.0)
    field_labels: ClassVar[dict[str, str]] = {"num_samples": "variations per request"}

    def fields(self, request: GenerationRequest) -> dict[str, Any]:
        return {"prompt": _text(request.prompt), "num_samples": request.options.get("num_samples"),
                "seed": request.seed}


class KlingTextToAudioInput(VendorInput):
    prompt: str = Field(min_length=1, max_length=200)
    duration: float = Field(ge=3.0, le=10.0)


class KlingTextToAudio(WaveSpeedModel):
    """``kwaivgi/kling-text-to-audio``: {prompt, duration} (its page); no video is sent.

    The page names the two fields without limits; 3.0–10.0 s and a 200-character prompt are
    Kling's own text-to-audio limits (docs/vendors/wavespeed.md).
    """

    info = INFOS["wavespeed.kling-text-to-audio"]
    model_path = "kwaivgi/kling-text-to-audio"
    input_model = KlingTextToAudioInput
    field_labels: ClassVar[dict[str, str]] = {"prompt": "the prompt", "duration": "the range length"}

    def fields(self, request: GenerationRequest) -> dict[str, Any]:
        return {"prompt": request.prompt.strip(), "duration": round(request.duration, 1)}

    def validate(self, request: GenerationRequest) -> None:
        self.ws.require_key()
        self.check_duration(request, 3.0, 10.0)
        self._input(request)

    def upload_clip(self, request: GenerationRequest, cancel: threading.Event | None = None) -> str | None:
        return None  # text only

    def payload(self, request: GenerationRequest, clip_url: str | None) -> dict[str, Any]:
        return self._input(request).model_dump(exclude_none=True)
