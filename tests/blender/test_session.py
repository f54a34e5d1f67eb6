"""Session trust in real Blender (issue 10): nothing stuck after a failed save or
render, jobs follow their file through Save As, a lost unsaved session's job never
lands in another file, failed insertions are said once, copies of takes are not
takes, muted and locked channels are skipped, ``//`` audio folders, start-up work
off the main thread. What only a window shows (load_post ordering, modal
operators) is written next to the code with the Blender source it relies on."""

from __future__ import annotations

import contextlib
import importlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bpy
import pytest
from blender_harness import MODULE, foley_strips, handles, requires_audaspace, strips_of

from devtools.emulator import VendorEmulator

PROVIDER = "vidu.text2audio"  # no clip to render: the fastest real path through the emulator
NO_FREE_CHANNEL = "no free channel: free one or choose a channel"


def module(name: str) -> Any:
    return importlib.import_module(f"{MODULE}.{name}")


def runtime() -> Any:
    return module("blender.runtime")


def color_edit(frames: int = 50) -> Any:
    """The current scene with a colour strip on channel 1 for ``frames`` frames."""
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 25, 1.0
    scene.sequence_editor_create()
    module("compat").new_effect_strip(scene, "picture", "COLOR", 1, 1, 1 + frames)
    scene.frame_start, scene.frame_end = 1, frames
    scene.foley.provider = PROVIDER
    scene.foley.prompt = "rain on a tin roof"
    scene.foley.fade_frames = 0
    return scene


def ready_job(scene: Any, prompt: str = "rain on a tin roof") -> Any:
    """Queue one job and wait until its audio is downloaded, without pumping (nothing inserted yet)."""
    scene.foley.prompt = prompt
    chosen = module("blender.selection").choose_range(scene, [], scene.frame_start, scene.frame_end)
    [job] = module("blender.generation").enqueue_generation(bpy.context, scene, chosen, [PROVIDER])
    rt = runtime()
    assert rt.engine().wait([job.id], timeout=30)
    ready = rt.engine().get(job.id)
    assert ready.state.value == "ready" and Path(ready.audio_path).is_file()
    return ready


def pump_until_quiet(ticks: int = 5) -> list[tuple[str, str]]:
    """Run the pump like the timer does for a few ticks; returns the messages it posted."""
    rt = runtime()
    messages = []
    for _ in range(ticks):
        rt.pump()
        messages += rt.take_messages()
    return messages


def ledger_record(job_id: str) -> Any:
    """The job as a fresh reader of the ledger file sees it (what the next session gets)."""
    ledger_module = module("core.ledger")
    path = Path(bpy.utils.extension_path_user(MODULE, path="", create=True)) / "jobs.jsonl"
    with ledger_module.JobLedger(path) as fresh:
        return fresh.get(job_id)


@pytest.fixture()
def fresh_session(extension: Any) -> Iterator[Any]:
    """A clean engine for each test (jobs of earlier tests stay in the ledger, as in real life)."""
    runtime().shutdown()
    yield extension
    runtime().shutdown()


# -- 1. nothing sticks --------------------------------------------------------------------------


@requires_audaspace
def test_a_failed_save_does_not_stop_insertion(fresh_session: Any, online: None, emulator: VendorEmulator,
                                               tmp_path: Path) -> None:
    scene = color_edit()
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    folder = tmp_path / "typo.blend"
    folder.mkdir()  # saving onto a folder fails and fires save_post_fail (not save_post) on 4.5
    fired: list[str] = []

    def note_failure(*_args: Any) -> None:
        fired.append("save_post_fail")

    bpy.app.handlers.save_post_fail.append(note_failure)
    try:
        with pytest.raises(RuntimeError, match="directory"):
            bpy.ops.wm.save_as_mainfile(filepath=str(folder))
    finally:
        bpy.app.handlers.save_post_fail.remove(note_failure)
    assert fired == ["save_post_fail"]

    assert bpy.ops.foley.generate() == {"FINISHED"}
    [strip] = foley_strips(scene)
    assert strip["vse_foley"]["prompt"] == "rain on a tin roof"


