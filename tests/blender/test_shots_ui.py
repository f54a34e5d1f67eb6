"""A batch (one sound per strip) in the job list and the sidebar, drawn in real Blender with
the recording layout of ``test_ui``, and its Cancel All / Retry Failed against the emulator."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import bpy
import pytest
from blender_harness import MODULE, foley_strips, handles, requires_audaspace, strips_of
from test_shots import select_only, shot_edit
from test_ui import Recorder, assert_valid, draw_panel, make_context, make_job

from devtools.emulator import VendorEmulator


def module(name: str) -> Any:
    return importlib.import_module(f"{MODULE}.{name}")


@pytest.fixture()
def ui(extension: Any) -> SimpleNamespace:
    """The installed extension's modules these tests draw with (as test_ui's fixture)."""
    names = ("panels.sidebar", "panels.sidebar_draw", "panels.jobs_list", "core.jobs", "core.timeline",
             "providers.base")
    return SimpleNamespace(**{name.replace(".", "_"): module(name) for name in names})


def batch_of(ui: SimpleNamespace, states: list[str], batch_id: str = "batch1") -> list[Any]:
    jobs = []
    for index, state in enumerate(states):
        job = make_job(ui, state, batch_id=batch_id, frame_start=1 + 100 * index, frame_end=99 + 100 * index,
                       extra={"source_strips": [f"Shot {index + 1}"]})
        jobs.append(job)
    return jobs


def test_a_batch_is_one_row_that_opens_to_its_jobs(ui: SimpleNamespace) -> None:
    jobs_list = ui.panels_jobs_list
    jobs = batch_of(ui, ["inserted", "generating", "failed", "queued"])
    alone = make_job(ui, "generating")
    jobs_list.OPEN_BATCHES.discard("batch1")
    closed = Recorder()
    ui.panels_sidebar_draw.draw_jobs_panel(closed, make_context(), [*jobs, alone], now=1010.0)
    assert_valid(closed)
    labels = closed.label_texts()
    assert "One sound per strip: 4 strips" in labels
    assert "1 of 4 done · 1 failed" in labels
    assert [c.values["batch_id"] for c in closed.operators("foley.cancel_batch")] == ["batch1"]
    assert [c.values["batch_id"] for c in closed.operators("foley.retry_batch")] == ["batch1"]
    assert [c.values["batch_id"] for c in closed.operators("foley.toggle_batch")] == ["batch1"]
    # closed: the batch's own jobs are not drawn, only the job outside it (its own Cancel)
    assert [c.values["job_id"] for c in closed.operators("foley.cancel")] == [alone.id]
    bars = closed.of_kind("progress")
    expected = (1.0 + jobs_list.progress_factor(jobs[1]) + 1.0 + 0.0) / 4
    assert any(abs(bar.kwargs["factor"] - expected) < 1e-9 for bar in bars)

    jobs_list.OPEN_BATCHES.add("batch1")
    try:
        opened = Recorder()
        ui.panels_sidebar_draw.draw_jobs_panel(opened, make_context(), [*jobs, alone], now=1010.0)
        assert_valid(opened)
        assert {c.values["job_id"] for c in opened.operators("foley.cancel")} == {
            alone.id, jobs[1].id, jobs[3].id}
        assert [c.values["job_id"] for c in opened.operators("foley.retry")] == [jobs[2].id]
    finally:
        jobs_list.OPEN_BATCHES.discard("batch1")


def test_a_retried_job_replaces_its_failed_attempt_in_the_count(ui: SimpleNamespace) -> None:
    jobs = batch_of(ui, ["inserted", "failed"])
    again = make_job(ui, "ready", batch_id="batch1", retry_of=jobs[1].id)
    summary = ui.panels_jobs_list.summarize_batch([*jobs, again])
    assert (summary.total, summary.done, summary.failed) == (2, 2, 0)
    finished = batch_of(ui, ["inserted", "inserted"], batch_id="done")
    entries, _hidden = ui.panels_sidebar_draw.job_list(finished)
    assert entries == []  # a batch whose sounds are all on the timeline leaves the list


def test_the_sidebar_shows_the_strips_one_sound_each_and_names_the_short_ones(
        ui: SimpleNamespace, tmp_path: Path) -> None:
    names = shot_edit(tmp_path, [4.0, 1.0, 30.0])
    scene = bpy.context.scene
    scene.foley.provider = "kling.video-to-audio"
    scene.foley.each_strip = True
    selected = [strips_of(scene)[name] for name in names]
    recorder = draw_panel(ui.panels_sidebar.FOLEY_PT_generate, make_context(selected_strips=selected))
    text = recorder.all_text()
    assert "3 strips (1.0–30.0 s), one sound each" in text
    assert "Shot 2 (1.0 s)" in text and "at least 3 s" in text
    assert "made as chunks split at the picture's cuts" in text
    assert any(call.args[1] == "each_strip" for call in recorder.props())
    [button] = [call for call in recorder.operators("foley.generate") if not call.values]
    assert button.text == "Generate for 3 Strips"
    draw = ui.panels_sidebar_draw
    context = make_context(selected_strips=selected)
    kinds = {b.kind for b in draw.generate_blockers(context, scene, scene.foley, None)}
    assert "input" not in kinds  # the short strip is asked about at Generate, it blocks nothing
    none = draw_panel(ui.panels_sidebar.FOLEY_PT_generate, make_context(selected_strips=[]))
    assert "no picture strip is selected" in none.all_text()
    blockers = draw.generate_blockers(make_context(selected_strips=[]), scene, scene.foley, None)
    assert [b.text for b in blockers if b.kind == "input"] == [module("blender.selection").NO_PICTURE_STRIP]


@requires_audaspace
def test_retry_failed_sends_the_failed_shot_again_and_it_lands(
        extension: Any, online: None, emulator: VendorEmulator, tmp_path: Path) -> None:
    names = shot_edit(tmp_path, [2.0, 2.0, 2.0])
    scene = bpy.context.scene
    select_only(scene, names)
    scene.foley.provider = "wavespeed.think-sound"
    scene.foley.each_strip = True
    emulator.reset()
    emulator.inject("wavespeed", "task_fail")
    with pytest.raises(RuntimeError):  # one job failed: the call reports it as an error
        bpy.ops.foley.generate()
    assert len(foley_strips(scene)) == 2
    runtime = module("blender.runtime")
    batch = module("operators.batch")
    batch_id = runtime.engine().get(foley_strips(scene)[0]["vse_foley"]["job_id"]).batch_id
    assert batch_id
    assert [job.state.value for job in batch.batch_jobs(batch_id)].count("failed") == 1

    assert bpy.ops.foley.retry_batch(batch_id=batch_id) == {"FINISHED"}
    current = batch.batch_jobs(batch_id)
    assert runtime.engine().wait([job.id for job in current], timeout=60, pump=runtime.pump_once)
    runtime.pump()
    sounds = sorted(foley_strips(scene), key=lambda s: handles(s)[0])
    assert [handles(s) for s in sounds] == [handles(strips_of(scene)[n]) for n in names]
    assert {job.state.value for job in batch.batch_jobs(batch_id)} == {"inserted"}
    assert emulator.submit_count("wavespeed") == 4  # three, and the failed one once more


@requires_audaspace
def test_cancel_all_cancels_every_open_job_of_the_batch(
        extension: Any, online: None, emulator: VendorEmulator, tmp_path: Path) -> None:
    names = shot_edit(tmp_path, [2.0, 2.0])
    scene = bpy.context.scene
    scene.foley.provider = "vidu.text2audio"
    scene.foley.prompt = "crowd"
    scene.foley.each_strip = True
    generation = module("blender.generation")
    shots = module("blender.selection").choose_shots(scene, [strips_of(scene)[n] for n in names])
    emulator.reset()
    emulator.task_seconds = 3600.0  # the vendor is still working when the editor cancels
    try:
        jobs = generation.enqueue_ranges(bpy.context, scene, shots, ["vidu.text2audio"], each_strip=True)
        assert len({job.batch_id for job in jobs}) == 1
        assert bpy.ops.foley.cancel_batch(batch_id=jobs[0].batch_id) == {"FINISHED"}
        runtime = module("blender.runtime")
        assert {runtime.engine().get(job.id).state.value for job in jobs} == {"cancelled"}
    finally:
        emulator.task_seconds = 0.0
    runtime.pump()
    assert not foley_strips(scene)  # a cancelled job is never inserted


def test_the_right_click_entry_says_one_sound_per_strip_when_it_is_on(ui: SimpleNamespace) -> None:
    menus = module("panels.menus")
    scene = bpy.context.scene
    scene.foley.each_strip = True
    try:
        recorder = Recorder()
        menus.draw_context_menu(SimpleNamespace(layout=recorder), make_context())
        assert_valid(recorder)
        assert [(c.text, c.values) for c in recorder.operators("foley.generate")] == [
            ("Generate One Sound per Strip…", {"show_dialog": True})]
    finally:
        scene.foley.each_strip = False


def test_generates_dialog_lists_the_strips_left_out(ui: SimpleNamespace, online: None,
                                                    emulator: VendorEmulator, tmp_path: Path) -> None:
    names = shot_edit(tmp_path, [4.0, 1.0, 0.5, 5.0])
    scene = bpy.context.scene
    scene.foley.provider = "kling.video-to-audio"
    scene.foley.each_strip = True
    operator = module("operators.generate").FOLEY_OT_generate
    recorder = Recorder()
    fake = SimpleNamespace(layout=recorder, providers="", frame_start=0, frame_end=0)
    operator.draw(fake, make_context(selected_strips=[strips_of(scene)[n] for n in names]))
    assert_valid(recorder)
    text = recorder.all_text()
    assert "Left out (2 of 4 strips):" in text
    assert "Shot 2 (1.0 s): Kling video-to-audio needs at least 3 s." in text
    assert "Shot 3 (0.5 s):" in text and "Shot 1 (" not in text
    assert "2 strips × 1 take = 2 requests" in text
    assert any(call.args[1] == "each_strip" for call in recorder.props())


def test_the_sidebar_counts_a_long_range_with_its_cuts(ui: SimpleNamespace, tmp_path: Path) -> None:
    names = shot_edit(tmp_path, [12.0, 9.0, 15.0, 9.0])
    scene = bpy.context.scene
    scene.foley.provider = "kling.video-to-audio"
    scene.foley.each_strip = False
    selected = [strips_of(scene)[name] for name in names]
    draw = ui.panels_sidebar_draw
    chosen = draw.chosen_range(make_context(selected_strips=selected), scene)
    assert chosen.cuts == tuple(handles(strip)[0] for strip in selected[1:])
    info = module("providers").provider_info("kling.video-to-audio")
    assert draw.request_plan(info, chosen, scene.foley).calls == 4
    assert draw.cost_estimate(info, chosen, scene.foley).calls == 4  # the estimate counts the same chunks
    recorder = draw_panel(ui.panels_sidebar.FOLEY_PT_generate, make_context(selected_strips=selected))
    assert "made as 4 chunks, 3 of them split at the picture's cuts" in recorder.all_text()


def test_cuts_are_the_edges_of_visible_shots_only(ui: SimpleNamespace, tmp_path: Path) -> None:
    names = shot_edit(tmp_path, [4.0, 4.0, 4.0])
    scene = bpy.context.scene
    compat = module("compat")
    selection = module("blender.selection")
    frames = module("core.timeline").FrameRange(1, 300)
    starts = [handles(strips_of(scene)[name])[0] for name in names]
    title = compat.new_effect_strip(scene, "Title", "TEXT", 2, 30, 60)  # an overlay is no cut
    title.text = "T"
    hidden = compat.new_effect_strip(scene, "Hidden", "COLOR", 4, 150, 170)
    assert selection.edit_cuts(scene, frames) == (starts[1], 150, 170, starts[2])
    scene.sequence_editor.channels[4].mute = True  # a shot on a muted channel shows nothing
    assert selection.edit_cuts(scene, frames) == (starts[1], starts[2])
    scene.sequence_editor.channels[4].mute = False
    hidden.mute = True
    assert selection.edit_cuts(scene, frames) == (starts[1], starts[2])
