"""Issue 14 in real Blender: ElevenLabs sound effects inserted from the emulator, and the
confirmation limit working on a published price (no price is patched in)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import bpy
import pytest
from blender_harness import MODULE, foley_strips, handles, requires_audaspace, strips_of

from devtools.emulator import VendorEmulator
from devtools.sample_edit import build_edit, render_footage

pytestmark = requires_audaspace


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_footage(tmp_path_factory.mktemp("vendors") / "shot.mp4", seconds=4.0, fps=25, width=320,
                          height=180)


def saved_edit(tmp_path: Path, shot: Path) -> Any:
    edit = build_edit(shot, fps=25, width=320, height=180, start_frame=1)
    for strip in strips_of(bpy.context.scene):
        strip.select = strip.name == edit.movie_strip
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "vendors.blend"))
    return edit


def test_elevenlabs_sound_lands_on_the_timeline(extension: Any, online: None, emulator: VendorEmulator,
                                                shot: Path, tmp_path: Path) -> None:
    edit = saved_edit(tmp_path, shot)
    scene = bpy.context.scene
    scene.foley.provider = "elevenlabs.sound-effects"
    scene.foley.prompt = "heavy wooden door creaking open"
    scene.foley.variations = 1
    emulator.reset()

    assert bpy.ops.foley.generate() == {"FINISHED"}

    strips = foley_strips(scene)
    assert len(strips) == 1
    strip = strips[0]
    assert handles(strip)[0] == edit.frame_start
    path = Path(bpy.path.abspath(strip.sound.filepath))
    assert path.is_file() and path.suffix == ".mp3" and path.parent == tmp_path / "foley"
    sent = [r for r in emulator.requests if r.vendor == "elevenlabs"]
    assert [r.kind for r in sent] == ["submit"]  # the answer was the audio: nothing polled or fetched
    assert sent[0].json["text"] == "heavy wooden door creaking open"
    assert sent[0].json["duration_seconds"] == pytest.approx(4.0, abs=0.05)
    assert emulator.tasks_created("elevenlabs") == 1
    runtime = importlib.import_module(MODULE + ".blender.runtime")
    job = runtime.engine().get(strip["vse_foley"]["job_id"])
    assert job is not None and job.task is not None and job.task.data["audio_path"] == str(path)


def test_the_confirmation_limit_works_on_a_published_price(extension: Any, shot: Path,
                                                           tmp_path: Path) -> None:
    saved_edit(tmp_path, shot)
    generate = importlib.import_module(MODULE + ".blender.generation")
    prefs = bpy.context.preferences.addons[MODULE].preferences
    scene = bpy.context.scene
    scene.foley.provider = "wavespeed.kling-text-to-audio"  # $0.035 a run, its WaveSpeed page
    scene.foley.prompt = "thunder"
    scene.foley.variations = 2
    before = prefs.confirm_cost_above
    try:
        prefs.confirm_cost_above = 0.05  # 4 s × 2 takes = 2 runs = $0.07
        text = generate.cost_above_threshold(bpy.context, scene, "", 1, 100)
        assert text.startswith("≈ $0.07 for 2 calls (prices seen 2026-12)")
        question = generate.confirmation_question(bpy.context, scene, "", 1, 100)
        assert "≈ $0.07 (prices seen 2026-12)" in question
        prefs.confirm_cost_above = 0.10
        assert generate.cost_above_threshold(bpy.context, scene, "", 1, 100) == ""
        scene.foley.provider = "elevenlabs.sound-effects"  # no published price: never guessed, never over
        prefs.confirm_cost_above = 0.01
        assert generate.cost_above_threshold(bpy.context, scene, "", 1, 100) == ""
    finally:
        prefs.confirm_cost_above = before


def test_mirelo_variations_of_one_request_land_as_takes(extension: Any, online: None,
                                                         emulator: VendorEmulator, shot: Path,
                                                         tmp_path: Path) -> None:
    edit = saved_edit(tmp_path, shot)
    scene = bpy.context.scene
    scene.foley.provider = "wavespeed.mirelo-sfx-1.6"
    scene.foley.prompt = "rain"
    scene.foley.num_samples = 3
    scene.foley.variations = 1
    emulator.reset()

    assert bpy.ops.foley.generate() == {"FINISHED"}
    runtime = importlib.import_module(MODULE + ".blender.runtime")
    for _ in range(20):  # the two extra takes are ready with the first; a few pumps insert them all
        if len(foley_strips(scene)) == 3:
            break
        runtime.engine().wait([j.id for j in runtime.engine().jobs()], timeout=10, pump=runtime.pump_once)
    takes = foley_strips(scene)
    assert len(takes) == 3
    assert {handles(s)[0] for s in takes} == {edit.frame_start}
    assert len({s["vse_foley"]["group_id"] for s in takes}) == 1
    assert sum(not s.mute for s in takes) == 1  # one audible, like any takes
    assert len([r for r in emulator.requests if r.kind == "submit"]) == 1
