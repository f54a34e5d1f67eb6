"""Clip renders in long-lived render processes (blender/render_pool.py): one Blender start for many
clips, never more renders at once than the pool's size, a Cancel stops a render now, idle ones end."""

from __future__ import annotations

import importlib
import os
import threading
from pathlib import Path
from typing import Any

import bpy
import pytest
from blender_harness import MODULE

from devtools.sample_edit import build_edit, render_footage


@pytest.fixture
def edit_copy(extension: Any, tmp_path: Path) -> tuple[Any, str]:
    """A saved 640x360, 25 fps edit of 3 s footage: (the clip module, the .blend's path)."""
    footage = render_footage(tmp_path / "shot.mp4", seconds=3.0, fps=25, width=640, height=360)
    edit = build_edit(footage, fps=25, width=640, height=360, start_frame=1)
    blend = tmp_path / "edit.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    return edit, str(blend)


def _spec(tmp_path: Path, blend: str, scene: str, name: str, start: int, end: int) -> Any:
    clip = importlib.import_module(MODULE + ".blender.clip")
    return clip.ClipSpec(blend, scene, start, end, 180, str(tmp_path / name), "clip")


def test_one_process_renders_several_clips_each_of_its_own_range(edit_copy: Any, tmp_path: Path) -> None:
    edit, blend = edit_copy
    pool_module = importlib.import_module(MODULE + ".blender.render_pool")
    media = importlib.import_module(MODULE + ".providers.media")
    pool = pool_module.RenderPool("", size=1)
    try:
        first = pool.render(_spec(tmp_path, blend, edit.scene_name, "a", 1, 25))
        second = pool.render(_spec(tmp_path, blend, edit.scene_name, "b", 26, 75))
        assert first["process_id"] == second["process_id"]  # the second clip paid no Blender start
        assert pool.counts() == (1, 1)
        assert media.read_clip_info(Path(str(first["path"]))).duration == pytest.approx(1.0, abs=0.05)
        assert media.read_clip_info(Path(str(second["path"]))).duration == pytest.approx(2.0, abs=0.05)
    finally:
        pool.close()
    assert pool.wait_until_no_processes(30)


