"""The job record and its states: plain data, JSON round trip, no bpy.

A job is one paid vendor call for one frame range, or (for a long range) a
*chunked parent* whose ``chunk_ids`` name child jobs that each cover one chunk.
Children are ordinary jobs with ``parent_id`` set, so they run, resume, cancel
and retry exactly like any other job; the parent only joins their audio.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from fractions import Fraction
from itertools import pairwise
from typing import Any

from ..providers.base import GenerationRequest, VendorTask
from .timeline import FrameRange

SCHEMA_VERSION = 1


class JobState(str, Enum):
    QUEUED = "queued"
    RENDERING = "rendering"
    UPLOADING = "uploading"
    SUBMITTED = "submitted"
    GENERATING = "generating"
    DOWNLOADING = "downloading"
    READY = "ready"
    INSERTED = "inserted"
    FAILED = "failed"
    CANCELLED = "cancelled"


S = JobState

#: Every allowed change of state. Anything else is a bug and raises.
TRANSITIONS: Mapping[JobState, frozenset[JobState]] = {
    # GENERATING straight from QUEUED: a chunked parent, whose children do the submitting.
    S.QUEUED: frozenset({S.RENDERING, S.UPLOADING, S.SUBMITTED, S.GENERATING, S.FAILED, S.CANCELLED}),
    # back to QUEUED: resumed after a restart before anything was sent.
    S.RENDERING: frozenset({S.QUEUED, S.UPLOADING, S.SUBMITTED, S.FAILED, S.CANCELLED}),
    S.UPLOADING: frozenset({S.QUEUED, S.SUBMITTED, S.FAILED, S.CANCELLED}),
    # back to QUEUED: the vendor refused the submit as busy (proof no task exists), so it waits.
    S.SUBMITTED: frozenset({S.QUEUED, S.GENERATING, S.DOWNLOADING, S.FAILED, S.CANCELLED}),
    S.GENERATING: frozenset({S.DOWNLOADING, S.FAILED, S.CANCELLED}),
    S.DOWNLOADING: frozenset({S.READY, S.FAILED, S.CANCELLED}),
    S.READY: frozenset({S.INSERTED, S.CANCELLED}),
    S.INSERTED: frozenset(),
    # retry: QUEUED when nothing was sent; SUBMITTED to look an unanswered submit
    # up by its key; GENERATING to poll a kept vendor task again (no new charge)
    # or to reopen a chunked parent after a chunk retry.
    S.FAILED: frozenset({S.QUEUED, S.SUBMITTED, S.GENERATING}),
    S.CANCELLED: frozenset(),
}

#: The worker is done with the job (READY waits only for the main thread).
SETTLED_STATES = frozenset({S.READY, S.INSERTED, S.FAILED, S.CANCELLED})
#: Nothing more will happen to the job unless the user retries it.
FINISHED_STATES = frozenset({S.INSERTED, S.FAILED, S.CANCELLED})


class TransitionError(ValueError):
    """A state change the state machine does not allow (a programming error)."""


def can_transition(old: JobState, new: JobState) -> bool:
    return old == new or new in TRANSITIONS[old]


def new_job_id() -> str:
    """A short random id: 12 hex digits of a uuid4 (safe in file names)."""
    return uuid.uuid4().hex[:12]


def new_attempt(job: Job, state: JobState, now: float, files: dict[str, str], **changes: Any) -> Job:
    """A new job that tries ``job`` again from ``state``: its own id and clock, no error,
    warning, note, progress, analysis or strip yet, linked by ``retry_of``; ``changes``
    resets what else the caller needs (e.g. the vendor task for a new paid call)."""
    return replace(
        job.copy(),
        id=new_job_id(),
        state=state,
        files=files,
        audio_info={},
        timings={state.value: now},
        error="",
        error_kind="",
        warnings=[],
        note="",
        created_at=now,
        updated_at=now,
        progress=None,
        retry_of=job.id,
        strip_name="",
        **changes,
    )


@dataclass
class Job:
    """One generation. Everything is JSON-able; the ledger stores ``to_dict()``."""

    id: str
    provider_id: str
    request: dict[str, Any]  # GenerationRequest.to_dict()
    blend_path: str = ""
    scene_name: str = ""
    frame_start: int = 1
    frame_end: int = 1  # inclusive, like the scene range
    fps_num: int = 25
    fps_den: int = 1
    channel: int = 0  # 0: the inserter picks the lowest free channel
    state: JobState = JobState.QUEUED
    vendor_task: dict[str, Any] | None = None  # {"task_id": str, "data": {...}}
    files: dict[str, str] = field(default_factory=dict)  # "clip", "audio"
    audio_info: dict[str, Any] = field(default_factory=dict)  # format, size, duration
    timings: dict[str, float] = field(default_factory=dict)  # state value → time entered
    error: str = ""  # the sentence shown to the user
    error_kind: str = ""  # FoleyError subclass name
    warnings: list[str] = field(default_factory=list)
    note: str = ""  # e.g. what happened to a paid result after cancel
    created_at: float = 0.0
    updated_at: float = 0.0
    label: str = ""  # short text for the job list
    prompt: str = ""
    progress: float | None = None  # 0..1 when the vendor says
    # takes (issue 6): several jobs for the same range, inserted as one group
    group_id: str = ""
    take_index: int = 0
    take_label: str = ""
    # long ranges (issue 6): parent lists its children; children point back
    parent_id: str = ""
    chunk_index: int = -1
    chunk_ids: list[str] = field(default_factory=list)
    # a submit that may have left: never sent again automatically
    submit_attempted: bool = False
    #: client-chosen task id sent with the submit (Kling ``external_task_id``), to look it up later
    submit_key: str = ""
    #: the vendor itself reported the task failed (a retry is a new paid call, not a re-poll)
    task_failed: bool = False
    # cancelled after submit: the paid result is still fetched into the library
    keep_result: bool = False
    retry_of: str = ""
    strip_name: str = ""
    # waiting (issue 9): the wall-clock time the job tries again (a busy vendor, a submit rate,
    # Retry-After); the job list counts down to it. 0: not waiting.
    retry_at: float = 0.0
    #: when the vendor first answered "busy" for this job (the total wait is bounded)
    waiting_since: float = 0.0
    #: a chunk not sent because a sibling failed for a reason a retry will not fix
    held: bool = False
    #: keys written by a newer version, kept so a round trip loses nothing
    extra: dict[str, Any] = field(default_factory=dict)
    #: the id stored in the .blend (on the job's scene) that says which edit the job belongs to
    edit_id: str = ""
    #: why inserting the ready sound failed; the pump stops trying until the user acts
    insert_error: str = ""
    #: one Generate of "one sound per strip": every job of it shares this id (one row in the job list)
    batch_id: str = ""
    #: "any host" (issue 14 item 6): the hosts of one model this job may use, the chosen one first
    #: (provider ids; core/host_fallback.py); empty: ``provider_id`` only. ``provider_id`` is the
    #: host the job is on now: a job moves along this list only when a host proved it made nothing.
    hosts: list[str] = field(default_factory=list)
    #: why the job is not on the host chosen ("WaveSpeed was unavailable ..."); "" when it is
    host_note: str = ""

    # -- construction ---------------------------------------------------------------

    @classmethod
    def create(
        cls,
        request: GenerationRequest,
        frame_range: FrameRange,
        fps: Fraction,
        *,
        blend_path: str = "",
        scene_name: str = "",
        channel: int = 0,
        label: str = "",
        now: float | None = None,
        **extra_fields: Any,
    ) -> Job:
        """A new queued job with a fresh id; ``extra_fields`` are other Job fields (group_id...)."""
        stamp = time.time() if now is None else now
        return cls(
            id=new_job_id(),
            provider_id=request.provider_id,
            request=request.to_dict(),
            blend_path=blend_path,
            scene_name=scene_name,
            frame_start=frame_range.start,
            frame_end=frame_range.end,
            fps_num=fps.numerator,
            fps_den=fps.denominator,
            channel=channel,
            created_at=stamp,
            updated_at=stamp,
            timings={JobState.QUEUED.value: stamp},
            label=label,
            prompt=request.prompt,
            **extra_fields,
        )

    # -- derived --------------------------------------------------------------------

    @property
    def frame_range(self) -> FrameRange:
        return FrameRange(self.frame_start, self.frame_end)

    @property
    def fps(self) -> Fraction:
        return Fraction(self.fps_num, self.fps_den)

    @property
    def seconds(self) -> Fraction:
        return self.frame_range.seconds(self.fps)

    @property
    def generation_request(self) -> GenerationRequest:
        return GenerationRequest.from_dict(self.request)

    @property
    def task(self) -> VendorTask | None:
        if not self.vendor_task:
            return None
        return VendorTask(str(self.vendor_task["task_id"]), dict(self.vendor_task.get("data") or {}))

    @property
    def is_chunked(self) -> bool:
        return bool(self.chunk_ids)

    @property
    def audio_path(self) -> str:
        return self.files.get("audio", "")

    # -- where a job is, as three nested predicates (issue 12 item 7) -------------------------
    # in_progress  ⊂  not settled  ⊂  unfinished:
    #   in_progress  its own state still has worker steps ahead (queued ... downloading);
    #   not settled  in_progress, or cancelled after submit with the paid result still to fetch
    #                (a worker still acts on it; ``JobEngine.wait`` waits for it);
    #   unfinished   not settled, or ready and waiting for the main thread to insert it (the
    #                process that owns it must keep it: resume and take-over look at these).

    @property
    def in_progress(self) -> bool:
        """Its state still has worker steps ahead (queued, rendering ... downloading)."""
        return self.state not in SETTLED_STATES

    @property
    def settled(self) -> bool:
        """True when no worker needs to act on it (not in progress, no kept paid result to fetch)."""
        return not self.in_progress and not self.awaiting_paid_result

    @property
    def retry_sends_again(self) -> bool:
        """Retry would send a NEW paid request although the first may have been charged: its
        answer was lost and the vendor offers no way to look the task up (no ``submit_key``)."""
        return (self.state == JobState.FAILED and self.submit_attempted and self.task is None
                and not self.submit_key)

    @property
    def awaiting_paid_result(self) -> bool:
        """Cancelled after submit and its result is not on disk yet."""
        return self.state == JobState.CANCELLED and self.keep_result and not self.audio_path

    @property
    def unfinished(self) -> bool:
        """Something is still due: work to resume, a result to fetch, or a ready strip to insert."""
        return self.state not in FINISHED_STATES or self.awaiting_paid_result

    def phase_durations(self) -> dict[str, float]:
        """Seconds spent in each state reached, in order (for the demo printout and bench)."""
        entered = sorted(self.timings.items(), key=lambda item: item[1])
        durations: dict[str, float] = {}
        for (state, start), (_next, stop) in pairwise(entered):
            durations[state] = round(stop - start, 6)
        return durations

    def with_state(self, state: JobState, now: float) -> Job:
        """A copy in ``state``; raises TransitionError for a change the machine forbids."""
        if not can_transition(self.state, state):
            raise TransitionError(f"Job {self.id}: {self.state.value} → {state.value} is not allowed.")
        job = self.copy()
        if state != job.state:
            job.state = state
            job.timings[state.value] = now
        job.updated_at = now
        return job

    def copy(self) -> Job:
        clone = copy.copy(self)
        for name in _MUTABLE_FIELDS:
            setattr(clone, name, _clone(getattr(self, name)))
        return clone

    # -- JSON -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.extra)
        for spec in fields(self):
            if spec.name == "extra":
                continue
            data[spec.name] = _clone(getattr(self, spec.name))
        data["state"] = self.state.value
        data["v"] = SCHEMA_VERSION
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Job:
        """Inverse of ``to_dict``. Unknown keys go to ``extra``; an unknown state raises ValueError."""
        known = {spec.name for spec in fields(cls)} - {"extra"}
        values: dict[str, Any] = {k: _clone(v) for k, v in data.items() if k in known}
        extra = {k: _clone(v) for k, v in data.items() if k not in known and k != "v"}
        if "id" not in values or "provider_id" not in values:
            raise ValueError("A job record needs an id and a provider_id.")
        check_field_types(values)
        values["state"] = JobState(values.get("state", JobState.QUEUED.value))
        values.setdefault("request", {})
        return cls(**values, extra=extra)


def _type_rule(annotation: str) -> tuple[tuple[type, ...], str]:
    """(allowed JSON types, element rule) from a field's annotation string."""
    allowed: list[type] = []
    inner = ""
    for part in (p.strip() for p in annotation.split(" | ")):
        if part == "None":
            allowed.append(type(None))
        elif part in ("str", "JobState"):
            allowed.append(str)
        elif part == "bool":
            allowed.append(bool)
        elif part == "int":
            allowed.append(int)
        elif part == "float":
            allowed.extend((int, float))
        elif part.startswith("dict"):
            allowed.append(dict)
            inner = {"dict[str, str]": "dict-str", "dict[str, float]": "dict-float"}.get(part, "")
        elif part.startswith("list"):
            allowed.append(list)
            inner = "list-str" if part == "list[str]" else ""
    return tuple(allowed), inner


