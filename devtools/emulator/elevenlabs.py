"""ElevenLabs sound effects (docs/vendors/elevenlabs.md): one synchronous, paid request.

``POST /v1/sound-generation?output_format=...`` with ``xi-api-key`` answers 200 with the audio
bytes themselves (``audio/mpeg`` or ``audio/wav``), ``request-id`` and ``character-cost``
headers. Errors are ``{"detail": {"type", "code", "message", "param", "request_id"}}`` (the
errors page), except FastAPI's 422 validation list ``{"detail": [{"loc", "msg", "type"}]}``.
``GET /v1/models`` is the free, authenticated request Test Connection makes.

Every accepted request is a paid task (``emu.tasks_created("elevenlabs")``), finished at once.
Faults beyond the common ones: ``truncate_download`` with ``on="submit"`` cuts the audio body
after ``keep`` bytes (the sound was made and charged, the client hears half of it);
``lose_submit_answer`` / ``drop_submit_response`` likewise come after the charge.
"""

from __future__ import annotations

import uuid
from typing import Any

from . import audio
from .wire import Exchange, Rejection, Reply, Route, VendorApi, is_number, json_reply, route

MODELS = ("eleven_text_to_sound_v2", "eleven_text_to_sound_v3")
#: what the emulator can answer with; the real list also has pcm_*, ulaw_8000, opus_* ...
OUTPUT_FORMATS = {
    "mp3_22050_32": ("mp3", 22050),
    "mp3_44100_64": ("mp3", 44100),
    "mp3_44100_128": ("mp3", 44100),
    "mp3_44100_192": ("mp3", 44100),
    "wav_22050": ("wav", 22050),
    "wav_44100": ("wav", 44100),
    "wav_48000": ("wav", 48000),
}
MIN_SECONDS, MAX_SECONDS = 0.5, 30.0
GUESSED_SECONDS = 5.0  # duration_seconds null: "we will guess the optimal duration"


def _error(status: int, code: str, message: str, kind: str = "invalid_request", param: str = "") -> Reply:
    detail: dict[str, Any] = {"type": kind, "code": code, "message": message,
                              "request_id": uuid.uuid4().hex}
    if param:
        detail["param"] = param
    return json_reply(status, {"detail": detail})


def busy_refusal() -> Reply:
    """429 over the plan's requests at once (the errors page's ``concurrent_limit_exceeded``)."""
    return _error(429, "concurrent_limit_exceeded", "Too many concurrent requests for your subscription.",
                  "rate_limit_error")


def _validation(field: str, message: str, kind: str) -> Rejection:
    return Rejection(json_reply(422, {"detail": [{"loc": ["body", field], "msg": message, "type": kind}]}))


class ElevenLabsApi(VendorApi):
    name = "elevenlabs"

    def build_routes(self) -> list[Route]:
        return [
            route("POST", r"/v1/sound-generation", "submit", self.sound_generation),
            route("GET", r"/v1/models", "other", self.models),
        ]

    def server_error(self, status: int) -> Reply:
        return _error(status, "internal_error", "An internal error occurred.", "internal_error")

    def rate_limited(self) -> Reply:
        return busy_refusal()

    def no_credits(self) -> Reply:
        # older answers carry it as 401 detail.status; the errors page's shape is used here
        return _error(401, "quota_exceeded", "This request exceeds your quota.", "authentication_error")

    def moderation(self) -> Reply:
        return _error(400, "content_policy_violation", "The prompt violates the terms of service.")

    def not_found(self, ex: Exchange) -> Reply:
        return json_reply(404, {"detail": "Not Found"})

    def _auth(self, ex: Exchange) -> None:
        if ex.header("xi-api-key") != self.emu.keys.elevenlabs:
            raise Rejection(_error(401, "invalid_api_key", "Invalid API key", "authentication_error"))

    def models(self, ex: Exchange) -> Reply:
        self._auth(ex)
        return json_reply(200, [{"model_id": model, "name": model} for model in MODELS])

    def sound_generation(self, ex: Exchange) -> Reply:
        self._auth(ex)
        fmt = ex.query.get("output_format", "mp3_44100_128")
        if fmt not in OUTPUT_FORMATS:
            return _error(400, "invalid_parameters", f"Unsupported output_format {fmt}",
                          param="output_format")
        try:
            body = ex.json_body()
        except ValueError:
            raise _validation("body", "JSON decode error", "json_invalid") from None
        if not isinstance(body, dict):
            raise _validation("body", "Input should be a valid dictionary", "dict_type")
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _validation("text", "Field required", "missing")
        seconds = body.get("duration_seconds")
        if seconds is not None and (not is_number(seconds) or not MIN_SECONDS <= seconds <= MAX_SECONDS):
            raise _validation("duration_seconds", "Must be at least 0.5 and at most 30", "value_error")
        influence = body.get("prompt_influence")
        if influence is not None and (not is_number(influence) or not 0.0 <= influence <= 1.0):
            raise _validation("prompt_influence", "Must be a value between 0 and 1", "value_error")
        if "loop" in body and not isinstance(body["loop"], bool):
            raise _validation("loop", "Input should be a valid boolean", "bool_type")
        model = body.get("model_id", MODELS[0])
        if model not in MODELS:
            return _error(400, "invalid_parameters", f"A model with model ID {model} does not exist",
                          param="model_id")
        if body.get("loop") is True and model != "eleven_text_to_sound_v2":
            # "Only available for the eleven_text_to_sound_v2 model": the unkind reading refuses it
            return _error(422, "invalid_parameters", "loop is only supported by eleven_text_to_sound_v2",
                          param="loop")
        self.gate_submit()
        length = float(seconds) if seconds is not None else GUESSED_SECONDS
        request_id = uuid.uuid4().hex
        task = self.emu.create_task("elevenlabs", request_id, str(model), body, length,
                                    sample_rate=OUTPUT_FORMATS[fmt][1])
        task.phase, task.finished_at = "succeeded", task.created_at  # made at once: the answer is the sound
        if task.fail_message is not None:  # task_fail: the unkind reading, a server error after the charge
            task.phase = "failed"
            return self.server_error(500)
        kind = OUTPUT_FORMATS[fmt][0]
        if kind == "mp3":
            data, _ = audio.silent_mp3(task.result_seconds)
            reply = Reply(200, data, "audio/mpeg")
        else:
            data = audio.synth_wav(task.result_seconds, sample_rate=task.sample_rate, voice=task.voice,
                                   gain_db=task.gain_db, silence=task.silence)
            reply = Reply(200, data, "audio/wav")
        reply.headers["request-id"] = request_id
        reply.headers["character-cost"] = str(round(length * 25))
        cut = self.emu.take_fault(self.name, "truncate_download", "submit")
        if cut is not None:  # the sound was made and charged; the client hears part of it
            reply.truncate_to = int(cut.params.get("keep", len(data) // 2))
        return reply
