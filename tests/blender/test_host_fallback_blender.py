"""Issue 14 item 6 in real Blender: the provider menu groups the hosts of one model, "Any host"
shows beside the provider only when it can matter, and a job whose chosen host proves it made
nothing lands through the next host, which the strip and the job row name.
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import bpy
import pytest
from blender_harness import MODULE, foley_strips, requires_audaspace
from test_pipeline import footage, make_saved_edit
from test_ui import Recorder, assert_valid, draw_panel, make_context

from devtools.emulator import VendorEmulator
from vse_foley.providers.catalog import PROVIDER_IDS

__all__ = ["footage"]  # the footage fixture, shared with the pipeline tests


def _module(name: str) -> Any:
    return importlib.import_module(f"{MODULE}.{name}")


def test_the_provider_menu_puts_the_hosts_of_a_model_under_its_name(extension: Any) -> None:
    prop = bpy.context.scene.foley.bl_rna.properties["provider"]
    shown = [(item.identifier, item.name, item.value) for item in prop.enum_items_static_ui]
    headings = [name for identifier, name, _value in shown if not identifier and name]
    assert headings == ["ThinkSound", "MMAudio v2", "Kling video-to-audio"]
    order = [identifier for identifier, _name, _value in shown]
    thinksound = order.index("")  # the first heading; its hosts follow it
    assert order[thinksound + 1:thinksound + 3] == ["wavespeed.think-sound", "fal.thinksound"]
    kling = order.index("wavespeed.kling-video-to-audio")
    assert order[kling - 1] == "" and order[kling:kling + 3] == [
        "wavespeed.kling-video-to-audio", "kling.video-to-audio", "fal.kling-video-to-audio"]
    # every identifier once, with the number it had in the flat list (saved files store the number)
    items = {item.identifier: item.value for item in prop.enum_items}
    assert items == {provider_id: index for index, provider_id in enumerate(PROVIDER_IDS)}
    assert bpy.context.scene.foley.provider == PROVIDER_IDS[0]


def test_generate_with_lists_the_hosts_of_a_model_together(extension: Any, emulator: VendorEmulator) -> None:
    recorder = Recorder()
    _module("panels.sidebar_draw").draw_generate_with_menu(recorder, make_context())
    assert_valid(recorder)
    walk = [(call.kind, call.text if call.kind == "label" else call.values.get("providers", ""))
            for call in recorder.walk() if call.kind in ("label", "operator")]
    heading = walk.index(("label", "MMAudio v2"))
    assert walk[heading + 1:heading + 3] == [("operator", "wavespeed.mmaudio-v2"),
                                             ("operator", "fal.mmaudio-v2")]


def test_any_host_shows_only_when_the_model_has_another_usable_host(
    extension: Any, emulator: VendorEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    scene = bpy.context.scene
    generate = _module("panels.sidebar").FOLEY_PT_generate
    scene.foley.provider = "wavespeed.mmaudio-v2"
    shown = [call for call in draw_panel(generate, make_context()).props("any_host")]
    assert len(shown) == 1 and shown[0].text == "Any host (also fal.ai)"
    dialog = Recorder()  # the right-click dialog (and the shortcut's) draws the same switch
    bpy.types.FOLEY_OT_generate.draw(SimpleNamespace(layout=dialog, providers="", frame_start=0, frame_end=0),
                                     make_context())
    assert_valid(dialog)
    assert [call.text for call in dialog.props("any_host")] == ["Any host (also fal.ai)"]
    scene.foley.provider = "vidu.text2audio"  # a model with one host
    assert draw_panel(generate, make_context()).props("any_host") == []
    scene.foley.provider = "wavespeed.mmaudio-v2"
    monkeypatch.delenv("FAL_KEY")  # fal is a host of the model, but not usable now
    assert draw_panel(generate, make_context()).props("any_host") == []
    assert scene.foley.any_host is False  # off by default: the editor's choice of host is respected


@requires_audaspace
def test_a_job_lands_through_the_second_host_which_is_named(
    extension: Any, online: None, emulator: VendorEmulator, footage: dict[float, Path], tmp_path: Path
) -> None:
    emulator.reset()
    make_saved_edit(tmp_path, footage[25.0])
    scene = bpy.context.scene
    scene.foley.provider = "wavespeed.mmaudio-v2"
    scene.foley.prompt = "footsteps on gravel"
    scene.foley.any_host = True
    # WaveSpeed's own "unavailable" (503, code 5003) to the submit and to each of its re-sends
    emulator.inject("wavespeed", "unavailable", count=3)

    assert bpy.ops.foley.generate() == {"FINISHED"}

    [strip] = foley_strips(scene)
    meta = strip["vse_foley"]
    assert meta["provider"] == "fal.mmaudio-v2"
    assert str(meta["made_by"]).startswith("Made by fal.ai; WaveSpeed was unavailable"), meta["made_by"]
    assert emulator.tasks_created("wavespeed") == 0 and emulator.tasks_created("fal") == 1
    job = _module("blender.runtime").engine().get(str(meta["job_id"]))
    assert job is not None and job.provider_id == "fal.mmaudio-v2"
    assert job.hosts == ["wavespeed.mmaudio-v2", "fal.mmaudio-v2"]
    history = draw_panel(_module("panels.sidebar").FOLEY_PT_history, make_context()).all_text()
    assert "MMAudio v2 (fal.ai)" in history and "Made by fal.ai; WaveSpeed was unavailable" in history


@requires_audaspace  # a script's Generate waits for its strips, which the bpy 4.2 wheel cannot make
def test_hosts_compared_in_one_generate_are_not_each_others_fallback(
    extension: Any, online: None, emulator: VendorEmulator, footage: dict[float, Path], tmp_path: Path
) -> None:
    emulator.reset()
    make_saved_edit(tmp_path, footage[25.0])
    scene = bpy.context.scene
    scene.foley.prompt = "footsteps on gravel"
    scene.foley.any_host = True
    before = time.time()
    assert bpy.ops.foley.generate(providers="wavespeed.mmaudio-v2,fal.mmaudio-v2,wavespeed.think-sound") == {
        "FINISHED"}
    engine = _module("blender.runtime").engine()
    hosts = {job.provider_id: job.hosts for job in engine.jobs() if job.created_at >= before}
    assert len(hosts) == 3
    assert hosts["wavespeed.mmaudio-v2"] == [] and hosts["fal.mmaudio-v2"] == []  # compared: stay apart
    assert hosts["wavespeed.think-sound"] == ["wavespeed.think-sound", "fal.thinksound"]


def test_the_job_row_names_the_host_of_a_moved_job_and_of_a_moved_chunk(extension: Any) -> None:
    from fractions import Fraction

    jobs, base, timeline = _module("core.jobs"), _module("providers.base"), _module("core.timeline")
    draw_job = _module("panels.jobs_list").draw_job

    def made(provider_id: str, state: str, **fields: Any) -> Any:
        request = base.GenerationRequest(provider_id=provider_id, duration=4.0, prompt="rain")
        job = jobs.Job.create(request, timeline.FrameRange(1, 96), Fraction(24), now=1000.0)
        job.state = jobs.JobState(state)
        for name, value in fields.items():
            setattr(job, name, value)
        return job

    why = "WaveSpeed was unavailable (HTTP 503: it refused the request), so nothing was charged there"
    moved = made("fal.mmaudio-v2", "generating", host_note=why,
                 hosts=["wavespeed.mmaudio-v2", "fal.mmaudio-v2"])
    moved.note = _module("core.host_fallback").moved_note(moved)
    row = Recorder()
    draw_job(row, moved, now=1010.0)
    assert_valid(row)
    text = row.all_text()
    assert text.count("Sent to fal.ai instead: WaveSpeed was unavailable") == 1  # once, not twice
    assert "MMAudio v2 (fal.ai)" in text
    parent = made("wavespeed.mmaudio-v2", "generating")
    chunk = made("fal.mmaudio-v2", "ready", host_note=why, chunk_index=1, parent_id=parent.id)
    row = Recorder()
    draw_job(row, parent, [made("wavespeed.mmaudio-v2", "generating", chunk_index=0), chunk], now=1010.0)
    assert "Chunk 2: Made by fal.ai; WaveSpeed was unavailable" in row.all_text()
