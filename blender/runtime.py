"""The extension's session: one object made at register and dropped at unregister.

A ``Session`` holds everything VSE Foley keeps while it is enabled: the job engine
and the ledger (made on first use), the preference values workers need, the user
folder and Blender's binary (both read once, on the main thread, when the session
starts), the busy state of start-up (warm-up, resume), the status-bar messages, and
what the pump knows about jobs (``job_view``). Workers never touch bpy: what they
need from Blender is captured here on the main thread and handed to them as values.
Unregistering closes the session (workers stopped, ledger closed, threads joined)
and leaves no module state behind: ``_session`` is None again.

The module functions below are the session's public face for operators, panels,
preferences and tests (``runtime.engine()``, ``runtime.pump()``...); each acts on
the current session. The pump itself is in ``pump``, the clip renderer in
``clip_cache``.

This module is imported at registration, so the engine, the ledger and the clip
renderer are imported where they are first used (``warm_up_in_background``
loads them off the main thread right after registration).
"""

from __future__ import annotations

import importlib
import threading
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bpy

from .. import preferences
from ..providers import create_provider, provider_info
from ..providers.catalog import implementation_modules
from .job_view import JobView
from .logs import log

if TYPE_CHECKING:
    from ..core.engine import JobEngine
    from ..core.jobs import Job
    from ..core.ledger import JobLedger
    from ..providers.base import Provider
    from .render_pool import RenderPool

ROOT_PACKAGE = __package__.rpartition(".")[0] if __package__ else "vse_foley"
#: how often jobs of a Blender window that has quit are looked for (issue 11: two windows)
TAKEOVER_INTERVAL_S = 5.0
THREAD_JOIN_S = 5.0  # at unregister: how long the warm-up and resume threads may take to notice
#: After registration the warm-up waits for the pump's first tick (Blender's event loop runs: the
#: enable, and at start-up the file load and first draw, are done), at most this long: its imports
#: hold the GIL for ~0.3 s and would otherwise slow the rest of the enable on the main thread.
WARM_UP_AFTER_S = 1.0

# Everything registration leaves for later, in the order a first Generate needs it.
HEAVY_MODULES = (
    "core.engine", "blender.generation", "blender.takes", "panels.sidebar_draw",
    "providers.settings", *(f"providers.{name}" for name in implementation_modules()),
    "providers.connection_test", "core.conform",
)


