"""Shots (issue 13): one sound per strip, and chunks of a long range that cut where
the picture cuts — in real Blender, against the emulator, which checks every
uploaded clip's real length."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import bpy
import pytest
from blender_harness import MODULE, foley_strips, handles, requires_audaspace, strips_of

from devtools.emulator import VendorEmulator
from devtools.emulator.audio import mp4_duration

FPS = 25


def module(name: str) -> Any:
    return importlib.import_module(f"{MODULE}.{name}")


def shot_edit(tmp_path: Path, seconds: list[float], *, start: int = 1) -> list[str]:
    """Back-to-back colour shots on channel 1 (each a picture strip), saved; returns their names."""
    compat = module("compat")
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = FPS, 1.0
    scene.render.resolution_x, scene.render.resolution_y = 320, 180
    scene.sequence_editor_create()
    names, frame = [], start
    for index, length in enumerate(seconds):
        frames = round(length * FPS)
        strip = compat.new_effect_strip(scene, f"Shot {index + 1}", "COLOR", 1, frame, frame + frames)
        strip.color = (0.1 * index, 0.3, 0.6)
        names.append(strip.name)
        frame += frames
    scene.frame_start, scene.frame_end = start, frame - 1
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "shots.blend"))
    return names


def select_only(scene: Any, names: list[str]) -> None:
    for strip in strips_of(scene):
        strip.select = strip.name in names


def uploaded_clip_seconds(emulator: VendorEmulator, vendor: str, field: str) -> list[float]:
    """The real length of every clip the vendor was sent, read from the uploaded MP4 itself."""
    lengths = []
    for task in emulator.vendor_tasks(vendor):
        data = emulator.file_bytes(str(task.request[field]))
        assert data, "the clip URL of a task is served by the emulator's upload host"
        seconds = mp4_duration(data)
        assert seconds is not None
        lengths.append(seconds)
    return sorted(lengths)


@requires_audaspace
def test_four_selected_shots_make_four_jobs_and_four_aligned_strips(
        extension: Any, online: None, emulator: VendorEmulator, tmp_path: Path) -> None:
    lengths = [2.0, 3.0, 2.4, 4.0]
    names = shot_edit(tmp_path, lengths, start=11)
    scene = bpy.context.scene
    select_only(scene, names)
    scene.sequence_editor.active_strip = strips_of(scene)[names[0]]
    scene.foley.provider = "wavespeed.think-sound"
    scene.foley.prompt = "footsteps"
    scene.foley.each_strip = True
    emulator.reset()

    assert bpy.ops.foley.generate() == {"FINISHED"}

    sounds = sorted(foley_strips(scene), key=lambda s: handles(s)[0])
    shots = [strips_of(scene)[name] for name in names]
    assert [handles(s) for s in sounds] == [handles(s) for s in shots]  # each starts at its shot, lasts it
    assert all(sound.channel == 2 for sound in sounds)  # above its own shot
    assert [s["vse_foley"]["frame_start"] for s in sounds] == [handles(s)[0] for s in shots]
    jobs = [module("blender.runtime").engine().get(s["vse_foley"]["job_id"]) for s in sounds]
    assert len({job.id for job in jobs}) == 4
    assert len({job.batch_id for job in jobs}) == 1 and jobs[0].batch_id  # one batch
    assert [job.extra["source_strips"] for job in jobs] == [[name] for name in names]
    assert emulator.submit_count("wavespeed") == 4
    # each uploaded clip is one shot long (the emulator reads the MP4's own duration)
    clips = uploaded_clip_seconds(emulator, "wavespeed", "video")
    assert clips == pytest.approx(sorted(lengths), abs=0.05)
    # the sounds landed without stealing the selection: the four shots stay selected, the active one too
    assert all(strips_of(scene)[name].select for name in names)
    assert not any(sound.select for sound in sounds)
    assert scene.sequence_editor.active_strip.name == names[0]


@requires_audaspace
def test_45_seconds_of_four_shots_with_kling_are_four_chunks_on_the_cuts_and_one_strip(
        extension: Any, online: None, emulator: VendorEmulator, tmp_path: Path) -> None:
    lengths = [12.0, 9.0, 15.0, 9.0]
    names = shot_edit(tmp_path, lengths)
    scene = bpy.context.scene
    select_only(scene, names)
    scene.foley.provider = "kling.video-to-audio"
    scene.foley.prompt = "a street, then a kitchen"
    scene.foley.each_strip = False
    emulator.reset()

    question = module("blender.generation").confirmation_question(bpy.context, scene, "", 0, 0)
    assert question == ""  # four calls: nothing to ask
    assert bpy.ops.foley.generate() == {"FINISHED"}

    [strip] = foley_strips(scene)
    assert handles(strip) == (1, 1126)  # one strip over the whole range: 1125 frames
    engine = module("blender.runtime").engine()
    parent = engine.get(strip["vse_foley"]["job_id"])
    chunks = [engine.get(cid) for cid in parent.chunk_ids]
    cuts = [handles(strips_of(scene)[name])[0] for name in names]
    assert [(c.frame_start, c.frame_end + 1) for c in chunks] == [
        handles(strips_of(scene)[name]) for name in names]  # one chunk per shot, on the cuts
    assert [c.frame_start for c in chunks] == cuts
    assert emulator.submit_count("kling") == 4
    assert uploaded_clip_seconds(emulator, "kling", "video_url") == pytest.approx(sorted(lengths), abs=0.05)
    conform = module("core.conform")
    audio = conform.read_wav(Path(bpy.path.abspath(strip.sound.filepath)))
    rate = audio.sample_rate
    assert audio.frame_count == pytest.approx(45 * rate, abs=rate / FPS)
    # at each cut the join is a sound cut with a one-frame fade: silent right at the cut, full a frame away
    samples = abs(audio.samples).max(axis=1)
    loud = samples.max()
    for cut in cuts[1:]:
        at = (cut - 1) * rate // FPS
        assert samples[at - 1 : at + 1].max() < 0.02 * loud
        assert samples[at - 3 * rate // FPS : at - rate // FPS].max() > 0.1 * loud


@requires_audaspace
def test_a_shot_too_short_is_named_and_the_batch_goes_on_only_without_it(
        extension: Any, online: None, emulator: VendorEmulator, tmp_path: Path) -> None:
    names = shot_edit(tmp_path, [4.0, 1.0, 3.5])  # Kling needs 3 s: "Shot 2" is too short
    scene = bpy.context.scene
    select_only(scene, names)
    scene.foley.provider = "kling.video-to-audio"
    scene.foley.prompt = "wind"
    scene.foley.each_strip = True
    emulator.reset()

    question = module("blender.generation").confirmation_question(bpy.context, scene, "", 0, 0)
    assert "1 of 3 strips cannot be made: Shot 2 (1.0 s)" in question
    assert "2 strips × 1 take = 2 requests" in question
    with pytest.raises(RuntimeError, match=r"Shot 2 \(1\.0 s\).*Nothing was sent"):
        bpy.ops.foley.generate()
    assert emulator.requests == []  # refused before anything was sent

    assert bpy.ops.foley.generate(skip_unfit=True) == {"FINISHED"}
    sounds = sorted(foley_strips(scene), key=lambda s: handles(s)[0])
    assert [handles(s) for s in sounds] == [handles(strips_of(scene)[n]) for n in (names[0], names[2])]
    assert emulator.submit_count("kling") == 2


def test_one_sound_per_strip_without_a_picture_strip_is_a_sentence(
        extension: Any, online: None, emulator: VendorEmulator, tmp_path: Path) -> None:
    names = shot_edit(tmp_path, [2.0, 2.0])
    scene = bpy.context.scene
    select_only(scene, [])
    scene.foley.provider = "wavespeed.think-sound"
    scene.foley.each_strip = True
    emulator.reset()
    with pytest.raises(RuntimeError, match="no picture strip is selected"):
        bpy.ops.foley.generate()
    assert emulator.requests == [] and names


def test_a_batch_is_counted_and_priced_as_a_whole_before_anything_is_sent(
        extension: Any, online: None, emulator: VendorEmulator, tmp_path: Path) -> None:
    names = shot_edit(tmp_path, [3.0, 4.0, 5.0, 6.0])
    scene = bpy.context.scene
    select_only(scene, names)
    scene.foley.provider = "kling.video-to-audio"
    scene.foley.variations = 2
    scene.foley.each_strip = True
    scene.foley.max_requests = 6
    emulator.reset()
    with pytest.raises(RuntimeError, match=r"4 strips × 2 takes = 8 requests, above the limit of 6"):
        bpy.ops.foley.generate()
    assert emulator.requests == []
    generation = module("blender.generation")
    plan = generation.generation_plan_for(bpy.context, scene, "", 0, 0)
    assert plan.requests.calls == 8
    estimate = plan.cost(False)
    assert estimate.calls == 8 and estimate.text == "8 paid calls, price unknown"  # Kling lists no price
    with_fills = plan.cost(True)  # each single-call shot may get one follow-up per take
    assert with_fills.possible_extra_calls == 8


@requires_audaspace
def test_overlapping_strips_are_each_their_own_span_and_a_shared_range_renders_one_clip(
        extension: Any, online: None, emulator: VendorEmulator, tmp_path: Path) -> None:
    names = shot_edit(tmp_path, [2.0, 3.0])
    scene = bpy.context.scene
    compat = module("compat")
    first = strips_of(scene)[names[0]]
    # a title over the first shot, exactly as long, and one over the cut: each is its own span
    title = compat.new_effect_strip(scene, "Title", "TEXT", 2, *handles(first))
    title.text = "TITLE"
    over_cut = compat.new_effect_strip(scene, "Caption", "TEXT", 3, handles(first)[1] - 10,
                                       handles(first)[1] + 15)
    over_cut.text = "CAPTION"
    select_only(scene, [*names, title.name, over_cut.name])
    scene.foley.provider = "wavespeed.think-sound"
    scene.foley.each_strip = True
    emulator.reset()

    assert bpy.ops.foley.generate() == {"FINISHED"}

    engine = module("blender.runtime").engine()
    made = [engine.get(s["vse_foley"]["job_id"]) for s in foley_strips(scene)]
    jobs = {job.extra["source_strips"][0]: job for job in made}
    assert sorted(jobs) == sorted([*names, "Title", "Caption"])
    for name, job in jobs.items():
        assert (job.frame_start, job.frame_end + 1) == handles(strips_of(scene)[name])
    # the first shot and its title cover the same frames: one clip rendered for both
    assert jobs[names[0]].files["clip"] == jobs["Title"].files["clip"]
    assert len({job.files["clip"] for job in jobs.values()}) == 3
    assert emulator.submit_count("wavespeed") == 4
