"""What the parts of the job engine share: its state and the steps they call on each other.

``JobEngine`` (core/engine.py) is assembled from mixins, one concern each:
``scheduling.py`` (account slots, busy waits, pacing, held chunks), ``job_steps.py``
(the worker steps of one job), ``chunk_parents.py`` (long ranges: make, refresh,
assemble). ``EngineParts`` declares, once, the attributes the engine's ``__init__``
sets and the methods one part calls on another, so each part type-checks alone.
Everything here is bpy-free.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..providers.base import Provider, ProviderInfo
from ..providers.errors import RateLimitError, VendorBusyError
from ..providers.polling import PollSchedule
from .accounts import AccountBook
from .events import EngineEvent, EventKind
from .jobs import Job, JobState
from .ownership import JobOwnership
from .timeline import FrameRange

if TYPE_CHECKING:
    from .ledger import JobLedger

# -- injectable pieces ----------------------------------------------------------------------

RenderClip = Callable[[Job, threading.Event], str]
ProviderFactory = Callable[[str], Provider]
#: (parent, children in chunk order, destination stem) → path of the joined audio
Assemble = Callable[[Job, Sequence[Job], Path], Path]
#: a look at a landed result (job, audio path) -> plain figures; runs on the worker, must not raise
Analyse = Callable[[Job, Path], dict[str, Any]]



class EngineParts:
    """The engine's shared state (set by ``JobEngine.__init__``) and the steps its parts share."""

    _ledger: JobLedger
    _provider_factory: ProviderFactory
    _render_clip: RenderClip | None
    _output_dir_for: Callable[[Job], Path]
    _provider_info: Callable[[str], ProviderInfo] | None
    _poll: PollSchedule
    _clock: Callable[[], float]
    _monotonic: Callable[[], float]
    _stop: threading.Event
    _sleep: Callable[[float], object]
    _assemble: Assemble
    _overlap: float
    _ownership: JobOwnership
    _library_dir: Callable[[], Path] | None
    _unrecorded: dict[str, str]
    _analyse: Analyse
    fill_short: bool
    _lock: threading.RLock
    _changed: threading.Condition
    _jobs: dict[str, Job]
    _events: queue.SimpleQueue[EngineEvent]
    _pending: dict[str, deque[str]]
    _in_flight: dict[str, int]
    _peak: dict[str, int]
    _workers: dict[str, threading.Thread]
    _assembling: set[str]
    _aborts: dict[str, threading.Event]
    _model_caps: dict[str, int]
    _learned_limits: dict[str, int]
    _accounts: AccountBook
    _wall_offset: float
    _slot_of: dict[str, str]
    _waker: threading.Thread | None

    if TYPE_CHECKING:
        # core/engine.py: bookkeeping
        def _load(self, job_id: str) -> Job | None: ...
        def _save(self, job: Job, event: EventKind = EventKind.CHANGED, message: str = "") -> Job: ...
        def _record(self, job: Job) -> Job: ...
        def _publish(self, job: Job, event: EventKind = EventKind.CHANGED, message: str = "") -> None: ...
        def _update(self, job_id: str, state: JobState | None = None, *, event: EventKind | None = None,
                    message: str = "", **changes: Any) -> Job: ...
        def _cancel_one(self, job_id: str) -> str: ...
        def _retry_unrecorded(self) -> None: ...

        # core/scheduling.py
        def _account(self, provider_id: str, info: ProviderInfo | None = None) -> str: ...
        def _schedule(self, job_id: str) -> None: ...
        def _dispatch(self) -> None: ...
        def _pace_submit(self, job_id: str, info: ProviderInfo) -> None: ...
        def _check_held(self, job_id: str) -> None: ...
        def _wait_for_slot(self, job_id: str, info: ProviderInfo, exc: VendorBusyError) -> None: ...
        def _note_throttled(
            self, job_id: str, info: ProviderInfo, account: str, exc: RateLimitError
        ) -> None: ...
        def _show_wait(self, job_id: str, retry_at: float, note: str) -> None: ...
        def _children(self, parent: Job) -> list[Job]: ...
        def _hold_or_release(self, kids: Sequence[Job]) -> None: ...

        # core/render_ahead_runner.py
        def _clip_ready(self, job_ids: list[str]) -> dict[str, bool]: ...
        def _render_ahead_now(self) -> None: ...
        def _await_clip_ahead(self, job_id: str) -> None: ...
        def _render_in_slot(self, job_id: str) -> contextlib.AbstractContextManager[None]: ...

        # core/job_steps.py
        def _snapshot(self, job_id: str) -> Job: ...
        def _check(self, job_id: str) -> None: ...
        def _pause(self, seconds: float) -> None: ...
        def _work(self, job_id: str) -> None: ...
        def _fail(self, job_id: str, exc: Exception) -> None: ...
        def _look_at(self, job: Job, path: Path) -> dict[str, Any]: ...

        # core/chunk_parents.py
        def _make_chunk(self, parent: Job, index: int, frames: FrameRange, count: int) -> Job: ...
        def _refresh_parent(self, parent_id: str) -> None: ...
