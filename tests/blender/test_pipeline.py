"""The whole pipeline in real Blender against the loopback vendor emulator:
selection → clip → vendor → aligned sound strip, plus restart and file switches."""

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
from blender_harness import MODULE, ROOT, foley_strips, handles, requires_audaspace, strips_of

from devtools.emulator import EmulatorKeys, VendorEmulator
from devtools.sample_edit import SampleEdit, build_edit, render_footage

SEED_PROVIDERS = [
    "wavespeed.think-sound",
    "kling.video-to-audio",
    "vidu.timing2audio",
    "vidu.text2audio",
    "flexstack.audiogen",
]
TEXT_EVENTS = ((1.0, 2.5, "door slam"), (3.0, 4.5, "glass breaks"))


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> dict[float, Path]:
    folder = tmp_path_factory.mktemp("footage")
    return {fps: render_footage(folder / f"shot_{fps}.mp4", seconds=5.0, fps=fps, width=320, height=180)
            for fps in (25.0, 23.976, 29.97)}


def runtime() -> Any:
    return importlib.import_module(MODULE + ".blender.runtime")


def make_saved_edit(tmp_path: Path, footage: Path, fps: float = 25.0) -> SampleEdit:
    edit = build_edit(footage, fps=fps, width=320, height=180, start_frame=11, text_events=TEXT_EVENTS)
    scene = bpy.data.scenes[edit.scene_name]
    for strip in strips_of(scene):
        strip.select = strip.name == edit.movie_strip
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    return edit


def strip_frames(strip: Any) -> tuple[int, int]:
    return handles(strip)


def all_secrets() -> list[bytes]:
    keys = EmulatorKeys()
    return [value.encode() for value in vars(keys).values() if isinstance(value, str) and len(value) > 4]


@requires_audaspace
@pytest.mark.parametrize("provider_id", SEED_PROVIDERS)
def test_generate_inserts_an_aligned_strip(extension: Any, online: None, emulator: VendorEmulator,
                                           footage: dict[float, Path], tmp_path: Path,
                                           provider_id: str) -> None:
    edit = make_saved_edit(tmp_path, footage[25.0])
    scene = bpy.context.scene
    scene.foley.provider = provider_id
    scene.foley.prompt = "footsteps on gravel"

    assert bpy.ops.foley.generate() == {"FINISHED"}

    [strip] = foley_strips(scene)
    range_frames = edit.frame_end - edit.frame_start + 1
    start, end = strip_frames(strip)
    assert start == edit.frame_start
    assert end - start == range_frames  # trimmed or exact, never longer than the picture
    movie = strips_of(scene)[edit.movie_strip]
    assert strip.channel > movie.channel
    others = [s for s in strips_of(scene) if s != strip and s.channel == strip.channel]
    assert all(handles(o)[1] <= start or handles(o)[0] >= end for o in others)
    assert strip.sound.filepath.startswith("//foley/")
    assert Path(bpy.path.abspath(strip.sound.filepath)).is_file()
    meta = strip["vse_foley"]
    assert meta["provider"] == provider_id
    assert meta["prompt"] == "footsteps on gravel"
    assert meta["vendor_task_id"]
    assert (meta["frame_start"], meta["frame_end"]) == (edit.frame_start, edit.frame_end)

    bpy.ops.wm.save_mainfile()
    saved = Path(bpy.data.filepath).read_bytes()
    for secret in all_secrets():
        assert secret not in saved


@requires_audaspace
def test_a_16_bit_wav_result_plays_from_its_24_bit_copy_and_the_paid_file_stays_the_jobs(
        extension: Any, online: None, emulator: VendorEmulator, footage: dict[float, Path],
        tmp_path: Path) -> None:
    """FFmpeg probes every 16-bit WAV it opens, and ``new_sound`` opens the file twice on the
    main thread: the strip plays a 24-bit copy the worker wrote beside the original."""
    make_saved_edit(tmp_path, footage[25.0])
    scene = bpy.context.scene
    scene.foley.provider = "wavespeed.think-sound"  # the emulator answers a 16-bit PCM WAV
    scene.foley.prompt = "footsteps on gravel"
    emulator.reset()
    conform = importlib.import_module(MODULE + ".core.conform")
    runtime = importlib.import_module(MODULE + ".blender.runtime")

    assert bpy.ops.foley.generate() == {"FINISHED"}

    [strip] = foley_strips(scene)
    job = runtime.engine().get(strip["vse_foley"]["job_id"])
    original = Path(job.audio_path)
    played = Path(bpy.path.abspath(strip.sound.filepath))
    assert strip.sound.filepath.startswith("//foley/")
    assert played == original.with_name(original.stem + ".pcm24.wav") != original
    assert job.audio_info["analysis"]["playback_path"] == str(played)  # recorded with the job
    assert strip["vse_foley"]["original_file"] == str(original)  # what the strip's copy stands for
    source, copy = conform.read_wav(original), conform.read_wav(played)
    assert (source.sample_format, copy.sample_format) == ("pcm16", "pcm24")
    assert (copy.samples == source.samples).all()  # the same sound, nothing rounded
    assert emulator.tasks_created("wavespeed") == 1


