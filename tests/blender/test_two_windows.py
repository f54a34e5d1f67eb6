"""Issue 11, item 1: two real Blender processes on one user folder (one ledger) against the emulator.

The test process is one Blender window; a second Blender (``.venv/bin/python``
importing bpy, the extension installed in the same BLENDER_USER_RESOURCES) is a
subprocess. Whatever the second one does, every take is submitted once,
downloaded once and inserted once.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import bpy
import pytest
from blender_harness import (
    MODULE,
    ROOT,
    foley_strips,
    pump_ticks,
    requires_audaspace,
    show_in_sequencer,
    strips_of,
)

from devtools.emulator import VendorEmulator
from devtools.sample_edit import build_edit, render_footage

PROMPT_SAME = "two windows, one file"
PROMPT_DEAD = "the other window died"
TAKES = 3

SECOND_WINDOW = """
import bpy, json, sys, time
from pathlib import Path
bpy.context.preferences.system.use_online_access = True
bpy.ops.preferences.addon_enable(module={module!r})
bpy.ops.wm.open_mainfile(filepath={blend!r})  # load handler: resume from the shared ledger
import importlib
rt = importlib.import_module({module!r} + ".blender.runtime")
rt.TAKEOVER_INTERVAL_S = 0.0  # look for ownerless jobs on every pump
stop = Path({stop!r})
print("READY", flush=True)
for _ in range(1200):  # bounded: about a minute at most
    rt.resume_if_online()
    rt.pump()
    if stop.exists():
        break
    time.sleep(0.05)
mine = [job for job in rt.engine().jobs() if job.prompt == {prompt!r}]
top = importlib.import_module({module!r} + ".compat").top_level_strips
editor = bpy.context.scene.sequence_editor
strips = [s for s in (top(editor) if editor else ()) if s.type == "SOUND" and "vse_foley" in s]
print("REPORT " + json.dumps({{"jobs": len(mine), "strips": len(strips)}}), flush=True)
"""

GENERATING_WINDOW = """
import bpy
bpy.context.preferences.system.use_online_access = True
bpy.ops.preferences.addon_enable(module={module!r})
bpy.ops.wm.open_mainfile(filepath={blend!r})
scene = bpy.context.scene
scene.foley.provider = "vidu.text2audio"
scene.foley.prompt = {prompt!r}
scene.foley.variations = {takes}
bpy.ops.foley.generate()  # background mode: waits for the jobs (it is killed first)
"""


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("footage-two-windows")
    return render_footage(folder / "shot.mp4", seconds=5.0, fps=25.0, width=320, height=180)


def runtime() -> Any:
    return importlib.import_module(MODULE + ".blender.runtime")


def saved_edit(folder: Path, footage: Path, name: str) -> Any:
    folder.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.read_homefile(use_empty=True)
    edit = build_edit(footage, fps=25.0, width=320, height=180, start_frame=11, text_events=())
    show_in_sequencer(bpy.data.scenes[edit.scene_name])  # 5.x: the home file's workspace has none
    for strip in strips_of(bpy.data.scenes[edit.scene_name]):
        strip.select = strip.name == edit.movie_strip
    bpy.ops.wm.save_as_mainfile(filepath=str(folder / name))
    return edit


def ledger_path() -> Path:
    return Path(bpy.utils.extension_path_user(MODULE, path="", create=True)) / "jobs.jsonl"


def start_blender(script: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", script], env={**os.environ}, cwd=str(ROOT),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def wait_for_line(process: subprocess.Popen[str], text: str, limit: int = 500) -> bool:
    """Read the child's output until ``text`` (Blender prints its own lines too); bounded."""
    assert process.stdout is not None
    for _ in range(limit):
        line = process.stdout.readline()
        if not line:
            return False
        if line.strip() == text:
            return True
    return False


def served_once_each(emulator: VendorEmulator) -> list[int]:
    return sorted(emulator.download_counts().values())


