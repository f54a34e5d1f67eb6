"""The session object in real Blender (issue 12 item 6, issue 13 item 5): made at register,
dropped at unregister with its threads stopped; workers never read bpy; a pump tick
costs what changed, not how many jobs the session knows."""

from __future__ import annotations

import importlib
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bpy
import pytest
from blender_harness import MODULE, foley_strips, requires_audaspace, strips_of

from devtools.emulator import VendorEmulator
from devtools.sample_edit import build_edit, render_footage

TEXT_PROVIDER = "vidu.text2audio"  # no clip: the fastest real path through the emulator
VIDEO_PROVIDER = "wavespeed.think-sound"  # a clip rendered in a subprocess, uploaded, submitted, polled


def module(name: str) -> Any:
    return importlib.import_module(f"{MODULE}.{name}")


def foley_threads() -> list[threading.Thread]:
    """Threads the extension starts are all named ``foley-…`` (workers, warm-up, resume, waker)."""
    return [thread for thread in threading.enumerate() if thread.name.startswith("foley-")]


def text_edit(frames: int = 50) -> Any:
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 25, 1.0
    scene.sequence_editor_create()
    module("compat").new_effect_strip(scene, "picture", "COLOR", 1, 1, 1 + frames)
    scene.frame_start, scene.frame_end = 1, frames
    scene.foley.provider = TEXT_PROVIDER
    scene.foley.prompt = "wind in the wires"
    return scene


@pytest.fixture()
def fresh_session(extension: Any) -> Iterator[Any]:
    module("blender.runtime").shutdown()
    yield extension
    module("blender.runtime").shutdown()


# -- made at register, dropped at unregister --------------------------------------------------------


def test_reregistering_makes_a_fresh_session_and_leaves_nothing_behind(
        fresh_session: Any, online: None, emulator: VendorEmulator) -> None:
    runtime = module("blender.runtime")
    first = runtime.current()
    scene = text_edit()
    emulator.task_seconds = 60.0  # the job is still with the vendor when the extension goes
    try:
        chosen = module("blender.selection").choose_range(scene, [], 1, 50)
        [job] = module("blender.generation").enqueue_generation(bpy.context, scene, chosen, [TEXT_PROVIDER])
        first.post_message("INFO", "left over")
        assert runtime.active_job_count() == 1
        assert any(thread.name == f"foley-{job.id}" for thread in foley_threads())  # its worker runs

        bpy.ops.preferences.addon_disable(module=MODULE)
        assert runtime._session is None
        with pytest.raises(RuntimeError, match="not enabled"):
            runtime.current()
        assert not runtime.has_engine() and runtime.active_job_count() == 0
        assert foley_threads() == []  # workers, warm-up and resume threads all stopped and joined
        assert first.existing_engine is None and first.existing_ledger is None and not first.messages
        names = ("runtime", "pump", "handlers", "clip_cache", "job_view", "logs")
        leftovers = {f"{where}.{name}": type(value).__name__ for where in names
                     for name, value in vars(module(f"blender.{where}")).items()
                     if not name.startswith("__")
                     and isinstance(value, dict | list | set | deque | threading.Event | runtime.Session)}
        assert leftovers == {}  # no module state outlives the session

        bpy.ops.preferences.addon_enable(module=MODULE)
        # What Blender's event loop does after an add-on changed its keymaps (``WM_keyconfig_update``,
        # wm_keymap.cc); the bpy module has no event loop. Without it, the user key configuration
        # merged by an earlier file load keeps items of the keymap the disable freed, and Blender
        # 5.2 crashes the next time the preferences draw the shortcut.
        bpy.context.window_manager.keyconfigs.update()
        runtime = module("blender.runtime")
        second = runtime.current()
        assert second is not first
        assert not runtime.has_engine() and second.take_messages() == []
        assert second.view.running_count() == 0
        assert second.warm_up_finished.wait(60)  # the new session's own warm-up read the ledger
        resumed = runtime.resume_if_online(wait_for_ledger=True)
        assert job.id in {j.id for j in resumed}  # the job stayed in the ledger and goes on here
        assert runtime.active_job_count() >= 1
    finally:
        emulator.task_seconds = 0.0
    assert runtime.engine().wait([job.id], timeout=60, pump=runtime.pump_once)


