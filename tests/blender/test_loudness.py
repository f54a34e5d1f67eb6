"""Loudness matching and the look at every result, in real Blender against the emulator.

The emulator's ``result_level`` fault makes a task's audio louder or quieter (and
silent for a stretch): takes that come back at clearly different levels.
The effective level of a strip is its file's loudness (measured here with
pyloudnorm, the independent oracle) plus 20·log10(volume).
"""

from __future__ import annotations

import importlib
import json
import math
from pathlib import Path
from typing import Any

import bpy
import numpy as np
import pyloudnorm
import pytest
from blender_harness import MODULE, foley_strips, requires_audaspace

from devtools.emulator import VendorEmulator
from devtools.sample_edit import build_edit, render_footage

pytestmark = requires_audaspace


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_footage(tmp_path_factory.mktemp("loud") / "shot.mp4", seconds=4.0, fps=25, width=320,
                          height=180)


def saved_edit(tmp_path: Path, shot: Path) -> Any:
    edit = build_edit(shot, fps=25, width=320, height=180, start_frame=1)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "loud.blend"))
    return edit


def file_lufs(strip: Any) -> float:
    conform = importlib.import_module(MODULE + ".core.conform")
    audio = conform.read_wav(Path(bpy.path.abspath(strip.sound.filepath)))
    return float(pyloudnorm.Meter(audio.sample_rate).integrated_loudness(audio.samples))


def effective_lufs(strip: Any) -> float:
    return file_lufs(strip) + 20.0 * math.log10(strip.volume)


def sample_peak_dbfs(strip: Any) -> float:
    conform = importlib.import_module(MODULE + ".core.conform")
    audio = conform.read_wav(Path(bpy.path.abspath(strip.sound.filepath)))
    return 20.0 * math.log10(float(np.max(np.abs(audio.samples))))


def generate_three_takes(scene: Any, emulator: VendorEmulator, gains: tuple[float, ...]) -> list[Any]:
    scene.foley.provider = "vidu.text2audio"
    scene.foley.prompt = "wind"
    scene.foley.seed = 5
    scene.foley.variations = len(gains)
    scene.foley.fade_frames = 0
    emulator.reset()
    for gain in gains:
        emulator.inject("vidu", "result_level", gain_db=gain)
    assert bpy.ops.foley.generate() == {"FINISHED"}
    takes = foley_strips(scene)
    assert len(takes) == len(gains)
    return takes


def test_match_takes_puts_three_different_takes_within_half_a_lu(extension: Any, online: None,
                                                                 emulator: VendorEmulator, shot: Path,
                                                                 tmp_path: Path) -> None:
    saved_edit(tmp_path, shot)
    scene = bpy.context.scene
    scene.foley.loudness = "MATCH_TAKES"
    takes = generate_three_takes(scene, emulator, (6.0, -12.0, 0.0))

    raw = [file_lufs(s) for s in takes]
    assert max(raw) - min(raw) > 15.0  # the files really differ
    levels = [effective_lufs(s) for s in takes]
    assert max(levels) - min(levels) < 0.5, levels
    assert sum(s.volume == pytest.approx(1.0) for s in takes) >= 1  # the reference take is left as it is
    for strip in takes:
        meta = strip["vse_foley"]
        assert meta["lufs"] == pytest.approx(file_lufs(strip), abs=0.1)  # our measure, stored on the strip
        assert meta["gain_db"] == pytest.approx(20.0 * math.log10(strip.volume), abs=0.01)
        assert meta["loudness_mode"] == "MATCH_TAKES"
        assert sample_peak_dbfs(strip) + meta["gain_db"] <= -1.0 + 1e-6