def check_field_types(values: Mapping[str, Any]) -> None:
    """Raise ValueError naming the first field whose JSON type does not match the Job field."""
    for name, value in values.items():
        allowed, inner = _FIELD_TYPES[name]
        if not allowed:  # a type this check does not know: trust it
            continue
        ok = isinstance(value, allowed) and not (isinstance(value, bool) and bool not in allowed)
        if ok and inner == "dict-str":
            ok = all(isinstance(item, str) for item in value.values())
        elif ok and inner == "dict-float":
            ok = all(isinstance(item, int | float) and not isinstance(item, bool) for item in value.values())
        elif ok and inner == "list-str":
            ok = all(isinstance(item, str) for item in value)
        if ok and name == "vendor_task" and value is not None:
            ok = isinstance(value.get("task_id"), str | int)
            ok = ok and isinstance(value.get("data", {}), dict | None)
        if not ok:
            raise ValueError(f"The job field {name!r} has the wrong type ({type(value).__name__}).")


_MUTABLE_FIELDS = (
    "request",
    "vendor_task",
    "files",
    "audio_info",
    "timings",
    "warnings",
    "chunk_ids",
    "hosts",
    "extra",
)


def _clone(value: Any) -> Any:
    """A deep copy of JSON-like data (dicts, lists, tuples, scalars); much faster than deepcopy."""
    if isinstance(value, dict):
        return {key: _clone(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clone(item) for item in value]
    return value


_FIELD_TYPES = {spec.name: _type_rule(str(spec.type)) for spec in fields(Job) if spec.name != "extra"}
