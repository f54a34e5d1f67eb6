"""The extension's one job engine, and the main-thread pump that applies its events.

Workers never touch bpy: everything they need from Blender (preference values,
the copy of the edit to render, where audio goes) is captured here on the main
thread. The pump runs from a ``bpy.app.timers`` function in the UI, and from
``JobEngine.wait`` in background mode: one machinery for both.

This module is imported at registration, so the engine, the ledger and the clip
renderer are imported where they are first used (``warm_up_in_background``
loads them off the main thread right after registration).
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bpy

from .. import preferences
from ..providers import create_provider, provider_info
from ..providers.errors import FoleyError
from .render_settings import DEFAULT_SHORT_SIDE

if TYPE_CHECKING:
    from ..core.engine import JobEngine
    from ..core.jobs import Job
    from ..core.ledger import JobLedger
    from ..providers.base import Provider

ROOT_PACKAGE = __package__.rpartition(".")[0] if __package__ else "vse_foley"
PUMP_BUDGET_S = 0.02

_engine: JobEngine | None = None
_ledger: JobLedger | None = None
_user_base: Path | None = None
_prefs_snapshot: dict[str, str] = {}
_render_locks: dict[str, threading.Lock] = {}  # one render per clip; other takes wait and reuse it
_render_locks_guard = threading.Lock()
_resumed = False
_busy_reasons: set[str] = set()  # "render", "save": inserting waits while Blender does these
_messages: list[tuple[str, str]] = []  # (level, sentence) for the status bar
_warm_up_stop = threading.Event()


def user_dir(*parts: str) -> Path:
    """A folder in the extension's user directory (never the extension folder).

    The base is looked up through bpy once, on the main thread; workers reuse it.
    """
    global _user_base  # noqa: PLW0603
    if _user_base is None:
        _user_base = Path(bpy.utils.extension_path_user(ROOT_PACKAGE, path="", create=True))
    path = _user_base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def output_dir_for(job: Job) -> Path:
    """``//foley/`` next to the job's .blend; the user folder for unsaved files."""
    folder = _prefs_snapshot.get("output_folder") or "foley"
    if job.blend_path:
        return Path(job.blend_path).parent / folder
    return user_dir("library")


def refresh_preferences(context: Any = None) -> None:
    """Copy the preference values workers need (main thread only)."""
    global _prefs_snapshot  # noqa: PLW0603
    values = preferences.provider_prefs(context)
    prefs = preferences.addon_preferences(context)
    if prefs is not None:
        values["output_folder"] = prefs.output_folder
    _prefs_snapshot = values  # rebound, never mutated: workers read a whole snapshot or the previous one


def make_provider(provider_id: str) -> Provider:
    return create_provider(provider_id, dict(_prefs_snapshot))


def clip_source_of(job: Job) -> tuple[str, int] | None:
    """The copy of the edit a job renders from, and the clip size (a chunk asks its parent)."""
    owners = [job]
    if job.parent_id and _engine is not None:
        parent = _engine.get(job.parent_id)
        owners += [parent] if parent is not None else []
    for owner in owners:
        source = owner.extra.get("clip_source")
        if source:
            return str(source), int(owner.extra.get("clip_short_side", DEFAULT_SHORT_SIDE))
    return None


def _render_lock(key: str) -> threading.Lock:
    with _render_locks_guard:
        return _render_locks.setdefault(key, threading.Lock())


def _render_clip(job: Job, cancel: threading.Event) -> str:
    """Worker thread: render the job's range, or reuse the clip another take already made."""
    import hashlib
    import json

    from .clip import ClipSpec, render_clip_in_subprocess, render_command

    source = clip_source_of(job)
    if source is None or not Path(source[0]).is_file():
        raise FoleyError("The copy of the edit this job renders from is gone (the work files were cleaned "
                         "up); generate the sound again.")
    blend_copy, short_side = source
    short_side = max(short_side, provider_info(job.provider_id).min_short_side)
    identity = f"{blend_copy}|{job.scene_name}|{job.frame_start}|{job.frame_end}|{short_side}"
    key = hashlib.sha1(identity.encode(), usedforsecurity=False).hexdigest()[:16]
    folder = user_dir("clips", key)
    done = folder / "clip.json"  # written only after a complete render
    with _render_lock(key):
        if done.is_file():
            cached = Path(json.loads(done.read_text())["path"])
            if cached.is_file():
                return str(cached)
        spec = ClipSpec(blend_path=blend_copy, scene_name=job.scene_name, frame_start=job.frame_start,
                        frame_end=job.frame_end, short_side=short_side, output_dir=str(folder), stem="clip")
        result = render_clip_in_subprocess(render_command(spec), cancel)
        done.write_text(json.dumps(result))
        return str(result["path"])


