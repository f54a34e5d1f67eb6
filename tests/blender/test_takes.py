"""Takes, compare-vendors groups, long ranges joined from chunks, conform and
selection after insertion — in real Blender against the emulator."""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import Any

import bpy
import numpy as np
import pytest
from blender_harness import MODULE, foley_strips, handles, requires_audaspace, strips_of

from devtools.emulator import VendorEmulator
from devtools.sample_edit import build_edit, render_footage

pytestmark = requires_audaspace


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_footage(tmp_path_factory.mktemp("takes") / "shot.mp4", seconds=4.0, fps=25, width=320,
                          height=180)


def saved_edit(tmp_path: Path, shot: Path) -> Any:
    edit = build_edit(shot, fps=25, width=320, height=180, start_frame=1)
    for strip in strips_of(bpy.context.scene):
        strip.select = strip.name == edit.movie_strip
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "takes.blend"))
    return edit


def test_variations_land_as_aligned_takes_one_audible(extension: Any, online: None, emulator: VendorEmulator,
                                                      shot: Path, tmp_path: Path) -> None:
    edit = saved_edit(tmp_path, shot)
    scene = bpy.context.scene
    scene.foley.provider = "vidu.text2audio"
    scene.foley.prompt = "wind"
    scene.foley.seed = 41
    scene.foley.variations = 3
    emulator.reset()

    assert bpy.ops.foley.generate() == {"FINISHED"}

    takes = foley_strips(scene)
    assert len(takes) == 3
    assert {handles(s)[0] for s in takes} == {edit.frame_start}
    channels = [s.channel for s in takes]
    assert channels == list(range(channels[0], channels[0] + 3))  # consecutive free channels
    assert sum(not s.mute for s in takes) == 1
    assert len({s["vse_foley"]["group_id"] for s in takes}) == 1
    sent_seeds = sorted(r.json["seed"] for r in emulator.requests if r.kind == "submit")
    assert sent_seeds == [41, 42, 43]  # a fixed seed gives reproducible, different takes

    audible = next(s for s in takes if not s.mute)
    scene.sequence_editor.active_strip = audible
    assert bpy.ops.foley.cycle_take() == {"FINISHED"}
    now_audible = [s for s in foley_strips(scene) if not s.mute]
    assert len(now_audible) == 1 and now_audible[0].name != audible.name

    files = [Path(bpy.path.abspath(s.sound.filepath)) for s in takes]
    scene.sequence_editor.active_strip = now_audible[0]
    assert bpy.ops.foley.keep_take() == {"FINISHED"}
    [kept] = foley_strips(scene)
    assert kept.name == now_audible[0].name and not kept.mute
    assert all(path.is_file() for path in files)  # the other takes stay in the library


def test_generate_with_several_providers_makes_a_labelled_group(extension: Any, online: None,
                                                               emulator: VendorEmulator, shot: Path,
                                                               tmp_path: Path) -> None:
    saved_edit(tmp_path, shot)
    scene = bpy.context.scene
    scene.foley.prompt = "rain"
    scene.foley.variations = 1
    assert bpy.ops.foley.generate(providers="vidu.text2audio,flexstack.audiogen") == {"FINISHED"}
    group = foley_strips(scene)
    assert sorted(s["vse_foley"]["provider"] for s in group) == ["flexstack.audiogen", "vidu.text2audio"]
    assert len({s["vse_foley"]["group_id"] for s in group}) == 1
    providers = importlib.import_module(MODULE + ".providers")
    assert {s["vse_foley"]["take_label"] for s in group} == {
        providers.provider_info(pid).label for pid in ("vidu.text2audio", "flexstack.audiogen")}
    assert sum(not s.mute for s in group) == 1


