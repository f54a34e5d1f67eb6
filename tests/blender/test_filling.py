"""Short results filled (issue 15), in real Blender against the emulator.

The emulator's ``short_audio`` fault makes one task's audio shorter than asked
for. With "Fill short results" on (the default) the job sends ONE follow-up
for the tail, joins it with the first result by an equal-power crossfade and
inserts one strip that covers the range.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import bpy
import numpy as np
import pytest
from blender_harness import MODULE, foley_strips, handles, requires_audaspace

from devtools.emulator import VendorEmulator
from devtools.sample_edit import build_edit, render_footage

pytestmark = requires_audaspace


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_footage(tmp_path_factory.mktemp("fill") / "shot.mp4", seconds=4.0, fps=25, width=320,
                          height=180)


def test_a_short_result_is_filled_by_one_follow_up_and_the_strip_covers_the_range(
        extension: Any, online: None, emulator: VendorEmulator, shot: Path, tmp_path: Path) -> None:
    edit = build_edit(shot, fps=25, width=320, height=180, start_frame=1)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "fill.blend"))
    scene = bpy.context.scene
    assert bpy.context.preferences.addons[MODULE].preferences.fill_short_results  # on by default
    scene.foley.provider = "vidu.text2audio"
    scene.foley.prompt = "footsteps on gravel"
    scene.foley.variations = 1
    scene.foley.fade_frames = 0
    emulator.reset()
    emulator.inject("vidu", "short_audio", seconds=2.7)  # 1.3 s short of the 4 s range; only the first task
    assert bpy.ops.foley.generate() == {"FINISHED"}

    [strip] = foley_strips(scene)
    start, end = handles(strip)
    assert (start, end) == (edit.frame_start, edit.frame_end + 1)  # the strip covers the range
    assert emulator.submit_count("vidu") == 2  # the first request and one follow-up, nothing more
    submits = [r for r in emulator.requests if r.kind == "submit"]
    assert [r.json["duration"] for r in submits] == pytest.approx([4.0, 52 / 25], abs=0.05)
    conform = importlib.import_module(MODULE + ".core.conform")
    audio = conform.read_wav(Path(bpy.path.abspath(strip.sound.filepath)))
    assert audio.duration == pytest.approx(4.0, abs=1e-3)
    tail = audio.samples[-audio.sample_rate // 2:]
    assert float(np.sqrt(np.mean(tail ** 2))) > 1e-3  # the last half second is sound, not padding
    assert "shorter" not in strip["vse_foley"]["warnings"]
    runtime = importlib.import_module(MODULE + ".blender.runtime")
    job = runtime.engine().get(strip["vse_foley"]["job_id"])
    assert job is not None and len(job.chunk_ids) == 2
    assert "the last 1.3 s was filled by one more request" in job.note


def test_the_estimate_names_the_possible_follow_up(extension: Any, shot: Path, tmp_path: Path) -> None:
    build_edit(shot, fps=25, width=320, height=180, start_frame=1)
    scene = bpy.context.scene
    scene.foley.provider = "vidu.text2audio"
    scene.foley.variations = 2
    prefs = bpy.context.preferences.addons[MODULE].preferences
    sidebar = importlib.import_module(MODULE + ".panels.sidebar_draw")
    selection = importlib.import_module(MODULE + ".blender.selection")
    providers = importlib.import_module(MODULE + ".providers")
    chosen = selection.choose_range(scene, [], 0, 0)
    info = providers.provider_info("vidu.text2audio")
    assert "up to 2 more calls" in sidebar.cost_estimate(info, chosen, scene.foley).text
    prefs.fill_short_results = False
    try:
        assert "more call" not in sidebar.cost_estimate(info, chosen, scene.foley).text
    finally:
        prefs.fill_short_results = True
