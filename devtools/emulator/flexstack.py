"""FlexStack AudioGen (seed 004 + vendors.md, SDK facts): login, refresh, create, result.

Every answer uses FlexStack's envelope ``{data, errors[], error_description}``.

The result JSON of ``GET /ai/audio_generation/{task_id}`` is NOT documented, so the
emulator can answer in several plausible shapes (``emu.flexstack_result_shape``);
a tolerant client must read them all. ``<url>`` is a WAV on the emulator.

``"celery"`` (default; the task name ``tasks.parrot_t2s_task`` suggests Celery)::

    {"data": {"task_id": ..., "status": "PENDING"|"STARTED"|"SUCCESS"|"FAILURE",
              "result": {"audio_url": <url>} | null | {"exc_type": ..., "exc_message": <why>}},
     "errors": [], "error_description": ""}

``"state_list"``::

    {"data": {"task_id": ..., "state": "PENDING"|"STARTED"|"SUCCESS"|"FAILURE",
              "output": {"files": [<url>]} | null, "error": <why> | null}, ...}

``"nested"``::

    {"data": {"task_id": ..., "task_status": "PENDING"|"STARTED"|"SUCCESS"|"FAILURE",
              "result": {"data": {"url": <url>}} | null, "message": <why> | ""}, ...}

``"lowercase"`` (a REST-style backend)::

    {"data": {"id": ..., "status": "queued"|"processing"|"completed"|"failed",
              "audio_url": <url> | null, "error": <why> | null}, ...}

A failed task answers HTTP 200 with the failure in the shape and its reason also in
``errors`` / ``error_description``.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from .wire import (
    Exchange,
    Rejection,
    Reply,
    Route,
    TaskRecord,
    VendorApi,
    is_number,
    json_reply,
    new_uuid,
    route,
)

if TYPE_CHECKING:
    from .server import VendorEmulator

RESULT_SHAPES: tuple[str, ...] = ("celery", "state_list", "nested", "lowercase")
MODELS = ("audiogen", "musicgen")
TASK_NAME = "tasks.parrot_t2s_task"
MAX_SECONDS = 300  # "a few seconds to several minutes"

_CELERY = {"queued": "PENDING", "running": "STARTED", "succeeded": "SUCCESS", "failed": "FAILURE"}
_LOWER = {"queued": "queued", "running": "processing", "succeeded": "completed", "failed": "failed"}


def _envelope(status: int, data: Any, errors: list[str] | None = None, description: str = "") -> Reply:
    return json_reply(status, {"data": data, "errors": errors or [], "error_description": description})


def _error(status: int, message: str) -> Reply:
    return _envelope(status, None, [message], message)


class FlexStackApi(VendorApi):
    name = "flexstack"

    def __init__(self, emulator: VendorEmulator) -> None:
        self._tokens_lock = threading.Lock()
        self._access: dict[str, float] = {}  # token -> monotonic expiry
        self._refresh: set[str] = set()
        super().__init__(emulator)

    def build_routes(self) -> list[Route]:
        return [
            route("POST", r"/user/login", "auth", self.login),
            route("POST", r"/user/refresh_token", "auth", self.refresh),
            route("POST", r"/ai/audio_generation", "submit", self.create),
            route("GET", r"/ai/audio_generation/(?P<id>[^/]+)", "poll", self.result),
        ]

    def reset(self) -> None:
        with self._tokens_lock:
            self._access.clear()
            self._refresh.clear()

    def server_error(self, status: int) -> Reply:
        return _error(status, "Internal server error")

    def rate_limited(self) -> Reply:
        return _error(429, "Too many requests")

    def no_credits(self) -> Reply:
        return _error(402, "Insufficient credits: please top up your FlexStack account")

    def moderation(self) -> Reply:
        return _error(400, "The prompt was rejected by the content policy")

    def not_found(self, ex: Exchange) -> Reply:
        return _error(404, "Not Found")

    # -- auth --------------------------------------------------------------------------------

    def _issue(self) -> dict[str, Any]:
        ttl = float(self.emu.flexstack_token_ttl)
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        with self._tokens_lock:
            self._access[access] = time.monotonic() + ttl
            self._refresh.add(refresh)
        return {
            "access_token": access,
            "refresh_token": refresh,
            "token_type": "bearer",
            "expires_in": int(ttl),
        }

    def _auth(self, ex: Exchange) -> None:
        scheme, _, token = ex.header("Authorization").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Rejection(_error(401, "Not authenticated"))
        if token == self.emu.keys.flexstack_token:
            return
        with self._tokens_lock:
            expiry = self._access.get(token)
        if expiry is None:
            raise Rejection(_error(401, "Could not validate credentials"))
        if time.monotonic() >= expiry:
            raise Rejection(_error(401, "Token has expired"))

    def login(self, ex: Exchange) -> Reply:
        scheme, _, encoded = ex.header("Authorization").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user = password = ""
        keys = self.emu.keys
        if scheme.lower() != "basic" or (user, password) != (
            keys.flexstack_username,
            keys.flexstack_password,
        ):
            return _error(401, "Incorrect username or password")
        return _envelope(200, self._issue())

    def refresh(self, ex: Exchange) -> Reply:
        # The official SDK (flexstack/flexstackapi.py) sends the current access token as
        # "Authorization: Bearer" with the form; the unkind reading is that the server needs it
        # (an expired one is fine: refreshing is what it is for).
        scheme, _, bearer = ex.header("Authorization").partition(" ")
        with self._tokens_lock:
            issued = bearer in self._access
        if scheme.lower() != "bearer" or not issued:
            return _error(401, "Not authenticated")
        # The SDK posts a form; JSON and the query string are accepted too.
        token = ex.query.get("refresh_token", "")
        content_type = ex.header("Content-Type").lower()
        if "json" in content_type:
            try:
                body = ex.json_body()
                token = str(body.get("refresh_token", "")) if isinstance(body, dict) else token
            except ValueError:
                pass
        elif ex.body:
            token = parse_qs(ex.body.decode("utf-8", "replace")).get("refresh_token", [token])[0]
        with self._tokens_lock:
            known = token in self._refresh
        if not known:
            return _error(401, "Invalid refresh token")
        return _envelope(200, self._issue())

    # -- tasks -------------------------------------------------------------------------------

    def create(self, ex: Exchange) -> Reply:  # noqa: PLR0911 - one exit per documented check
        self._auth(ex)
        try:
            body = ex.json_body()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _error(422, "The body must be a JSON object")
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            return _error(422, "prompt is required")
        configs = body.get("configs") or {}
        if not isinstance(configs, dict):
            return _error(422, "configs must be a JSON object")
        model = configs.get("model", "audiogen")
        duration = configs.get("duration", 5)
        top_k = configs.get("top_k", 15)
        top_p = configs.get("top_p", 0.9)
        if model not in MODELS:
            return _error(422, "configs.model must be audiogen or musicgen")
        # Integer fields: a whole float is coerced (pydantic-style), a fraction is not.
        if not is_number(duration) or not float(duration).is_integer() or not 1 <= duration <= MAX_SECONDS:
            return _error(422, f"configs.duration must be an integer from 1 to {MAX_SECONDS}")
        if not is_number(top_k) or not float(top_k).is_integer() or top_k < 1:
            return _error(422, "configs.top_k must be a positive integer")
        if not is_number(top_p) or not 0 <= top_p <= 1:
            return _error(422, "configs.top_p must be between 0 and 1")
        self.gate_submit()
        task = self.emu.create_task("flexstack", new_uuid(), str(model), body, float(int(duration)))
        config = {"model": model, "task_name": TASK_NAME, "task_type": "text_to_audio"}
        return _envelope(200, {"task_id": task.task_id, "prompt": prompt, "config": config})

    def result(self, ex: Exchange) -> Reply:
        self._auth(ex)
        task = self.emu.find_task("flexstack", ex.match["id"] if ex.match else "")
        if task is None:
            return _error(404, "Task not found")
        phase = self.emu.advance(task)
        url = self.emu.result_file(task) if phase == "succeeded" else None
        why = (task.fail_message or "Task failed") if phase == "failed" else ""
        errors = [why] if why else []
        return _envelope(200, self._shape(task, phase, url, why), errors, why)

    def _shape(self, task: TaskRecord, phase: str, url: str | None, why: str) -> dict[str, Any]:
        shape = self.emu.flexstack_result_shape
        if shape == "celery":
            result: Any = {"audio_url": url} if url else None
            if why:
                result = {"exc_type": "RuntimeError", "exc_message": why}
            return {"task_id": task.task_id, "status": _CELERY[phase], "result": result}
        if shape == "state_list":
            output = {"files": [url]} if url else None
            return {"task_id": task.task_id, "state": _CELERY[phase], "output": output, "error": why or None}
        if shape == "nested":
            nested = {"data": {"url": url}} if url else None
            return {"task_id": task.task_id, "task_status": _CELERY[phase], "result": nested, "message": why}
        if shape == "lowercase":
            return {"id": task.task_id, "status": _LOWER[phase], "audio_url": url, "error": why or None}
        raise ValueError(f"unknown flexstack_result_shape {shape!r}; expected one of {RESULT_SHAPES}")