@requires_audaspace
@pytest.mark.parametrize("fps", [23.976, 29.97])
def test_timing_events_are_sent_in_exact_seconds(extension: Any, online: None, emulator: VendorEmulator,
                                                 footage: dict[float, Path], tmp_path: Path,
                                                 fps: float) -> None:
    edit = make_saved_edit(tmp_path, footage[fps], fps=fps)
    scene = bpy.context.scene
    scene.foley.provider = "vidu.timing2audio"
    emulator.reset()
    assert bpy.ops.foley.generate() == {"FINISHED"}
    [body] = [r.json for r in emulator.requests if r.method == "POST" and r.path.endswith("timing2audio")]
    exact = scene.render.fps / scene.render.fps_base
    text_strips = sorted((*handles(s), s.text)
                         for s in scene.sequence_editor.strips if s.type == "TEXT")
    expected = [{"from": round((a - edit.frame_start) / exact, 6),
                 "to": round((b - edit.frame_start) / exact, 6), "prompt": text}
                for a, b, text in text_strips]
    sent = [{"from": round(e["from"], 6), "to": round(e["to"], 6), "prompt": e["prompt"]}
            for e in body["timing_prompts"]]
    assert sent == expected
    assert body["duration"] == pytest.approx((edit.frame_end - edit.frame_start + 1) / exact, abs=1e-6)
    [strip] = foley_strips(scene)
    assert strip_frames(strip) == (edit.frame_start, edit.frame_end + 1)


@requires_audaspace
def test_job_from_another_file_waits_as_ready(extension: Any, online: None, emulator: VendorEmulator,
                                              footage: dict[float, Path], tmp_path: Path) -> None:
    edit = make_saved_edit(tmp_path, footage[25.0])
    blend = bpy.data.filepath
    scene = bpy.context.scene
    scene.foley.provider = "vidu.text2audio"
    scene.foley.prompt = "rain on a tin roof"
    generate = importlib.import_module(MODULE + ".blender.generation")
    selection = importlib.import_module(MODULE + ".blender.selection")
    chosen = selection.choose_range(scene, [], edit.frame_start, edit.frame_end)
    [job] = generate.enqueue_generation(bpy.context, scene, chosen, ["vidu.text2audio"])

    bpy.ops.wm.read_homefile(use_empty=True)  # the user opens another file meanwhile
    rt = runtime()
    assert rt.engine().wait([job.id], timeout=30, pump=rt.pump_once)
    rt.pump()
    assert rt.engine().get(job.id).state.value == "ready"
    assert bpy.context.scene.sequence_editor is None or not foley_strips(bpy.context.scene)

    bpy.ops.wm.open_mainfile(filepath=blend)  # back to the edit: the pump's next tick inserts it
    assert not foley_strips(bpy.context.scene)  # never load_post itself (issue 10: not undoable there)
    rt.pump()
    [strip] = foley_strips(bpy.context.scene)
    assert strip["vse_foley"]["job_id"] == job.id
    assert rt.engine().get(job.id).state.value == "inserted"


KILLED_SESSION = """
import bpy, sys
bpy.context.preferences.system.use_online_access = True
bpy.ops.preferences.addon_enable(module={module!r})
bpy.ops.wm.open_mainfile(filepath={blend!r})
scene = bpy.context.scene
scene.foley.provider = "vidu.text2audio"
scene.foley.prompt = "thunder"
print("GENERATING", flush=True)
bpy.ops.foley.generate()
"""


@requires_audaspace
def test_killed_session_finishes_from_the_ledger_without_a_second_submit(
        extension: Any, online: None, emulator: VendorEmulator, footage: dict[float, Path],
        tmp_path: Path) -> None:
    make_saved_edit(tmp_path, footage[25.0])
    blend = bpy.data.filepath
    rt = runtime()
    rt.shutdown()  # this process plays "Blender started again" below
    emulator.reset()
    emulator.task_seconds = 3600.0  # the vendor is still working when Blender dies
    ledger = Path(bpy.utils.extension_path_user(MODULE, path="", create=True)) / "jobs.jsonl"
    before = ledger.read_text().count("\n") if ledger.exists() else 0
    process = subprocess.Popen([sys.executable, "-c", KILLED_SESSION.format(module=MODULE, blend=blend)],
                               env={**os.environ}, cwd=str(ROOT), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            lines = ledger.read_text().splitlines()[before:] if ledger.exists() else []
            if any(json.loads(line).get("vendor_task") for line in lines if line.strip()):
                break
            time.sleep(0.05)
        else:
            pytest.fail("the job never recorded its vendor task")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert emulator.submit_count("vidu") == 1

    emulator.task_seconds = 0.0
    bpy.ops.wm.open_mainfile(filepath=blend)
    rt.resume_if_online(wait_for_ledger=True)  # the pump's first tick: resume from the ledger
    resumed = [job for job in rt.engine().jobs() if job.prompt == "thunder"]
    assert resumed and resumed[0].vendor_task
    assert rt.engine().wait([resumed[0].id], timeout=30, pump=rt.pump_once)
    rt.pump()
    [strip] = foley_strips(bpy.context.scene)
    assert strip["vse_foley"]["prompt"] == "thunder"
    assert emulator.submit_count("vidu") == 1  # polled, never resubmitted


def test_offline_generate_sends_nothing(extension: Any, emulator: VendorEmulator, footage: dict[float, Path],
                                        tmp_path: Path) -> None:
    make_saved_edit(tmp_path, footage[25.0])
    bpy.context.preferences.system.use_online_access = False
    emulator.reset()
    assert not bpy.ops.foley.generate.poll()
    assert emulator.requests == []


def test_a_limit_is_a_sentence_before_any_request(extension: Any, online: None, emulator: VendorEmulator,
                                                  footage: dict[float, Path], tmp_path: Path) -> None:
    make_saved_edit(tmp_path, footage[25.0])
    scene = bpy.context.scene
    scene.foley.provider = "kling.video-to-audio"
    scene.foley.prompt = "x" * 201
    emulator.reset()
    with pytest.raises(RuntimeError, match="200"):
        bpy.ops.foley.generate()
    assert emulator.requests == []