@requires_audaspace
def test_a_second_window_on_the_same_file_neither_resubmits_downloads_nor_inserts(
        extension: Any, online: None, emulator: VendorEmulator, footage: Path, tmp_path: Path) -> None:
    rt = runtime()
    rt.shutdown()
    edit = saved_edit(tmp_path, footage, "edit.blend")
    emulator.reset()
    emulator.task_seconds = 3600.0  # still generating while the second window opens the file
    scene = bpy.context.scene
    scene.foley.provider = "vidu.text2audio"
    scene.foley.prompt = PROMPT_SAME
    scene.foley.variations = TAKES
    generation = importlib.import_module(MODULE + ".blender.generation")
    selection = importlib.import_module(MODULE + ".blender.selection")
    chosen = selection.choose_range(scene, [], edit.frame_start, edit.frame_end)
    jobs = generation.enqueue_generation(bpy.context, scene, chosen, ["vidu.text2audio"])
    assert len(jobs) == TAKES
    stop = tmp_path / "stop"
    second = start_blender(SECOND_WINDOW.format(module=MODULE, blend=bpy.data.filepath, stop=str(stop),
                                                prompt=PROMPT_SAME))
    try:
        assert wait_for_line(second, "READY")
        emulator.task_seconds = 0.0  # now the vendor finishes, while both windows pump
        assert rt.engine().wait([job.id for job in jobs], timeout=60, pump=rt.pump_once)
        rt.pump()
    finally:
        stop.touch()
        out, _ = second.communicate(timeout=60)
    [report] = [json.loads(line[len("REPORT "):]) for line in out.splitlines() if line.startswith("REPORT ")]
    assert report == {"jobs": 0, "strips": 0}  # the second window took nothing and inserted nothing
    assert len(foley_strips(bpy.context.scene)) == TAKES  # each take inserted once, here
    assert emulator.submit_count("vidu") == TAKES
    assert served_once_each(emulator) == [1] * TAKES


@requires_audaspace
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_jobs_of_a_live_window_on_another_file_are_left_alone_until_it_dies(
        extension: Any, online: None, emulator: VendorEmulator, footage: Path, tmp_path: Path) -> None:
    rt = runtime()
    rt.shutdown()
    rt.TAKEOVER_INTERVAL_S = 0.0
    saved_edit(tmp_path / "first", footage, "first.blend")
    first = bpy.data.filepath
    saved_edit(tmp_path / "second", footage, "second.blend")  # this window edits another file
    emulator.reset()
    emulator.task_seconds = 3600.0
    ledger = ledger_path()
    before = ledger.read_text().count("\n") if ledger.exists() else 0
    other = start_blender(GENERATING_WINDOW.format(module=MODULE, blend=first, prompt=PROMPT_DEAD,
                                                   takes=TAKES))
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:  # bounded: until the other window recorded every task
            lines = ledger.read_text().splitlines()[before:] if ledger.exists() else []
            records = [json.loads(line) for line in lines if line.strip()]
            with_task = {r["id"] for r in records if r.get("vendor_task") and r.get("prompt") == PROMPT_DEAD}
            if len(with_task) == TAKES:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the other window never recorded its vendor tasks")
        rt.resume_if_online(wait_for_ledger=True)  # a script resumes here; the pump uses a thread
        rt.take_over_orphans()
        assert not [j for j in rt.engine().jobs() if j.prompt == PROMPT_DEAD]  # it lives: hands off
    finally:
        other.send_signal(signal.SIGKILL)
        other.wait()
    emulator.task_seconds = 0.0
    taken = rt.take_over_orphans()  # its locks died with it: this window takes the jobs over
    assert sorted(j.id for j in taken if j.prompt == PROMPT_DEAD) == sorted(with_task)
    assert rt.engine().wait(sorted(with_task), timeout=60, pump=rt.pump_once)
    rt.pump()
    assert not foley_strips(bpy.context.scene)  # not this file: they wait as ready
    bpy.ops.wm.open_mainfile(filepath=first)
    # the pump's next ticks after a load insert, one strip a tick (never load_post itself)
    assert pump_ticks(rt) == len(with_task)
    strips = foley_strips(bpy.context.scene)
    assert sorted(s["vse_foley"]["job_id"] for s in strips) == sorted(with_task)
    assert emulator.submit_count("vidu") == TAKES  # polled, never resubmitted
    assert served_once_each(emulator) == [1] * TAKES
    rt.TAKEOVER_INTERVAL_S = 5.0


