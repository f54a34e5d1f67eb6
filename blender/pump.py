"""The main-thread pump: apply the engine's events, insert ready jobs' strips, say what happened.

A tick costs what changed, not how many jobs exist: the events of the tick update the
session's ``JobView``, and only jobs that changed, or every waiting job when something
they all depend on changed (a file opened, a render ended, another window quit), are
looked at. A tick without events and without such a change touches no job at all.

``insert_and_record`` is the one insertion: the pump and ``foley.insert`` both call it.

A tick inserts at most ``INSERTS_PER_TICK`` strips (issue: "never freeze Blender"): one
insertion is one ``strips.new_sound`` plus our own metadata and fades, and several
results often land in the same tick (a batch, the takes of one request). The others
stay "untried" in the session's ``JobView``, in the order they landed, and the timer
comes back after ``CARRY_INTERVAL_S`` for the next one. ``pump_once`` (what
``JobEngine.wait`` runs in background scripts, where no window can freeze) inserts
them all, so a script that waits finds every strip on the timeline.
"""

from __future__ import annotations

import contextlib
import enum
import time
from typing import TYPE_CHECKING, Any

import bpy

from ..providers.errors import FoleyError
from .logs import log

if TYPE_CHECKING:
    from ..core.jobs import Job
    from .insert import Inserted
    from .runtime import Session

PUMP_BUDGET_S = 0.02  # seconds of event handling per tick at most
#: strips a timer tick may insert (or fail to insert): each is a main-thread call into Blender
INSERTS_PER_TICK = 1
ACTIVE_INTERVAL_S = 0.1
#: the next tick when ready strips were carried over: soon, yet the window redraws in between
CARRY_INTERVAL_S = 0.02
IDLE_INTERVAL_S = 1.0
#: a modal operator counts as "the same one still running" only while the pump keeps seeing it
MODAL_GAP_S = 2.0
#: an add-on's modal operator may run for the whole session: after this long the pump stops waiting
MODAL_WAIT_LIMIT_S = 30.0


class InsertFailedError(FoleyError):
    """Inserting a strip failed; the sentence is recorded on the job (``insert_error``)."""


def tick(session: Session) -> float:
    """What the pump timer does once: resume, pump, show messages; returns the next interval."""
    session.resume_if_online()
    pump(session)
    for level, text in session.take_messages():
        # bpy.ops raises RuntimeError for an ERROR report: it was shown, that is all we want.
        with contextlib.suppress(RuntimeError):
            bpy.ops.foley.report(level=level, message=text)  # type: ignore[attr-defined]  # ours, not in the stubs
    if inserts_carried(session):
        return CARRY_INTERVAL_S
    return ACTIVE_INTERVAL_S if session.active_job_count() else IDLE_INTERVAL_S


def inserts_carried(session: Session) -> bool:
    """Ready strips wait for the next tick because this one had inserted its share.

    Not while insertion is blocked (a render, a drag): those are looked at again at the
    usual interval.
    """
    return session.view.has_untried() and not session.insert_blocked


def pump(session: Session, budget_s: float = PUMP_BUDGET_S, *,
         insert_limit: int | None = INSERTS_PER_TICK) -> int:
    """Apply engine events on the main thread within ``budget_s``; returns how many.

    At most ``insert_limit`` strips are inserted (``None``: every ready one); the rest
    are carried to the next tick.
    """
    engine = session.existing_engine
    if engine is None or session.resuming.is_set():  # the resume thread holds the engine for a moment
        return 0
    from ..core.events import JobCancelled, JobFailed, PaidResultKept

    view = session.view
    view.note_all(session.take_resumed())  # picked up from the ledger without events of their own
    events = engine.drain(budget_s)
    for event in events:
        # A JobReady of a top-level job makes it "untried" in the view, in the order the
        # results landed: ``insert_waiting_jobs`` inserts it (no insertion here, so the
        # tick's share of insertions is counted in one place).
        view.note(event.job)
        if isinstance(event, JobFailed):
            session.post_message("ERROR", f"Foley: {event.message}")
        elif isinstance(event, JobCancelled | PaidResultKept):
            session.post_message("WARNING", f"Foley: {event.message}")
    insert_waiting_jobs(session, insert_limit)
    if events or _countdown_due(session):  # any event changes what the job list shows
        _tag_redraw()
    return len(events)