def test_a_target_of_minus_23_lufs_lands_within_half_a_lu_and_fades_follow(
        extension: Any, online: None, emulator: VendorEmulator, shot: Path, tmp_path: Path) -> None:
    edit = saved_edit(tmp_path, shot)
    scene = bpy.context.scene
    scene.foley.loudness = "TARGET"
    scene.foley.loudness_target = -23.0
    scene.foley.provider = "vidu.text2audio"
    scene.foley.prompt = "rain"
    scene.foley.variations = 1
    scene.foley.fade_frames = 4
    emulator.reset()
    emulator.inject("vidu", "result_level", gain_db=9.0)
    assert bpy.ops.foley.generate() == {"FINISHED"}
    [strip] = foley_strips(scene)
    scene.frame_set((edit.frame_start + edit.frame_end) // 2)  # between the fades: the keyed level
    assert effective_lufs(strip) == pytest.approx(-23.0, abs=0.5)
    assert strip.volume < 0.9  # it was turned down, and the fade keys rise only to that level
    scene.frame_set(edit.frame_start)
    assert strip.volume == pytest.approx(0.0)


def test_a_target_the_peaks_forbid_stops_short_and_says_so(extension: Any, online: None,
                                                           emulator: VendorEmulator, shot: Path,
                                                           tmp_path: Path) -> None:
    saved_edit(tmp_path, shot)
    scene = bpy.context.scene
    scene.foley.loudness = "TARGET"
    scene.foley.loudness_target = -5.0  # the emulator's voice peaks ~8 dB above its loudness
    scene.foley.provider = "vidu.text2audio"
    scene.foley.prompt = "surf"
    scene.foley.variations = 1
    scene.foley.fade_frames = 0
    emulator.reset()
    assert bpy.ops.foley.generate() == {"FINISHED"}
    [strip] = foley_strips(scene)
    assert sample_peak_dbfs(strip) + 20.0 * math.log10(strip.volume) == pytest.approx(-1.0, abs=0.05)
    assert effective_lufs(strip) < -5.5
    assert "short of its target" in strip["vse_foley"]["warnings"]
    runtime = importlib.import_module(MODULE + ".blender.runtime")
    job = runtime.engine().get(strip["vse_foley"]["job_id"])
    assert any("short of its target" in w for w in job.warnings)


def test_the_scene_setting_wins_and_unset_falls_back_to_the_preference(extension: Any, online: None,
                                                                      emulator: VendorEmulator, shot: Path,
                                                                      tmp_path: Path) -> None:
    saved_edit(tmp_path, shot)
    scene = bpy.context.scene
    prefs = bpy.context.preferences.addons[MODULE].preferences
    prefs.loudness = "WEB"
    try:
        loudness = importlib.import_module(MODULE + ".blender.loudness")
        assert loudness.level_setting(scene).mode == "TARGET"
        assert loudness.level_setting(scene).target_lufs == -16.0
        scene.foley.loudness = "OFF"
        assert loudness.level_setting(scene).mode == "OFF"
        scene.foley.property_unset("loudness")
        scene.foley.provider = "vidu.text2audio"
        scene.foley.prompt = "crowd"
        scene.foley.variations = 1
        scene.foley.fade_frames = 0
        emulator.reset()
        assert bpy.ops.foley.generate() == {"FINISHED"}
        [strip] = foley_strips(scene)
        assert effective_lufs(strip) == pytest.approx(-16.0, abs=0.5)
    finally:
        prefs.loudness = "OFF"


def test_a_result_with_silence_and_clipping_shows_both_flags(extension: Any, online: None,
                                                             emulator: VendorEmulator, shot: Path,
                                                             tmp_path: Path) -> None:
    saved_edit(tmp_path, shot)
    scene = bpy.context.scene
    scene.render.ffmpeg.audio_mixrate = 48000  # the emulator answers at 44.1 kHz
    scene.foley.provider = "vidu.text2audio"
    scene.foley.prompt = "thunder"
    scene.foley.variations = 1
    emulator.reset()
    emulator.inject("vidu", "result_level", gain_db=14.0, silent_from=1.0, silent_seconds=2.0)
    assert bpy.ops.foley.generate() == {"FINISHED"}
    [strip] = foley_strips(scene)
    flags = strip["vse_foley"]["flags"]
    assert "silent for 2.0 s from 00:01" in flags
    assert "clips at 0 dBFS" in flags
    assert "44100 Hz (the scene mixes at 48000 Hz)" in flags
    assert "mono" not in flags

    runtime = importlib.import_module(MODULE + ".blender.runtime")
    job = runtime.engine().get(strip["vse_foley"]["job_id"])
    analysis = job.audio_info["analysis"]
    assert analysis["silences"] == [[1.0, 2.0]] and analysis["clipped_runs"] > 0
    # the waveform was drawn on the worker and loads as an icon in the job row
    assert Path(analysis["waveform"]).is_file()
    previews = importlib.import_module(MODULE + ".blender.previews")
    preview = previews.preview_for(job)
    assert tuple(preview.image_size) == (96, 48)  # loaded into the preview collection (icon ids need a UI)
    assert previews.loaded_count() >= 1
    previews.unregister()  # what unregistering the extension does: the collection is gone
    assert previews.loaded_count() == 0
    look = importlib.import_module(MODULE + ".panels.result_look")
    assert "clips at 0 dBFS" in look.look_text(job)
    json.dumps(analysis)  # plain figures: they travel through the ledger


def test_an_mp3_result_is_measured_from_what_blender_decodes(extension: Any, tmp_path: Path) -> None:
    from devtools.emulator.audio import silent_mp3, synth_wav

    decode = importlib.import_module(MODULE + ".blender.decode")
    jobs = importlib.import_module(MODULE + ".core.jobs")
    mp3 = tmp_path / "result.mp3"
    mp3.write_bytes(silent_mp3(2.0)[0])
    job = jobs.Job(id="mp3check0001", provider_id="kling.video-to-audio", request={})
    analysis = decode.result_analyser(tmp_path / "previews")(job, mp3)
    assert analysis["measured"] and analysis["silent"] and analysis["lufs"] is None  # decoded, all silence
    wav = tmp_path / "tone.wav"
    wav.write_bytes(synth_wav(2.0))
    assert decode.result_analyser(tmp_path / "previews")(job, wav)["lufs"] is not None
    junk = tmp_path / "movie.mp4"
    junk.write_bytes(b"\0\0\0\x18ftypisom" + bytes(100))
    failed = decode.result_analyser(tmp_path / "previews")(job, junk)
    assert failed["measured"] is False and "could not be measured" in failed["reason"]
