"""A ComfyUI server as a provider (issue 16), in real Blender against the ComfyUI emulator."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bpy
import pytest
from blender_harness import MODULE, foley_strips, handles, requires_audaspace

from devtools.emulator.comfyui import ComfyUIEmulator
from devtools.sample_edit import build_edit, render_footage

pytestmark = requires_audaspace


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_footage(
        tmp_path_factory.mktemp("comfy") / "shot.mp4", seconds=3.0, fps=25, width=320, height=180
    )


@pytest.fixture()
def comfy() -> Iterator[ComfyUIEmulator]:
    with ComfyUIEmulator(polls_to_finish=1) as server:
        saved = os.environ.get("VSE_FOLEY_COMFYUI_URL")
        os.environ["VSE_FOLEY_COMFYUI_URL"] = server.url
        yield server
        if saved is None:
            os.environ.pop("VSE_FOLEY_COMFYUI_URL", None)
        else:
            os.environ["VSE_FOLEY_COMFYUI_URL"] = saved


def test_comfyui_mmaudio_generates_on_the_server_and_the_flac_lands_under_the_picture(
    extension: Any, online: None, comfy: ComfyUIEmulator, shot: Path, tmp_path: Path
) -> None:
    edit = build_edit(shot, fps=25, width=320, height=180, start_frame=1)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "comfy.blend"))
    scene = bpy.context.scene
    scene.foley.provider = "comfyui.mmaudio"
    scene.foley.prompt = "footsteps on gravel"
    scene.foley.variations = 1
    assert bpy.ops.foley.generate() == {"FINISHED"}

    [strip] = foley_strips(scene)
    assert handles(strip) == (edit.frame_start, edit.frame_end + 1)
    assert Path(bpy.path.abspath(strip.sound.filepath)).is_file()
    assert comfy.prompts_queued == 1  # one prompt on the server, nothing queued twice
    (entry,) = comfy.state.history.values()
    workflow = entry["prompt"][2]
    (loader,) = [node for node in workflow.values() if node["class_type"] == "LoadVideo"]
    (sampler,) = [node for node in workflow.values() if node["class_type"] == "MMAudioSampler"]
    assert loader["inputs"]["file"] in comfy.state.inputs  # the rendered clip, uploaded to the input folder
    assert sampler["inputs"]["prompt"] == "footsteps on gravel"
    assert sampler["inputs"]["duration"] == pytest.approx((edit.frame_end + 1 - edit.frame_start) / 25)
    runtime = importlib.import_module(MODULE + ".blender.runtime")
    job = runtime.engine().get(strip["vse_foley"]["job_id"])
    assert job is not None and job.provider_id == "comfyui.mmaudio"


def test_the_comfyui_preferences_are_the_server_url_a_lan_checkbox_a_token_and_a_workflow_file(
        extension: Any) -> None:
    prefs = bpy.context.preferences.addons[MODULE].preferences
    props = type(prefs).bl_rna.properties
    assert props["comfyui_url"].type == "STRING" and props["comfyui_url"].subtype == "NONE"
    assert props["comfyui_allow_lan_http"].type == "BOOLEAN"
    assert props["comfyui_token"].subtype == "PASSWORD"
    assert props["comfyui_workflow"].subtype == "FILE_PATH"
    preferences = importlib.import_module(MODULE + ".preferences")
    prefs.comfyui_allow_lan_http = True
    prefs.comfyui_url = "http://192.168.1.20:8188"
    try:
        values = preferences.provider_prefs()
        assert values["comfyui_allow_lan_http"] == "1"
        settings = importlib.import_module(MODULE + ".providers.settings").resolve_settings(values, {})
        assert settings.vendor("comfyui").require_url() == "http://192.168.1.20:8188"
        prefs.comfyui_allow_lan_http = False
        assert preferences.provider_prefs()["comfyui_allow_lan_http"] == ""
    finally:
        prefs.comfyui_allow_lan_http = False
        prefs.comfyui_url = ""
