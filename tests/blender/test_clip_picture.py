"""The clip's colours (the ``clip_colour`` preference): by default the Standard view transform,
the footage as recorded and about three times faster than AgX; "As the preview" keeps the
scene's own view transform (AgX here), so a vendor sees exactly what the preview shows. Either
way the clip's other settings (no dither, the small size, H.264) change the picture by no more
than the encoding does, and the scene's own settings are left as they were."""

from __future__ import annotations

import contextlib
import importlib
from pathlib import Path
from typing import Any

import bpy
import pytest
from blender_harness import MODULE, requires_audaspace, strips_of

from devtools.emulator import VendorEmulator
from devtools.sample_edit import set_fps
from vse_foley import compat

RED = (1.0, 0.1, 0.0)  # saturated: AgX moves it far from Standard


def module(name: str) -> Any:
    return importlib.import_module(f"{MODULE}.{name}")


def mean_rgb(path: Path) -> list[float]:
    """The mean colour of a picture file (a movie: its first frame), as Blender reads it."""
    image = bpy.data.images.load(str(path))
    try:
        pixels = image.pixels[:]
    finally:
        bpy.data.images.remove(image)
    count = len(pixels) // 4
    return [sum(pixels[channel::4]) / count for channel in range(3)]


def scene_render(scene: Any, path: Path) -> list[float]:
    """Frame 1 rendered as the user would (a PNG through the scene's own colour settings)."""
    scene.frame_set(1)
    scene.render.image_settings.file_format = "PNG"
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True, scene=scene.name)
    return mean_rgb(path)


def distance(a: list[float], b: list[float]) -> float:
    return max(abs(x - y) for x, y in zip(a, b, strict=True))


@pytest.fixture
def red_agx_scene(extension: Any, tmp_path: Path) -> tuple[Any, list[float], list[float]]:
    """A saved AgX scene of one red colour strip, and frame 1 as AgX and as Standard render it."""
    scene = bpy.context.scene
    set_fps(scene, 25)
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 320, 180, 100
    scene.frame_start, scene.frame_end = 1, 10
    scene.sequence_editor_create()
    picture = compat.new_effect_strip(scene, "picture", "COLOR", 1, 1, 11)
    picture.color = RED
    scene.view_settings.view_transform = "Standard"
    untransformed = scene_render(scene, tmp_path / "standard.png")
    scene.view_settings.view_transform = "AgX"
    as_seen = scene_render(scene, tmp_path / "agx.png")
    # the comparisons below can fail: the two transforms are far apart (3x the tolerance)
    assert distance(as_seen, untransformed) > 0.09
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    return scene, as_seen, untransformed


def render_clip(scene: Any, tmp_path: Path, **colour: str) -> tuple[list[float], dict[str, object]]:
    clip = module("blender.clip")
    spec = clip.ClipSpec(str(tmp_path / "edit.blend"), scene.name, 1, 10, 90, str(tmp_path / "clip"),
                         "clip", **colour)
    result = clip.render_clip_in_subprocess(clip.render_command(spec))
    return mean_rgb(Path(str(result["path"]))), result


def test_as_the_preview_keeps_the_scenes_view_transform(red_agx_scene: Any, tmp_path: Path) -> None:
    scene, as_seen, _untransformed = red_agx_scene

    colour, result = render_clip(scene, tmp_path, colour="SCENE")

    assert colour == pytest.approx(as_seen, abs=0.03)  # H.264's 4:2:0 and rounding only
    assert result["view_transform"] == "AgX"


def test_by_default_the_clip_is_the_footage_through_the_standard_view(red_agx_scene: Any,
                                                                      tmp_path: Path) -> None:
    scene, _as_seen, untransformed = red_agx_scene

    colour, result = render_clip(scene, tmp_path)  # the ClipSpec default is the preference's default

    assert colour == pytest.approx(untransformed, abs=0.03)
    assert result["view_transform"] == "Standard"
    assert scene.view_settings.view_transform == "AgX"  # the editor's scene is untouched