def prune_work_files(ledger: JobLedger, older_than_s: float = 3 * 24 * 3600) -> int:
    """Delete old copies of edits and old clips no unfinished job needs; returns how many folders."""
    import shutil

    keep = set()
    for job in ledger.unfinished():
        source = job.extra.get("clip_source")
        if source:
            keep.add(Path(source).parent)
    removed = 0
    cutoff = time.time() - older_than_s
    for folder in (*user_dir("sources").iterdir(), *user_dir("clips").iterdir()):
        if folder.is_dir() and folder not in keep and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


# Everything registration leaves for later, in the order a first Generate needs it.
HEAVY_MODULES = (
    "core.engine", "blender.generation", "blender.takes", "panels.sidebar_draw",
    "providers.settings", "providers.wavespeed", "providers.kling", "providers.vidu", "providers.flexstack",
    "providers.connection", "core.conform",
)


def warm_up_in_background() -> None:
    """Import pydantic, requests, the vendor clients and numpy off the main thread.

    Registration stays fast, and the first Generate does not pause on imports.
    """
    import importlib

    _warm_up_stop.clear()

    def load() -> None:
        for name in HEAVY_MODULES:
            if _warm_up_stop.is_set():  # unregistered meanwhile
                return
            try:
                importlib.import_module(f"{ROOT_PACKAGE}.{name}")
            except Exception as error:  # only a head start: first use imports again and reports properly
                print(f"VSE Foley: could not preload {name}: {type(error).__name__}: {error}")
                return

    threading.Thread(target=load, name="foley-warm-up", daemon=True).start()


def engine() -> JobEngine:
    """The engine, made on first use (never at registration: it reads the ledger)."""
    global _engine  # noqa: PLW0603 - one engine per Blender session
    if _engine is None:
        from ..core.engine import JobEngine

        refresh_preferences()
        ledger = job_ledger()
        prune_work_files(ledger)
        concurrency: dict[str, int] = {}
        prefs = preferences.addon_preferences()
        if prefs is not None and prefs.concurrency > 0:
            from ..providers import PROVIDER_IDS

            concurrency = dict.fromkeys(PROVIDER_IDS, prefs.concurrency)
        from ..providers.settings import account_limits

        _engine = JobEngine(ledger, make_provider, _render_clip, output_dir_for, concurrency=concurrency,
                            account_limits=account_limits(preferences.account_limit_prefs()),
                            provider_info=provider_info)
    return _engine


def apply_account_limits() -> None:
    """A per-account limit preference changed: the running engine takes it at once."""
    if _engine is None:
        return
    from ..providers.settings import account_limits

    for account, limits in account_limits(preferences.account_limit_prefs()).items():
        _engine.set_account_limits(account, limits)


def job_ledger() -> JobLedger:
    """The durable job store in the extension's user folder (read once, then kept in memory)."""
    global _ledger  # noqa: PLW0603
    if _ledger is None:
        from ..core.ledger import JobLedger

        _ledger = JobLedger(user_dir() / "jobs.jsonl")
    return _ledger


def history(limit: int = 20) -> list[Job]:
    """Finished jobs from every session, newest first (from memory, not the file)."""
    return job_ledger().history()[:limit]


def find_job(job_id: str) -> Job | None:
    """A job of this session, else from the ledger (older sessions)."""
    job = _engine.get(job_id) if _engine is not None else None
    return job if job is not None else job_ledger().get(job_id)


def clear_history() -> int:
    """Forget finished jobs (their audio files stay on disk); returns how many."""
    ledger = job_ledger()
    count = len(ledger.history())
    ledger.compact(keep_finished=0)
    return count


def has_engine() -> bool:
    return _engine is not None


def resume_if_online() -> list[Job]:
    """Pick up unfinished jobs from the ledger once, when network use is allowed."""
    global _resumed  # noqa: PLW0603
    if _resumed or not bpy.app.online_access:
        return []
    _resumed = True
    return engine().resume_from_ledger()


def set_busy(reason: str, busy: bool) -> None:
    if busy:
        _busy_reasons.add(reason)
    else:
        _busy_reasons.discard(reason)