class Session:
    """What VSE Foley holds between register and unregister (main thread unless a method says so)."""

    def __init__(self, user_base: Path, binary_path: str) -> None:
        self.user_base = user_base  # the extension's user folder, looked up through bpy by ``capture``
        self.binary_path = binary_path  # ``bpy.app.binary_path`` ("" under the bpy module)
        self.prefs: dict[str, str] = {}  # rebound, never mutated: workers read a whole snapshot
        self._engine: JobEngine | None = None
        self._render_pool: RenderPool | None = None  # the clip render processes, made with the engine
        self._ledger: JobLedger | None = None
        self._ledger_guard = threading.Lock()  # the warm-up thread and the main thread may both open it
        self.messages: deque[tuple[str, str]] = deque()  # (level, sentence); appended from any thread
        self.view = JobView()
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()  # the session is closing: start-up threads stop at their next step
        self.ledger_loaded = threading.Event()  # set once the ledger is read (normally by the warm-up thread)
        self.warm_up_finished = threading.Event()  # the warm-up thread is done (imports, ledger, cleanup)
        self.warm_up_go = threading.Event()  # the pump ticked (or the session closes): the warm-up begins
        self.resuming = threading.Event()  # a thread is picking up the ledger's unfinished jobs
        self.resume_finished = threading.Event()  # ... and has done so
        # the resume thread's result (deque: append and popleft are atomic; no ``queue`` at registration)
        self._resumed_jobs: deque[list[Job]] = deque()
        self.resumed = False
        self.insert_due = False  # a file was loaded: try every waiting job on the pump's next tick
        self.insert_blocked = False  # the last look found insertion blocked (a render, a drag)
        self.open_file: tuple[Any, ...] = ()  # what decides which waiting job's scene is open (pump)
        self.claimed_elsewhere: set[str] = set()  # waiting jobs another live window owned when tried
        self.modal_since: float | None = None  # when the pump first saw a modal operator running
        self.modal_seen: float = 0.0  # ... and when it last looked
        self.path_before_save = ""  # the open file's path when the last save began
        self.next_takeover = 0.0
        self.last_countdown_check = 0.0

    @classmethod
    def capture(cls) -> Session:
        """A new session with what workers will need from Blender, read here on the main thread."""
        base = Path(bpy.utils.extension_path_user(ROOT_PACKAGE, path="", create=True))
        return cls(base, str(bpy.app.binary_path or ""))

    # -- folders and preferences (workers call user_dir and output_dir_for: no bpy) -------------

    def user_dir(self, *parts: str) -> Path:
        """A folder in the extension's user directory (never the extension folder)."""
        path = self.user_base.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def output_dir_for(self, job: Job) -> Path:
        """``//foley/`` next to the job's .blend; the user folder for unsaved files.

        The preference is a folder name (``foley``), a path relative to the .blend
        (``//sfx``, Blender's own notation) or an absolute folder. Runs on workers.
        """
        folder = (self.prefs.get("output_folder") or "foley").strip()
        if folder.startswith("//"):
            folder = folder[2:] or "foley"
        elif Path(folder).is_absolute():
            return Path(folder)
        if job.blend_path:
            return Path(job.blend_path).parent / folder
        return self.user_dir("library")

    def refresh_preferences(self, context: Any = None) -> None:
        """Copy the preference values workers need (main thread only)."""
        values = preferences.provider_prefs(context)
        prefs = preferences.addon_preferences(context)
        if prefs is not None:
            values["output_folder"] = prefs.output_folder
        self.prefs = values

    def make_provider(self, provider_id: str) -> Provider:
        return create_provider(provider_id, dict(self.prefs))

    # -- engine and ledger ----------------------------------------------------------------------

    @property
    def existing_engine(self) -> JobEngine | None:
        return self._engine

    def warm_clip_renders(self) -> None:
        """A Generate that needs clips: start a render process now (it starts in the background)."""
        if self._render_pool is not None:
            self._render_pool.warm()

    @property
    def render_pool(self) -> RenderPool | None:
        """The clip render processes (made with the engine); the bench reads their counts."""
        return self._render_pool

    def engine(self) -> JobEngine:
        """The engine, made on first use (never at registration: it reads the ledger)."""
        if self._engine is None:
            from ..core.engine import JobEngine
            from ..providers.settings import account_limits
            from .clip_cache import ClipCache
            from .decode import result_analyser

            self.refresh_preferences()
            ledger = self.job_ledger()  # normally read by the warm-up thread already
            concurrency: dict[str, int] = {}
            prefs = preferences.addon_preferences()
            if prefs is not None and prefs.concurrency > 0:
                from ..providers import PROVIDER_IDS

                concurrency = dict.fromkeys(PROVIDER_IDS, prefs.concurrency)
            from .render_pool import RenderPool

            budget = _render_ahead_budget()
            # Every clip render of the session (in a job's slot or ahead) goes to these processes.
            self._render_pool = RenderPool(self.binary_path, size=budget)
            clips = ClipCache(self.user_dir, self.binary_path, find_job=self._find_running_job,
                              render=self._render_pool.render)
            self._engine = JobEngine(ledger, self.make_provider, clips, self.output_dir_for,
                                     concurrency=concurrency,
                                     account_limits=account_limits(preferences.account_limit_prefs()),
                                     provider_info=provider_info,
                                     library_dir=lambda: self.user_dir("library"),
                                     analyse=result_analyser(self.user_dir("previews")),
                                     fill_short=preferences.fill_short_results(),
                                     render_ahead=budget)
        return self._engine

    def _find_running_job(self, job_id: str) -> Job | None:
        """For workers (a chunk's parent): the engine's snapshot, no bpy."""
        return self._engine.get(job_id) if self._engine is not None else None

    def job_ledger(self) -> JobLedger:
        """The durable job store in the user folder (read once, then kept in memory); any thread.

        Raises FoleyError with a sentence when the user folder cannot hold it (issue 11).
        """
        with self._ledger_guard:
            if self._ledger is None:
                from ..core.ledger import JobLedger, write_problem_sentence
                from ..providers.errors import FoleyError

                try:
                    self._ledger = JobLedger(self.user_dir() / "jobs.jsonl")
                except OSError as error:
                    where = Path(error.filename) if isinstance(error.filename, str) else Path("jobs.jsonl")
                    problem = write_problem_sentence(error, where)
                    sentence = f"VSE Foley cannot open its job file: {problem}. Nothing was sent."
                    raise FoleyError(sentence) from None
            self.ledger_loaded.set()
            return self._ledger

    @property
    def existing_ledger(self) -> JobLedger | None:
        return self._ledger

    # -- start-up off the main thread -----------------------------------------------------------

    def _start_thread(self, name: str, target: Any) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def warm_up_in_background(self, *, after_first_tick: bool = False) -> None:
        """Import pydantic, requests, the vendor clients and numpy off the main thread, read the
        ledger and clean up old work files. Registration stays fast, and the first Generate does
        not pause on imports. ``after_first_tick`` (registration): begin once the pump has ticked,
        or after ``WARM_UP_AFTER_S`` where no timer runs (the bpy module)."""
        self.warm_up_finished.clear()

        def load() -> None:
            if after_first_tick:
                self.warm_up_go.wait(WARM_UP_AFTER_S)
                if self._stop.is_set():  # unregistered meanwhile
                    return
            from .clip_cache import prune_work_files  # subprocess, shutil, the jobs: not on the main thread

            for name in HEAVY_MODULES:
                if self._stop.is_set():  # unregistered meanwhile
                    return
                try:
                    importlib.import_module(f"{ROOT_PACKAGE}.{name}")
                except Exception:  # only a head start: first use imports again and reports properly
                    log.exception("Could not preload %s", name)
                    break
            # The ledger is read and old work files are cleaned up here, off the main thread;
            # the pump resumes jobs only once this is done (``resume_if_online``).
            try:
                if not self._stop.is_set():
                    prune_work_files(self.job_ledger(), self.user_dir)
            except Exception:  # the main thread opens it on first use and reports properly
                log.exception("Could not preload the job ledger")
            self.warm_up_finished.set()

        self._start_thread("foley-warm-up", load)

    def resume_if_online(self, *, wait_for_ledger: bool = False) -> list[Job]:
        """Pick up unfinished jobs from the ledger once, when network use is allowed.

        The pump calls this every tick: until the warm-up thread has read the ledger it
        returns at once, so start-up parses nothing on the main thread; later ticks look for
        jobs of windows that quit on a thread (``take_over_in_background``). Scripts
        (``foley.wait``) pass ``wait_for_ledger`` and read the ledger here if need be.
        """
        if self.resumed or not bpy.app.online_access:
            if not (self.resumed and bpy.app.online_access):
                return []
            if wait_for_ledger:
                return self.take_over_orphans()
            self.take_over_in_background()
            return []
        if wait_for_ledger:
            self.resumed = True
            jobs = self.engine().resume_from_ledger()
            self.view.note_all(jobs)  # picked up without an event of their own
            return jobs
        if not self.ledger_loaded.is_set():
            return []
        self.resumed = True
        job_engine = self.engine()  # cheap now: the ledger is already read
        # Turning every record into a job takes ~0.1 s for 2,000 of them: a thread does it, the
        # pump applies what it announces (events, then ``take_resumed``) and stays out of the engine.
        self.resume_finished.clear()
        self.resuming.set()

        def resume() -> None:
            try:
                self._resumed_jobs.append(job_engine.resume_from_ledger())
            except Exception:  # the jobs stay in the ledger; the next start tries again
                log.exception("Could not resume jobs")
            finally:
                self.resuming.clear()
                self.resume_finished.set()

        self._start_thread("foley-resume", resume)
        return []

    def active_job_count(self) -> int:
        """Jobs still running or waiting (from the pump's view: no walk over the engine's jobs)."""
        if self.resuming.is_set():
            return 1  # come back soon, without waiting for the engine's lock
        return self.view.running_count() if self.existing_engine is not None else 0

    def take_resumed(self) -> list[Job]:
        """Jobs the resume thread picked up (once), for the pump's view."""
        taken: list[Job] = []
        while True:
            try:
                taken += self._resumed_jobs.popleft()
            except IndexError:  # empty
                return taken

    def take_over_orphans(self) -> list[Job]:
        """Every few seconds (from the pump): resume jobs whose owning Blender process is gone."""
        if not self.resumed or self._engine is None or time.monotonic() < self.next_takeover:
            return []
        self.next_takeover = time.monotonic() + TAKEOVER_INTERVAL_S
        taken = self._engine.take_over_orphans()
        self.view.note_all(taken)
        # a ready job another window owned may be ours now that it may have quit
        self.view.retry(self.claimed_elsewhere)
        self.claimed_elsewhere.clear()
        return taken

    def take_over_in_background(self) -> None:
        """The pump's periodic look for jobs of windows that quit, off the main thread.

        It reads the ledger's unfinished records (one parse each), which grows with the history,
        not with what changed: the pump only starts it, and applies what it announces (events,
        then ``take_resumed``) like the resume at start-up.
        """
        if self._engine is None or time.monotonic() < self.next_takeover:
            return
        if any(thread.name == "foley-takeover" for thread in self.threads()):
            return  # the last look is still going
        self.next_takeover = time.monotonic() + TAKEOVER_INTERVAL_S
        self.view.retry(self.claimed_elsewhere)  # a ready job another window owned may be ours now
        self.claimed_elsewhere.clear()
        job_engine = self._engine

        def take_over() -> None:
            try:
                self._resumed_jobs.append(job_engine.take_over_orphans())
            except Exception:  # looked at again next time
                log.exception("Could not take over the jobs of a Blender window that quit")

        self._start_thread("foley-takeover", take_over)

    # -- messages (any thread) ------------------------------------------------------------------

    def post_message(self, level: str, text: str) -> None:
        self.messages.append((level, text))  # deque.append is atomic

    def take_messages(self) -> list[tuple[str, str]]:
        taken = []
        while self.messages:
            taken.append(self.messages.popleft())
        return taken

    # -- end ------------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop workers (jobs stay resumable in the ledger), close the ledger, join start-up threads."""
        self._stop.set()
        self.warm_up_go.set()  # a warm-up still waiting for the first tick sees the stop at once
        for thread in self._threads:
            thread.join(THREAD_JOIN_S)
        if self._engine is not None:
            self._engine.shutdown()
        if self._render_pool is not None:
            self._render_pool.close()
            self._render_pool = None
        with self._ledger_guard:
            if self._ledger is not None:
                self._ledger.close()
            self._ledger = None
            self.ledger_loaded.clear()
        self._engine = None
        self.messages.clear()

    def threads(self) -> list[threading.Thread]:
        """The start-up threads this session started that still run (for tests)."""
        return [thread for thread in self._threads if thread.is_alive()]


