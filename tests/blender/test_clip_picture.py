"""The clip looks like the scene's own render: its view transform (AgX here) is kept, so a
vendor sees what the editor sees in the preview; the clip's settings (no dither, the small
size, H.264) change the picture by no more than the encoding does."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import bpy
import pytest
from blender_harness import MODULE

from devtools.sample_edit import set_fps
from vse_foley import compat


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


def test_the_clip_keeps_the_scenes_view_transform(extension: Any, tmp_path: Path) -> None:
    scene = bpy.context.scene
    set_fps(scene, 25)
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 320, 180, 100
    scene.frame_start, scene.frame_end = 1, 10
    scene.sequence_editor_create()
    picture = compat.new_effect_strip(scene, "picture", "COLOR", 1, 1, 11)
    picture.color = (1.0, 0.1, 0.0)  # saturated: AgX moves it far from Standard
    scene.view_settings.view_transform = "AgX"
    as_seen = scene_render(scene, tmp_path / "agx.png")
    scene.view_settings.view_transform = "Standard"
    untransformed = scene_render(scene, tmp_path / "standard.png")
    scene.view_settings.view_transform = "AgX"
    blend = tmp_path / "edit.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    clip = importlib.import_module(MODULE + ".blender.clip")
    spec = clip.ClipSpec(str(blend), scene.name, 1, 10, 90, str(tmp_path / "clip"), "clip")

    result = clip.render_clip_in_subprocess(clip.render_command(spec))

    clip_colour = mean_rgb(Path(str(result["path"])))
    assert clip_colour == pytest.approx(as_seen, abs=0.03)  # H.264's 4:2:0 and rounding only
    # and the comparison can fail: without the view transform the colour is far from it (3x the tolerance)
    assert max(abs(a - b) for a, b in zip(as_seen, untransformed, strict=True)) > 0.09
