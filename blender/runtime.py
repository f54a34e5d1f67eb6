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
_messages: list[tuple[str, str]] = []  # (level, sentence) for the status bar
_warm_up_stop = threading.Event()
_ledger_guard = threading.Lock()  # the warm-up thread and the main thread may both open the ledger
ledger_loaded = threading.Event()  # set once the ledger is read (by the warm-up thread, normally)
warm_up_finished = threading.Event()  # the warm-up thread is done (imports, ledger, cleanup)
resuming = threading.Event()  # a thread is picking up the ledger's unfinished jobs
resume_finished = threading.Event()  # ... and has done so
_insert_due = False  # a file was loaded: try every waiting job on the pump's next tick
_modal_since: float | None = None  # when the pump first saw a modal operator running
MODAL_WAIT_LIMIT_S = 30.0


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
    """``//foley/`` next to the job's .blend; the user folder for unsaved files.

    The preference is a folder name (``foley``), a path relative to the .blend
    (``//sfx``, Blender's own notation) or an absolute folder. Runs on workers: no bpy.
    """
    folder = (_prefs_snapshot.get("output_folder") or "foley").strip()
    if folder.startswith("//"):
        folder = folder[2:] or "foley"
    elif Path(folder).is_absolute():
        return Path(folder)
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
    preferred = provider_info(job.provider_id).min_short_side  # the clip is never smaller than this
    identity = f"{blend_copy}|{job.scene_name}|{job.frame_start}|{job.frame_end}|{short_side}|{preferred}"
    key = hashlib.sha1(identity.encode(), usedforsecurity=False).hexdigest()[:16]
    folder = user_dir("clips", key)
    done = folder / "clip.json"  # written only after a complete render
    with _render_lock(key):
        if done.is_file():
            cached = Path(json.loads(done.read_text())["path"])
            if cached.is_file():
                return str(cached)
        spec = ClipSpec(blend_path=blend_copy, scene_name=job.scene_name, frame_start=job.frame_start,
                        frame_end=job.frame_end, short_side=short_side, output_dir=str(folder), stem="clip",
                        min_short_side=preferred)
        result = render_clip_in_subprocess(render_command(spec), cancel)
        done.write_text(json.dumps(result))
        return str(result["path"])


def prune_work_files(ledger: JobLedger, older_than_s: float = 3 * 24 * 3600, keep_sources: int = 20) -> int:
    """Delete work files no unfinished job needs; returns how many folders.

    Copies of edits (``sources/``, shared by the jobs of one state of an edit) go when unused for
    ``older_than_s`` or beyond the ``keep_sources`` most recently used; clips when older than
    ``older_than_s`` (a clip is rendered again from its copy if needed); waveform pictures
    when their job is no longer in the history.
    """
    import shutil

    keep = set()
    for job in ledger.unfinished():
        source = job.extra.get("clip_source")
        if source:
            keep.add(Path(source).parent)
    removed = 0
    cutoff = time.time() - older_than_s
    for kind, most in (("sources", keep_sources), ("clips", None)):
        folders = [folder for folder in user_dir(kind).iterdir() if folder.is_dir()]
        folders.sort(key=lambda folder: folder.stat().st_mtime, reverse=True)  # most recently used first
        for rank, folder in enumerate(folders):
            if folder in keep:
                continue
            if folder.stat().st_mtime < cutoff or (most is not None and rank >= most):
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
    for picture in user_dir("previews").glob("*.png"):  # waveforms of jobs the history forgot
        if picture.stem not in ledger:
            picture.unlink(missing_ok=True)
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
    warm_up_finished.clear()
    user_dir()  # the one bpy call the thread needs, made here on the main thread

    def load() -> None:
        for name in HEAVY_MODULES:
            if _warm_up_stop.is_set():  # unregistered meanwhile
                return
            try:
                importlib.import_module(f"{ROOT_PACKAGE}.{name}")
            except Exception as error:  # only a head start: first use imports again and reports properly
                print(f"VSE Foley: could not preload {name}: {type(error).__name__}: {error}")
                break
        # The ledger is read and old work files are cleaned up here, off the main thread;
        # the pump resumes jobs only once this is done (``resume_if_online``).
        try:
            if not _warm_up_stop.is_set():
                prune_work_files(job_ledger())
        except Exception as error:  # the main thread opens it on first use and reports properly
            print(f"VSE Foley: could not preload the job ledger: {type(error).__name__}: {error}")
        warm_up_finished.set()

    threading.Thread(target=load, name="foley-warm-up", daemon=True).start()


