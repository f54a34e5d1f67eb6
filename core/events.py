"""What the engine tells the main thread: small frozen events carrying a job snapshot.

Workers put them on the engine's queue; ``JobEngine.drain`` hands them to the Blender
pump, which applies them on the main thread. ``EventKind`` names which event a saved
change announces (the engine builds the event from the snapshot it recorded).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .jobs import Job, JobState


@dataclass(frozen=True)
class JobChanged:
    """Anything about the job changed (state, progress, files); redraw the job list."""

    job: Job


@dataclass(frozen=True)
class JobReady:
    """The audio is on disk: insert the strip, then call ``JobEngine.mark_inserted``."""

    job: Job

    @property
    def audio_path(self) -> str:
        return self.job.audio_path


@dataclass(frozen=True)
class JobFailed:
    job: Job
    message: str


@dataclass(frozen=True)
class JobCancelled:
    job: Job
    message: str


@dataclass(frozen=True)
class PaidResultKept:
    """A job cancelled after submit: its paid result arrived in the library (not inserted)."""

    job: Job
    message: str


EngineEvent = JobChanged | JobReady | JobFailed | JobCancelled | PaidResultKept


class EventKind(Enum):
    """Which event a saved change announces."""

    CHANGED = "changed"
    READY = "ready"
    FAILED = "failed"
    CANCELLED = "cancelled"
    PAID_RESULT_KEPT = "paid_result_kept"


def make_event(kind: EventKind, job: Job, message: str = "") -> EngineEvent:
    """The event of ``kind`` for ``job`` (a snapshot); ``message`` is shown for the last three."""
    if kind is EventKind.READY:
        return JobReady(job)
    if kind is EventKind.FAILED:
        return JobFailed(job, message)
    if kind is EventKind.CANCELLED:
        return JobCancelled(job, message)
    if kind is EventKind.PAID_RESULT_KEPT:
        return PaidResultKept(job, message)
    return JobChanged(job)


def kind_of_change(old: Job, new: Job) -> EventKind:
    """The event a change from ``old`` to ``new`` announces when the caller names none."""
    if old.state == new.state:
        return EventKind.CHANGED
    if new.state == JobState.READY:
        return EventKind.CHANGED if new.parent_id else EventKind.READY  # a chunk is inserted via its parent
    if new.state == JobState.FAILED:
        return EventKind.FAILED
    if new.state == JobState.CANCELLED:
        return EventKind.CANCELLED
    return EventKind.CHANGED