@requires_audaspace
def test_a_job_file_that_cannot_be_written_refuses_generate_before_anything_is_sent(
        extension: Any, online: None, emulator: VendorEmulator, footage: Path, tmp_path: Path) -> None:
    rt = runtime()
    rt.shutdown()
    saved_edit(tmp_path, footage, "edit.blend")
    scene = bpy.context.scene
    scene.foley.provider = "vidu.text2audio"
    scene.foley.prompt = "a full disk"
    ledger = ledger_path()
    aside = ledger.with_name("jobs.aside.jsonl")
    if ledger.exists():
        ledger.rename(aside)
    ledger.mkdir()  # a folder where the job file should be (the disk-full case is in the unit tests)
    try:
        emulator.reset()
        with pytest.raises(RuntimeError, match="cannot record jobs .* is a folder.*Nothing was sent"):
            bpy.ops.foley.generate()
        assert emulator.requests == []
    finally:
        rt.shutdown()
        ledger.rmdir()
        if aside.exists():
            aside.rename(ledger)


class DiskFullAfterTheIntent:
    """An ``os.open`` for the ledger that fails with ENOSPC once a paid submit's intent is on disk.

    Reading the file decides it (no timing): the write that follows the
    ``submitted`` record of ``prompt`` — the one carrying the vendor task id — finds the disk full.
    """

    def __init__(self, path: Path, prompt: str) -> None:
        self.path, self.prompt = path, prompt
        self.full = False
        self.freed = False  # space was freed: never full again
        self.refused = 0

    def __call__(self, name: str, flags: int, mode: int = 0o777) -> int:
        import errno

        if not self.full and not self.freed and self.path.is_file():
            lines = [json.loads(line) for line in self.path.read_bytes().splitlines() if line.strip()]
            ours = [r for r in lines if r.get("prompt") == self.prompt]
            self.full = bool(ours) and ours[-1]["state"] == "submitted" and not ours[-1].get("vendor_task")
        if self.full and flags & (os.O_WRONLY | os.O_RDWR):
            self.refused += 1
            raise OSError(errno.ENOSPC, "No space left on device", name)
        return os.open(name, flags, mode)


@requires_audaspace
def test_a_full_disk_after_the_paid_submit_keeps_the_task_and_the_sound_arrives(
        extension: Any, online: None, emulator: VendorEmulator, footage: Path, tmp_path: Path) -> None:
    rt = runtime()
    rt.shutdown()
    rt.TAKEOVER_INTERVAL_S = 0.0
    edit = saved_edit(tmp_path, footage, "edit.blend")
    scene = bpy.context.scene
    scene.foley.provider = "vidu.text2audio"
    scene.foley.prompt = "disk full after submit"
    emulator.reset()
    ledger = rt.job_ledger()
    disk = DiskFullAfterTheIntent(ledger.path, scene.foley.prompt)
    ledger.opener = disk
    try:
        rt.resume_if_online(wait_for_ledger=True)  # a script resumes here; the pump uses a thread
        generation = importlib.import_module(MODULE + ".blender.generation")
        selection = importlib.import_module(MODULE + ".blender.selection")
        chosen = selection.choose_range(scene, [], edit.frame_start, edit.frame_end)
        [job] = generation.enqueue_generation(bpy.context, scene, chosen, ["vidu.text2audio"])
        assert rt.engine().wait([job.id], timeout=60, pump=rt.pump_once)
        rt.pump()
        done = rt.engine().get(job.id)
        assert disk.refused >= 1 and done is not None and done.state.value == "inserted"
        sentence = "Could not record the task: disk full — free space, then Retry"
        assert any(sentence in warning for warning in done.warnings)
        [strip] = foley_strips(bpy.context.scene)  # the paid result arrived and was inserted once
        assert strip["vse_foley"]["job_id"] == job.id
        assert emulator.submit_count("vidu") == 1
        on_disk = type(ledger)(ledger.path).get(job.id)
        assert on_disk is not None and on_disk.vendor_task is None  # nothing could be written meanwhile
        disk.full, disk.freed = False, True  # space is free again
        rt.take_over_orphans()  # the pump's periodic call writes what was kept in memory
        on_disk = type(ledger)(ledger.path).get(job.id)
        assert on_disk is not None and on_disk.state.value == "inserted" and on_disk.vendor_task
        assert not any(w.startswith("Could not record") for w in rt.engine().get(job.id).warnings)
    finally:
        ledger.opener = os.open
        rt.TAKEOVER_INTERVAL_S = 5.0