def engine() -> JobEngine:
    """The engine, made on first use (never at registration: it reads the ledger)."""
    global _engine  # noqa: PLW0603 - one engine per Blender session
    if _engine is None:
        from ..core.engine import JobEngine

        refresh_preferences()
        ledger = job_ledger()  # normally read by the warm-up thread already
        concurrency: dict[str, int] = {}
        prefs = preferences.addon_preferences()
        if prefs is not None and prefs.concurrency > 0:
            from ..providers import PROVIDER_IDS

            concurrency = dict.fromkeys(PROVIDER_IDS, prefs.concurrency)
        from ..providers.settings import account_limits
        from .decode import result_analyser

        _engine = JobEngine(ledger, make_provider, _render_clip, output_dir_for, concurrency=concurrency,
                            account_limits=account_limits(preferences.account_limit_prefs()),
                            provider_info=provider_info, library_dir=lambda: user_dir("library"),
                            analyse=result_analyser(user_dir("previews")),
                            fill_short=preferences.fill_short_results(),
                            render_ahead=_render_ahead_budget())
    return _engine


def _render_ahead_budget() -> int:
    """Clip renders at once while vendor slots are full (issue 13 item 3): the machine's bound."""
    from ..core.render_ahead import available_memory_bytes, machine_render_budget

    return machine_render_budget(free_memory=available_memory_bytes())


def apply_fill_short() -> None:
    """The "Fill short results" preference changed: results landing from now on follow it."""
    if _engine is not None:
        _engine.fill_short = preferences.fill_short_results()


def apply_account_limits() -> None:
    """A per-account limit preference changed: the running engine takes it at once."""
    if _engine is None:
        return
    from ..providers.settings import account_limits

    for account, limits in account_limits(preferences.account_limit_prefs()).items():
        _engine.set_account_limits(account, limits)


def job_ledger() -> JobLedger:
    """The durable job store in the extension's user folder (read once, then kept in memory).

    Raises FoleyError with a sentence when the user folder cannot hold it (issue 11).
    """
    global _ledger  # noqa: PLW0603
    with _ledger_guard:
        if _ledger is None:
            from ..core.ledger import JobLedger, write_problem_sentence

            try:
                _ledger = JobLedger(user_dir() / "jobs.jsonl")
            except OSError as error:
                where = Path(error.filename) if isinstance(error.filename, str) else Path("jobs.jsonl")
                problem = write_problem_sentence(error, where)
                message = f"VSE Foley cannot open its job file: {problem}. Nothing was sent."
                raise FoleyError(message) from None
        ledger_loaded.set()
        return _ledger


def check_ledger_writable() -> None:
    """Generate calls this before spending: a job that cannot be recorded is refused with a sentence."""
    ledger = job_ledger()
    problem = ledger.check_writable()
    if problem:
        raise FoleyError(f"VSE Foley cannot record jobs in {ledger.path}: {problem}. Nothing was sent.")


#: how often jobs of a Blender window that has quit are looked for (issue 11: two windows)
TAKEOVER_INTERVAL_S = 5.0
_next_takeover = 0.0


def take_over_orphans() -> list[Job]:
    """Every few seconds (from the pump timer): resume jobs whose owning Blender process is gone."""
    global _next_takeover  # noqa: PLW0603
    if not _resumed or _engine is None or time.monotonic() < _next_takeover:
        return []
    _next_takeover = time.monotonic() + TAKEOVER_INTERVAL_S
    return _engine.take_over_orphans()


def history(limit: int = 20) -> list[Job]:
    """Finished jobs from every session, newest first: the history panel's cached, parsed view
    (``core/history.py``), read again only when the job file changed."""
    from ..core.history import view_of

    return view_of(job_ledger()).recent(limit)


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


