"""Vidu text/timing to audio (seeds 002, 003 + vendors.md).

Which JSON field carries Vidu's error code is not documented, so error bodies carry
the name in both ``code`` and ``reason`` plus a ``message``:
``{"code": "CreditInsufficient", "reason": "CreditInsufficient", "message": "..."}``.
Result URLs carry a signed-looking (never checked) query string, like Vidu's CDN.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

from .wire import (
    Exchange,
    Rejection,
    Reply,
    Route,
    TaskRecord,
    VendorApi,
    digits_id,
    is_int,
    is_number,
    iso_micros,
    json_reply,
    route,
)

MODEL = "audio1.0"
PROMPT_LIMIT = 1500
MIN_SECONDS = 2.0
MAX_SECONDS = 10.0
DEFAULT_SECONDS = 10.0
CREDITS = 10  # per task, whatever the duration (the real price is not documented)


def _error(status: int, code: str, message: str) -> Reply:
    return json_reply(status, {"code": code, "reason": code, "message": message})


def _invalid(message: str) -> Rejection:
    return Rejection(_error(400, "FieldInvalid", message))


def _lacking(field: str) -> Rejection:
    return Rejection(_error(400, "FieldLacking", f"{field} is required"))


def _echo_number(value: float) -> int | float:
    # The docs type the echoed duration as Int; whole values go back as ints.
    return int(value) if float(value).is_integer() else value


def _signed_query() -> str:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    signature = hashlib.sha256(secrets.token_bytes(16)).hexdigest()
    return (
        "X-Amz-Algorithm=AWS4-HMAC-SHA256"
        f"&X-Amz-Credential=EMULATOR%2F{stamp[:8]}%2Fus-east-1%2Fs3%2Faws4_request"
        f"&X-Amz-Date={stamp}&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature={signature}"
    )


class ViduApi(VendorApi):
    name = "vidu"

    def build_routes(self) -> list[Route]:
        return [
            route("POST", r"/ent/v2/text2audio", "submit", self.text2audio),
            route("POST", r"/ent/v2/timing2audio", "submit", self.timing2audio),
            route("GET", r"/ent/v2/tasks/(?P<id>[^/]+)/creations", "poll", self.creations),
        ]

    def server_error(self, status: int) -> Reply:
        names = {503: "ServiceUnavailable", 504: "GatewayTimeout"}
        return _error(
            status, names.get(status, "InternalServiceFailure"), "Internal service failure, please retry"
        )

    def rate_limited(self) -> Reply:
        return _error(429, "TooManyRequests", "Too many requests, please retry later")

    def no_credits(self) -> Reply:
        return _error(400, "CreditInsufficient", "Insufficient credits, please recharge")

    def moderation(self) -> Reply:
        return _error(400, "TaskPromptPolicyViolation", "The prompt violates the content policy")

    def not_found(self, ex: Exchange) -> Reply:
        return _error(404, "NotFound", "Not found")

    def _auth(self, ex: Exchange) -> None:
        if ex.header("Authorization") != f"Token {self.emu.keys.vidu}":
            raise Rejection(_error(401, "Unauthorized", "Invalid or missing API key"))

    # -- routes ------------------------------------------------------------------------------

    def text2audio(self, ex: Exchange) -> Reply:
        self._auth(ex)
        body = self._body(ex)
        duration = self._common(body)
        prompt = body.get("prompt")
        if prompt is None or prompt == "":
            raise _lacking("prompt")
        if not isinstance(prompt, str) or len(prompt) > PROMPT_LIMIT:
            raise _invalid(f"prompt must be a string of at most {PROMPT_LIMIT} characters")
        self.gate_submit()
        task = self._create(body, duration)
        return json_reply(
            200,
            {
                "task_id": task.task_id,
                "state": "created",
                "model": MODEL,
                "prompt": prompt,
                "duration": _echo_number(duration),
                "seed": task.extra["seed"],
                "credits": CREDITS,
                "created_at": iso_micros(task.created_at),
            },
        )

    def timing2audio(self, ex: Exchange) -> Reply:
        self._auth(ex)
        body = self._body(ex)
        duration = self._common(body)
        events = body.get("timing_prompts")
        if not events:
            raise _lacking("timing_prompts")
        if not isinstance(events, list):
            raise _invalid("timing_prompts must be an array")
        for index, event in enumerate(events):
            self._check_event(index, event, duration)
        self.gate_submit()
        task = self._create(body, duration)
        return json_reply(
            200,
            {
                "task_id": task.task_id,
                "state": "created",
                "model": MODEL,
                "duration": _echo_number(duration),
                "timing_prompts": events,
                "seed": task.extra["seed"],
                "credits": CREDITS,
                "created_at": iso_micros(task.created_at),
            },
        )

    def creations(self, ex: Exchange) -> Reply:
        self._auth(ex)
        task = self.emu.find_task("vidu", ex.match["id"] if ex.match else "")
        if task is None:
            return _error(404, "TaskNotFound", "Task not found")
        return json_reply(200, self._describe(task, self.emu.advance(task)))

    # -- helpers -----------------------------------------------------------------------------

    def _body(self, ex: Exchange) -> dict[str, Any]:
        try:
            body = ex.json_body()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise Rejection(_error(400, "BadRequest", "The body must be a JSON object"))
        return body

    def _common(self, body: dict[str, Any]) -> float:
        """Checks model, duration, seed and callback_url; returns the duration."""
        if not body.get("model"):
            raise _lacking("model")
        if body["model"] != MODEL:
            raise _invalid(f"model must be {MODEL}")
        duration = body.get("duration", DEFAULT_SECONDS)
        if not is_number(duration) or not MIN_SECONDS <= duration <= MAX_SECONDS:
            raise _invalid("duration must be a number from 2 to 10")
        if "seed" in body and not is_int(body["seed"]):
            raise _invalid("seed must be an integer")
        callback = body.get("callback_url")
        if callback is not None and not isinstance(callback, str):
            raise _invalid("callback_url must be a string")
        return float(duration)

    def _check_event(self, index: int, event: Any, duration: float) -> None:
        where = f"timing_prompts[{index}]"
        if not isinstance(event, dict):
            raise _invalid(f"{where} must be an object with from, to and prompt")
        start, end, prompt = event.get("from"), event.get("to"), event.get("prompt")
        if start is None or end is None or not prompt:
            raise _lacking(f"{where}.from, .to and .prompt")
        if not is_number(start) or not is_number(end) or not 0 <= start <= end <= duration:
            raise _invalid(f"{where}: from and to must be within [0, duration] and from <= to")
        if not isinstance(prompt, str) or len(prompt) > PROMPT_LIMIT:
            raise _invalid(f"{where}.prompt must be a string of at most {PROMPT_LIMIT} characters")

    def _create(self, body: dict[str, Any], duration: float) -> TaskRecord:
        seed = body.get("seed") or secrets.randbelow(2**31 - 1) + 1  # 0 or absent: random
        return self.emu.create_task("vidu", digits_id(), MODEL, body, duration, extra={"seed": seed})

    def _describe(self, task: TaskRecord, phase: str) -> dict[str, Any]:
        if phase == "queued":
            state = "queueing" if task.polls else "created"
        else:
            state = {"running": "processing", "succeeded": "success", "failed": "failed"}[phase]
        creations = []
        if phase == "succeeded":
            task.extra.setdefault("creation_id", digits_id())
            task.extra.setdefault("query", _signed_query())
            url = self.emu.result_file(task, "wav", query=task.extra["query"])
            creations.append({"id": task.extra["creation_id"], "url": url, "cover_url": ""})
        return {
            "id": task.task_id,
            "state": state,
            "err_code": (task.fail_code or "") if phase == "failed" else "",
            "credits": 0 if phase == "failed" else CREDITS,
            "creations": creations,
        }