def _open_file() -> tuple[Any, ...]:
    """Everything ``edit_identity.scene_of_job`` reads: the file's path, its scenes' names and ids.

    A handful of scenes, never the jobs: comparing it tells the pump whether a waiting job's
    scene may have opened (a file load, Save As, a scene renamed, undone or appended).
    """
    from .edit_identity import scene_edit_id

    return (bpy.data.filepath, *((scene.name, scene_edit_id(scene)) for scene in bpy.data.scenes))


def insert_waiting_jobs(session: Session, limit: int | None = None) -> int:
    """Try the waiting jobs that may have become insertable since they were last tried.

    At most ``limit`` of them reach Blender (inserted, or failed once the strip was being
    made); those not looked at stay untried, in their order, for the next tick.
    """
    view = session.view
    if not view.has_waiting():
        session.insert_due = session.insert_blocked = False
        return 0
    open_file = _open_file()
    if session.insert_due or open_file != session.open_file:
        session.insert_due, session.open_file = False, open_file
        view.retry_all()
    if not view.has_untried() and not session.insert_blocked:
        return 0
    if insertion_blocked_reason(session):
        session.insert_blocked = True  # looked at again each tick until it ends
        return 0
    if session.insert_blocked:
        session.insert_blocked = False
        view.retry_all()
    from .edit_identity import scene_of_job

    untried = view.take_untried()
    inserted = attempts = 0
    for index, job in enumerate(untried):
        if limit is not None and attempts >= limit:
            view.retry(later.id for later in untried[index:])  # the next tick's, same order
            break
        if scene_of_job(job) is None:
            continue  # another file's or scene's: tried again when the open file changes
        outcome = _insert_ready(session, job)
        attempts += outcome is not _Outcome.SKIPPED
        inserted += outcome is _Outcome.INSERTED
    return inserted


def _countdown_due(session: Session) -> bool:
    """Once a second while a job counts down to its next try (a busy vendor, Retry-After)."""
    now = time.monotonic()
    if now - session.last_countdown_check < 1.0:
        return False
    session.last_countdown_check = now
    return session.view.counting_down(time.time())


def _tag_redraw() -> None:
    window_manager = bpy.context.window_manager
    for window in getattr(window_manager, "windows", ()):
        for area in window.screen.areas:
            if area.type == "SEQUENCE_EDITOR":
                area.tag_redraw()


def insertion_blocked_reason(session: Session) -> str:
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
    if bpy.app.is_job_running("RENDER"):  # type: ignore[func-returns-value]  # a bool; stubs say None
        return "Blender is rendering"
    # A modal operator (a transform drag, a viewport render) holds strips it may move or
    # read: ``window.modal_operators`` lists the window's modal handlers, the same list
    # Blender's own auto-save checks before it writes (``wm_files.cc``, ``wm_autosave_timer``).
    # Only a window has them. An add-on's modal operator may run for the whole session,
    # so after ``MODAL_WAIT_LIMIT_S`` of watching it we stop waiting for it.
    window_manager = bpy.context.window_manager
    windows = getattr(window_manager, "windows", ())
    running = any(len(getattr(window, "modal_operators", ())) for window in windows)
    now = time.monotonic()
    if not running:
        session.modal_since = None
        return ""
    if session.modal_since is None or now - session.modal_seen > MODAL_GAP_S:
        session.modal_since = now  # not watched since: it may be another drag
    session.modal_seen = now
    if now - session.modal_since < MODAL_WAIT_LIMIT_S:
        return "an operator is running (e.g. a strip is being dragged)"
    return ""


def not_inserted_reason(session: Session, job: Job) -> str:
    """Why a ready job is not on the timeline, as a true sentence."""
    from .edit_identity import scene_of_job, why_not_open

    if job.insert_error:
        return job.insert_error
    if scene_of_job(job) is None:
        return why_not_open(job)
    blocked = insertion_blocked_reason(session)
    return f"{blocked}; it is inserted when that ends." if blocked else "it waits for the next pump tick."


def insert_failure_sentence(job: Job, error: Exception) -> str:
    if isinstance(error, FoleyError):
        return str(error)
    return (f"Inserting the sound of job {job.id} failed ({type(error).__name__}: {error}); the audio is "
            "kept — use Retry Insert, or Reveal File to place it by hand.")


