"""fal.ai (docs/vendors/fal.md): the queue, the four audio models, cancel and the storage upload.

Queue, as fal's docs and fal-client 1.0.3 describe it: ``POST /{model_id}`` with
``Authorization: Key <key>`` answers ``{request_id, status, queue_position, status_url,
response_url, cancel_url}``; the URLs use the model's owner/alias only
(``/fal-ai/kling-video/requests/{id}``), so a client that builds them from the full model
path misses. ``GET .../status`` says ``IN_QUEUE`` (+ ``queue_position``), ``IN_PROGRESS``,
``COMPLETED``; ``GET .../requests/{id}`` is the model's output; ``PUT .../cancel``.

The unkind readings where fal's pages are silent:
- cancel succeeds (202 ``CANCELLATION_REQUESTED``) only while the request is IN_QUEUE; a
  request that started answers 400 and runs on (it is billed);
- a failed request says ``COMPLETED`` with no error in its status (``task_fail`` with
  ``in_status=True`` adds fal-client's ``error``/``error_type``); its result answers 422
  ``{"detail": ...}``: the client must read the result to know;
- unknown input fields are refused with 422 (fal's pydantic models may ignore them);
- Mirelo answers two samples when ``num_samples`` is not sent;
- MMAudio and ThinkSound answer a *movie* (``movie.py``: a picture track and the new
  sound), Kling both a movie and an audio file, Mirelo an audio list.
Concurrency: fal queues what is over the account's limit and never refuses for it, so
no limit is enforced here (``emu.accounts.limits['fal']`` may set one for a test).

Storage (fal-client ``_upload_via_storage``): ``POST /storage/upload/initiate?storage_type=gcs``
→ ``{upload_url, file_url}``; ``PUT upload_url`` (signed: no key) stores the bytes.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from typing import Any

from . import audio
from .wavespeed import Param, _check
from .wire import Exchange, Rejection, Reply, Route, TaskRecord, VendorApi, json_reply, route

_VIDEO = Param("video_url", "url", required=True)


@dataclass(frozen=True)
class FalModel:
    params: tuple[Param, ...]
    default_seconds: float
    answer: str  # "movie" | "kling" (movie + audio) | "samples" (a list of audio files)
    duration_field: str = ""  # the field that sets the length, if any
    clip_range: tuple[float, float] | None = None  # the clip length the model refuses outside


MODELS: dict[str, FalModel] = {
    "fal-ai/mmaudio-v2": FalModel(
        (
            _VIDEO,
            Param("prompt", "str", required=True),
            Param("negative_prompt", "str"),
            Param("seed", "int", minimum=0, maximum=65535),
            Param("num_steps", "int", minimum=4, maximum=50),
            Param("duration", "number", minimum=1, maximum=30),
            Param("cfg_strength", "number", minimum=0, maximum=20),
            Param("mask_away_clip", "bool"),
        ),
        8.0,
        "movie",
        duration_field="duration",
    ),
    "fal-ai/thinksound": FalModel(
        (
            _VIDEO,
            Param("prompt", "str"),
            Param("seed", "int", minimum=0),
            Param("num_inference_steps", "int", minimum=2, maximum=100),
            Param("cfg_scale", "number", minimum=1, maximum=20),
        ),
        9.0,
        "movie",
    ),
    "fal-ai/kling-video/video-to-audio": FalModel(
        (
            _VIDEO,
            Param("sound_effect_prompt", "str", max_length=200),
            Param("background_music_prompt", "str", max_length=200),
            Param("asmr_mode", "bool"),
        ),
        10.0,
        "kling",
        clip_range=(3.0, 20.0),
    ),
    "mirelo-ai/sfx-v1.5/video-to-audio": FalModel(
        (
            _VIDEO,
            Param("text_prompt", "str"),
            Param("duration", "number", minimum=1, maximum=10),
            Param("seed", "int", minimum=1),
            Param("num_samples", "int", minimum=2, maximum=8),
            Param("start_offset", "number", minimum=0),
        ),
        10.0,
        "samples",
        duration_field="duration",
    ),
}


def _detail(status: int, detail: Any) -> Reply:
    return json_reply(status, {"detail": detail})


def _field_error(field: str, message: str) -> Reply:
    return _detail(422, [{"loc": ["body", field], "msg": message, "type": "value_error"}])


class FalApi(VendorApi):
    name = "fal"

    def __init__(self, emulator: Any) -> None:
        self.reset()
        super().__init__(emulator)

    def build_routes(self) -> list[Route]:
        app = r"(?P<app>[^/]+/[^/]+)/requests/(?P<id>[^/]+)"
        return [
            route("POST", r"/storage/upload/initiate", "upload", self.initiate_upload),
            route("PUT", r"/storage/put/(?P<token>[0-9a-f]+)", "upload", self.put_upload),
            route("GET", rf"/{app}/status", "poll", self.status),
            route("PUT", rf"/{app}/cancel", "other", self.cancel),
            route("GET", rf"/{app}", "poll", self.result),
            route("POST", r"/(?P<model>.+)", "submit", self.submit),
        ]

    def reset(self) -> None:
        #: status polls a request stays IN_QUEUE for before it may start (a busy fal queue)
        self.queued_polls = 0
        #: set at each status poll (tests wait on it instead of sleeping)
        self.polled = threading.Event()
        self._uploads: dict[str, str] = {}  # token -> stored file name
        self.cancelled: list[str] = []  # request ids fal confirmed cancelled (never billed)
        self.refused_cancels: list[str] = []

    # -- generic answers ---------------------------------------------------------------------

    def server_error(self, status: int) -> Reply:
        return _detail(status, "Internal Server Error" if status == 500 else "Service Unavailable")

    def rate_limited(self) -> Reply:
        return _detail(429, "Rate limit exceeded, please retry later")

    def no_credits(self) -> Reply:
        return _detail(
            403, "User is locked. Reason: Exhausted balance. Top up your balance at fal.ai/dashboard/billing."
        )

    def moderation(self) -> Reply:
        return _field_error(
            "video_url", "The content could not be processed because it violates the content policy"
        )

    def not_found(self, ex: Exchange) -> Reply:
        return _detail(404, "Not Found")

    def _auth(self, ex: Exchange) -> None:
        if ex.header("Authorization") != f"Key {self.emu.keys.fal}":
            raise Rejection(_detail(401, "Invalid authentication credentials"))

    # -- queue -------------------------------------------------------------------------------

    def submit(self, ex: Exchange) -> Reply:  # noqa: PLR0911 - one refusal per documented check
        self._auth(ex)
        model_id = ex.match["model"] if ex.match else ""
        model = MODELS.get(model_id)
        if model is None:
            return _detail(404, f"Application '{model_id}' not found")
        try:
            body = ex.json_body()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _field_error("body", "the body must be a JSON object")
        known = {param.name for param in model.params}
        for name in body:
            if name not in known:
                return _field_error(name, "extra fields not permitted")
        for param in model.params:
            if param.name not in body:
                if param.required:
                    return _field_error(param.name, "field required")
                continue
            problem = _check(param, body[param.name])
            if problem is not None:
                return _field_error(param.name, problem)
        clip = self._clip(body["video_url"])
        clip_seconds = audio.mp4_duration(clip) if clip and audio.is_mp4_or_mov(clip) else None
        if model.clip_range is not None and clip_seconds is not None:
            low, high = model.clip_range
            if not low <= clip_seconds <= high:
                return _field_error(
                    "video_url", f"video duration must be between {low:g} and {high:g} seconds"
                )
        self.gate_submit()
        if model.duration_field and model.duration_field in body:
            seconds = float(body[model.duration_field])
        elif model.duration_field:
            seconds = model.default_seconds
        else:
            seconds = clip_seconds or model.default_seconds
        request_id = str(uuid.uuid4())
        queued_before = sum(1 for t in self.emu.vendor_tasks("fal") if t.phase == "queued")
        task = self.emu.create_task("fal", request_id, model_id, body, seconds)
        task.extra["answer"] = model.answer
        task.extra["samples"] = int(body.get("num_samples", 2))
        base = f"{self.emu.base_url('fal')}/{'/'.join(model_id.split('/')[:2])}/requests/{request_id}"
        return json_reply(
            200,
            {
                "request_id": request_id,
                "status": "IN_QUEUE",
                "queue_position": queued_before,
                "response_url": base,
                "status_url": f"{base}/status",
                "cancel_url": f"{base}/cancel",
            },
        )

    def _task(self, ex: Exchange) -> TaskRecord:
        self._auth(ex)
        task = self.emu.find_task("fal", ex.match["id"] if ex.match else "")
        app = ex.match["app"] if ex.match else ""
        if task is None or "/".join(task.model.split("/")[:2]) != app:
            raise Rejection(_detail(404, "Request not found"))
        return task

    def status(self, ex: Exchange) -> Reply:
        task = self._task(ex)
        if task.extra.get("cancelled"):
            return json_reply(
                200,
                {
                    "status": "COMPLETED",
                    "logs": [],
                    "metrics": {},
                    "error": "Request was cancelled",
                    "error_type": "request_cancelled",
                },
            )
        self.polled.set()
        waited = int(task.extra.get("queued_polls", 0))
        if task.phase == "queued" and waited < self.queued_polls:
            task.extra["queued_polls"] = waited + 1
            phase = "queued"
        else:
            phase = self.emu.advance(task)
        if phase == "queued":
            position = sum(
                1
                for t in self.emu.vendor_tasks("fal")
                if t.phase == "queued" and t.created_monotonic < task.created_monotonic
            )
            return json_reply(
                202, {"status": "IN_QUEUE", "queue_position": position, "response_url": self._url(task)}
            )
        if phase == "running":
            return json_reply(202, {"status": "IN_PROGRESS", "logs": [], "response_url": self._url(task)})
        payload: dict[str, Any] = {
            "status": "COMPLETED",
            "logs": [],
            "metrics": {"inference_time": 0.5},
            "response_url": self._url(task),
        }
        if phase == "failed" and task.extra.get("error_in_status"):
            payload.update(error=task.fail_message, error_type="request_error")
        return json_reply(200, payload)

    def result(self, ex: Exchange) -> Reply:
        task = self._task(ex)
        if task.extra.get("cancelled"):
            return _detail(400, "Request was cancelled")
        if task.phase in ("queued", "running"):
            return _detail(400, "Request is still in progress")
        if task.phase == "failed":
            return _detail(422, task.fail_message or "Request failed")
        answer = task.extra.get("answer")
        if answer == "movie":
            return json_reply(200, {"video": self._file(task, "movie", "video/mp4")})
        if answer == "kling":
            return json_reply(
                200,
                {
                    "video": self._file(task, "movie", "video/mp4"),
                    "audio": self._file(task, "wav", "audio/wav"),
                },
            )
        samples = [
            self._file(task, "wav" if i == 0 else f"wav{i}", "audio/wav")
            for i in range(int(task.extra.get("samples", 2)))
        ]
        return json_reply(200, {"audio": samples})

    def cancel(self, ex: Exchange) -> Reply:
        task = self._task(ex)
        if task.extra.get("cancelled"):
            return json_reply(202, {"status": "CANCELLATION_REQUESTED"})
        if task.phase != "queued":  # started (billed) or finished: too late
            self.refused_cancels.append(task.task_id)
            return json_reply(400, {"status": "ALREADY_COMPLETED"})
        task.extra["cancelled"] = True
        task.phase = "failed"  # no longer running on the account; nothing is billed
        self.cancelled.append(task.task_id)
        return json_reply(202, {"status": "CANCELLATION_REQUESTED"})

    def _url(self, task: TaskRecord) -> str:
        return f"{self.emu.base_url('fal')}/{'/'.join(task.model.split('/')[:2])}/requests/{task.task_id}"

    def _file(self, task: TaskRecord, role: str, content_type: str) -> dict[str, Any]:
        url = self.emu.result_file(task, role)
        name = url.rsplit("/", 1)[-1]
        data = self.emu.file_bytes(url) or b""
        return {"url": url, "content_type": content_type, "file_name": name, "file_size": len(data)}

    def _clip(self, url: str) -> bytes | None:
        """The clip fal would fetch; 422 when it cannot be fetched (a loopback URL that is gone)."""
        try:
            return self.emu.fetch(url, 200 * 1024 * 1024)
        except ConnectionError as exc:
            if "unreachable" in str(exc):
                return None  # the world outside: accepted unchecked
            raise Rejection(_field_error("video_url", "could not download the file from the URL")) from None
        except (OSError, ValueError):
            raise Rejection(_field_error("video_url", "could not download the file from the URL")) from None

    # -- storage -----------------------------------------------------------------------------

    def initiate_upload(self, ex: Exchange) -> Reply:
        self._auth(ex)
        try:
            body = ex.json_body()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("content_type"), str):
            return _field_error("content_type", "field required")
        if ex.query.get("storage_type") != "gcs":
            return _detail(400, "Unsupported storage type")
        token = uuid.uuid4().hex
        safe = "".join(
            c if c.isalnum() or c in "._-" else "_" for c in str(body.get("file_name") or "upload.bin")
        )
        name = f"fal-upload-{token}-{safe[-60:]}"
        self._uploads[token] = name
        return json_reply(
            200,
            {
                "upload_url": f"{self.emu.base_url('fal')}/storage/put/{token}?X-Goog-Signature=emulated",
                "file_url": f"{self.emu.root_url}/files/{name}",
            },
        )

    def put_upload(self, ex: Exchange) -> Reply:
        token = ex.match["token"] if ex.match else ""
        name = self._uploads.get(token)
        if name is None:
            return Reply(403, b"<Error><Code>SignatureDoesNotMatch</Code></Error>", "application/xml")
        if ex.header("Authorization"):  # a signed URL: a key sent here would leak it to the bucket
            return Reply(400, b"<Error><Code>InvalidArgument</Code></Error>", "application/xml")
        self.emu.store_file(name, ex.body, "fal", "media", ex.header("Content-Type"))
        return Reply(200, b"")