@requires_audaspace
def test_a_render_that_cannot_open_its_output_does_not_stop_insertion(
        fresh_session: Any, online: None, emulator: VendorEmulator, tmp_path: Path) -> None:
    scene = color_edit()
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    render = scene.render
    module("compat").use_ffmpeg_output(render)
    render.ffmpeg.format, render.ffmpeg.codec = "MPEG4", "H264"
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the output folder should be")
    render.filepath = str(blocker / "out.mp4")
    seen: list[str] = []

    def note(name: str) -> Any:
        return lambda *_args: seen.append(name)

    handlers_of = bpy.app.handlers
    hooks = [(handlers_of.render_init, note("init")), (handlers_of.render_complete, note("complete")),
             (handlers_of.render_cancel, note("cancel"))]
    for handlers, hook in hooks:
        handlers.append(hook)
    try:
        # 4.x reports the failure as an error (RuntimeError here); 5.x only logs it and returns
        with contextlib.suppress(RuntimeError):
            bpy.ops.render.render(animation=True)
    finally:
        for handlers, hook in hooks:
            handlers.remove(hook)
    assert seen == ["init"]  # render_init, then neither complete nor cancel

    assert bpy.ops.foley.generate() == {"FINISHED"}
    assert len(foley_strips(scene)) == 1


@requires_audaspace
def test_an_exception_in_a_handler_does_not_stop_insertion(
        fresh_session: Any, online: None, emulator: VendorEmulator, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    scene = color_edit()

    def broken(*_args: Any) -> int:
        raise OSError("disk hiccup")

    monkeypatch.setattr(runtime(), "file_saved", broken)  # what on_save_post calls
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))  # the handler fails inside
    monkeypatch.undo()
    assert bpy.ops.foley.generate() == {"FINISHED"}
    assert len(foley_strips(scene)) == 1


# -- 2. jobs follow the file ----------------------------------------------------------------------


@requires_audaspace
def test_a_job_of_an_unsaved_file_lands_after_it_is_saved_and_reopened(
        fresh_session: Any, online: None, emulator: VendorEmulator, tmp_path: Path) -> None:
    scene = color_edit()
    assert bpy.data.filepath == ""
    job = ready_job(scene)
    saved = str(tmp_path / "first_save.blend")
    bpy.ops.wm.save_as_mainfile(filepath=saved)  # Ctrl+S of a new file is a Save As

    rt = runtime()
    assert rt.engine().get(job.id).blend_path == saved
    assert ledger_record(job.id).blend_path == saved  # the next session knows it too

    bpy.ops.wm.read_homefile(use_empty=True)  # another file meanwhile: nothing lands there
    assert pump_until_quiet() == []
    assert rt.engine().get(job.id).state.value == "ready"
    assert "open that file" in rt.not_inserted_reason(rt.engine().get(job.id))

    bpy.ops.wm.open_mainfile(filepath=saved)
    assert not foley_strips(bpy.context.scene)  # never from load_post itself
    pump_until_quiet()
    [strip] = foley_strips(bpy.context.scene)
    assert strip["vse_foley"]["job_id"] == job.id
    assert rt.engine().get(job.id).state.value == "inserted"


@requires_audaspace
def test_save_as_during_a_job_lands_in_the_new_version(fresh_session: Any, online: None,
                                                      emulator: VendorEmulator, tmp_path: Path) -> None:
    scene = color_edit()
    first = str(tmp_path / "edit_v01.blend")
    bpy.ops.wm.save_as_mainfile(filepath=first)
    job = ready_job(scene)
    second = str(tmp_path / "edit_v02.blend")
    bpy.ops.wm.save_as_mainfile(filepath=second)

    pump_until_quiet()
    [strip] = foley_strips(bpy.context.scene)
    assert bpy.data.filepath == second
    rt = runtime()
    assert rt.engine().get(job.id).state.value == "inserted"
    assert rt.engine().get(job.id).blend_path == second

    bpy.ops.wm.save_mainfile()
    bpy.ops.wm.open_mainfile(filepath=first)  # v01 was saved before the sound came: it stays as it was
    pump_until_quiet()
    assert not foley_strips(bpy.context.scene)


