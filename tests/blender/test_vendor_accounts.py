"""Issue 9 in real Blender: limits belong to the vendor account, and the job list shows the waits.

The emulator refuses a submit over the account's tasks at once (WaveSpeed: 3 per key)
and records the most tasks the client ever tried to run at once on the key.
"""

from __future__ import annotations

import importlib
from fractions import Fraction
from pathlib import Path
from typing import Any

import bpy
import pytest
from blender_harness import MODULE, foley_strips, requires_audaspace, strips_of
from test_ui import Recorder, assert_valid, make_job, ui  # noqa: F401 - ui is a fixture

from devtools.emulator import VendorEmulator
from devtools.sample_edit import build_edit, render_footage

WAVESPEED_MODELS = ("wavespeed.think-sound", "wavespeed.mmaudio-v2", "wavespeed.hunyuan-video-foley")


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_footage(tmp_path_factory.mktemp("accounts") / "shot.mp4", seconds=4.0, fps=25, width=320,
                          height=180)


@requires_audaspace
def test_three_wavespeed_models_times_two_takes_share_one_keys_three_slots(
        extension: Any, online: None, emulator: VendorEmulator, shot: Path, tmp_path: Path) -> None:
    edit = build_edit(shot, fps=25, width=320, height=180, start_frame=1)
    for strip in strips_of(bpy.context.scene):
        strip.select = strip.name == edit.movie_strip
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "accounts.blend"))
    scene = bpy.context.scene
    scene.foley.prompt = "footsteps"
    scene.foley.variations = 2
    emulator.reset()
    before = emulator.task_seconds
    emulator.task_seconds = 1.5  # tasks overlap: a client counting per model would run six at once
    try:
        assert bpy.ops.foley.generate(providers=",".join(WAVESPEED_MODELS)) == {"FINISHED"}
    finally:
        emulator.task_seconds = before

    strips = foley_strips(scene)
    assert len(strips) == 6
    assert sorted(s["vse_foley"]["provider"] for s in strips) == sorted(WAVESPEED_MODELS * 2)
    assert emulator.submit_count("wavespeed") == 6
    assert 1 <= emulator.peak_demand("wavespeed") <= 3  # never more than the key's 3 at once
    assert emulator.busy_refusals("wavespeed") == 0  # the client never even tried a fourth
    runtime = importlib.import_module(MODULE + ".blender.runtime")
    assert runtime.engine().peak_in_account("wavespeed") <= 3


def test_the_account_limits_are_preferences_with_the_documented_defaults(extension: Any) -> None:
    prefs = bpy.context.preferences.addons[MODULE].preferences
    assert (prefs.wavespeed_tasks_at_once, prefs.wavespeed_submits_per_minute) == (3, 5)
    assert prefs.vidu_tasks_at_once == 5 and prefs.kling_tasks_at_once == 2
    assert prefs.flexstack_tasks_at_once == 2 and prefs.concurrency == 0  # the old name still works
    runtime = importlib.import_module(MODULE + ".blender.runtime")
    engine = runtime.engine()
    try:
        prefs.wavespeed_tasks_at_once = 6  # a higher tier: the running engine takes it at once
        assert engine._accounts.limits("wavespeed").concurrency == 6
    finally:
        prefs.wavespeed_tasks_at_once = 3
    assert engine._accounts.limits("wavespeed").concurrency == 3


def test_a_job_waiting_for_a_free_slot_shows_a_countdown(ui: Any) -> None:  # noqa: F811
    job = make_job(ui, "queued", waiting_since=1000.0, retry_at=1042.0,
                   note="Waiting for a free slot at Kling: the account is busy, so nothing was created.")
    recorder = Recorder()
    ui.panels_jobs_list.draw_job(recorder, job, now=1030.0, width=40)
    assert_valid(recorder)
    labels = recorder.label_texts()
    assert "Waiting for a free slot · 12 s" in labels
    assert any("nothing was created" in label for label in labels)
    assert [c.values["job_id"] for c in recorder.operators("foley.cancel")] == [job.id]
    after = Recorder()
    ui.panels_jobs_list.draw_job(after, job, now=1050.0, width=40)
    assert "Waiting for a free slot" in after.label_texts()  # due: no negative countdown


def test_a_failed_long_job_with_held_chunks_offers_retry_and_cancel(ui: Any) -> None:  # noqa: F811
    parent = make_job(ui, "failed", error="Chunk 1 of 3 failed: refused. The 2 chunks not sent yet are held.")
    chunks = [make_job(ui, "failed", parent_id=parent.id, chunk_index=0, error="Refused on policy grounds."),
              make_job(ui, "queued", parent_id=parent.id, chunk_index=1, held=True),
              make_job(ui, "queued", parent_id=parent.id, chunk_index=2, held=True)]
    parent.chunk_ids = [c.id for c in chunks]
    recorder = Recorder()
    ui.panels_jobs_list.draw_job(recorder, parent, chunks, now=1010.0)
    assert_valid(recorder)
    assert recorder.label_texts().count("Held") == 2
    retries = [c.values["job_id"] for c in recorder.operators("foley.retry")]
    assert parent.id in retries and chunks[0].id in retries
    cancels = recorder.operators("foley.cancel")
    assert [c.values["job_id"] for c in cancels] == [parent.id]


def test_cancel_on_a_failed_long_job_drops_its_held_chunks(extension: Any) -> None:
    runtime = importlib.import_module(MODULE + ".blender.runtime")
    core_jobs = importlib.import_module(MODULE + ".core.jobs")
    base = importlib.import_module(MODULE + ".providers.base")
    timeline = importlib.import_module(MODULE + ".core.timeline")
    engine = runtime.engine()
    request = base.GenerationRequest(provider_id="vidu.text2audio", duration=4.0, prompt="rain")
    parent = core_jobs.Job.create(request, timeline.FrameRange(1, 96), Fraction(24), label="rain")
    failed = core_jobs.Job.create(request, timeline.FrameRange(1, 48), Fraction(24), parent_id=parent.id,
                                  chunk_index=0)
    held = core_jobs.Job.create(request, timeline.FrameRange(49, 96), Fraction(24), parent_id=parent.id,
                                chunk_index=1, held=True)
    failed.state = core_jobs.JobState.FAILED
    failed.error, failed.error_kind = "Refused on policy grounds.", "ModerationError"
    parent.state = core_jobs.JobState.FAILED
    parent.chunk_ids = [failed.id, held.id]
    ledger = runtime.job_ledger()
    for job in (failed, held, parent):
        ledger.append(job)
    engine.resume_from_ledger()  # the held chunk is queued but never sent
    assert engine.get(held.id).state is core_jobs.JobState.QUEUED and engine.get(held.id).held
    assert bpy.ops.foley.cancel(job_id=parent.id) == {"FINISHED"}
    assert engine.get(held.id).state is core_jobs.JobState.CANCELLED
    assert engine.get(parent.id).state is core_jobs.JobState.FAILED  # its Retry still works
