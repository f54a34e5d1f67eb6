"""Warm render processes (``blender/render_pool.py``): one process renders clip after clip,
each exactly like a new render process would; the open copy of the edit is reused only while
the file is unchanged; cancel kills the process and the next clip gets a fresh one; a refused
clip keeps the process; a process that died while idle is replaced."""

from __future__ import annotations

import importlib
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bpy
import pytest
from blender_harness import MODULE
from test_clip_source import encoded_frames

from devtools.sample_edit import build_edit, render_footage


def module(name: str) -> Any:
    return importlib.import_module(f"{MODULE}.blender.{name}")


@pytest.fixture()
def edit(extension: Any, tmp_path: Path) -> tuple[str, str]:
    """(blend path, scene name): 1 s of 320x180 footage with a title over it, saved."""
    footage = render_footage(tmp_path / "shot.mp4", seconds=1.0, fps=25, width=320, height=180)
    sample = build_edit(footage, fps=25, width=320, height=180, text_events=((0.0, 1.0, "title"),))
    blend = tmp_path / "edit.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    return str(blend), sample.scene_name


@pytest.fixture()
def pool() -> Iterator[Any]:
    made = module("render_pool").RenderPool(bpy.app.binary_path)
    yield made
    made.close()


def spec(edit: tuple[str, str], out: Path, first: int, last: int) -> Any:
    return module("clip_cache").ClipSpec(edit[0], edit[1], first, last, 90, str(out), "clip")


def one_off(clip_spec: Any) -> bytes:
    clip_cache = module("clip_cache")
    result = clip_cache.render_clip_in_subprocess(clip_cache.render_command(clip_spec, bpy.app.binary_path))
    return encoded_frames(Path(str(result["path"])).read_bytes())


def test_one_process_renders_several_clips_each_like_a_new_process(edit: tuple[str, str], pool: Any,
                                                                   tmp_path: Path) -> None:
    first = pool.render_clip(spec(edit, tmp_path / "a", 1, 10))
    second = pool.render_clip(spec(edit, tmp_path / "b", 11, 25))

    assert pool.processes_started == 1
    assert first["process_id"] == second["process_id"]
    assert (first["file_reused"], second["file_reused"]) == (False, True)  # one load of the copy
    for result, (start, end) in ((first, (1, 10)), (second, (11, 25))):
        frames = encoded_frames(Path(str(result["path"])).read_bytes())
        assert len(frames) > 500
        assert frames == one_off(spec(edit, tmp_path / f"one-{start}", start, end))  # byte for byte
    media = importlib.import_module(MODULE + ".providers.media")
    assert media.read_clip_info(Path(str(second["path"]))).duration == pytest.approx(15 / 25, abs=0.05)


def test_a_changed_file_is_loaded_again(edit: tuple[str, str], pool: Any, tmp_path: Path) -> None:
    before = pool.render_clip(spec(edit, tmp_path / "before", 1, 10))
    scene = bpy.data.scenes[edit[1]]
    compat = importlib.import_module(MODULE + ".compat")
    title = next(strip for strip in compat.all_strips(scene.sequence_editor) if strip.type == "TEXT")
    title.text = "another title"
    bpy.ops.wm.save_mainfile()

    after = pool.render_clip(spec(edit, tmp_path / "after", 1, 10))

    assert after["process_id"] == before["process_id"] and after["file_reused"] is False
    after_frames = encoded_frames(Path(str(after["path"])).read_bytes())
    assert after_frames != encoded_frames(Path(str(before["path"])).read_bytes())
    assert after_frames == one_off(spec(edit, tmp_path / "one", 1, 10))


def test_cancel_kills_the_process_and_the_next_clip_gets_a_fresh_one(edit: tuple[str, str], pool: Any,
                                                                     tmp_path: Path) -> None:
    errors = importlib.import_module(MODULE + ".providers.errors")
    cancelled = threading.Event()
    cancelled.set()
    with pytest.raises(errors.CancelledError):
        pool.render_clip(spec(edit, tmp_path / "cancelled", 1, 25), cancelled)

    result = pool.render_clip(spec(edit, tmp_path / "next", 1, 10))

    assert pool.processes_started == 2
    assert Path(str(result["path"])).is_file()


def test_a_refused_clip_is_a_sentence_and_the_process_stays(edit: tuple[str, str], pool: Any,
                                                            tmp_path: Path) -> None:
    errors = importlib.import_module(MODULE + ".providers.errors")
    missing = module("clip_cache").ClipSpec(edit[0], "No such scene", 1, 10, 90, str(tmp_path / "x"), "clip")
    with pytest.raises(errors.FoleyError, match="The scene 'No such scene' is not in the file"):
        pool.render_clip(missing)

    result = pool.render_clip(spec(edit, tmp_path / "next", 1, 10))

    assert pool.processes_started == 1 and result["file_reused"] is False  # loaded again after a failure


def test_a_process_that_died_while_idle_is_replaced(edit: tuple[str, str], pool: Any, tmp_path: Path) -> None:
    first = pool.render_clip(spec(edit, tmp_path / "a", 1, 10))
    os.kill(int(str(first["process_id"])), signal.SIGKILL)  # a crash (or its idle exit) between clips

    second = pool.render_clip(spec(edit, tmp_path / "b", 1, 10))

    assert second["process_id"] != first["process_id"] and pool.processes_started == 2


def test_a_warm_process_ends_itself_when_idle(extension: Any) -> None:
    render_pool = module("render_pool")
    process = render_pool.RenderProcess(module("clip_cache").serve_command(bpy.app.binary_path, 0.5))
    assert process.wait_ended(timeout_s=60)  # no request came: it gave its memory back
    process.close()