_session: Session | None = None


def start() -> Session:
    """Registration: a new session, and the warm-up thread for it."""
    global _session  # noqa: PLW0603 - the one reference to the session, dropped at unregister
    if _session is not None:
        _session.close()
    _session = Session.capture()
    _session.warm_up_in_background(after_first_tick=True)
    return _session


def end() -> None:
    """Unregistration: close the session and keep nothing."""
    global _session  # noqa: PLW0603
    if _session is not None:
        _session.close()
    _session = None


def current() -> Session:
    if _session is None:
        raise RuntimeError("VSE Foley is not enabled (no session).")
    return _session


def shutdown() -> None:
    """Stop workers and start over with a fresh session, as after a restart (tests, bench, demo).

    Jobs stay in the ledger; nothing is read until it is asked for (no warm-up thread).
    """
    global _session  # noqa: PLW0603
    if _session is None:
        return
    _session.close()
    _session = Session.capture()


# -- the session's public face -------------------------------------------------------------------


def user_dir(*parts: str) -> Path:
    return current().user_dir(*parts)


def refresh_preferences(context: Any = None) -> None:
    current().refresh_preferences(context)


def preference_snapshot() -> dict[str, str]:
    return dict(current().prefs)


def make_provider(provider_id: str) -> Provider:
    return current().make_provider(provider_id)


