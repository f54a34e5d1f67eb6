"""ElevenLabs sound effects: text to sound, and the answer IS the audio (docs/vendors/elevenlabs.md).

``POST /v1/sound-generation?output_format=...`` with ``xi-api-key`` and the JSON body
``{text, duration_seconds, prompt_influence, loop, model_id}`` answers with the audio bytes.
There is no task to poll, so the engine's four steps map onto one paid request:

* ``submit`` sends it (the engine has recorded the intent first) and writes the answer to the
  request's ``answer_stem`` (``Provider.answer_is_audio``), fsync'd, before it returns; the
  returned ``VendorTask`` names that file, and the engine records it at once;
* ``poll`` only checks that the file is still there;
* ``download`` hands back that file: it is already where the download would have put it.

A lost answer (no answer, a cut body, a 5xx) may have been generated and charged: it is never
sent again (ElevenLabs offers no lookup by an id we choose). A 429 (over the plan's requests at
once, or its rate) is a refusal: nothing was made, the engine waits and sends it again.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import requests
from pydantic import Field

from .base import (
    ANSWER_STEM_OPTION,
    AudioFile,
    GenerationRequest,
    TaskState,
    TaskStatus,
    VendorTask,
)
from .catalog import INFOS
from .download import keep_answer, kept_answer
from .errors import (
    AuthError,
    CreditsError,
    DownloadError,
    FoleyError,
    InputError,
    SubmitUncertainError,
    VendorBusyError,
    VendorUnavailableError,
)
from .http import json_body, uncertain_answer, with_retry_after
from .settings import PREFS_PATH, FoleySettings, VendorSettings
from .vendor_client import VendorClient, VendorInput, build_input, first_str

log = logging.getLogger(__name__)

SOUND_PATH = "/v1/sound-generation"
MODELS_PATH = "/v1/models"
#: The formats we ask for: ones the result checks can read (raw PCM/μ-law have no header).
OUTPUT_FORMATS = ("mp3_44100_128", "mp3_44100_192", "wav_44100", "wav_48000")
#: A 30 s WAV at 48 kHz stereo is about 5.8 MB; the whole answer is read before it is written.
MAX_ANSWER_BYTES = 64 * 1024 * 1024
#: detail.status / detail.code values that mean the account is out of credits (401 or 402).
_CREDIT_CODES = ("quota_exceeded", "insufficient_credits", "payment_required", "credits")
#: the errors page: 429 is ``rate_limit_exceeded`` or ``concurrent_limit_exceeded``; older
#: answers say ``too_many_concurrent_requests`` or ``system_busy``. All are refusals.


class SoundEffectInput(VendorInput):
    text: str = Field(min_length=1)
    duration_seconds: float = Field(ge=0.5, le=30.0)
    prompt_influence: float = Field(0.3, ge=0.0, le=1.0)
    loop: bool = False
    model_id: Literal["eleven_text_to_sound_v2", "eleven_text_to_sound_v3"] = "eleven_text_to_sound_v2"


def _detail(body: Any) -> tuple[str, str]:
    """(code, message) of an ElevenLabs error body, whatever its shape.

    ``{"detail": {"type", "code", "message", "param"}}`` (the errors page), the older
    ``{"detail": {"status", "message"}}``, a bare string, or FastAPI's 422 list
    ``{"detail": [{"loc": [...], "msg": ...}]}``.
    """
    detail = body.get("detail") if isinstance(body, Mapping) else None
    if isinstance(detail, str):
        return "", detail
    if isinstance(detail, Mapping):
        code = first_str(detail, "code", "status", "type")
        message = first_str(detail, "message", "msg")
        param = first_str(detail, "param")
        return code, f"{message} ({param})" if param and param not in message else message
    if isinstance(detail, list):
        parts = []
        for item in detail[:3]:
            if isinstance(item, Mapping):
                where = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
                parts.append(f"{where}: {first_str(item, 'msg')}" if where else first_str(item, "msg"))
        return "validation_error", "; ".join(part for part in parts if part)
    return "", ""


def elevenlabs_error(status: int, body: Any, redact: Any, action: str) -> FoleyError:
    code, message = _detail(body)
    message = redact(message)[:300]
    detail = f": {message}" if message else ""
    token = redact(code)[:40]
    vendor_code: str | int = token if token and token.replace("_", "").isalnum() else status
    lowered = code.lower()
    if status == 402 or any(word in lowered for word in _CREDIT_CODES):
        return CreditsError(
            f"The ElevenLabs account has no credits left for this{detail}. Top it up or change the plan at "
            "elevenlabs.io, then try again; nothing was generated.",
            vendor_code=vendor_code,
        )
    if status in (401, 403):
        return AuthError(
            f"ElevenLabs rejected the API key while {action}{detail}. Check ELEVENLABS_API_KEY or "
            f"{PREFS_PATH} ▸ ElevenLabs API key, and that the key may use Sound Effects.",
            vendor_code=vendor_code,
        )
    if status == 429:
        return VendorBusyError(
            f"ElevenLabs is busy for this account (too many requests at once or a minute){detail}; nothing "
            "was generated. The job waits and sends it again.",
            vendor_code=vendor_code,
        )
    if status in (400, 404, 422):
        return InputError(
            f"ElevenLabs rejected the request{detail}. Fix that input and try again; nothing was generated.",
            vendor_code=vendor_code,
        )
    return VendorUnavailableError(
        f"ElevenLabs gave an unexpected answer (HTTP {status}) while {action}{detail}. Try again later.",
        vendor_code=vendor_code,
    )


def _refused(response: requests.Response) -> bool:
    """Only a 429 proves nothing was generated; a 503 may come from a gateway after the work was done."""
    return response.status_code == 429


class ElevenLabsSoundEffects(VendorClient):
    info = INFOS["elevenlabs.sound-effects"]
    answer_is_audio = True

    def __init__(self, settings: FoleySettings) -> None:
        super().__init__(settings)
        self.eleven: VendorSettings = settings.vendor("elevenlabs")
        self.http.max_answer_bytes = MAX_ANSWER_BYTES  # the answer is the audio, not a small JSON

    def _payload(self, request: GenerationRequest) -> SoundEffectInput:
        options = request.options
        values: dict[str, Any] = {
            "text": request.prompt.strip(),
            "duration_seconds": round(request.duration, 3),
            "prompt_influence": options.get("prompt_influence"),
            "loop": options.get("loop"),
            "model_id": options.get("model_id") or None,
        }
        labels = {"text": "the prompt", "duration_seconds": "the range length",
                  "prompt_influence": "prompt influence", "model_id": "the model"}
        given = {key: value for key, value in values.items() if value is not None}
        return build_input(SoundEffectInput, self.info.label, given, labels)

    def _output_format(self, request: GenerationRequest) -> str:
        fmt = str(request.options.get("output_format") or OUTPUT_FORMATS[0])
        if fmt not in OUTPUT_FORMATS:
            raise InputError(
                f"{self.info.label}: the format {fmt!r} is not one VSE Foley can check and insert; choose "
                f"one of {', '.join(OUTPUT_FORMATS)}. Nothing was sent."
            )
        return fmt

    def validate(self, request: GenerationRequest) -> None:
        self.eleven.require("api_key")[0]
        if request.duration > 30.0 + 1e-3 or request.duration < 0.5 - 1e-3:
            raise InputError(
                f"{self.info.label} makes 0.5–30 s a request but this part is {request.duration:.2f} s. "
                "Change the range length and try again; nothing was sent."
            )
        self._payload(request)
        self._output_format(request)

    def upload_clip(self, request: GenerationRequest, cancel: threading.Event | None = None) -> str | None:
        return None  # text only: no video is sent

    def submit(
        self, request: GenerationRequest, clip_url: str | None, cancel: threading.Event | None = None
    ) -> VendorTask:
        stem = str(request.options.get(ANSWER_STEM_OPTION) or "")
        if not stem:  # a caller bug: refuse before anything is sent, so nothing can be lost
            raise InputError(f"{self.info.label} needs a place to save its answer; nothing was sent.")
        key = self.eleven.require("api_key")[0]
        payload = self._payload(request).model_dump()
        url = f"{self.base_url}{SOUND_PATH}?output_format={self._output_format(request)}"
        response = self.http.submit(
            url, headers={"xi-api-key": key}, json=payload, refused_response=_refused, cancel=cancel
        )
        if response.status_code != 200:
            if response.status_code >= 500:  # 503 too: the sound may have been made before a gateway gave up
                raise uncertain_answer("ElevenLabs", response.status_code)
            raise with_retry_after(
                elevenlabs_error(response.status_code, json_body(response), self.http.redact,
                                 "generating the sound"),
                response,
            )
        data = response.content
        if not data:
            raise SubmitUncertainError(
                "ElevenLabs answered the paid request with an empty body, so it is not known whether the "
                "sound was generated and charged. Check the usage page of your ElevenLabs account before "
                "generating again.",
                what="ElevenLabs answered the paid request with an empty body",
            )
        audio = keep_answer(data, Path(stem), "ElevenLabs")  # on disk before anything else happens to it
        request_id = response.headers.get("request-id") or response.headers.get("x-request-id") or ""
        log.info("ElevenLabs sound %s saved to %s", request_id or "(no request id)", audio.path.name)
        return VendorTask(
            request_id or f"elevenlabs-{uuid.uuid4().hex}",
            {"audio_path": str(audio.path), "format": audio.format,
             "character_cost": response.headers.get("character-cost", "")},
        )

    def poll(self, task: VendorTask) -> TaskStatus:
        path = Path(str(task.data.get("audio_path") or ""))
        if path.name and path.is_file():
            return TaskStatus(TaskState.SUCCEEDED, audio_urls=(path.as_uri(),), progress=1.0)
        return TaskStatus(
            TaskState.FAILED,
            message=f"The sound ElevenLabs returned was saved at {path} but that file is gone (moved or "
            "deleted). Look for it there; generating again is a new, paid request.",
            vendor_code="file_missing",
        )

    def download(
        self, status: TaskStatus, dest_stem: Path, cancel: threading.Event | None = None
    ) -> AudioFile:
        if not status.audio_urls:
            raise DownloadError(f"{self.info.label} kept no answer file; generate again.")
        from urllib.parse import unquote, urlsplit

        path = Path(unquote(urlsplit(status.audio_urls[0]).path))
        if not path.is_file():
            raise DownloadError(
                f"The ElevenLabs answer {path} is gone (moved or deleted); look for it there."
            )
        return kept_answer(path)

    def check_key(self) -> str:
        """Test Connection: ``GET /v1/models`` (free, authenticated); a sentence, or the error."""
        key = self.eleven.require("api_key")[0]
        response = self.http.request("GET", f"{self.base_url}{MODELS_PATH}", headers={"xi-api-key": key})
        if response.status_code != 200:
            raise with_retry_after(
                elevenlabs_error(response.status_code, json_body(response), self.http.redact,
                                 "checking the key"),
                response,
            )
        return "ElevenLabs: connected, and the key was accepted."


def check_key(settings: FoleySettings, spec: object) -> str:
    """The ``VendorSpec.probe`` of ElevenLabs: one free authenticated request, nothing generated."""
    provider = ElevenLabsSoundEffects(settings)
    try:
        return provider.check_key()
    finally:
        provider.close()
