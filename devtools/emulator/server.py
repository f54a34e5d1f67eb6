"""One loopback HTTP server for all vendors: routing, recording, faults, tasks and files.

Each vendor lives under its own path prefix so a single port serves them all; below the
prefix every path is the vendor's documented one. Result and uploaded files are served
from ``/files/<name>`` and remember which vendor they belong to, so download faults
injected for a vendor hit that vendor's files only.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
import traceback
import urllib.request
import uuid
import zlib
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import audio, movie
from .accounts import AccountGauge, running_count
from .elevenlabs import ElevenLabsApi
from .fal import FalApi
from .flexstack import RESULT_SHAPES, FlexStackApi
from .kling import KlingApi
from .vidu import ViduApi
from .wavespeed import WaveSpeedApi
from .wire import (
    ALL_KINDS,
    API_KINDS,
    Exchange,
    Phase,
    Rejection,
    Reply,
    TaskRecord,
    VendorApi,
    gateway_502,
    html_reply,
)

VENDORS: tuple[str, ...] = ("wavespeed", "kling", "vidu", "flexstack", "elevenlabs", "fal")

#: Path prefix of each vendor; FlexStack's production base already ends in /v1.
PREFIXES: dict[str, str] = {
    "wavespeed": "/wavespeed",
    "kling": "/kling",
    "vidu": "/vidu",
    "flexstack": "/flexstack/v1",
    "elevenlabs": "/elevenlabs",
    "fal": "/fal",  # queue and storage (fal.py); production: queue.fal.run and rest.fal.ai
}

#: Fault name -> request kinds it hits unless ``on=`` says otherwise.
FAULT_KINDS: dict[str, frozenset[str]] = {
    "http_500": ALL_KINDS,
    "http_429": API_KINDS,
    "slow": ALL_KINDS,
    "task_fail": frozenset({"submit"}),
    "moderation": frozenset({"submit"}),
    "no_credits": frozenset({"submit"}),
    "drop_submit_response": frozenset({"submit"}),
    "short_audio": frozenset({"submit"}),
    "result_level": frozenset({"submit"}),
    "truncate_download": frozenset({"download"}),
    "html_download": frozenset({"download"}),
    "expired_download": frozenset({"download"}),
    # Lost answers (issue 9): the task IS created, then the answer never arrives whole.
    "lose_submit_answer": frozenset({"submit"}),
    # Kling: the created task is not found by its external_task_id for a while.
    "lookup_lag": frozenset({"submit"}),
    "busy": frozenset({"submit"}),  # accounts.py: the vendor's "over the concurrency limit" refusal
    # Host fallback (issue 14 item 6): the submit is refused with the vendor's own 503 answer
    # (WaveSpeed 5003, Kling 5001; fal's has no code, so its client reads it as a lost answer);
    # no task is made. ``count`` covers the client's re-sends: one per refused attempt.
    "unavailable": frozenset({"submit"}),
}

_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
_EXPIRED_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>'
    b"<Message>The specified key does not exist.</Message></Error>"
)
_CONTENT_TYPES = {
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
}


@dataclass
class EmulatorKeys:
    """Credentials the emulator accepts; anything else is answered like a bad key."""

    wavespeed: str = "ws-test-key"
    kling_access: str = "kling-ak-test"
    kling_secret: str = "kling-sk-test"
    vidu: str = "vidu-test-key"
    flexstack_username: str = "flex-user"
    flexstack_password: str = "flex-pass"
    flexstack_token: str = "flex-static-token"
    elevenlabs: str = "xi-test-key"
    fal: str = "fal-test-key-id:fal-test-secret"


@dataclass(frozen=True)
class RecordedRequest:
    vendor: str  # owner vendor; "" for paths that belong to nobody
    method: str
    path: str  # the vendor's documented path (below the prefix), or /files/<name>
    query: dict[str, str]
    headers: dict[str, str]
    json: Any  # parsed JSON body or None
    time: float  # time.monotonic() when the request arrived
    kind: str = "other"  # submit | poll | list | upload | auth | download | media | other
    body_size: int = 0


@dataclass
class Fault:
    vendor: str
    fault: str
    remaining: int
    params: dict[str, Any]
    kinds: frozenset[str]


@dataclass
class StoredFile:
    name: str
    data: bytes
    content_type: str
    vendor: str
    kind: str  # "download" (a result) or "media" (an upload the vendor fetches)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], emulator: VendorEmulator) -> None:
        self.emulator = emulator
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (a cancelled download, a dropped keep-alive) is normal here.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive like the real services, so client connection pools get exercised.
    protocol_version = "HTTP/1.1"
    # Headers and body are written separately: without this, Nagle + delayed ACK add ~40 ms a request.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.server.emulator._serve(self)

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self.server.emulator._serve(self)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.server.emulator._serve(self)

    def do_PUT(self) -> None:  # noqa: N802 - http.server's naming
        self.server.emulator._serve(self)

    def do_DELETE(self) -> None:  # noqa: N802 - http.server's naming
        self.server.emulator._serve(self)

    def do_PATCH(self) -> None:  # noqa: N802 - http.server's naming
        self.server.emulator._serve(self)

    def log_message(self, format: str, *args: Any) -> None:
        # Access lines are written by _serve without the query string (signed URLs, tokens).
        return


class VendorEmulator:
    """Loopback WaveSpeed, Kling, Vidu and FlexStack servers on one port.

    Binds and starts serving on construction (daemon thread); use as a context manager
    or call ``close()``. All public attributes may be changed while it runs.
    """

    def __init__(
        self,
        keys: EmulatorKeys | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        task_seconds: float = 0.0,
        min_polls: int = 1,
        flexstack_result_shape: str = "celery",
        flexstack_token_ttl: float = 3600.0,
        wavespeed_sync_timeout: float = 10.0,
        verbose: bool = False,
    ) -> None:
        if flexstack_result_shape not in RESULT_SHAPES:
            raise ValueError(f"flexstack_result_shape must be one of {RESULT_SHAPES}")
        self.keys = keys or EmulatorKeys()
        #: A task finishes on the first poll made at least this long after submit...
        self.task_seconds = task_seconds
        #: ...and at least this many polls after submit.
        self.min_polls = min_polls
        #: Which undocumented FlexStack result JSON to answer with (see flexstack.py).
        self.flexstack_result_shape = flexstack_result_shape
        #: Seconds an access token from /user/login or /user/refresh_token stays valid.
        self.flexstack_token_ttl = flexstack_token_ttl
        #: How long a WaveSpeed enable_sync_mode submit waits before answering 5004.
        self.wavespeed_sync_timeout = wavespeed_sync_timeout
        self.verbose = verbose
        #: Kling's answer to a repeated external_task_id. The document only asks the caller to keep
        #: it unique, so the default is the unkind reading: "accept" makes a second paid task;
        #: "refuse" answers 400/1201 "external_task_id already exists".
        self.kling_duplicate_ids = "accept"
        #: Kling list pages hold at most this many tasks whatever pageSize asks (None: as asked).
        self.kling_page_size_cap: int | None = None

        self._lock = threading.RLock()
        #: notified whenever a paid task is made (``wait_for_submits``)
        self._task_made = threading.Condition(self._lock)
        self._requests: list[RecordedRequest] = []
        self._faults: list[Fault] = []
        self._tasks: dict[str, TaskRecord] = {}
        self._files: dict[str, StoredFile] = {}
        self._submits: dict[str, int] = dict.fromkeys(VENDORS, 0)
        self._downloads: dict[str, int] = {}  # harden (issue 11): result files served whole, by name
        #: tasks at once per vendor account (one key), enforced on submit; see accounts.py
        self.accounts = AccountGauge()
        self._apis: dict[str, VendorApi] = {
            "wavespeed": WaveSpeedApi(self),
            "kling": KlingApi(self),
            "vidu": ViduApi(self),
            "flexstack": FlexStackApi(self),
            "elevenlabs": ElevenLabsApi(self),
            "fal": FalApi(self),
        }
        self._server = _Server((host, port), self)
        self.host = host
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="vendor-emulator", daemon=True
        )
        self._thread.start()

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> VendorEmulator:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- addresses ---------------------------------------------------------------------------

    @property
    def root_url(self) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def base_url(self, vendor: str) -> str:
        if vendor not in PREFIXES:
            raise ValueError(f"unknown vendor {vendor!r}; expected one of {', '.join(VENDORS)}")
        return self.root_url + PREFIXES[vendor]

    def environ(self) -> dict[str, str]:
        """Environment variables that point the add-on's clients here with the test keys."""
        return {
            "WAVESPEED_API_KEY": self.keys.wavespeed,
            "KLING_ACCESS_KEY": self.keys.kling_access,
            "KLING_SECRET_KEY": self.keys.kling_secret,
            "VIDU_API_KEY": self.keys.vidu,
            "FLEXSTACK_USERNAME": self.keys.flexstack_username,
            "FLEXSTACK_PASSWORD": self.keys.flexstack_password,
            "VSE_FOLEY_WAVESPEED_URL": self.base_url("wavespeed"),
            "VSE_FOLEY_KLING_URL": self.base_url("kling"),
            "VSE_FOLEY_VIDU_URL": self.base_url("vidu"),
            "VSE_FOLEY_FLEXSTACK_URL": self.base_url("flexstack"),
            "ELEVENLABS_API_KEY": self.keys.elevenlabs,
            "VSE_FOLEY_ELEVENLABS_URL": self.base_url("elevenlabs"),
            "FAL_KEY": self.keys.fal,
            "VSE_FOLEY_FAL_URL": self.base_url("fal"),
            "VSE_FOLEY_FAL_STORAGE_URL": self.base_url("fal"),
        }

    # -- test-facing state -------------------------------------------------------------------

    def inject(self, vendor: str, fault: str, count: int = 1, **params: Any) -> Fault:
        """Queue ``fault`` for the next ``count`` matching requests to ``vendor``.

        ``on="poll"`` (or a tuple of kinds) overrides which request kinds it hits.
        """
        if vendor not in VENDORS:
            raise ValueError(f"unknown vendor {vendor!r}; expected one of {', '.join(VENDORS)}")
        if fault not in FAULT_KINDS:
            raise ValueError(f"unknown fault {fault!r}; expected one of {', '.join(FAULT_KINDS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        on = params.pop("on", None)
        kinds = FAULT_KINDS[fault] if on is None else frozenset([on] if isinstance(on, str) else on)
        unknown = kinds - ALL_KINDS
        if unknown:
            raise ValueError(f"unknown request kinds {sorted(unknown)}")
        entry = Fault(vendor, fault, count, dict(params), kinds)
        with self._lock:
            self._faults.append(entry)
        return entry

    def vendor_api(self, vendor: str) -> VendorApi:
        """One vendor's module (its own knobs and counts, e.g. ``vendor_api("fal").cancelled``)."""
        return self._apis[vendor]

    @property
    def pending_faults(self) -> list[Fault]:
        with self._lock:
            return [Fault(f.vendor, f.fault, f.remaining, dict(f.params), f.kinds) for f in self._faults]

    def take_fault(self, vendor: str, fault: str, kind: str) -> Fault | None:
        """Consume one use of the oldest queued ``fault`` that matches; None if there is none."""
        with self._lock:
            for entry in self._faults:
                if entry.vendor == vendor and entry.fault == fault and kind in entry.kinds:
                    entry.remaining -= 1
                    if entry.remaining <= 0:
                        self._faults.remove(entry)
                    return entry
        return None

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def tasks(self) -> dict[str, TaskRecord]:
        with self._lock:
            return dict(self._tasks)

    def submit_count(self, vendor: str) -> int:
        """Paid create/submit calls that were accepted (a task exists), answered or not."""
        with self._lock:
            return self._submits.get(vendor, 0)

    def wait_for_submits(self, vendor: str, count: int = 1, timeout: float = 5.0) -> bool:
        """Block until ``vendor`` accepted at least ``count`` paid submits; False at ``timeout`` s.

        For a test whose client stopped listening before a slow submit's task was made (the
        task lands later, on the emulator's thread): it waits on that event, never sleeps
        and counts.
        """
        with self._task_made:
            return self._task_made.wait_for(lambda: self._submits.get(vendor, 0) >= count, timeout)

    # -- download counter (issue 11: two windows download each result once) ----------------

    def download_counts(self) -> dict[str, int]:
        """How often each result file was served whole (200), by file name."""
        with self._lock:
            return dict(self._downloads)

    def download_count(self) -> int:
        with self._lock:
            return sum(self._downloads.values())

    def forget_task(self, task_id: str) -> None:
        """The vendor no longer has the task (expired or deleted): its queries answer 404."""
        with self._lock:
            self._tasks.pop(task_id, None)

    def tasks_created(self, vendor: str) -> int:
        """Paid tasks the vendor ACCOUNT made, answered or not (``EmulatorKeys`` holds one
        credential, so one account, per vendor): what the account would be billed for."""
        return self.submit_count(vendor)

    def reset(self) -> None:
        """Forget requests, faults, tasks, files and tokens; settings and the port stay."""
        with self._lock:
            self._requests.clear()
            self._faults.clear()
            self._tasks.clear()
            self._files.clear()
            self._submits = dict.fromkeys(VENDORS, 0)
            self._downloads = {}
            self.accounts.reset()
            for api in self._apis.values():
                api.reset()

    # -- tasks (used by vendor modules) ------------------------------------------------------

    def create_task(
        self,
        vendor: str,
        task_id: str,
        model: str,
        request: dict[str, Any],
        audio_seconds: float,
        **fields: Any,
    ) -> TaskRecord:
        """Record an accepted paid task, applying queued task_fail / short_audio faults."""
        task = TaskRecord(
            vendor=vendor,
            task_id=task_id,
            model=model,
            request=request,
            audio_seconds=audio_seconds,
            voice=zlib.crc32(task_id.encode()),
            **fields,
        )
        failure = self.take_fault(vendor, "task_fail", "submit")
        if failure is not None:
            task.fail_message = str(failure.params.get("message", "Audio generation failed."))
            task.fail_code = str(failure.params.get("err_code", "InternalServiceFailure"))
            task.extra["error_in_status"] = bool(failure.params.get("in_status", False))  # fal: see fal.py
        short = self.take_fault(vendor, "short_audio", "submit")
        if short is not None:
            task.short_seconds = float(short.params.get("seconds", 1.0))
        level = self.take_fault(vendor, "result_level", "submit")
        if level is not None:
            task.gain_db = float(level.params.get("gain_db", 0.0))
            if "silent_seconds" in level.params:
                start = float(level.params.get("silent_from", 0.0))
                task.silence = (start, float(level.params["silent_seconds"]))
        with self._lock:
            refusal = self.accounts.admit(vendor, running_count(self._tasks.values(), vendor))
            if refusal is not None:
                raise Rejection(refusal)  # over the account's tasks at once: nothing is made
            self._tasks[task_id] = task
            self._submits[vendor] += 1
            self._task_made.notify_all()
        return task

    # -- per-account counts (accounts.py) --------------------------------------------------

    def running(self, vendor: str) -> int:
        """Tasks of the vendor's account accepted and not yet seen finished by a poll."""
        with self._lock:
            return running_count(self._tasks.values(), vendor)

    def peak_demand(self, vendor: str) -> int:
        """The most tasks the client ever tried to run at once on the account (refused try included)."""
        with self._lock:
            return self.accounts.peak_demand.get(vendor, 0)

    def busy_refusals(self, vendor: str) -> int:
        with self._lock:
            return self.accounts.busy_refusals.get(vendor, 0)

    def find_task(self, vendor: str, task_id: str) -> TaskRecord | None:
        with self._lock:
            task = self._tasks.get(task_id)
            return task if task is not None and task.vendor == vendor else None

    def vendor_tasks(self, vendor: str) -> list[TaskRecord]:
        with self._lock:
            return [task for task in self._tasks.values() if task.vendor == vendor]

    def advance(self, task: TaskRecord, *, count_poll: bool = True, ignore_min_polls: bool = False) -> Phase:
        """The task's phase now; a counted poll may move it on (finished needs both limits)."""
        with self._lock:
            if count_poll:
                task.polls += 1
            if task.phase in ("succeeded", "failed"):
                return task.phase
            elapsed = time.monotonic() - task.created_monotonic
            enough_polls = ignore_min_polls or task.polls >= self.min_polls
            if enough_polls and elapsed >= self.task_seconds:
                task.phase = "failed" if task.fail_message is not None else "succeeded"
                task.finished_at = time.time()
            elif task.polls >= 2:
                task.phase = "running"
            return task.phase

    def result_file(self, task: TaskRecord, role: str = "wav", query: str = "") -> str:
        """URL of the task's result file for ``role`` (wav, mp3, video), made on first use."""
        with self._lock:
            if role not in task.files:
                if role == "wav":
                    data = audio.synth_wav(
                        task.result_seconds, sample_rate=task.sample_rate, voice=task.voice,
                        gain_db=task.gain_db, silence=task.silence,
                    )
                    ext = "wav"
                elif role == "mp3":
                    data, seconds = audio.silent_mp3(task.result_seconds)
                    task.extra["mp3_seconds"] = seconds
                    ext = "mp3"
                elif role == "video":
                    data = task.extra.get("clip_bytes") or b""
                    ext = "mp4"
                elif role == "movie":  # a movie with the task's audio as its sound track (fal)
                    data = movie.movie_with_sound(audio.synth_wav(
                        task.result_seconds, sample_rate=task.sample_rate, voice=task.voice,
                        gain_db=task.gain_db, silence=task.silence,
                    ))
                    ext = "mp4"
                elif role.startswith("wav"):  # another sample of the same task (wav1, wav2...)
                    data = audio.synth_wav(task.result_seconds, sample_rate=task.sample_rate,
                                           voice=task.voice + int(role[3:]))
                    ext = "wav"
                else:
                    raise ValueError(role)
                name = f"{task.vendor}-{uuid.uuid4().hex}.{ext}"
                task.files[role] = self.store_file(name, data, task.vendor, "download")
            url = task.files[role]
        return f"{url}?{query}" if query else url

    # -- files -------------------------------------------------------------------------------

    def store_file(self, name: str, data: bytes, vendor: str, kind: str, content_type: str = "") -> str:
        """Serve ``data`` at /files/<name>; returns the absolute URL."""
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        stored = StoredFile(
            name, data, content_type or _CONTENT_TYPES.get(ext, "application/octet-stream"), vendor, kind
        )
        with self._lock:
            self._files[name] = stored
        return f"{self.root_url}/files/{name}"

    def file_bytes(self, url: str) -> bytes | None:
        """Bytes of a file this emulator serves at ``url`` (None if the URL is not ours)."""
        parts = urlsplit(url)
        if not self._is_own(parts.hostname, parts.port, parts.scheme) or not parts.path.startswith("/files/"):
            return None
        with self._lock:
            stored = self._files.get(parts.path[len("/files/") :])
        return stored.data if stored is not None else b""

    def is_own_url(self, url: str) -> bool:
        parts = urlsplit(url)
        return self._is_own(parts.hostname, parts.port, parts.scheme)

    def _is_own(self, host: str | None, port: int | None, scheme: str) -> bool:
        default = 443 if scheme == "https" else 80
        return scheme == "http" and host in _LOOPBACK_HOSTS and (port or default) == self.port

    def fetch(self, url: str, limit: int) -> bytes:
        """What a vendor would download from ``url``, at most ``limit + 1`` bytes.

        Our own files are read directly (no faults, no recording: the vendor fetches
        them, not the client). Other loopback URLs are fetched; the rest of the world
        cannot be reached from the build machines, so it raises ConnectionError.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("not an http(s) URL")
        if self._is_own(parts.hostname, parts.port, parts.scheme):
            with self._lock:
                stored = (
                    self._files.get(parts.path[len("/files/") :])
                    if parts.path.startswith("/files/")
                    else None
                )
            if stored is None:
                raise ConnectionError("404 Not Found")
            return stored.data
        if parts.hostname in _LOOPBACK_HOSTS:
            with urllib.request.urlopen(url, timeout=10) as response:
                return bytes(response.read(limit + 1))
        raise ConnectionError("host unreachable from the emulator")

    # -- HTTP --------------------------------------------------------------------------------

    def _serve(self, handler: _Handler) -> None:
        started = time.monotonic()
        split = urlsplit(handler.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        headers = dict(handler.headers.items())
        try:
            body = self._read_body(handler)
        except (OSError, ValueError):
            handler.close_connection = True
            return
        ex, api = self._route(handler.command, split.path, query, headers, body)
        self._record(ex, started)
        try:
            reply = self._answer(ex, api)
        except Exception:
            # An emulator bug must look like a vendor 500, never hang the client.
            traceback.print_exc(file=sys.stderr)
            reply = api.server_error(500) if api is not None else Reply(500, b"", "text/plain")
        if self.verbose:
            # Path only: query strings may hold signatures; headers may hold keys.
            print(
                f"emulator: {ex.method} {split.path} -> {'dropped' if reply.drop else reply.status}",
                file=sys.stderr,
            )
        self._write(handler, reply)

    def _read_body(self, handler: _Handler) -> bytes:
        if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(handler.rfile.read(size))
                handler.rfile.readline()
        length = int(handler.headers.get("Content-Length") or 0)
        return handler.rfile.read(length) if length > 0 else b""

    def _route(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> tuple[Exchange, VendorApi | None]:
        if path.startswith("/files/"):
            with self._lock:
                stored = self._files.get(path[len("/files/") :])
            vendor = stored.vendor if stored is not None else ""
            kind = stored.kind if stored is not None else "download"
            return Exchange(vendor, kind, method, path, query, headers, body), self._apis.get(vendor)
        for vendor, prefix in PREFIXES.items():
            if path == prefix or path.startswith(prefix + "/"):
                api = self._apis[vendor]
                sub = path[len(prefix) :] or "/"
                verb = "GET" if method == "HEAD" else method
                for candidate in api.routes:
                    match = candidate.pattern.fullmatch(sub)
                    if match is not None and candidate.method == verb:
                        ex = Exchange(
                            vendor,
                            candidate.kind,
                            method,
                            sub,
                            query,
                            headers,
                            body,
                            match,
                            candidate.handler,
                        )
                        return ex, api
                return Exchange(vendor, "other", method, sub, query, headers, body), api
        return Exchange("", "other", method, path, query, headers, body), None

    def _record(self, ex: Exchange, started: float) -> None:
        parsed: Any = None
        looks_json = ex.body[:1] in (b"{", b"[")  # some clients forget the Content-Type
        if ex.body and ("json" in ex.header("Content-Type").lower() or looks_json):
            try:
                parsed = ex.json_body()
            except ValueError:
                parsed = None
        entry = RecordedRequest(
            ex.vendor,
            ex.method,
            ex.path,
            dict(ex.query),
            dict(ex.headers),
            parsed,
            started,
            ex.kind,
            len(ex.body),
        )
        with self._lock:
            self._requests.append(entry)

    def _answer(self, ex: Exchange, api: VendorApi | None) -> Reply:  # noqa: PLR0911 - one exit per fault
        if api is None:
            return Reply(404, b'{"detail":"Not Found"}')
        slow = self.take_fault(ex.vendor, "slow", ex.kind)
        if slow is not None:
            time.sleep(float(slow.params.get("delay", 5.0)))
        burst = self.take_fault(ex.vendor, "http_500", ex.kind)
        if burst is not None:
            status = int(burst.params.get("status", 500))
            return gateway_502() if status == 502 else api.server_error(status)
        if self.take_fault(ex.vendor, "unavailable", ex.kind) is not None:
            return api.server_error(503)
        limited = self.take_fault(ex.vendor, "http_429", ex.kind)
        if limited is not None:
            reply = api.rate_limited()
            # Whole seconds as HTTP requires; a fractional value a test asks for is sent as is.
            wait = float(limited.params.get("retry_after", 1))
            reply.headers["Retry-After"] = str(int(wait)) if wait.is_integer() else f"{wait:g}"
            return reply
        if ex.path.startswith("/files/"):
            return self._file_reply(ex)
        if ex.handler is None:
            return api.not_found(ex)
        try:
            reply = ex.handler(ex)
        except Rejection as rejection:
            return rejection.reply
        # A dropped submit answer: the task exists and is paid for; only the answer is lost.
        accepted = ex.kind == "submit" and 200 <= reply.status < 300
        if accepted and self.take_fault(ex.vendor, "drop_submit_response", "submit") is not None:
            return Reply(0, drop=True)
        if accepted:
            lost = self._lost_answer(ex, api)
            if lost is not None:
                return lost
        return reply

    # -- lost answers (issue 9) ----------------------------------------------------------------

    def _lost_answer(self, ex: Exchange, api: VendorApi) -> Reply | None:
        """``lose_submit_answer``: the task exists and is paid for, but the client hears
        ``status`` 500 / 502 (the gateway's page) / 503 (a bare gateway page, no vendor code: the
        unkind reading of "unavailable", issue 9) / 504, or 0: the connection closes unanswered."""
        fault = self.take_fault(ex.vendor, "lose_submit_answer", "submit")
        if fault is None:
            return None
        status = int(fault.params.get("status", 500))
        if status == 0:
            return Reply(0, drop=True)
        if status == 503:
            return html_reply(503, "503 Service Temporarily Unavailable")
        return gateway_502() if status == 502 else api.server_error(status)

    def _file_reply(self, ex: Exchange) -> Reply:
        with self._lock:
            stored = self._files.get(ex.path[len("/files/") :])
        if stored is None or self.take_fault(ex.vendor, "expired_download", ex.kind) is not None:
            return Reply(404, _EXPIRED_XML, "application/xml")
        if self.take_fault(ex.vendor, "html_download", ex.kind) is not None:
            return html_reply(200, "Your download is being prepared")
        reply = Reply(200, stored.data, stored.content_type)
        truncate = self.take_fault(ex.vendor, "truncate_download", ex.kind)
        if truncate is not None:
            reply.truncate_to = int(truncate.params.get("keep", len(stored.data) // 2))
        elif ex.method == "GET":
            name = ex.path[len("/files/") :]
            with self._lock:
                self._downloads[name] = self._downloads.get(name, 0) + 1
        return reply

    def _write(self, handler: _Handler, reply: Reply) -> None:
        try:
            if reply.drop:
                handler.close_connection = True
                handler.connection.shutdown(socket.SHUT_RDWR)
                return
            handler.send_response(reply.status)
            handler.send_header("Content-Type", reply.content_type)
            handler.send_header("Content-Length", str(len(reply.body)))
            for key, value in reply.headers.items():
                handler.send_header(key, value)
            if reply.truncate_to is not None:
                handler.send_header("Connection", "close")
                handler.close_connection = True
            handler.end_headers()
            if handler.command != "HEAD":
                body = reply.body if reply.truncate_to is None else reply.body[: reply.truncate_to]
                handler.wfile.write(body)
            handler.wfile.flush()
            if reply.truncate_to is not None:
                handler.connection.shutdown(socket.SHUT_RDWR)
        except (BrokenPipeError, ConnectionResetError, OSError):
            # The client gave up (timeouts in tests); nothing to tell it.
            handler.close_connection = True