def test_the_view_settings_are_restored_after_a_clip(extension: Any) -> None:
    settings = module("blender.render_settings")
    scene = bpy.context.scene
    view = scene.view_settings
    view.view_transform, view.exposure = "AgX", 0.5
    look = view.look
    with settings.clip_render_settings(scene, 1, 10, settings.even_clip_size(320, 180, 90), "/tmp/c_",
                                       "STANDARD"):
        # exposure is the editor's brightness: kept
        assert (view.view_transform, view.look, view.exposure) == ("Standard", "None", 0.5)
    assert (view.view_transform, view.look, view.exposure) == ("AgX", look, 0.5)
    with settings.clip_render_settings(scene, 1, 10, settings.even_clip_size(320, 180, 90), "/tmp/c_",
                                       "SCENE"):
        assert view.view_transform == "AgX"


def test_the_preference_offers_exactly_the_colours_a_clip_knows(extension: Any) -> None:
    clip_cache = module("blender.clip_cache")
    prefs = bpy.context.preferences.addons[MODULE].preferences
    items = prefs.bl_rna.properties["clip_colour"].enum_items
    assert tuple(item.identifier for item in items) == clip_cache.CLIP_COLOURS
    assert prefs.bl_rna.properties["clip_colour"].default == clip_cache.DEFAULT_CLIP_COLOUR


@requires_audaspace
def test_generate_sends_the_clip_in_the_chosen_colours(red_agx_scene: Any, online: None,
                                                      emulator: VendorEmulator, tmp_path: Path) -> None:
    scene, as_seen, untransformed = red_agx_scene
    for strip in strips_of(scene):
        strip.select = True
    scene.foley.provider = "wavespeed.think-sound"
    scene.foley.prompt = "a hum"
    prefs = bpy.context.preferences.addons[MODULE].preferences
    runtime = module("blender.runtime")
    colours = {}
    try:
        for choice in ("STANDARD", "SCENE"):
            prefs.clip_colour = choice
            emulator.reset()
            assert bpy.ops.foley.generate() == {"FINISHED"}
            [task] = emulator.vendor_tasks("wavespeed")
            uploaded = tmp_path / f"uploaded-{choice}.mp4"
            uploaded.write_bytes(emulator.file_bytes(str(task.request["video"])) or b"")
            colours[choice] = mean_rgb(uploaded)
            newest = max(runtime.engine().jobs(), key=lambda job: job.created_at)
            assert newest.extra["clip_colour"] == choice  # kept with the job, for a resume's render
    finally:
        prefs.clip_colour = "STANDARD"
    # the same edit and frames: only the colour tells the two clips apart (no stale clip is reused)
    assert colours["STANDARD"] == pytest.approx(untransformed, abs=0.03)
    assert colours["SCENE"] == pytest.approx(as_seen, abs=0.03)


def test_without_a_standard_view_the_clip_keeps_the_scenes_view_and_look(
        extension: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A studio OCIO config may have no Standard view: setting it raises, and then neither the
    view nor the look may change (not the scene's view without its look)."""
    settings = module("blender.render_settings")
    scene = bpy.context.scene
    view = scene.view_settings
    view.view_transform = "AgX"
    for look in ("AgX - Punchy", "Punchy"):  # the name a Blender version gives it
        with contextlib.suppress(TypeError):
            view.look = look
    chosen = view.look
    assert chosen != "None"  # else the test could not see a look lost
    missing = [("view_settings.view_transform", "A view not in this config"), ("view_settings.look", "None")]
    monkeypatch.setattr(settings, "view_settings_for", lambda _colour: missing)
    with settings.clip_render_settings(scene, 1, 10, settings.even_clip_size(320, 180, 90), "/tmp/c_",
                                       "STANDARD"):
        assert (view.view_transform, view.look) == ("AgX", chosen)
    assert (view.view_transform, view.look) == ("AgX", chosen)
