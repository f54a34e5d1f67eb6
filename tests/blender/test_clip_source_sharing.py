"""The copy of the edit is shared by every Generate while the edit has not
changed (and only then), and counted in the user folder's housekeeping."""

from __future__ import annotations

import importlib
import os
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import bpy
import pytest
from blender_harness import MODULE, foley_strips, requires_audaspace, strips_of

from devtools.emulator import VendorEmulator
from devtools.sample_edit import build_edit, render_footage
from vse_foley import compat


def module(name: str) -> Any:
    return importlib.import_module(f"{MODULE}.{name}")


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_footage(tmp_path_factory.mktemp("footage") / "shot.mp4", seconds=2.0, fps=25,
                          width=320, height=180)


def saved_edit(tmp_path: Path, footage: Path) -> Any:
    edit = build_edit(footage, fps=25, width=320, height=180, start_frame=1,
                      text_events=((0.2, 1.0, "door"),))
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    return bpy.data.scenes[edit.scene_name]


def test_an_unchanged_edit_shares_one_copy_and_a_change_makes_a_new_one(extension: Any, footage: Path,
                                                                        tmp_path: Path) -> None:
    clip = module("blender.clip")
    scene = saved_edit(tmp_path, footage)
    sources = tmp_path / "sources"
    first = clip.shared_clip_source(scene, sources, "job-1")
    assert clip.shared_clip_source(scene, sources, "job-2") == first  # nothing changed: reused

    text = next(strip for strip in strips_of(scene) if strip.type == "TEXT")
    seen = {first}
    for change in (lambda: setattr(text, "text", "glass"),
                   lambda: setattr(text.transform, "offset_x", 40),
                   lambda: setattr(text, "mute", True),
                   lambda: setattr(text, "channel", 5),
                   lambda: text.keyframe_insert("location", frame=10),  # animation changes the picture
                   lambda: setattr(scene.render, "resolution_x", 640)):
        change()
        copy = clip.shared_clip_source(scene, sources, "job-x")
        assert copy not in seen  # every change to what renders gives a new copy
        seen.add(copy)
        assert clip.shared_clip_source(scene, sources, "job-y") == copy  # ...shared again from then on


def test_a_rerendered_shot_is_a_changed_edit(extension: Any, footage: Path, tmp_path: Path) -> None:
    clip = module("blender.clip")
    scene = saved_edit(tmp_path, footage)
    movie = next(strip for strip in strips_of(scene) if strip.type == "MOVIE")
    shot = Path(bpy.path.abspath(movie.filepath))
    before = clip.shared_clip_source(scene, tmp_path / "sources", "job-1")
    stat = shot.stat()
    os.utime(shot, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))  # the shot was rendered again
    assert clip.shared_clip_source(scene, tmp_path / "sources", "job-2") != before


def test_an_edit_with_a_scene_strip_is_never_shared_while_unsaved_changes_exist(
        extension: Any, footage: Path, tmp_path: Path) -> None:
    clip = module("blender.clip")
    scene = saved_edit(tmp_path, footage)
    inner = bpy.data.scenes.new("Inner")
    compat.top_level_strips(scene.sequence_editor).new_scene(name="inner", scene=inner, channel=4,
                                                             frame_start=1)
    bpy.ops.ed.undo_push(message="add a scene strip")  # as an operator does (5.2 marks it dirty then)
    assert bpy.data.is_dirty  # (the bpy module never clears it; a real session does on save)
    assert clip.clip_source_key(scene) is None  # the inner scene's objects are not in any fingerprint
    first = clip.shared_clip_source(scene, tmp_path / "sources", "job-1")
    assert clip.shared_clip_source(scene, tmp_path / "sources", "job-2") != first


@requires_audaspace
def test_two_generates_of_one_edit_share_the_copy(extension: Any, online: None, emulator: VendorEmulator,
                                                  footage: Path, tmp_path: Path) -> None:
    scene = saved_edit(tmp_path, footage)
    for strip in strips_of(scene):
        strip.select = strip.type == "MOVIE"
    scene.foley.provider = "wavespeed.think-sound"
    scene.foley.prompt = "footsteps"
    runtime = module("blender.runtime")
    sources = runtime.user_dir("sources")
    before = set(sources.iterdir())

    assert bpy.ops.foley.generate() == {"FINISHED"}
    assert bpy.ops.foley.generate() == {"FINISHED"}  # Regenerate-style: same edit, a second call

    first, second = sorted((job for job in runtime.engine().jobs() if job.scene_name == scene.name),
                           key=lambda job: job.created_at)[-2:]
    assert first.extra["clip_source"] == second.extra["clip_source"]
    assert len(set(sources.iterdir()) - before) == 1
    assert len(foley_strips(scene)) == 2


def test_housekeeping_counts_the_copies(extension: Any, tmp_path: Path) -> None:
    runtime = module("blender.runtime")
    core_jobs = importlib.import_module(MODULE + ".core.jobs")
    ledger_module = importlib.import_module(MODULE + ".core.ledger")
    timeline = importlib.import_module(MODULE + ".core.timeline")
    base = importlib.import_module(MODULE + ".providers.base")
    sources = runtime.user_dir("sources")
    for folder in list(sources.iterdir()):
        runtime_rmtree(folder)
    now = time.time()
    folders = []
    for index in range(25):  # 25 copies used over the last hours, newest first
        folder = sources / f"edit-{index:02d}"
        folder.mkdir()
        (folder / "source.blend").write_bytes(b"BLENDER")
        os.utime(folder, (now - 60 * index, now - 60 * index))
        folders.append(folder)
    old_needed = folders[24]  # the oldest, but an unfinished job still renders from it
    ledger = ledger_module.JobLedger(tmp_path / "jobs.jsonl")
    request = base.GenerationRequest(provider_id="wavespeed.think-sound", duration=2.0, prompt="x")
    job = core_jobs.Job.create(request, timeline.FrameRange(1, 50), Fraction(25),
                               extra={"clip_source": str(old_needed / "source.blend")})
    ledger.append(job)
    previews = runtime.user_dir("previews")
    known, forgotten = previews / f"{job.id}.png", previews / "0123456789ab.png"
    known.write_bytes(b"png")
    forgotten.write_bytes(b"png")  # a waveform of a job Clear History forgot

    prune_work_files = module("blender.clip_cache").prune_work_files  # its own module now (issue 12)
    removed = prune_work_files(ledger, runtime.user_dir, keep_sources=20)

    left = sorted(folder.name for folder in sources.iterdir())
    assert left == sorted([folder.name for folder in folders[:20]] + [old_needed.name])
    assert removed == 4
    assert known.is_file() and not forgotten.exists()
    ledger.close()


def runtime_rmtree(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder)
