"""Blender 5.x: the Sequencer edits the workspace's sequencer scene, which may
differ from the window's scene or be None. Generate follows the sequencer scene,
refuses when there is none (never the window's 3D scene), and a job inserts into
its own scene even when the Sequencer shows another one by then."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import bpy
import pytest
from blender_harness import MODULE, foley_strips, requires_audaspace, show_in_sequencer, strips_of

from devtools.emulator import VendorEmulator
from devtools.sample_edit import build_edit, render_footage

HAS_SEQUENCER_SCENE = hasattr(bpy.context, "sequencer_scene")
five_only = pytest.mark.skipif(not HAS_SEQUENCER_SCENE,
                               reason="4.x has no separate sequencer scene (context.scene is it)")


def module(name: str) -> Any:
    return importlib.import_module(f"{MODULE}.{name}")


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_footage(tmp_path_factory.mktemp("footage") / "shot.mp4", seconds=2.0, fps=25,
                          width=320, height=180)


def window_scene_with_a_camera() -> Any:
    """What the window shows: a 3D scene whose render would be its camera view."""
    scene = bpy.context.scene
    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    scene.collection.objects.link(camera)
    scene.camera = camera
    return scene


def edit_scene(footage: Path, name: str = "Edit") -> Any:
    window = bpy.context.window
    before = window.scene
    edit = build_edit(footage, fps=25, width=320, height=180, start_frame=1, scene_name=name)
    window.scene = before  # the window keeps showing the 3D scene
    return bpy.data.scenes[edit.scene_name]


def test_sequencer_scene_on_4x_is_the_context_scene(extension: Any) -> None:
    if HAS_SEQUENCER_SCENE:
        show_in_sequencer(bpy.context.scene)
    assert module("compat").sequencer_scene(bpy.context) == bpy.context.scene


@five_only
def test_sequencer_scene_without_a_window_is_the_scripts_scene(extension: Any) -> None:
    """``blender -b`` has no window, so no workspace and no sequencer scene (the context has
    no such member then): a script's ``context.scene`` is the scene it means."""
    scene = bpy.context.scene
    bpy.context.workspace.sequencer_scene = bpy.data.scenes.new("Edit")
    with bpy.context.temp_override(window=None):
        assert not hasattr(bpy.context, "sequencer_scene")
        assert module("compat").sequencer_scene(bpy.context) == scene
    assert module("compat").sequencer_scene(bpy.context).name == "Edit"  # with the window: the Sequencer's


@five_only
def test_sequencer_scene_none_disables_generate_with_a_sentence(
        extension: Any, online: None, emulator: VendorEmulator, footage: Path) -> None:
    compat = module("compat")
    window_scene = window_scene_with_a_camera()
    build_edit(footage, fps=25, width=320, height=180, start_frame=1)  # strips in the window's scene
    bpy.context.workspace.sequencer_scene = None  # a new 5.x workspace: the header offers a scene picker
    emulator.reset()

    assert compat.sequencer_scene(bpy.context) is None  # no fallback to the window's scene
    assert not bpy.ops.foley.generate.poll()
    with pytest.raises(RuntimeError, match="Choose a sequencer scene in the Sequencer header"):
        bpy.ops.foley.generate()
    draw = module("panels.sidebar_draw")
    scene, settings = draw.foley_settings(bpy.context)
    assert (scene, settings) == (None, None)
    [blocker] = draw.generate_blockers(bpy.context, scene, settings, None)
    assert blocker.text == "Choose a sequencer scene in the Sequencer header."
    assert emulator.requests == []
    assert not foley_strips(window_scene)


@five_only
@requires_audaspace
def test_sequencer_scene_other_than_context_scene_gets_the_sound(extension: Any, online: None,
                                                                 emulator: VendorEmulator, footage: Path,
                                                                 tmp_path: Path) -> None:
    window_scene = window_scene_with_a_camera()
    edit = edit_scene(footage)
    bpy.context.workspace.sequencer_scene = edit
    assert bpy.context.scene == window_scene and bpy.context.sequencer_scene == edit
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    edit.foley.provider = "wavespeed.think-sound"
    edit.foley.prompt = "footsteps"
    window_scene.foley.provider = "vidu.text2audio"  # what a fallback to the window's scene would use
    emulator.reset()

    assert bpy.ops.foley.generate() == {"FINISHED"}

    [strip] = foley_strips(edit)
    assert strip["vse_foley"]["provider"] == "wavespeed.think-sound"
    assert window_scene.sequence_editor is None or not foley_strips(window_scene)
    assert emulator.submit_count("vidu") == 0
    movie = next(s for s in strips_of(edit) if s.type == "MOVIE")
    assert strip.channel > movie.channel


@five_only
@requires_audaspace
def test_sequencer_scene_changed_during_a_job_keeps_the_jobs_scene(extension: Any, online: None,
                                                                  emulator: VendorEmulator, footage: Path,
                                                                  tmp_path: Path) -> None:
    edit = edit_scene(footage, "Edit")
    other = edit_scene(footage, "Other")
    show_in_sequencer(edit)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    edit.foley.provider = "vidu.text2audio"
    edit.foley.prompt = "rain"
    generation = module("blender.generation")
    selection = module("blender.selection")
    compat = module("compat")
    scene = compat.sequencer_scene(bpy.context)
    assert scene == edit
    chosen = selection.choose_range(scene, [], 1, 50)
    [job] = generation.enqueue_generation(bpy.context, scene, chosen, ["vidu.text2audio"])

    show_in_sequencer(other)  # the editor switches the Sequencer to another scene meanwhile
    runtime = module("blender.runtime")
    assert runtime.engine().wait([job.id], timeout=30, pump=runtime.pump_once)
    runtime.pump()

    assert runtime.engine().get(job.id).state.value == "inserted"
    [strip] = foley_strips(edit)
    assert strip["vse_foley"]["job_id"] == job.id
    assert not foley_strips(other)