def test_long_kling_range_is_three_chunks_joined_without_level_jumps(
        extension: Any, online: None, emulator: VendorEmulator, tmp_path: Path) -> None:
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 25, 1.0
    scene.render.resolution_x, scene.render.resolution_y = 320, 180
    scene.sequence_editor_create()
    compat = importlib.import_module(MODULE + ".compat")
    color = compat.new_effect_strip(scene, "picture", "COLOR", 1, 1, 1 + 45 * 25)
    color.color = (0.2, 0.4, 0.1)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "long.blend"))
    scene.foley.provider = "kling.video-to-audio"
    scene.foley.prompt = "busy market"
    scene.foley.fade_frames = 0
    emulator.reset()

    assert bpy.ops.foley.generate(frame_start=1, frame_end=45 * 25) == {"FINISHED"}

    submits = [r for r in emulator.requests if r.kind == "submit"]
    assert len(submits) == 3
    runtime = importlib.import_module(MODULE + ".blender.runtime")
    [parent] = [j for j in runtime.engine().jobs() if j.prompt == "busy market" and j.chunk_ids]
    chunks = [runtime.engine().get(cid) for cid in parent.chunk_ids]
    durations = [float(c.frame_range.seconds(c.fps)) for c in chunks]
    assert all(3.0 <= d <= 20.0 for d in durations), durations
    assert chunks[0].frame_start == 1 and chunks[-1].frame_end == 45 * 25
    [strip] = [s for s in strips_of(scene) if s.type == "SOUND"]
    assert handles(strip) == (1, 45 * 25 + 1)

    conform = importlib.import_module(MODULE + ".core.conform")
    audio = conform.read_wav(Path(bpy.path.abspath(strip.sound.filepath)))
    samples = np.asarray(audio.samples, dtype=np.float64)
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    rate = audio.sample_rate
    assert len(mono) == pytest.approx(45 * rate, abs=rate / 25)
    # The emulator's material changes level by itself every second, so a seam must
    # not jump more than the material does away from the seams (and must not click).
    window = int(0.2 * rate)
    levels = np.array([np.sqrt(np.mean(mono[i:i + window] ** 2))
                       for i in range(0, len(mono) - window, window)])
    jumps = np.abs(20 * np.log10(np.maximum(levels[1:], 1e-9) / np.maximum(levels[:-1], 1e-9)))
    seams = [int((chunk.frame_start - 1) / 25 * rate) for chunk in chunks[1:]]
    near = np.array([any(abs(i * window - seam) < 2 * rate for seam in seams) for i in range(len(jumps))])
    assert near.any() and (~near).any()
    assert jumps[near].max() <= jumps[~near].max() + 1.0, (jumps[near].max(), jumps[~near].max())
    steps = np.abs(np.diff(mono))
    step_near = max(steps[max(0, seam - rate):seam + rate].max() for seam in seams)
    assert step_near < 4 * np.percentile(steps, 99.9)  # no click at a seam


def test_short_audio_is_flagged_on_the_strip_and_the_job(extension: Any, online: None,
                                                         emulator: VendorEmulator, shot: Path,
                                                         tmp_path: Path) -> None:
    edit = saved_edit(tmp_path, shot)
    scene = bpy.context.scene
    scene.foley.provider = "vidu.text2audio"
    scene.foley.prompt = "a single knock"
    scene.foley.variations = 1
    prefs = bpy.context.preferences.addons[MODULE].preferences
    prefs.fill_short_results = False  # filled otherwise (tests/blender/test_filling.py)
    try:
        emulator.reset()
        emulator.inject("vidu", "short_audio", seconds=1.0)
        assert bpy.ops.foley.generate() == {"FINISHED"}
    finally:
        prefs.fill_short_results = True
    [strip] = foley_strips(scene)
    start, end = handles(strip)
    assert end - start == 25  # kept as it is: 1 s
    assert "shorter" in strip["vse_foley"]["warnings"]
    runtime = importlib.import_module(MODULE + ".blender.runtime")
    job = runtime.engine().get(strip["vse_foley"]["job_id"])
    assert any("shorter" in w for w in job.warnings)
    assert emulator.submit_count("vidu") == 1  # no follow-up with the preference off
    assert edit.frame_end - edit.frame_start + 1 == 100