def is_busy() -> bool:
    if _busy_reasons:
        return True
    return bool(bpy.app.is_job_running("RENDER"))  # type: ignore[func-returns-value]  # a bool; stubs say None


def post_message(level: str, text: str) -> None:
    """Queue a status-bar sentence; safe from any thread (list.append is atomic)."""
    _messages.append((level, text))


def preference_snapshot() -> dict[str, str]:
    return dict(_prefs_snapshot)


def take_messages() -> list[tuple[str, str]]:
    taken = []
    while _messages:
        taken.append(_messages.pop(0))
    return taken


def _tag_redraw() -> None:
    window_manager = bpy.context.window_manager
    for window in getattr(window_manager, "windows", ()):
        for area in window.screen.areas:
            if area.type == "SEQUENCE_EDITOR":
                area.tag_redraw()


def _open_scene_for(job: Job) -> Any:
    """The job's scene if its .blend is the open file, else None (it waits as ready)."""
    if job.blend_path != bpy.data.filepath:
        return None
    return bpy.data.scenes.get(job.scene_name)


def insert_ready_job(job: Job, *, report: bool = True) -> bool:
    """Insert a ready job's strip if its file and scene are open; True when inserted."""
    from ..core.jobs import JobState
    from .takes import insert_job  # the take-aware inserter

    current = engine().get(job.id)
    if current is None or current.state is not JobState.READY:
        return False  # announced twice (after download and again on resume)
    job = current
    scene = _open_scene_for(job)
    if scene is None or is_busy():
        return False
    try:
        inserted = insert_job(scene, job)
    except FoleyError as error:
        _messages.append(("ERROR", str(error)))
        return False
    engine().mark_inserted(job.id, inserted.strip_name)
    if not bpy.app.background:
        # One undo step per inserted sound (a timer is not an operator, so push it ourselves).
        with contextlib.suppress(RuntimeError):
            bpy.ops.ed.undo_push(message=f"Insert Foley Sound {inserted.strip_name}")
    if report:
        text = f"Foley: inserted '{inserted.strip_name}' on channel {inserted.channel}."
        _messages.extend([("INFO", text), *[("WARNING", w) for w in inserted.warnings]])
    return True


def insert_waiting_jobs() -> int:
    """Insert every ready job that belongs to the open file (after a load, or when not busy)."""
    if not has_engine():
        return 0
    return sum(1 for job in engine().ready_to_insert() if insert_ready_job(job))


def pump(budget_s: float = PUMP_BUDGET_S) -> int:
    """Apply engine events on the main thread within ``budget_s``; returns how many."""
    if _engine is None:
        return 0
    from ..core.engine import JobCancelled, JobFailed, JobReady, PaidResultKept

    events = _engine.drain(budget_s)
    for event in events:
        if isinstance(event, JobReady):
            if not event.job.parent_id:
                insert_ready_job(event.job)
        elif isinstance(event, JobFailed):
            _messages.append(("ERROR", f"Foley: {event.message}"))
        elif isinstance(event, JobCancelled | PaidResultKept):
            _messages.append(("WARNING", f"Foley: {event.message}"))
    if not events and not is_busy():
        for job in _engine.ready_to_insert():
            if _open_scene_for(job) is not None:
                insert_ready_job(job)
    if events or _countdown_due():  # any event changes what the job list shows
        _tag_redraw()
    return len(events)


_last_countdown_check = 0.0


def _countdown_due() -> bool:
    """Once a second while a job counts down to its next try (a busy vendor, Retry-After)."""
    global _last_countdown_check  # noqa: PLW0603 - one clock per session
    now = time.monotonic()
    if _engine is None or now - _last_countdown_check < 1.0:
        return False
    _last_countdown_check = now
    return _engine.counting_down()


def pump_once() -> None:
    """``pump`` for ``JobEngine.wait`` in background mode."""
    pump()


def active_job_count() -> int:
    return _engine.unsettled_count() if _engine is not None else 0


def shutdown() -> None:
    """Stop workers (jobs stay resumable in the ledger) and forget session state."""
    global _engine, _ledger, _resumed, _user_base  # noqa: PLW0603
    _warm_up_stop.set()
    if _engine is not None:
        _engine.shutdown()
    if _ledger is not None:
        _ledger.close()
    _engine = None
    _ledger = None
    _user_base = None
    _resumed = False
    _busy_reasons.clear()
    _messages.clear()