def engine() -> JobEngine:
    return current().engine()


def has_engine() -> bool:
    return _session is not None and _session.existing_engine is not None


def job_ledger() -> JobLedger:
    return current().job_ledger()


def warm_up_in_background() -> None:
    current().warm_up_in_background()


def resume_if_online(*, wait_for_ledger: bool = False) -> list[Job]:
    return current().resume_if_online(wait_for_ledger=wait_for_ledger)


def take_over_orphans() -> list[Job]:
    return current().take_over_orphans()


def warm_clip_renders() -> None:
    current().warm_clip_renders()


def note_jobs(jobs: list[Job]) -> None:
    """Jobs just queued (Generate, Retry): the job list counts them before their first event."""
    current().view.note_all(jobs)


def _render_ahead_budget() -> int:
    """Clip renders at once while vendor slots are full (issue 13 item 3): the machine's bound."""
    from ..core.render_ahead import available_memory_bytes, machine_render_budget

    return machine_render_budget(free_memory=available_memory_bytes())


def apply_fill_short() -> None:
    """The "Fill short results" preference changed: results landing from now on follow it."""
    if has_engine():
        current().engine().fill_short = preferences.fill_short_results()


def apply_account_limits() -> None:
    """A per-account limit preference changed: the running engine takes it at once."""
    if not has_engine():
        return
    from ..providers.settings import account_limits

    for account, limits in account_limits(preferences.account_limit_prefs()).items():
        current().engine().set_account_limits(account, limits)