def test_new_strip_is_selected_unless_the_user_moved_on(extension: Any, online: None,
                                                        emulator: VendorEmulator, shot: Path,
                                                        tmp_path: Path) -> None:
    edit = saved_edit(tmp_path, shot)
    scene = bpy.context.scene
    scene.foley.provider = "vidu.text2audio"
    scene.foley.prompt = "birds"
    scene.foley.variations = 1
    assert bpy.ops.foley.generate() == {"FINISHED"}
    [first] = foley_strips(scene)
    assert first.select and scene.sequence_editor.active_strip == first
    movie = strips_of(scene)[edit.movie_strip]
    assert not movie.select

    # The user is now working on another strip while a second sound arrives.
    generate = importlib.import_module(MODULE + ".blender.generation")
    selection = importlib.import_module(MODULE + ".blender.selection")
    movie.select = True
    chosen = selection.choose_range(scene, [movie], 0, 0)
    [job] = generate.enqueue_generation(bpy.context, scene, chosen, ["vidu.text2audio"])
    for strip in strips_of(scene):
        strip.select = strip.name == first.name
    scene.sequence_editor.active_strip = first
    runtime = importlib.import_module(MODULE + ".blender.runtime")
    assert runtime.engine().wait([job.id], timeout=30, pump=runtime.pump_once)
    second = next(s for s in foley_strips(scene) if s["vse_foley"]["job_id"] == job.id)
    assert not second.select
    assert first.select and scene.sequence_editor.active_strip == first