@requires_audaspace
def test_an_unsaved_sessions_job_never_lands_in_the_next_start_up_file(
        fresh_session: Any, online: None, emulator: VendorEmulator, tmp_path: Path) -> None:
    scene = color_edit()
    job = ready_job(scene, prompt="thunder far away")
    # The worst case: that very unsaved edit became the start-up file (same scene name, same id).
    startup = Path(bpy.utils.user_resource("CONFIG")) / "startup.blend"
    bpy.ops.wm.save_homefile()
    try:
        assert startup.is_file()
        rt = runtime()
        rt.shutdown()  # Blender killed; the next start reads the ledger and the start-up file
        bpy.ops.wm.read_homefile()
        assert rt.resume_if_online(wait_for_ledger=True)
        pump_until_quiet()
        assert not foley_strips(bpy.context.scene)
        waiting = rt.engine().get(job.id)
        assert waiting.state.value == "ready"
        assert "never saved" in rt.not_inserted_reason(waiting)

        # It waits in the job list; Insert places it by hand in the open scene.
        color_edit()
        assert bpy.ops.foley.insert(job_id=job.id) == {"FINISHED"}
        [strip] = foley_strips(bpy.context.scene)
        assert strip["vse_foley"]["prompt"] == "thunder far away"
        assert rt.engine().get(job.id).state.value == "inserted"
    finally:
        startup.unlink(missing_ok=True)


def test_a_new_file_does_not_keep_an_edit_id_from_the_start_up_file(fresh_session: Any) -> None:
    identity = module("blender.edit_identity")
    scene = bpy.context.scene
    first = identity.edit_id_for(scene)
    assert identity.edit_id_for(scene) == first  # stable within the file
    startup = Path(bpy.utils.user_resource("CONFIG")) / "startup.blend"
    bpy.ops.wm.save_homefile()
    try:
        bpy.ops.wm.read_homefile()  # File ▸ New
        assert identity.scene_edit_id(bpy.context.scene) == ""
        assert identity.edit_id_for(bpy.context.scene) not in ("", first)
    finally:
        startup.unlink(missing_ok=True)


# -- 3. and 5. failed insertions, said once; foley.generate tells the truth -----------------------


def lock_channels_above(scene: Any, channel: int) -> None:
    for number in range(channel + 1, 129):
        scene.sequence_editor.channels[number].lock = True


@requires_audaspace
def test_no_free_channel_is_said_once_and_insert_works_once_one_is_free(
        fresh_session: Any, online: None, emulator: VendorEmulator, tmp_path: Path) -> None:
    scene = color_edit()
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    lock_channels_above(scene, 1)
    job = ready_job(scene)

    messages = pump_until_quiet(ticks=8)
    errors = [text for level, text in messages if level == "ERROR"]
    assert len(errors) == 1 and NO_FREE_CHANNEL in errors[0].lower()
    rt = runtime()
    waiting = rt.engine().get(job.id)
    assert waiting.state.value == "ready" and NO_FREE_CHANNEL in waiting.insert_error.lower()
    assert NO_FREE_CHANNEL in ledger_record(job.id).insert_error.lower()
    assert "not open" not in rt.not_inserted_reason(waiting)

    scene.sequence_editor.channels[5].lock = False
    assert pump_until_quiet() == []  # the pump waits for the user, it does not retry every second
    assert not foley_strips(scene)

    assert bpy.ops.foley.insert(job_id=job.id) == {"FINISHED"}  # Retry Insert
    [strip] = foley_strips(scene)
    assert strip.channel == 5
    done = rt.engine().get(job.id)
    assert done.state.value == "inserted" and done.insert_error == ""


@requires_audaspace
def test_a_chosen_channel_is_used_by_insert(fresh_session: Any, online: None, emulator: VendorEmulator,
                                           tmp_path: Path) -> None:
    scene = color_edit()
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    lock_channels_above(scene, 1)
    job = ready_job(scene)
    pump_until_quiet()
    with pytest.raises(RuntimeError, match="not free"):
        bpy.ops.foley.insert(job_id=job.id, channel=1)  # the picture is there
    assert bpy.ops.foley.insert(job_id=job.id, channel=9) == {"FINISHED"}
    assert [s.channel for s in foley_strips(scene)] == [9]


@requires_audaspace
def test_a_missing_audio_file_is_said_once(fresh_session: Any, online: None, emulator: VendorEmulator,
                                           tmp_path: Path) -> None:
    scene = color_edit()
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    job = ready_job(scene)
    Path(job.audio_path).unlink()

    errors = [text for level, text in pump_until_quiet(ticks=8) if level == "ERROR"]
    assert len(errors) == 1 and "missing" in errors[0]
    assert not foley_strips(scene)
    assert "missing" in runtime().engine().get(job.id).insert_error

    assert bpy.ops.foley.dismiss(job_id=job.id) == {"FINISHED"}
    assert runtime().engine().get(job.id).state.value == "cancelled"