def check_ledger_writable() -> None:
    """Generate calls this before spending: a job that cannot be recorded is refused with a sentence."""
    ledger = job_ledger()
    problem = ledger.check_writable()
    if problem:
        from ..providers.errors import FoleyError

        raise FoleyError(f"VSE Foley cannot record jobs in {ledger.path}: {problem}. Nothing was sent.")


def history(limit: int = 20) -> list[Job]:
    """Finished jobs from every session, newest first: the history panel's cached, parsed view
    (``core/history.py``), read again only when the job file changed."""
    from ..core.history import view_of

    return view_of(job_ledger()).recent(limit)


def find_job(job_id: str) -> Job | None:
    """A job of this session, else from the ledger (older sessions)."""
    job = engine().get(job_id) if has_engine() else None
    return job if job is not None else job_ledger().get(job_id)


def clear_history() -> int:
    """Forget finished jobs (their audio files stay on disk); returns how many."""
    ledger = job_ledger()
    count = len(ledger.history())
    ledger.compact(keep_finished=0)
    return count


def post_message(level: str, text: str) -> None:
    """Queue a status-bar sentence; safe from any thread. Dropped once the extension is disabled."""
    session = _session
    if session is not None:
        session.post_message(level, text)


def take_messages() -> list[tuple[str, str]]:
    return current().take_messages()


def request_insert_check() -> None:
    """After a file load: the pump's next tick tries every ready job (never ``load_post`` itself)."""
    current().insert_due = True


def file_saved(before: str, after: str) -> int:
    from .pump import move_jobs_to_saved_file

    return move_jobs_to_saved_file(current(), before, after)


def pump(budget_s: float | None = None) -> int:
    """Apply engine events on the main thread within ``budget_s``; returns how many (``pump.pump``)."""
    from . import pump as pump_module

    if budget_s is None:
        return pump_module.pump(current())
    return pump_module.pump(current(), budget_s)


def pump_once() -> None:
    """``pump`` for ``JobEngine.wait`` (a script that waits): every ready strip, not a tick's share.

    A waiting script holds the main thread anyway, and it expects every settled job's
    strip on the timeline when ``wait`` returns (``pump.INSERTS_PER_TICK`` is for the timer).
    """
    from . import pump as pump_module

    pump_module.pump(current(), insert_limit=None)


def tick() -> float:
    """One tick of the pump timer (resume, pump, status-bar messages); returns the next interval.

    The entry point the bench times (``tick_ms_at_100_jobs``); ``handlers.pump_timer`` calls it.
    """
    from . import pump as pump_module

    session = current()
    session.warm_up_go.set()  # Blender's event loop runs: the warm-up may begin
    return pump_module.tick(session)


def active_job_count() -> int:
    """Jobs still running or waiting (from the pump's view: no walk over the engine's jobs)."""
    session = _session
    return session.active_job_count() if session is not None else 0


def not_inserted_reason(job: Job) -> str:
    from .pump import not_inserted_reason as reason

    return reason(current(), job)


def all_inserted(job_ids: list[str]) -> bool:
    """True when every one of these jobs has its strip on the timeline."""
    from ..core.jobs import JobState

    jobs = [engine().get(job_id) for job_id in job_ids]
    return all(job is not None and job.state is JobState.INSERTED for job in jobs)