def test_generate_asks_first_when_the_known_cost_is_above_the_limit(extension: Any, shot: Path,
                                                                    tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    saved_edit(tmp_path, shot)
    generate = importlib.import_module(MODULE + ".blender.generation")
    base = importlib.import_module(MODULE + ".providers.base")
    real = generate.provider_info
    monkeypatch.setattr(generate, "provider_info", lambda pid: dataclasses.replace(
        real(pid), price=base.PriceEstimate(per_second=0.5, source="test")))
    prefs = bpy.context.preferences.addons[MODULE].preferences
    scene = bpy.context.scene
    scene.foley.provider = "vidu.text2audio"
    scene.foley.variations = 2
    # frames 1–100 at 25 fps: 4 s × 2 takes × 0.5 per second = 4.00
    prefs.confirm_cost_above = 3.0
    text = generate.cost_above_threshold(bpy.context, scene, "", 1, 100)
    assert "4.00" in text
    prefs.confirm_cost_above = 5.0
    assert generate.cost_above_threshold(bpy.context, scene, "", 1, 100) == ""
    prefs.confirm_cost_above = 1.0


def test_regenerate_uses_the_strips_own_metadata(extension: Any, online: None, emulator: VendorEmulator,
                                                 shot: Path, tmp_path: Path) -> None:
    edit = saved_edit(tmp_path, shot)
    scene = bpy.context.scene
    scene.foley.provider = "vidu.text2audio"
    scene.foley.prompt = "engine idling"
    scene.foley.seed = 7
    scene.foley.variations = 1
    assert bpy.ops.foley.generate() == {"FINISHED"}
    [first] = foley_strips(scene)
    assert scene.animation_data is not None  # volume fades were keyed on the strip

    scene.foley.provider = "flexstack.audiogen"  # the panel moved on; the strip remembers
    scene.foley.prompt = "something else"
    scene.foley.seed = 99
    scene.sequence_editor.active_strip = first
    emulator.reset()
    assert bpy.ops.foley.regenerate(new_seed=False) == {"FINISHED"}
    second = next(s for s in foley_strips(scene) if s.name != first.name)
    meta = second["vse_foley"]
    assert (meta["provider"], meta["prompt"], meta["seed"]) == ("vidu.text2audio", "engine idling", 7)
    assert (meta["frame_start"], meta["frame_end"]) == (edit.frame_start, edit.frame_end)
    [body] = [r.json for r in emulator.requests if r.kind == "submit"]
    assert (body["prompt"], body["seed"]) == ("engine idling", 7)


def test_results_ready_at_once_land_one_a_tick_in_their_takes_order(extension: Any, online: None,
                                                                    emulator: VendorEmulator, shot: Path,
                                                                    tmp_path: Path) -> None:
    """Three takes ready in the same tick: the timer inserts one strip a tick (never freeze
    Blender) and comes back soon; all three land in the end, stacked, one audible."""
    edit = saved_edit(tmp_path, shot)
    scene = bpy.context.scene
    scene.foley.provider = "vidu.text2audio"
    scene.foley.prompt = "rain"
    scene.foley.variations = 3
    emulator.reset()
    generate = importlib.import_module(MODULE + ".blender.generation")
    selection = importlib.import_module(MODULE + ".blender.selection")
    runtime = importlib.import_module(MODULE + ".blender.runtime")
    pump = importlib.import_module(MODULE + ".blender.pump")
    chosen = selection.choose_range(scene, [strips_of(scene)[edit.movie_strip]], 0, 0)
    jobs = generate.enqueue_generation(bpy.context, scene, chosen, ["vidu.text2audio"])
    assert len(jobs) == 3
    assert runtime.engine().wait([job.id for job in jobs], timeout=30)  # no pump: their events wait

    session = runtime.current()
    picks_up = not session.resumed  # an earlier test's script wait may have picked the ledger up already
    session.resume_if_online()  # the first tick's pick-up of the ledger, done before counting ticks
    assert not picks_up or session.resume_finished.wait(30)
    session.next_takeover = time.monotonic() + 3600  # and no look for dead windows in these ticks
    landed: list[list[str]] = []
    intervals = []
    for _ in range(6):  # bounded: three ticks should do
        intervals.append(runtime.tick())
        landed.append([s["vse_foley"]["job_id"] for s in foley_strips(scene)])
        if len(landed[-1]) == 3:
            break
    assert [len(ids) for ids in landed] == [1, 2, 3]  # one strip a tick
    assert landed[1][:1] == landed[0] and set(landed[1]) < set(landed[2])  # nothing moved or replaced
    assert intervals[:2] == [pump.CARRY_INTERVAL_S] * 2  # the timer comes back soon for the rest
    assert intervals[2] != pump.CARRY_INTERVAL_S and not pump.inserts_carried(runtime.current())
    assert sorted(landed[2]) == sorted(job.id for job in jobs)
    takes = foley_strips(scene)
    channels = [s.channel for s in takes]
    assert channels == list(range(channels[0], channels[0] + 3))  # consecutive, as when they land apart
    assert [s.mute for s in takes] == [False, True, True]  # the first to land stays the audible one
    assert all(runtime.engine().get(job.id).state.value == "inserted" for job in jobs)


def test_a_failed_insertion_takes_its_tick_and_the_next_result_lands_on_the_next(
        extension: Any, online: None, emulator: VendorEmulator, shot: Path, tmp_path: Path) -> None:
    edit = saved_edit(tmp_path, shot)
    scene = bpy.context.scene
    scene.foley.provider = "vidu.text2audio"
    scene.foley.prompt = "hail"
    scene.foley.variations = 2
    emulator.reset()
    generate = importlib.import_module(MODULE + ".blender.generation")
    selection = importlib.import_module(MODULE + ".blender.selection")
    runtime = importlib.import_module(MODULE + ".blender.runtime")
    chosen = selection.choose_range(scene, [strips_of(scene)[edit.movie_strip]], 0, 0)
    jobs = generate.enqueue_generation(bpy.context, scene, chosen, ["vidu.text2audio"])
    assert runtime.engine().wait([job.id for job in jobs], timeout=30)
    for job in jobs:  # every file gone: each insertion fails with its sentence
        ready = runtime.engine().get(job.id)
        Path(ready.audio_path).unlink()

    runtime.pump()
    failed = [job.id for job in jobs if runtime.engine().get(job.id).insert_error]
    assert len(failed) == 1  # the first failure was the tick's one insertion
    runtime.pump()
    assert sorted(j.id for j in jobs if runtime.engine().get(j.id).insert_error) == sorted(j.id for j in jobs)
    assert not foley_strips(scene)
