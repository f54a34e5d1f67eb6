"""The clip is never smaller than the provider's preferred input, and every FFmpeg
setting is set under its real name on this Blender version (a missing name fails)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import bpy
import pytest
from blender_harness import MODULE

from devtools.sample_edit import build_edit, render_footage


def render_settings() -> Any:
    return importlib.import_module(MODULE + ".blender.render_settings")


@pytest.mark.parametrize(("size", "short_side", "minimum"), [
    ((1920, 1080), 360, 384),  # the preference is below MMAudio's 384 px
    ((1920, 1080), 384, 0),  # a percentage that rounds down (378 px) must not be chosen
    ((1280, 720), 360, 384),
    ((320, 180), 360, 384),  # a scene smaller than the provider's input is upscaled
    ((230, 129), 128, 384),  # odd scene sizes still give even dimensions
    ((1080, 1920), 360, 384),
])
def test_clip_is_never_smaller_than_the_providers_preferred_input(
        extension: Any, size: tuple[int, int], short_side: int, minimum: int) -> None:
    clip = render_settings().even_clip_size(size[0], size[1], short_side, minimum)
    assert clip.width % 2 == 0 and clip.height % 2 == 0
    assert min(clip.width, clip.height) >= minimum
    if min(size) >= short_side:
        assert min(clip.width, clip.height) >= short_side
    assert clip.width / clip.height == pytest.approx(size[0] / size[1], rel=0.02)


def test_mmaudio_describes_its_preferred_input(extension: Any) -> None:
    providers = importlib.import_module(MODULE + ".providers")
    assert providers.provider_info("wavespeed.mmaudio-v2").min_short_side == 384
    for info in providers.all_provider_infos():
        assert info.min_short_side >= 0


def test_ffmpeg_settings_use_their_real_names(extension: Any) -> None:
    settings = render_settings()
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 25, 1.0
    ffmpeg = scene.render.ffmpeg
    ffmpeg.gopsize, ffmpeg.use_max_b_frames, ffmpeg.max_b_frames = 250, False, 7
    size = settings.even_clip_size(1920, 1080, 360)
    with settings.clip_render_settings(scene, 1, 50, size, "/tmp/clip_"):
        assert ffmpeg.gopsize == 25  # one keyframe a second
        assert ffmpeg.use_max_b_frames is True and ffmpeg.max_b_frames == 0
    assert (ffmpeg.gopsize, ffmpeg.use_max_b_frames, ffmpeg.max_b_frames) == (250, False, 7)
    for path, _value in settings.clip_settings(scene, 1, 50, size, "/tmp/clip_"):
        owner, attr = settings._path_get(scene, path)
        assert attr in owner.bl_rna.properties, f"{path} does not exist on Blender {bpy.app.version_string}"


def test_a_setting_missing_on_this_version_is_an_error_not_a_skip(extension: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    settings = render_settings()
    scene = bpy.context.scene
    original = settings.clip_settings

    def with_a_wrong_name(*args: Any) -> list[tuple[str, Any]]:
        return [*original(*args), ("render.ffmpeg.gop_size", 25)]  # the name it used to have

    monkeypatch.setattr(settings, "clip_settings", with_a_wrong_name)
    codec = scene.render.ffmpeg.codec
    with pytest.raises(AttributeError, match="gop_size"), \
            settings.clip_render_settings(scene, 1, 50, settings.even_clip_size(640, 360, 360), "/tmp/c_"):
        pass
    assert scene.render.ffmpeg.codec == codec  # nothing was changed before the error


def test_a_small_scene_renders_an_mmaudio_clip_of_at_least_384_px(extension: Any, tmp_path: Path) -> None:
    footage = render_footage(tmp_path / "shot.mp4", seconds=1.0, fps=25, width=320, height=180)
    edit = build_edit(footage, fps=25, width=320, height=180, start_frame=1)
    blend = tmp_path / "edit.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    clip = importlib.import_module(MODULE + ".blender.clip")
    spec = clip.ClipSpec(str(blend), edit.scene_name, 1, 20, 360, str(tmp_path / "clips"), "clip",
                         min_short_side=384)

    result = clip.render_clip_in_subprocess(clip.render_command(spec))

    assert min(int(result["width"]), int(result["height"])) >= 384
    media = importlib.import_module(MODULE + ".providers.media")
    info = media.read_clip_info(Path(str(result["path"])))
    assert min(info.width, info.height) >= 384