def resume_if_online(*, wait_for_ledger: bool = False) -> list[Job]:
    """Pick up unfinished jobs from the ledger once, when network use is allowed.

    The pump calls this every tick: until the warm-up thread has read the ledger it
    returns at once, so start-up parses nothing on the main thread. Scripts
    (``foley.wait``) pass ``wait_for_ledger`` and read it here if need be.
    """
    global _resumed  # noqa: PLW0603
    if _resumed or not bpy.app.online_access:
        return take_over_orphans() if _resumed and bpy.app.online_access else []
    if wait_for_ledger:
        _resumed = True
        return engine().resume_from_ledger()
    if not ledger_loaded.is_set():
        return []
    _resumed = True
    job_engine = engine()  # cheap now: the ledger is already read
    # Turning every record into a job takes ~0.1 s for 2,000 of them: a thread does it, the
    # pump applies what it announces (JobReady events) and stays out of the engine meanwhile.
    resume_finished.clear()
    resuming.set()

    def resume() -> None:
        try:
            job_engine.resume_from_ledger()
        except Exception as error:  # the jobs stay in the ledger; the next start tries again
            print(f"VSE Foley: could not resume jobs: {type(error).__name__}: {error}")
        finally:
            resuming.clear()
            resume_finished.set()

    threading.Thread(target=resume, name="foley-resume", daemon=True).start()
    return []


def insertion_blocked_reason() -> str:
    """Why a strip must not be inserted right now ("" when it may).

    No flags set by handlers, so nothing can stick: a save or a render started from
    a script blocks the main thread, so the pump (a timer) cannot run during it; an
    interactive render is a window-manager job, seen by ``is_job_running``. A failed
    save fires ``save_post_fail`` instead of ``save_post`` (``wm_files.cc``,
    ``wm_file_write``), and a render whose output cannot be opened fires
    ``render_init`` and returns without ``render_complete``/``render_cancel``
    (``render/intern/pipeline.cc``, ``RE_RenderAnim``): flags cleared in the
    ``*_post`` handlers stayed set forever, which is why there are none.
    """
    global _modal_since  # noqa: PLW0603
    if bpy.app.is_job_running("RENDER"):  # type: ignore[func-returns-value]  # a bool; stubs say None
        return "Blender is rendering"
    # A modal operator (a transform drag, a viewport render) holds strips it may move or
    # read: ``window.modal_operators`` lists the window's modal handlers, the same list
    # Blender's own auto-save checks before it writes (``wm_files.cc``, ``wm_autosave_timer``).
    # Only a window has them. An add-on's modal operator may run for the whole session,
    # so after ``MODAL_WAIT_LIMIT_S`` we stop waiting for it.
    window_manager = bpy.context.window_manager
    windows = getattr(window_manager, "windows", ())
    running = any(len(getattr(window, "modal_operators", ())) for window in windows)
    if not running:
        _modal_since = None
        return ""
    now = time.monotonic()
    _modal_since = now if _modal_since is None else _modal_since
    if now - _modal_since < MODAL_WAIT_LIMIT_S:
        return "an operator is running (e.g. a strip is being dragged)"
    return ""


def request_insert_check() -> None:
    """After a file load: the pump's next tick tries every ready job (never ``load_post`` itself)."""
    global _insert_due  # noqa: PLW0603
    _insert_due = True


def file_saved(before: str, after: str) -> int:
    """``save_post``: jobs of the saved edit now belong to ``after``; returns how many changed.

    A copy (``save_as_mainfile(copy=True)``, Save Startup File) leaves ``bpy.data.filepath``
    as it was (``wm_file_write`` only copies the path for a real save), so nothing moves.
    """
    from .edit_identity import ids_in_open_file

    if before == after:
        return 0
    ids = ids_in_open_file()
    if not ids:
        return 0

    def moves(job: Job) -> bool:
        return job.edit_id in ids and job.blend_path == before

    changed = 0
    if _engine is not None:
        for job in _engine.jobs():
            # another window's running job keeps its record: writing our older copy of it would
            # roll its state back in the shared ledger (and a takeover could then send it again)
            if moves(job) and (not job.unfinished or _engine.owns(job.id)):
                _engine.annotate(job.id, blend_path=after)
                changed += 1
    if _ledger is not None:  # finished jobs of older sessions, for Insert Again
        _ledger.refresh()  # the newest records of other windows, not what we read earlier
        known = {job.id for job in _engine.jobs()} if _engine is not None else set()
        for job in _ledger.jobs_where(lambda r: r.get("blend_path") == before and r.get("edit_id") in ids):
            if job.id not in known and moves(job) and not job.unfinished:
                job.blend_path = after
                _ledger.append(job)
                changed += 1
    return changed


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
    """The job's scene if its edit is the open file, else None (it waits as ready)."""
    from .edit_identity import scene_of_job

    return scene_of_job(job)