@requires_audaspace
def test_an_exception_after_new_sound_leaves_no_half_made_strip(
        fresh_session: Any, online: None, emulator: VendorEmulator, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    scene = color_edit()
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    job = ready_job(scene)
    insert = module("blender.insert")

    def broken_fades(strip: Any, fade_frames: int) -> None:
        raise RuntimeError("keyframe refused")

    monkeypatch.setattr(insert, "add_fades", broken_fades)  # our step after new_sound fails
    sounds_before = len([s for s in strips_of(scene) if s.type == "SOUND"])
    errors = [text for level, text in pump_until_quiet(ticks=6) if level == "ERROR"]
    assert len(errors) == 1 and "keyframe refused" in errors[0]
    assert len([s for s in strips_of(scene) if s.type == "SOUND"]) == sounds_before
    assert "Retry Insert" in runtime().engine().get(job.id).insert_error

    monkeypatch.undo()
    assert bpy.ops.foley.insert(job_id=job.id) == {"FINISHED"}
    assert len(foley_strips(scene)) == 1


@requires_audaspace
def test_generate_in_a_script_returns_cancelled_when_the_sound_was_not_inserted(
        fresh_session: Any, online: None, emulator: VendorEmulator, tmp_path: Path) -> None:
    scene = color_edit()
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    lock_channels_above(scene, 1)
    assert bpy.ops.foley.generate() == {"CANCELLED"}
    [job] = [j for j in runtime().engine().jobs() if j.prompt == "rain on a tin roof"]
    assert job.state.value == "ready" and NO_FREE_CHANNEL in job.insert_error.lower()


# -- 11. channels, audio folder, start-up, undo -------------------------------------------------


@requires_audaspace
def test_muted_and_locked_channels_are_skipped(fresh_session: Any, online: None, emulator: VendorEmulator,
                                               tmp_path: Path) -> None:
    scene = color_edit()
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    scene.sequence_editor.channels[2].mute = True
    scene.sequence_editor.channels[3].lock = True
    assert bpy.ops.foley.generate() == {"FINISHED"}
    [strip] = foley_strips(scene)
    assert strip.channel == 4


@requires_audaspace
def test_an_audio_folder_typed_with_slashes_is_relative_to_the_blend(
        fresh_session: Any, online: None, emulator: VendorEmulator, tmp_path: Path) -> None:
    prefs = module("preferences").addon_preferences()
    before = prefs.output_folder
    prefs.output_folder = "//sfx"
    try:
        scene = color_edit()
        bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
        assert bpy.ops.foley.generate() == {"FINISHED"}
        [strip] = foley_strips(scene)
        assert strip.sound.filepath.startswith("//sfx/")
        assert Path(bpy.path.abspath(strip.sound.filepath)).parent == tmp_path / "sfx"
    finally:
        prefs.output_folder = before


def test_start_up_reads_the_ledger_and_cleans_up_off_the_main_thread(fresh_session: Any,
                                                                    online: None) -> None:
    rt = runtime()
    old = Path(rt.user_dir("sources", "stale_copy"))
    (old / "edit.blend").write_bytes(b"BLENDER")
    week_ago = time.time() - 7 * 24 * 3600
    os.utime(old, (week_ago, week_ago))
    rt.shutdown()

    assert rt.resume_if_online() == []  # the pump never reads the ledger itself
    assert not rt.has_engine()
    rt.warm_up_in_background()
    assert rt.current().warm_up_finished.wait(60)
    assert rt.current().ledger_loaded.is_set()
    assert not old.exists()  # pruned by the warm-up thread
    waiting = ready_job_in_ledger(rt)
    assert rt.resume_if_online() == []  # the pump's tick hands the resume to a thread
    assert rt.has_engine()
    assert rt.current().resume_finished.wait(30)
    assert not rt.current().resuming.is_set()
    assert rt.engine().get(waiting.id) is not None  # resumed from the ledger by the thread


def ready_job_in_ledger(rt: Any) -> Any:
    """A ready job of an earlier session, written straight into the ledger."""
    core_jobs, timeline = module("core.jobs"), module("core.timeline")
    request = module("providers.base").GenerationRequest(PROVIDER, 2.0, prompt="left over")
    job = core_jobs.Job.create(request, timeline.FrameRange(1, 50), 25, blend_path="/elsewhere/edit.blend",
                               scene_name="Scene")
    job.state = core_jobs.JobState.READY
    job.files = {"audio": "/elsewhere/foley/left_over.wav"}
    rt.job_ledger().append(job)
    return job


def test_regenerate_is_one_undo_step(extension: Any) -> None:
    assert "UNDO" in bpy.types.FOLEY_OT_regenerate.bl_options  # type: ignore[attr-defined]


# -- 8. takes are the strips inserted as takes ------------------------------------------------------


def copy_strip(scene: Any, strip: Any, channel: int) -> Any:
    """What Shift+D / copy-paste does to a sound strip: same sound, same custom properties, a new name."""
    compat = module("compat")
    copy = compat.new_sound_strip(scene, strip.name, strip.sound.filepath, channel, handles(strip)[0])
    copy["vse_foley"] = dict(strip["vse_foley"])
    copy.mute = strip.mute
    return copy


@requires_audaspace
def test_a_copied_take_is_neither_cycled_nor_removed(fresh_session: Any, online: None,
                                                    emulator: VendorEmulator, tmp_path: Path) -> None:
    scene = color_edit()
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    scene.foley.variations = 2
    assert bpy.ops.foley.generate() == {"FINISHED"}
    takes = foley_strips(scene)
    assert len(takes) == 2
    muted = next(s for s in takes if s.mute)
    audible = next(s for s in takes if not s.mute)
    loud_copy = copy_strip(scene, audible, channel=20)
    quiet_copy = copy_strip(scene, muted, channel=21)
    loud_copy.mute = False
    assert loud_copy.name != audible.name

    scene.sequence_editor.active_strip = loud_copy
    assert not bpy.ops.foley.cycle_take.poll()  # a copy is not a take of the group

    scene.sequence_editor.active_strip = audible
    assert bpy.ops.foley.cycle_take() == {"FINISHED"}
    assert not loud_copy.mute and quiet_copy.mute  # the copies keep their own state
    assert audible.mute and not muted.mute

    kept, removed = muted.name, audible.name
    copies = {loud_copy.name, quiet_copy.name}
    scene.sequence_editor.active_strip = muted
    assert bpy.ops.foley.keep_take() == {"FINISHED"}
    names = {s.name for s in strips_of(scene)}
    assert copies | {kept} <= names
    assert removed not in names


def test_save_as_leaves_another_windows_running_job_as_that_window_recorded_it(
        fresh_session: Any, tmp_path: Path) -> None:
    """Save As moves the edit's finished jobs to the new file; a job another live window runs
    keeps its record: rewriting our older copy of it would roll its state back in the shared
    ledger, and a takeover could then send it again."""
    scene = color_edit()
    first, second = str(tmp_path / "edit_v01.blend"), str(tmp_path / "edit_v02.blend")
    bpy.ops.wm.save_as_mainfile(filepath=first)
    edit_id = module("blender.edit_identity").edit_id_for(scene)
    core_jobs, timeline = module("core.jobs"), module("core.timeline")
    request = module("providers.base").GenerationRequest(PROVIDER, 2.0, prompt="another window")
    jobs = []
    for state in (core_jobs.JobState.GENERATING, core_jobs.JobState.INSERTED):
        job = core_jobs.Job.create(request, timeline.FrameRange(1, 50), 25, blend_path=first,
                                   scene_name=scene.name)
        job.edit_id, job.state = edit_id, state
        job.submit_attempted, job.vendor_task = True, {"task_id": f"task-{state.value}", "data": {}}
        jobs.append(job)
    running, finished = jobs
    ledger = runtime().job_ledger()
    for job in jobs:
        ledger.append(job)
    ledger.owners_folder.mkdir(parents=True, exist_ok=True)
    other_window = module("core.file_lock").FileLock(ledger.owners_folder / f"{running.id}.lock")
    assert other_window.acquire(blocking=False)  # as the window that runs it holds it
    try:
        bpy.ops.wm.save_as_mainfile(filepath=second)
        on_disk = module("core.ledger").JobLedger(ledger.path)
        assert on_disk.get(running.id).blend_path == first
        assert on_disk.get(running.id).state is core_jobs.JobState.GENERATING
        assert on_disk.get(finished.id).blend_path == second
        lines = [line for line in ledger.path.read_bytes().splitlines() if running.id.encode() in line]
        assert len(lines) == 1  # never written again by this window
        on_disk.close()
    finally:
        other_window.release()