# -- no worker reads bpy ---------------------------------------------------------------------------


class BpyGuard:
    """Stands in for ``bpy`` in every module of the extension: reads pass through to the real
    module, and each read made on any thread but the main one is written down with its stack."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.off_main: list[str] = []
        self.on_main = 0

    def __getattr__(self, name: str) -> Any:
        if threading.current_thread() is threading.main_thread():
            self.on_main += 1
        else:
            where = "".join(traceback.format_stack(limit=6)[:-1])
            self.off_main.append(f"bpy.{name} on {threading.current_thread().name}:\n{where}")
        return getattr(self._real, name)


@pytest.fixture()
def bpy_guard(monkeypatch: pytest.MonkeyPatch) -> BpyGuard:
    import sys

    guard = BpyGuard(bpy)
    guarded = [name for name, mod in list(sys.modules.items())
               if name.startswith(MODULE + ".") and getattr(mod, "bpy", None) is bpy]
    assert len(guarded) > 10  # the Blender layer, operators, panels, compat...
    for name in guarded:
        monkeypatch.setattr(sys.modules[name], "bpy", guard)
    return guard


@requires_audaspace
def test_no_worker_thread_reads_bpy_through_a_whole_video_job(
        fresh_session: Any, online: None, emulator: VendorEmulator, tmp_path: Path,
        bpy_guard: BpyGuard) -> None:
    footage = render_footage(tmp_path / "shot.mp4", seconds=3.0, fps=25.0, width=320, height=180)
    edit = build_edit(footage, fps=25.0, width=320, height=180, start_frame=11)
    scene = bpy.data.scenes[edit.scene_name]
    for strip in strips_of(scene):
        strip.select = strip.name == edit.movie_strip
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    scene.foley.provider = VIDEO_PROVIDER
    scene.foley.prompt = "footsteps on gravel"

    # background mode: Generate waits, pumping on the main thread while workers render, upload, poll
    assert bpy.ops.foley.generate() == {"FINISHED"}
    [strip] = foley_strips(scene)
    job = module("blender.runtime").engine().get(strip["vse_foley"]["job_id"])
    assert {"rendering", "submitted", "downloading", "ready"} <= set(job.timings)  # the workers did all that
    assert bpy_guard.on_main > 0  # the guard was in place: the main thread's reads went through it
    assert bpy_guard.off_main == [], "\n".join(bpy_guard.off_main[:3])


def test_what_workers_get_from_blender_is_captured_on_the_main_thread(fresh_session: Any) -> None:
    session = module("blender.runtime").current()
    assert session.binary_path == str(bpy.app.binary_path or "")
    assert session.user_base == Path(bpy.utils.extension_path_user(MODULE, path="", create=True))
    spec = module("blender.clip_cache").ClipSpec("/x.blend", "Scene", 1, 10, 180, "/out", "clip")
    command = module("blender.clip_cache").render_command(spec, "/opt/blender/blender")
    assert command[:2] == ["/opt/blender/blender", "-b"]  # the binary comes in as a value


# -- a tick costs what changed ---------------------------------------------------------------------


class JobTouches:
    """Counts every attribute read of any ``Job`` on the main thread, by job id."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        job_class = module("core.jobs").Job
        read = object.__getattribute__
        touches = self

        def counting(job: Any, name: str) -> Any:
            if threading.current_thread() is threading.main_thread():
                touches.ids.append(read(job, "__dict__").get("id", "a job being copied"))
            return read(job, name)

        monkeypatch.setattr(job_class, "__getattribute__", counting, raising=False)


def waiting_jobs_of_another_file(runtime: Any, count: int) -> list[Any]:
    """``count`` ready jobs of an edit that is not open, written straight into the ledger."""
    core_jobs, timeline = module("core.jobs"), module("core.timeline")
    request = module("providers.base").GenerationRequest(TEXT_PROVIDER, 2.0, prompt="another file")
    ledger = runtime.job_ledger()
    jobs = []
    for index in range(count):
        job = core_jobs.Job.create(request, timeline.FrameRange(1, 50), 25,
                                   blend_path="/elsewhere/other_edit.blend", scene_name="Scene")
        job.state = core_jobs.JobState.READY
        job.files = {"audio": f"/elsewhere/foley/other_{index}.wav"}
        ledger.append(job)
        jobs.append(job)
    return jobs


