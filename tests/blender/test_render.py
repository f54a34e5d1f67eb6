"""The clip we send: a real H.264 MP4 of exactly the range, even-sized, no
audio, made without changing the user's scene or writing to their output path."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import bpy
import pytest
from blender_harness import MODULE

from devtools.sample_edit import build_edit, render_footage


def scene_settings(scene: Any) -> dict[str, Any]:
    render = scene.render
    settings = {
        "frame_start": scene.frame_start, "frame_end": scene.frame_end,
        "resolution": (render.resolution_x, render.resolution_y, render.resolution_percentage),
        "filepath": render.filepath, "file_format": render.image_settings.file_format,
        "ffmpeg": (render.ffmpeg.format, render.ffmpeg.codec, render.ffmpeg.audio_codec),
    }
    if hasattr(render.image_settings, "media_type"):
        settings["media_type"] = render.image_settings.media_type
    return settings


@pytest.mark.parametrize(("size", "short_side"), [
    ((1920, 1080), 360), ((1280, 720), 360), ((230, 129), 128), ((1080, 1920), 480), ((4096, 1716), 360),
])
def test_clip_sizes_are_even_small_and_keep_the_shape(extension: Any, size: tuple[int, int],
                                                      short_side: int) -> None:
    settings = importlib.import_module(MODULE + ".blender.render_settings")
    clip = settings.even_clip_size(size[0], size[1], short_side)
    assert clip.width % 2 == 0 and clip.height % 2 == 0  # FFmpeg refuses odd sizes
    assert clip.width <= size[0] and clip.height <= size[1]  # never upscaled
    assert clip.width / clip.height == pytest.approx(size[0] / size[1], rel=0.02)
    assert min(clip.width, clip.height) == pytest.approx(min(short_side, *size), rel=0.2)


def test_render_settings_are_restored_even_on_error(extension: Any) -> None:
    settings = importlib.import_module(MODULE + ".blender.render_settings")
    scene = bpy.context.scene
    scene.render.filepath = "//renders/final_"
    before = scene_settings(scene)
    size = settings.even_clip_size(1920, 1080, 360)
    with pytest.raises(RuntimeError, match="boom"), \
            settings.clip_render_settings(scene, 5, 20, size, "/tmp/clip_"):
        assert scene.render.ffmpeg.codec == "H264" and scene.frame_start == 5
        raise RuntimeError("boom")
    assert scene_settings(scene) == before


def test_range_renders_to_a_small_h264_clip_in_a_separate_process(extension: Any, tmp_path: Path) -> None:
    footage = render_footage(tmp_path / "shot.mp4", seconds=3.0, fps=25, width=640, height=360)
    edit = build_edit(footage, fps=25, width=640, height=360, start_frame=1)
    scene = bpy.context.scene
    scene.render.filepath = str(tmp_path / "user_output" / "final_")
    blend = tmp_path / "edit.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    before = scene_settings(scene)
    clip = importlib.import_module(MODULE + ".blender.clip")
    spec = clip.ClipSpec(str(blend), edit.scene_name, 11, 60, 180, str(tmp_path / "clips"), "clip")

    result = clip.render_clip_in_subprocess(clip.render_command(spec))

    path = Path(str(result["path"]))
    data = path.read_bytes()
    assert data[4:8] == b"ftyp" and b"avc1" in data  # an MP4 holding H.264
    assert b"mp4a" not in data  # no audio track
    assert (result["width"], result["height"]) == (320, 180)
    media = importlib.import_module(MODULE + ".providers.media")
    info = media.read_clip_info(path)
    assert info.duration == pytest.approx(50 / 25, abs=0.05)  # frames 11–60 inclusive
    assert scene_settings(scene) == before
    assert not (tmp_path / "user_output").exists()  # never the user's output path