def not_inserted_reason(job: Job) -> str:
    """Why a ready job is not on the timeline, as a true sentence."""
    from .edit_identity import why_not_open

    if job.insert_error:
        return job.insert_error
    if _open_scene_for(job) is None:
        return why_not_open(job)
    blocked = insertion_blocked_reason()
    return f"{blocked}; it is inserted when that ends." if blocked else "it waits for the next pump tick."


def insert_failure_sentence(job: Job, error: Exception) -> str:
    if isinstance(error, FoleyError):
        return str(error)
    return (f"Inserting the sound of job {job.id} failed ({type(error).__name__}: {error}); the audio is "
            "kept — use Retry Insert, or Reveal File to place it by hand.")


def record_insert_failure(job: Job, error: Exception) -> str:
    """Mark the job with its sentence (kept in the ledger); the pump stops trying until the user acts."""
    from ..core.jobs import JobState

    sentence = insert_failure_sentence(job, error)
    if job.state is JobState.READY:  # Insert Again on a finished job has nothing to wait for
        engine().annotate(job.id, insert_error=sentence)
    return sentence


def insert_ready_job(job: Job, *, report: bool = True) -> bool:
    """Insert a ready job's strip if its file and scene are open; True when inserted.

    A failure is reported once: the job keeps its sentence in ``insert_error`` and is
    not tried again until the user chooses Retry Insert (``foley.insert``) or Dismiss.
    """
    from ..core.jobs import JobState
    from .takes import insert_job  # the take-aware inserter

    current = engine().get(job.id)
    if current is None or current.state is not JobState.READY or current.insert_error:
        return False  # announced twice (after download and again on resume), or waiting for the user
    if not engine().claim(job.id):
        return False  # another Blender window runs it and inserts it (issue 11)
    job = current
    scene = _open_scene_for(job)
    if scene is None or insertion_blocked_reason():
        return False
    try:
        inserted = insert_job(scene, job)
    except Exception as error:  # any failure: the half-made strip is gone (insert_job_audio), say it once
        _messages.append(("ERROR", f"Foley: {record_insert_failure(job, error)}"))
        return False
    engine().mark_inserted(job.id, inserted.strip_name)
    if inserted.level_warning and inserted.level_warning not in job.warnings:
        engine().annotate(job.id, warnings=[*job.warnings, inserted.level_warning])
    if not bpy.app.background:
        # One undo step per inserted sound (a timer is not an operator, so push it ourselves).
        with contextlib.suppress(RuntimeError):
            bpy.ops.ed.undo_push(message=f"Insert Foley Sound {inserted.strip_name}")
    if report:
        text = f"Foley: inserted '{inserted.strip_name}' on channel {inserted.channel}."
        _messages.extend([("INFO", text), *[("WARNING", w) for w in inserted.warnings]])
    return True


def insert_waiting_jobs() -> int:
    """Insert every ready job that belongs to the open file (from the pump, never from a handler)."""
    if not has_engine() or insertion_blocked_reason():
        return 0
    waiting = [job for job in engine().ready_to_insert() if not job.insert_error]
    return sum(1 for job in waiting if _open_scene_for(job) is not None and insert_ready_job(job))


def all_inserted(job_ids: list[str]) -> bool:
    """True when every one of these jobs has its strip on the timeline."""
    from ..core.jobs import JobState

    jobs = [engine().get(job_id) for job_id in job_ids]
    return all(job is not None and job.state is JobState.INSERTED for job in jobs)


def pump(budget_s: float = PUMP_BUDGET_S) -> int:
    """Apply engine events on the main thread within ``budget_s``; returns how many."""
    global _insert_due  # noqa: PLW0603
    if _engine is None or resuming.is_set():  # the resume thread holds the engine for a moment
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
    if (_insert_due or not events) and not insertion_blocked_reason():
        _insert_due = False
        insert_waiting_jobs()
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
    if resuming.is_set():
        return 1  # come back soon, without waiting for the engine's lock
    return _engine.unsettled_count() if _engine is not None else 0


def shutdown() -> None:
    """Stop workers (jobs stay resumable in the ledger) and forget session state."""
    global _engine, _ledger, _resumed, _user_base, _insert_due  # noqa: PLW0603
    _warm_up_stop.set()
    if _engine is not None:
        _engine.shutdown()
    if _ledger is not None:
        _ledger.close()
    _engine = None
    with _ledger_guard:
        _ledger = None
        ledger_loaded.clear()
    _user_base = None
    _resumed = False
    _insert_due = False
    _messages.clear()