def test_renders_wait_their_turn_beyond_the_pool_size(edit_copy: Any, tmp_path: Path) -> None:
    edit, blend = edit_copy
    pool = importlib.import_module(MODULE + ".blender.render_pool").RenderPool("", size=1)
    results: list[dict[str, object]] = []
    try:
        threads = [threading.Thread(target=lambda n=n: results.append(
            pool.render(_spec(tmp_path, blend, edit.scene_name, f"clip{n}", 1 + n * 10, 10 + n * 10))))
            for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert len(results) == 3
        peak, started = pool.counts()
        assert peak == 1 and started == 1  # one render at a time, all in the one process
        assert len({str(result["path"]) for result in results}) == 3
    finally:
        pool.close()


def test_a_cancel_stops_the_render_and_the_next_clip_gets_a_fresh_process(edit_copy: Any,
                                                                          tmp_path: Path) -> None:
    edit, blend = edit_copy
    errors = importlib.import_module(MODULE + ".providers.errors")
    pool = importlib.import_module(MODULE + ".blender.render_pool").RenderPool("", size=1)
    try:
        cancel = threading.Event()
        cancel.set()  # already cancelled: it must not wait for a whole render to say so
        with pytest.raises(errors.CancelledError):
            pool.render(_spec(tmp_path, blend, edit.scene_name, "gone", 1, 75), cancel)
        after = pool.render(_spec(tmp_path, blend, edit.scene_name, "next", 1, 25))
        assert Path(str(after["path"])).is_file()
        assert pool.counts()[1] == 1  # cancelled before it took a process: none was started for it
    finally:
        pool.close()


def test_a_failed_render_is_a_sentence_and_the_pool_goes_on(edit_copy: Any, tmp_path: Path) -> None:
    edit, blend = edit_copy
    errors = importlib.import_module(MODULE + ".providers.errors")
    pool = importlib.import_module(MODULE + ".blender.render_pool").RenderPool("", size=1)
    try:
        with pytest.raises(errors.FoleyError, match="not in the file any more"):
            pool.render(_spec(tmp_path, blend, "no such scene", "x", 1, 25))
        good = pool.render(_spec(tmp_path, blend, edit.scene_name, "y", 1, 25))
        assert Path(str(good["path"])).is_file()
    finally:
        pool.close()


def test_an_idle_process_ends_by_itself(edit_copy: Any, tmp_path: Path) -> None:
    edit, blend = edit_copy
    pool = importlib.import_module(MODULE + ".blender.render_pool").RenderPool("", size=1, idle_s=0.5)
    try:
        pool.render(_spec(tmp_path, blend, edit.scene_name, "z", 1, 10))
        assert pool.wait_until_no_processes(30)  # nobody closed the pool: the idle time did
        assert pool.processes() == 0
    finally:
        pool.close()


def test_a_warmed_process_renders_the_first_clip(edit_copy: Any, tmp_path: Path) -> None:
    edit, blend = edit_copy
    pool = importlib.import_module(MODULE + ".blender.render_pool").RenderPool("", size=1)
    try:
        pool.warm()
        pool.warm()  # a second ask while one starts or waits changes nothing
        result = pool.render(_spec(tmp_path, blend, edit.scene_name, "w", 1, 25))
        assert Path(str(result["path"])).is_file()
        assert pool.counts() == (1, 1)  # the clip went to the warmed process: no second start
    finally:
        pool.close()
    assert pool.wait_until_no_processes(30)


def stat_fields(stat: Path) -> list[str]:
    """A /proc ``stat`` file's fields after "(comm)", which may hold spaces: [0] is field 3 of
    proc(5) (the state), [2] field 5 (the process group), [16] field 19 (the nice value)."""
    return stat.read_text().rsplit(")", 1)[1].split()


def thread_nice_values(pid: int) -> list[int]:
    """The nice value of every thread of process ``pid`` (Linux keeps one per thread)."""
    return [int(stat_fields(stat)[16]) for stat in Path(f"/proc/{pid}/task").glob("*/stat")]


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads thread priorities in /proc")
def test_a_render_process_and_all_its_threads_run_below_the_editors_blender(edit_copy: Any,
                                                                           tmp_path: Path) -> None:
    edit, blend = edit_copy
    priority = importlib.import_module(MODULE + ".blender.render_priority")
    pool = importlib.import_module(MODULE + ".blender.render_pool").RenderPool("", size=1)
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        result = pool.render(_spec(tmp_path, blend, edit.scene_name, "n", 1, 10))
        threads = thread_nice_values(int(str(result["process_id"])))  # it stays up between clips
    finally:
        pool.close()
    assert len(threads) > 1  # a render runs threads: each must have been started lowered
    assert set(threads) == {min(19, ours + priority.NICE_INCREMENT)}


def render_processes() -> set[int]:
    """Live render processes of this test run: in its process group (an orphan stays in it, a child
    of a wrapper too) with a command that runs ``render_process``."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_fields(stat)
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue  # ended while we looked
        if fields[0] != "Z" and int(fields[2]) == os.getpgrp() and b"render_process" in command:
            found.add(int(stat.parent.name))
    return found


def is_gone(pid: int) -> bool:
    try:
        return stat_fields(Path(f"/proc/{pid}/stat"))[0] == "Z"  # a zombie: ended, reaped soon
    except OSError:
        return True


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads processes in /proc")
def test_a_cancel_mid_render_ends_the_blender_that_renders(edit_copy: Any, tmp_path: Path) -> None:
    """The render runs under ``nice``, which becomes the render process (same pid): killing the pid
    the pool holds must end the Blender that renders, not leave it rendering as an orphan."""
    edit, blend = edit_copy
    errors = importlib.import_module(MODULE + ".providers.errors")
    pool = importlib.import_module(MODULE + ".blender.render_pool").RenderPool("", size=1)
    try:
        pool.render(_spec(tmp_path, blend, edit.scene_name, "warm", 1, 5))  # a process is up
        [renderer] = render_processes()
        cancel, outcome = threading.Event(), []

        def long_render() -> None:
            try:
                pool.render(_spec(tmp_path, blend, edit.scene_name, "long", 1, 75), cancel)
            except errors.CancelledError as error:
                outcome.append(error)

        thread = threading.Thread(target=long_render)
        thread.start()
        with pool._changed:  # the render has taken the process (it is writing or rendering)
            assert pool._changed.wait_for(lambda: pool._busy == 1, 10)
        cancel.set()
        thread.join(10)
        assert outcome, "the cancelled render was not stopped"
        assert pool.wait_until_no_processes(10)
        assert is_gone(renderer)  # the Blender itself ended, not only a wrapper around it
        assert render_processes() == set()
    finally:
        pool.close()
