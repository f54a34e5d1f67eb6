"""What one HTTP exchange looks like to a vendor module, and the task record they share.

Vendor modules see an ``Exchange`` (already routed, body read) and return a ``Reply``
or raise ``Rejection``; they never touch sockets. The server turns replies into bytes,
including the deliberately broken ones (dropped connection, truncated body).
"""

from __future__ import annotations

import json
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .server import VendorEmulator

#: What a request does, so faults can target it. See the package docstring.
RequestKind = Literal["submit", "poll", "list", "upload", "auth", "download", "media", "other"]
ALL_KINDS: frozenset[str] = frozenset(
    {"submit", "poll", "list", "upload", "auth", "download", "media", "other"}
)
API_KINDS: frozenset[str] = frozenset({"submit", "poll", "list", "upload", "auth", "other"})

#: Where a task is in its life, independent of any vendor's state names.
Phase = Literal["queued", "running", "succeeded", "failed"]


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    #: Close the connection without sending anything (the "maybe charged" submit).
    drop: bool = False
    #: Announce the full Content-Length but send only this many bytes, then close.
    truncate_to: int | None = None


class Rejection(Exception):  # noqa: N818 - it carries a reply, it is not an error of ours
    """Raised by vendor code to answer at once with ``reply`` (validation, auth...)."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


@dataclass
class Exchange:
    vendor: str
    kind: str
    method: str
    path: str  # the vendor's documented path, below the vendor prefix
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    match: re.Match[str] | None = None
    handler: Handler | None = None

    def header(self, name: str) -> str:
        wanted = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == wanted), "")

    def json_body(self) -> Any:
        """The parsed JSON body; raises ValueError when it is not JSON."""
        return json.loads(self.body.decode("utf-8"))


Handler = Callable[[Exchange], Reply]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    kind: RequestKind
    handler: Handler


def route(method: str, pattern: str, kind: RequestKind, handler: Handler) -> Route:
    return Route(method, re.compile(pattern), kind, handler)


@dataclass
class TaskRecord:
    """One accepted paid task, whatever the vendor. ``phase`` moves only on polls."""

    vendor: str
    task_id: str
    model: str
    request: dict[str, Any]
    audio_seconds: float
    sample_rate: int = 44100
    voice: int = 0
    created_at: float = field(default_factory=time.time)
    created_monotonic: float = field(default_factory=time.monotonic)
    polls: int = 0
    phase: Phase = "queued"
    finished_at: float | None = None
    fail_message: str | None = None
    fail_code: str | None = None  # Vidu err_code of an injected failure
    short_seconds: float | None = None  # injected "short_audio"
    gain_db: float = 0.0  # injected "result_level": louder (clipping at full scale) or quieter
    silence: tuple[float, float] | None = None  # injected "result_level": (from s, seconds) of silence
    external_task_id: str = ""
    #: Result files by role ("wav", "mp3", "video"): absolute URLs on the emulator.
    files: dict[str, str] = field(default_factory=dict)
    #: Vendor specifics (clip URL and duration, seed, credits...).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def result_seconds(self) -> float:
        return self.short_seconds if self.short_seconds is not None else self.audio_seconds


def json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Reply(status, body, "application/json", dict(headers or {}))


def html_reply(status: int, title: str) -> Reply:
    """The page a gateway or CDN answers with instead of JSON or audio."""
    page = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    return Reply(status, page.encode("ascii"), "text/html")


def gateway_502() -> Reply:
    # Real 502s come from the load balancer, not the vendor: HTML, not the vendor's JSON.
    return html_reply(502, "502 Bad Gateway")


def new_uuid() -> str:
    return str(uuid.uuid4())


def digits_id() -> str:
    """An 18-digit id like Kling's and Vidu's task ids (they are strings of digits)."""
    return str(secrets.randbelow(9 * 10**17) + 10**17)


def iso_millis(epoch: float) -> str:
    """ "2023-04-01T12:34:56.789Z"."""
    return (
        datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(epoch * 1000) % 1000:03d}Z"
    )


def iso_micros(epoch: float) -> str:
    """ "2025-01-01T15:41:31.968916Z"."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def is_number(value: Any) -> bool:
    """JSON numbers only: booleans are ints in Python but not numbers on the wire."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class VendorApi:
    """One vendor's routes and its way of saying the generic things (errors, limits)."""

    name: str = ""

    def __init__(self, emulator: VendorEmulator) -> None:
        self.emu = emulator
        self.routes: list[Route] = self.build_routes()

    def build_routes(self) -> list[Route]:
        raise NotImplementedError

    def server_error(self, status: int) -> Reply:
        """The vendor's answer to an injected 5xx (500, 503, 504; 502 is the gateway's)."""
        raise NotImplementedError

    def rate_limited(self) -> Reply:
        """The vendor's 429 body; the server adds Retry-After."""
        raise NotImplementedError

    def no_credits(self) -> Reply:
        raise NotImplementedError

    def moderation(self) -> Reply:
        raise NotImplementedError

    def not_found(self, ex: Exchange) -> Reply:
        raise NotImplementedError

    def reset(self) -> None:
        """Forget per-run state (tokens, ids); tasks and files are the server's."""

    def gate_submit(self) -> None:
        """Called by submit handlers once the request is valid: injected refusals happen here."""
        if self.emu.take_fault(self.name, "no_credits", "submit") is not None:
            raise Rejection(self.no_credits())
        if self.emu.take_fault(self.name, "moderation", "submit") is not None:
            raise Rejection(self.moderation())
        busy = self.emu.take_fault(self.name, "busy", "submit")
        if busy is not None:  # the account is over its tasks at once: refused, nothing made
            from .accounts import busy_reply

            raise Rejection(busy_reply(self.name, busy.params.get("retry_after")))
