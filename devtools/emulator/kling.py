"""Kling video-to-audio (seed 001 + vendors.md): JWT auth, create, query one, list.

The JWT is checked by hand (no PyJWT) so the emulator is an independent judge of the
client's token. Clips are fetched and checked like the vendor does: MP4/MOV magic,
at most 100 MB, 3.0-20.0 s by the ``mvhd`` box.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import Any

from . import audio
from .wire import (
    Exchange,
    Rejection,
    Reply,
    Route,
    TaskRecord,
    VendorApi,
    digits_id,
    json_reply,
    new_uuid,
    route,
)

CLIP_LIMIT = 100 * 1024 * 1024
MIN_SECONDS = 3.0
MAX_SECONDS = 20.0
PROMPT_LIMIT = 200
_EPSILON = 1e-6  # mvhd ticks round; 3.0 s rendered at 1/1000 ticks must pass

_AUTH_MESSAGES = {
    1000: "Authentication failed",
    1001: "Authorization is empty",
    1002: "Authorization is invalid",
    1003: "Authorization is not yet valid",
    1004: "Authorization has expired",
}


def _error(status: int, code: int, message: str) -> Reply:
    return json_reply(status, {"code": code, "message": message, "request_id": new_uuid()})


def _ok(data: Any) -> Reply:
    return json_reply(200, {"code": 0, "message": "SUCCEED", "request_id": new_uuid(), "data": data})


def _b64url(segment: str) -> bytes:
    if not segment or any(
        c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=" for c in segment
    ):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def jwt_problem(authorization: str, access_key: str, secret_key: str, now: float) -> int | None:  # noqa: PLR0911 - one exit per documented check
    """The Kling auth code (1000-1004) for this Authorization header, or None if valid."""
    if not authorization.strip():
        return 1001
    scheme, _, token = authorization.strip().partition(" ")
    if scheme != "Bearer" or token.count(".") != 2:
        return 1002
    header_b64, payload_b64, signature_b64 = token.strip().split(".")
    try:
        header = json.loads(_b64url(header_b64))
        payload = json.loads(_b64url(payload_b64))
        signature = _b64url(signature_b64)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return 1002
    if not isinstance(header, dict) or not isinstance(payload, dict) or header.get("alg") != "HS256":
        return 1002
    if payload.get("iss") != access_key:
        return 1000
    expected = hmac.new(secret_key.encode(), f"{header_b64}.{payload_b64}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        return 1000
    exp, nbf = payload.get("exp"), payload.get("nbf")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        return 1002  # the docs make exp part of the token; without it it never expires
    if exp <= now:
        return 1004
    if nbf is not None and (not isinstance(nbf, int | float) or nbf > now):
        return 1003
    return None


def _seconds_text(seconds: float) -> str:
    # Kling sends durations as strings, e.g. "5.0" or "5.016".
    return str(round(seconds, 3))


class KlingApi(VendorApi):
    name = "kling"

    def build_routes(self) -> list[Route]:
        return [
            route("POST", r"/v1/audio/video-to-audio", "submit", self.create),
            route("GET", r"/v1/audio/video-to-audio", "list", self.list_tasks),
            route("GET", r"/v1/audio/video-to-audio/(?P<id>[^/]+)", "poll", self.query),
        ]

    def server_error(self, status: int) -> Reply:
        codes = {500: (5000, "Server internal error"), 503: (5001, "Server temporarily unavailable")}
        code, message = codes.get(
            status, (5002, "Server internal timeout") if status == 504 else (5000, "Error")
        )
        return _error(status, code, message)

    def rate_limited(self) -> Reply:
        return _error(429, 1302, "The API request is too fast, please slow down the request frequency")

    def no_credits(self) -> Reply:
        return _error(429, 1102, "Resource pack has been used up or has expired")

    def moderation(self) -> Reply:
        return _error(400, 1301, "Failure to pass the risk control system, please check the content")

    def not_found(self, ex: Exchange) -> Reply:
        return _error(404, 1202, "The requested method is invalid")

    def _auth(self, ex: Exchange) -> None:
        keys = self.emu.keys
        code = jwt_problem(ex.header("Authorization"), keys.kling_access, keys.kling_secret, time.time())
        if code is not None:
            raise Rejection(_error(401, code, _AUTH_MESSAGES[code]))

    # -- routes ------------------------------------------------------------------------------

    def create(self, ex: Exchange) -> Reply:
        self._auth(ex)
        try:
            body = ex.json_body()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise Rejection(_error(400, 1200, "Invalid request parameters: the body must be a JSON object"))
        self._check_fields(body)
        clip, clip_seconds, clip_url = self._clip(body)
        self.gate_submit()

        external = str(body.get("external_task_id") or "")
        task = self.emu.create_task(
            "kling",
            digits_id(),
            "video-to-audio",
            body,
            clip_seconds,
            external_task_id=external,
            extra={"clip_bytes": clip, "clip_url": clip_url, "parent_video_id": digits_id()},
        )
        lag = self.emu.take_fault("kling", "lookup_lag", "submit")
        if lag is not None:
            task.extra["hidden_lookups"] = int(lag.params.get("lookups", 3))
            task.extra["visible_after"] = task.created_monotonic + float(lag.params.get("seconds", 0.0))
            task.extra["lag_in_list"] = bool(lag.params.get("list", True))
        return _ok(
            {
                "task_id": task.task_id,
                "task_info": {"external_task_id": external},
                "task_status": "submitted",
                "created_at": int(task.created_at * 1000),
                "updated_at": int(task.created_at * 1000),
            }
        )

    def query(self, ex: Exchange) -> Reply:
        self._auth(ex)
        wanted = ex.match["id"] if ex.match else ""
        task = self.emu.find_task("kling", wanted)
        if task is None:
            same_id = (t for t in self.emu.vendor_tasks("kling") if t.external_task_id == wanted)
            task = next(same_id, None) if wanted else None
            if task is not None and self._lagging(task):
                task = None  # the lookup index has not caught up with the create yet
        if task is None:
            return _error(404, 1203, "The requested resource does not exist: task not found")
        return _ok(self._describe(task, self._fetch_when_started(task, self.emu.advance(task))))

    def list_tasks(self, ex: Exchange) -> Reply:
        self._auth(ex)
        try:
            page = int(ex.query.get("pageNum", "1"))
            size = int(ex.query.get("pageSize", "30"))
        except ValueError:
            page = size = 0
        if not (1 <= page <= 1000 and 1 <= size <= 500):
            return _error(400, 1201, "Invalid parameters: pageNum must be 1-1000 and pageSize 1-500")
        if self.emu.kling_page_size_cap is not None:
            size = min(size, self.emu.kling_page_size_cap)
        visible = (
            t for t in self.emu.vendor_tasks("kling") if not (t.extra.get("lag_in_list") and self._lagging(t))
        )
        tasks = sorted(
            visible,
            key=lambda t: t.created_at,
            reverse=True,
        )
        chosen = tasks[(page - 1) * size : page * size]
        # Listing shows where tasks are without counting as a poll.
        return _ok([self._describe(t, self.emu.advance(t, count_poll=False)) for t in chosen])

    # -- helpers -----------------------------------------------------------------------------

    def _lagging(self, task: TaskRecord) -> bool:
        """``lookup_lag``: hidden from lookups by external id (and the list) for the next
        ``lookups`` such requests and until ``seconds`` after the create; each request counts."""
        hidden = False
        with self.emu._lock:
            left = int(task.extra.get("hidden_lookups", 0))
            if left > 0:
                task.extra["hidden_lookups"] = left - 1
                hidden = True
        return hidden or time.monotonic() < float(task.extra.get("visible_after", 0.0))

    def _fetch_when_started(self, task: TaskRecord, phase: str) -> str:
        """The unkind reading: Kling downloads ``video_url`` again when a worker takes the task up
        (the document does not say when it reads the clip), so an upload deleted while the task
        was still queued fails it. ``clip_fetches`` counts the downloads of the link."""
        url = str(task.extra.get("clip_url") or "")
        if phase == "queued" or task.extra.get("fetched_when_started") or not task.request.get("video_url"):
            return phase
        task.extra["fetched_when_started"] = True
        try:
            clip = self.emu.fetch(url, CLIP_LIMIT)
        except (OSError, ValueError):
            clip = b""
        with self.emu._lock:
            task.extra["clip_fetches"] = int(task.extra.get("clip_fetches", 1)) + 1
            if clip != task.extra.get("clip_bytes"):
                task.phase, task.fail_message = "failed", "video_url could not be downloaded"
                task.finished_at = task.finished_at or time.time()
        return task.phase

    def _check_fields(self, body: dict[str, Any]) -> None:
        def invalid(message: str) -> Rejection:
            return Rejection(_error(400, 1201, f"Invalid parameters: {message}"))

        has_id, has_url = bool(body.get("video_id")), bool(body.get("video_url"))
        if has_id == has_url:
            raise invalid("exactly one of video_id and video_url is required")
        for name in (
            "video_id",
            "video_url",
            "sound_effect_prompt",
            "bgm_prompt",
            "external_task_id",
            "callback_url",
        ):
            if name in body and body[name] is not None and not isinstance(body[name], str):
                raise invalid(f"{name} must be a string")
        for name in ("sound_effect_prompt", "bgm_prompt"):
            if len(body.get(name) or "") > PROMPT_LIMIT:
                raise invalid(f"{name} must be at most {PROMPT_LIMIT} characters")
        if "asmr_mode" in body and not isinstance(body["asmr_mode"], bool):
            raise invalid("asmr_mode must be a boolean")
        callback = body.get("callback_url")
        if callback and not callback.startswith(("http://", "https://")):
            raise invalid("callback_url must be an http(s) URL")
        external = body.get("external_task_id")
        repeated = external and any(t.external_task_id == external for t in self.emu.vendor_tasks("kling"))
        if repeated and self.emu.kling_duplicate_ids == "refuse":
            raise invalid("external_task_id already exists")  # the kind reading; "accept" makes a 2nd task

    def _clip(self, body: dict[str, Any]) -> tuple[bytes, float, str]:
        """(bytes, seconds, url) of the clip, after the vendor's documented checks."""

        def invalid(message: str) -> Rejection:
            return Rejection(_error(400, 1201, f"Invalid parameters: {message}"))

        video_id = body.get("video_id")
        if video_id:
            # Only videos Kling made can be referenced: those of our earlier results.
            for task in self.emu.vendor_tasks("kling"):
                if video_id in (task.extra.get("video_id"), task.extra.get("parent_video_id")):
                    clip = task.extra["clip_bytes"]
                    return clip, task.audio_seconds, task.files.get("video", task.extra.get("clip_url", ""))
            raise invalid("video_id does not exist or is older than 30 days")
        url = str(body["video_url"])
        try:
            clip = self.emu.fetch(url, CLIP_LIMIT)
        except (OSError, ValueError):
            raise invalid("video_url could not be downloaded") from None
        if len(clip) > CLIP_LIMIT:
            raise invalid("the video file must be at most 100MB")
        if not audio.is_mp4_or_mov(clip):
            raise invalid("the video must be MP4 or MOV")
        seconds = audio.mp4_duration(clip)
        if seconds is None:
            raise invalid("the video duration could not be read")
        if not (MIN_SECONDS - _EPSILON <= seconds <= MAX_SECONDS + _EPSILON):
            raise invalid(f"the video duration must be 3.0-20.0 seconds, got {seconds:.3f}")
        return clip, seconds, url

    def _describe(self, task: TaskRecord, phase: str) -> dict[str, Any]:
        status = {"queued": "submitted", "running": "processing", "succeeded": "succeed", "failed": "failed"}[
            phase
        ]
        videos: list[dict[str, str]] = []
        audios: list[dict[str, str]] = []
        if phase == "succeeded":
            wav = self.emu.result_file(task, "wav")
            mp3 = self.emu.result_file(task, "mp3")
            video = self.emu.result_file(task, "video")
            task.extra.setdefault("video_id", digits_id())
            task.extra.setdefault("audio_id", digits_id())
            videos.append(
                {"id": task.extra["video_id"], "url": video, "duration": _seconds_text(task.audio_seconds)}
            )
            audios.append(
                {
                    "id": task.extra["audio_id"],
                    "url_mp3": mp3,
                    "url_wav": wav,
                    "duration_mp3": _seconds_text(task.extra["mp3_seconds"]),
                    "duration_wav": _seconds_text(task.result_seconds),
                }
            )
        updated = task.finished_at if task.finished_at is not None else task.created_at
        return {
            "task_id": task.task_id,
            "task_status": status,
            "task_status_msg": (task.fail_message or "") if phase == "failed" else "",
            "final_unit_deduction": "0" if phase == "failed" else "1",
            "task_info": {
                "external_task_id": task.external_task_id,
                "parent_video": {
                    "id": task.extra["parent_video_id"],
                    "url": task.extra["clip_url"],
                    "duration": _seconds_text(task.audio_seconds),
                },
            },
            "task_result": {"videos": videos, "audios": audios},
            "created_at": int(task.created_at * 1000),
            "updated_at": int(updated * 1000),
        }
