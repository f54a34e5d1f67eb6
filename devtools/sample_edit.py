"""Build real sample edits inside Blender for the tests, the demo and the bench.

The "footage" is itself rendered by Blender's sequencer: a coloured background
with a moving text block, so the clip we send has visible motion.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import bpy


def _strips(scene):
    editor = scene.sequence_editor or scene.sequence_editor_create()
    return editor.strips if hasattr(editor, "strips") else editor.sequences


def _new_effect(scene, name, effect_type, channel, frame_start, frame_end):
    strips = _strips(scene)
    if "length" in strips.bl_rna.functions["new_effect"].parameters:  # 5.0+: length, not frame_end
        return strips.new_effect(name=name, type=effect_type, channel=channel, frame_start=frame_start,
                                 length=frame_end - frame_start)
    return strips.new_effect(name=name, type=effect_type, channel=channel, frame_start=frame_start,
                             frame_end=frame_end)


def _right_handle(strip) -> int:
    """One past the last visible frame (``right_handle`` 5.2+, ``frame_final_end`` before)."""
    return int(strip.right_handle if hasattr(strip, "right_handle") else strip.frame_final_end)


def _use_ffmpeg(render):
    if hasattr(render.image_settings, "media_type"):
        render.image_settings.media_type = "VIDEO"
    render.image_settings.file_format = "FFMPEG"
    render.ffmpeg.format = "MPEG4"
    render.ffmpeg.codec = "H264"
    render.ffmpeg.audio_codec = "NONE"


def set_fps(scene, fps: float) -> None:
    """25 → 25/1; 23.976 → 24/1.001; 29.97 → 30/1.001."""
    whole = round(fps)
    if abs(fps - whole) < 1e-6:
        scene.render.fps, scene.render.fps_base = whole, 1.0
    else:
        scene.render.fps, scene.render.fps_base = whole, 1.001


def render_footage(path: Path, *, seconds: float, fps: float = 25, width: int = 640,
                   height: int = 360) -> Path:
    """Render a moving-text clip to ``path`` (an H.264 MP4) and return the written file."""
    scene = bpy.data.scenes.new("footage")
    set_fps(scene, fps)
    frames = round(seconds * scene.render.fps / scene.render.fps_base)
    scene.frame_start, scene.frame_end = 1, frames
    scene.render.resolution_x, scene.render.resolution_y = width, height
    scene.render.resolution_percentage = 100
    background = _new_effect(scene, "background", "COLOR", 1, 1, frames + 1)
    background.color = (0.1, 0.3, 0.6)
    mover = _new_effect(scene, "mover", "TEXT", 2, 1, frames + 1)
    mover.text = "STEP"
    mover.font_size = max(24, height // 5)
    mover.use_box = True
    for frame, x in ((1, 0.1), (frames, 0.9)):
        mover.location = (x, 0.5)
        mover.keyframe_insert("location", frame=frame)
    _use_ffmpeg(scene.render)
    ffmpeg = scene.render.ffmpeg
    assert ffmpeg is not None  # every scene's render settings have FFmpeg settings
    ffmpeg.constant_rate_factor = "MEDIUM"
    ffmpeg.ffmpeg_preset = "REALTIME"
    path.parent.mkdir(parents=True, exist_ok=True)
    scene.render.filepath = str(path.with_suffix(""))
    bpy.ops.render.render(animation=True, scene=scene.name)
    written = sorted(path.parent.glob(path.stem + "*.mp4"))[-1]
    if written != path:
        written.rename(path)
    bpy.data.scenes.remove(scene)
    return path


@dataclass
class SampleEdit:
    scene_name: str
    movie_strip: str
    text_strips: list[str]
    frame_start: int
    frame_end: int  # inclusive


def build_edit(footage: Path, *, fps: float = 25, width: int = 640, height: int = 360,
               start_frame: int = 1, text_events: tuple[tuple[float, float, str], ...] = (),
               scene_name: str | None = None) -> SampleEdit:
    """An edit with the footage on channel 1 and text strips (timed prompts) on channel 2."""
    scene = bpy.data.scenes.new(scene_name) if scene_name else bpy.context.scene
    assert scene is not None, "no current scene to build the edit in"
    if bpy.context.window is not None and scene_name:
        bpy.context.window.scene = scene
    set_fps(scene, fps)
    scene.render.resolution_x, scene.render.resolution_y = width, height
    scene.render.resolution_percentage = 100
    strips = _strips(scene)
    movie = strips.new_movie(name="shot", filepath=str(footage), channel=1, frame_start=start_frame)
    end_exclusive = _right_handle(movie)
    scene.frame_start, scene.frame_end = start_frame, end_exclusive - 1
    fps_exact = scene.render.fps / scene.render.fps_base
    texts = []
    for start_s, end_s, prompt in text_events:
        first = start_frame + round(start_s * fps_exact)
        last = start_frame + round(end_s * fps_exact)
        text = _new_effect(scene, prompt[:20], "TEXT", 2, first, last)
        text.text = prompt
        texts.append(text.name)
    return SampleEdit(scene.name, movie.name, texts, start_frame, end_exclusive - 1)