def record_insert_failure(session: Session, job: Job, error: Exception) -> str:
    """Mark the job with its sentence (kept in the ledger); the pump stops trying until the user acts."""
    from ..core.jobs import JobState

    sentence = insert_failure_sentence(job, error)
    if not isinstance(error, FoleyError):  # ours say what is wrong; anything else is a bug to look into
        log.error("Inserting job %s failed", job.id, exc_info=error)
    if job.state is JobState.READY:  # Insert Again on a finished job has nothing to wait for
        session.engine().annotate(job.id, insert_error=sentence)
    return sentence


def insert_and_record(session: Session, scene: Any, job: Job, *, channel: int = 0) -> Inserted:
    """Insert ``job``'s strip into ``scene`` and record it on the job: the one way a sound lands.

    The pump (a ready job of the open file) and ``foley.insert`` (Retry Insert, Insert
    Again, a job of another file placed here) both come here. On failure the half-made
    strip is already gone (``insert_job_audio``) and the job keeps the sentence; raises
    ``InsertFailedError`` with it.
    """
    from ..core.jobs import JobState
    from .takes import insert_job  # the take-aware inserter

    try:
        inserted = insert_job(scene, job, channel=channel)
    except Exception as error:
        raise InsertFailedError(record_insert_failure(session, job, error)) from error
    if job.state is JobState.READY:  # a finished job inserted again keeps its record
        engine = session.engine()
        engine.mark_inserted(job.id, inserted.strip_name)
        if inserted.level_warning and inserted.level_warning not in job.warnings:
            engine.annotate(job.id, warnings=[*job.warnings, inserted.level_warning])
    return inserted


class _Outcome(enum.Enum):
    INSERTED = "inserted"
    FAILED = "failed"  # Blender was asked (the strip was being made): it counts as a tick's insertion
    SKIPPED = "skipped"  # not ours, not ready, blocked: nothing costly happened


def insert_ready_job(session: Session, job: Job) -> bool:
    """Insert a ready job's strip if its file and scene are open; True when inserted.

    A failure is reported once: the job keeps its sentence in ``insert_error`` and is
    not tried again until the user chooses Retry Insert (``foley.insert``) or Dismiss.
    """
    return _insert_ready(session, job) is _Outcome.INSERTED


def _insert_ready(session: Session, job: Job) -> _Outcome:
    from ..core.jobs import JobState
    from .edit_identity import scene_of_job

    engine = session.engine()
    current = engine.get(job.id)
    if current is None or current.state is not JobState.READY or current.insert_error:
        # announced twice (after download and again on resume), or waiting for the user
        return _Outcome.SKIPPED
    if not engine.claim(job.id):
        session.claimed_elsewhere.add(job.id)  # looked at again when the takeover check runs
        return _Outcome.SKIPPED  # another Blender window runs it and inserts it (issue 11)
    scene = scene_of_job(current)
    if scene is None or insertion_blocked_reason(session):
        if scene is not None:
            session.insert_blocked = True
        return _Outcome.SKIPPED
    try:
        inserted = insert_and_record(session, scene, current)
    except InsertFailedError as failure:
        session.post_message("ERROR", f"Foley: {failure}")
        return _Outcome.FAILED
    if not bpy.app.background:
        # One undo step per inserted sound (a timer is not an operator, so push it ourselves).
        with contextlib.suppress(RuntimeError):
            bpy.ops.ed.undo_push(message=f"Insert Foley Sound {inserted.strip_name}")
    session.post_message("INFO", f"Foley: inserted '{inserted.strip_name}' on channel {inserted.channel}.")
    for warning in inserted.warnings:
        session.post_message("WARNING", warning)
    return _Outcome.INSERTED


def move_jobs_to_saved_file(session: Session, before: str, after: str) -> int:
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
    engine = session.existing_engine
    if engine is not None:
        for job in engine.jobs():
            # another window's running job keeps its record: writing our older copy of it would
            # roll its state back in the shared ledger (and a takeover could then send it again)
            if moves(job) and (not job.unfinished or engine.owns(job.id)):
                engine.annotate(job.id, blend_path=after)
                changed += 1
    ledger = session.existing_ledger
    if ledger is not None:  # finished jobs of older sessions, for Insert Again
        ledger.refresh()  # the newest records of other windows, not what we read earlier
        known = {job.id for job in engine.jobs()} if engine is not None else set()
        for job in ledger.jobs_where(lambda r: r.get("blend_path") == before and r.get("edit_id") in ids):
            if job.id not in known and moves(job) and not job.unfinished:
                job.blend_path = after
                ledger.append(job)
                changed += 1
    return changed