def test_a_tick_without_events_touches_none_of_a_hundred_settled_jobs(
        fresh_session: Any, online: None, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = module("blender.runtime")
    text_edit()
    made = waiting_jobs_of_another_file(runtime, 100)
    runtime.resume_if_online(wait_for_ledger=True)
    engine = runtime.engine()
    known = {job.id for job in engine.jobs()}
    assert {job.id for job in made} <= known  # the session knows all of them: settled, ready elsewhere
    for _ in range(20):  # bounded: the resume's events are applied (each tried once, its file is closed)
        if runtime.pump() == 0:
            break
    session = runtime.current()
    session.next_takeover = time.monotonic() + 3600  # the every-few-seconds look for dead windows: not now
    touches = JobTouches()
    touches.install(monkeypatch)

    engine.ready_to_insert()  # what the pump used to do every quiet tick: the counter sees it
    assert len(set(touches.ids)) >= 100
    touches.ids.clear()

    for _ in range(3):
        runtime.tick()
    assert touches.ids == []  # three quiet ticks: not one job looked at

    changed = made[7].id
    engine.annotate(changed, note="looked at by the user")  # one event
    touches.ids.clear()  # (annotate itself read the job)
    assert runtime.pump() == 1
    assert set(touches.ids) == {changed}  # the tick looked at the job that changed, and only at it
    monkeypatch.undo()
    ledger = runtime.job_ledger()
    for job in made:  # later tests' sessions must not resume them
        job.state = module("core.jobs").JobState.CANCELLED
        ledger.append(job)


# -- logging ---------------------------------------------------------------------------------------


def test_a_failing_tick_is_logged_with_its_traceback_and_without_the_key(
        fresh_session: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    secret = "sk-live-" + "7f3a9c2e5b1d"
    module("providers.redaction").LOG_REDACTOR.add(secret)  # as a provider does with its key

    def broken_tick() -> float:
        raise ConnectionError(f"vendor refused key {secret}")

    monkeypatch.setattr(module("blender.runtime"), "tick", broken_tick)
    with caplog.at_level(logging.ERROR, logger="vse_foley"):
        interval = module("blender.handlers").pump_timer()  # the timer survives its own failure
    assert interval == module("blender.pump").IDLE_INTERVAL_S
    [record] = [r for r in caplog.records if r.name == "vse_foley"]
    assert record.getMessage() == "The pump failed"
    assert "broken_tick" in caplog.text and "ConnectionError" in caplog.text  # the traceback is there
    assert secret not in caplog.text and "****" in caplog.text


# -- one insertion ---------------------------------------------------------------------------------


@requires_audaspace
def test_the_pump_and_foley_insert_land_a_sound_through_one_function(
        fresh_session: Any, online: None, emulator: VendorEmulator, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    runtime, pump = module("blender.runtime"), module("blender.pump")
    real = pump.insert_and_record
    calls: list[str] = []

    def recording(session: Any, scene: Any, job: Any, *, channel: int = 0) -> Any:
        calls.append(job.id)
        return real(session, scene, job, channel=channel)

    monkeypatch.setattr(pump, "insert_and_record", recording)
    scene = text_edit()
    scene.foley.fade_frames = 0
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    chosen = module("blender.selection").choose_range(scene, [], 1, 50)
    [job] = module("blender.generation").enqueue_generation(bpy.context, scene, chosen, [TEXT_PROVIDER])
    assert runtime.engine().wait([job.id], timeout=30, pump=runtime.pump_once)
    runtime.pump()
    assert calls == [job.id]  # the pump's insertion
    assert runtime.engine().get(job.id).state.value == "inserted"
    assert bpy.ops.foley.insert(job_id=job.id) == {"FINISHED"}  # Insert Again: the operator's
    assert calls == [job.id, job.id]
    assert len(foley_strips(scene)) == 2
