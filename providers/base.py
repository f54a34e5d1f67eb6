"""What every provider shares: the plain request, the capability description
the UI draws from, and the four steps the job engine runs one at a time.

Nothing here imports bpy, pydantic or requests, so the UI can read capabilities cheaply.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar, Literal

from .errors import FoleyError, TaskFailedError


class FieldKind(str, Enum):
    TEXT = "text"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    CHOICE = "choice"


@dataclass(frozen=True)
class FieldSpec:
    """One input a provider takes, with its documented limits.

    ``name`` is either a common request attribute (``prompt``, ``bgm_prompt``,
    ``negative_prompt``, ``seed``, ``duration``) or a key of
    ``GenerationRequest.options`` (``asmr_mode``, ``top_k``...).
    """

    name: str
    label: str
    kind: FieldKind
    description: str = ""
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    choices: tuple[tuple[str, str], ...] = ()
    required: bool = False


@dataclass(frozen=True)
class PriceEstimate:
    """A published list price, used for the cost shown before spending.

    ``source`` says where it was read and ``seen`` when (``"2026-12"``): prices change, and
    the estimate says how old its prices are. Only published prices are entered, never guesses.
    """

    currency: str = "USD"
    per_call: float = 0.0
    per_second: float = 0.0
    source: str = ""
    seen: str = ""

    def for_seconds(self, seconds: float) -> float:
        return self.per_call + self.per_second * seconds


InputKind = Literal["video", "text", "timeline"]

#: ``GenerationRequest.options`` key: where a provider whose answer IS the audio writes it
#: (``Provider.answer_is_audio``): the path without extension the download would use.
ANSWER_STEM_OPTION = "answer_stem"


@dataclass(frozen=True)
class AccountLimits:
    """What one vendor account allows: tasks running at once, submits a minute (0: not bounded).

    Limits belong to the account (one key), shared by every model on it; the
    defaults are the vendor's documented default tier, a user on a higher tier
    raises them in the preferences.
    """

    label: str
    concurrency: int
    submits_per_minute: float = 0.0
    polls_per_minute: float = 120.0


@dataclass(frozen=True)
class ProviderInfo:
    id: str
    label: str
    vendor: str  # credential group: "wavespeed", "kling", "vidu", "flexstack"
    description: str
    input: InputKind
    fields: tuple[FieldSpec, ...]
    min_seconds: float
    max_seconds: float
    best_seconds: float | None = None
    takes_seed: bool = True
    default_concurrency: int = 3
    min_short_side: int = 0  # the preferred input's short side in pixels: the clip is never smaller
    price: PriceEstimate | None = None
    #: several outputs of one request are variations: they land as takes (core/extra_takes.py)
    outputs_are_takes: bool = False
    #: the vendor account whose limits this provider shares (one key = one account);
    #: empty: the provider counts on its own (see ``account_id``)
    account: str = ""
    #: options a script may pass that are no UI fields (``cli --option``), e.g. a vendor's own ids
    extra_options: tuple[str, ...] = ()
    #: the model it runs when several hosts offer the same one ("mmaudio-v2"; providers/model_hosts.py):
    #: providers with the same ``model`` are hosts of it; empty: a model of its own
    model: str = ""

    @property
    def account_id(self) -> str:
        return self.account or self.id

    @property
    def needs_video(self) -> bool:
        return self.input == "video"

    def field(self, name: str) -> FieldSpec | None:
        return next((spec for spec in self.fields if spec.name == name), None)


@dataclass(frozen=True)
class TimedEvent:
    """A sound event in seconds relative to the start of the range."""

    start: float
    end: float
    prompt: str


@dataclass(frozen=True)
class GenerationRequest:
    """A provider-neutral request; each provider validates it into its own model."""

    provider_id: str
    duration: float  # seconds the result should last (the range length)
    prompt: str = ""
    video_path: str | None = None
    bgm_prompt: str = ""
    negative_prompt: str = ""
    seed: int = -1  # -1: random
    events: tuple[TimedEvent, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider_id": self.provider_id,
            "duration": self.duration,
            "prompt": self.prompt,
            "video_path": self.video_path,
            "bgm_prompt": self.bgm_prompt,
            "negative_prompt": self.negative_prompt,
            "seed": self.seed,
            "events": [[e.start, e.end, e.prompt] for e in self.events],
            "options": dict(self.options),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GenerationRequest:
        return cls(
            provider_id=str(data["provider_id"]),
            duration=float(data["duration"]),
            prompt=str(data.get("prompt", "")),
            video_path=data.get("video_path"),
            bgm_prompt=str(data.get("bgm_prompt", "")),
            negative_prompt=str(data.get("negative_prompt", "")),
            seed=int(data.get("seed", -1)),
            events=tuple(TimedEvent(float(s), float(e), str(p)) for s, e, p in data.get("events", ())),
            options=dict(data.get("options", {})),
        )


def with_answer_stem(request: GenerationRequest, stem: Path) -> GenerationRequest:
    """``request`` telling a provider whose answer is the audio where to write it."""
    from dataclasses import replace

    return replace(request, options={**request.options, ANSWER_STEM_OPTION: str(stem)})


@dataclass(frozen=True)
class VendorTask:
    """A submitted task: everything ``poll`` needs, JSON-serialisable for the ledger."""

    task_id: str
    data: Mapping[str, Any] = field(default_factory=dict)


class TaskState(str, Enum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class TaskStatus:
    state: TaskState
    audio_urls: tuple[str, ...] = ()  # best first (WAV before MP3)
    #: the vendor's reason when failed; where the task is while pending/running ("3rd in the queue")
    message: str = ""
    progress: float | None = None  # 0..1 when the vendor says
    vendor_code: str | int | None = None  # the vendor's error code when failed


@dataclass(frozen=True)
class AudioFile:
    path: Path
    format: str  # "wav", "mp3", "flac", "ogg", "m4a"
    size: int
    duration: float | None  # seconds, when it could be read


class Provider(ABC):
    """One vendor API. Steps are separate so a job can resume from a saved task."""

    info: ClassVar[ProviderInfo]
    #: True when ``recover_submit`` can tell whether an unanswered submit created a task.
    supports_recovery: ClassVar[bool] = False
    #: True when the answer to ``submit`` is the paid audio itself (ElevenLabs): ``submit`` writes
    #: it to the request's ``answer_stem`` (``with_answer_stem``) before it returns, ``poll`` only
    #: checks the file is there and ``download`` hands back that file.
    answer_is_audio: ClassVar[bool] = False

    @abstractmethod
    def validate(self, request: GenerationRequest) -> None:
        """Raise InputError/ConfigError with a sentence; sends nothing.

        Called before the clip is rendered (``video_path`` None: check the rest)
        and again by ``upload_clip`` once the clip exists.
        """

    @abstractmethod
    def upload_clip(self, request: GenerationRequest, cancel: threading.Event | None = None) -> str | None:
        """Make the clip reachable by the vendor; return its URL (None if not needed)."""

    @abstractmethod
    def submit(
        self, request: GenerationRequest, clip_url: str | None, cancel: threading.Event | None = None
    ) -> VendorTask:
        """Start the paid task. Never re-sent blindly once it may have left.

        ``cancel`` (the job's Cancel, or shutdown) ends a wait between re-sends of a refused
        submit at once with ``CancelledError``; it never interrupts a request in flight.
        """

    @abstractmethod
    def poll(self, task: VendorTask) -> TaskStatus:
        """One status request."""

    @abstractmethod
    def download(self, status: TaskStatus, dest_stem: Path) -> AudioFile:
        """Fetch the result to ``dest_stem`` + the sniffed extension; never overwrite."""

    def preflight(self, cancel: threading.Event | None = None) -> None:  # noqa: B027 - optional hook
        """A free look at the vendor before the clip is rendered (worker thread); raise a FoleyError.

        Cloud vendors need none (their keys were checked by ``validate``); a self-hosted
        server (ComfyUI) that is not running says so here, before a render is wasted.
        """

    def recover_submit(self, request: GenerationRequest, external_task_id: str) -> VendorTask | None:
        """After a SubmitUncertainError: one look for the task the unanswered submit may have created.

        Returns the task when the vendor shows it, else None. None never proves that
        no task exists (a vendor may lag): callers look again on a schedule
        (``providers.recovery.find_lost_task``) and never re-send the submit.
        Only a provider with ``supports_recovery`` (Kling ``external_task_id``) can look.
        """
        return None

    def release_clip(self, task: VendorTask) -> None:  # noqa: B027 - optional hook
        """The task left the vendor's queue (it has the clip): delete our upload of it, if the host can.

        Called once per run by the poll loops on the worker; must never raise.
        """

    def cancel_remote(self, task: VendorTask) -> bool:
        """Ask the vendor to drop an accepted task the user cancelled (called on a worker thread).

        True only when the vendor confirmed that nothing will be charged (fal.ai: a queued
        request cancelled before it started); False when it cannot recall tasks (the default)
        or did not confirm - the result is then still fetched, as for any paid task.
        """
        return False

    def failure_error(self, status: TaskStatus) -> FoleyError:
        """The exception for a FAILED status (providers map moderation, credits...)."""
        message = status.message or f"{self.info.label} reported the task failed without a reason."
        return TaskFailedError(message, vendor_code=status.vendor_code)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the HTTP session."""
