"""Build real sample edits inside Blender for the tests, the demo and the bench.

The "footage" is itself rendered by Blender's sequencer: a coloured background
with a moving text block, so the clip we send has visible motion.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import bpy

from vse_foley import compat  # the checkout, importable in .venv: one place for version differences


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
    background = compat.new_effect_strip(scene, "background", "COLOR", 1, 1, frames + 1)
    background.color = (0.1, 0.3, 0.6)
    mover = compat.new_effect_strip(scene, "mover", "TEXT", 2, 1, frames + 1)
    mover.text = "STEP"
    mover.font_size = max(24, height // 5)
    mover.use_box = True
    for frame, x in ((1, 0.1), (frames, 0.9)):
        mover.location = (x, 0.5)
        mover.keyframe_insert("location", frame=frame)
    compat.use_ffmpeg_output(scene.render)
    ffmpeg = scene.render.ffmpeg
    assert ffmpeg is not None  # every scene's render settings have FFmpeg settings
    ffmpeg.format, ffmpeg.codec, ffmpeg.audio_codec = "MPEG4", "H264", "NONE"
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
        workspace = bpy.context.workspace
        if workspace is not None and hasattr(workspace, "sequencer_scene"):  # 5.x: the Sequencer shows it too
            workspace.sequencer_scene = scene
    set_fps(scene, fps)
    scene.render.resolution_x, scene.render.resolution_y = width, height
    scene.render.resolution_percentage = 100
    movie = compat.new_movie_strip(scene, "shot", str(footage), 1, start_frame)
    end_exclusive = compat.strip_end(movie)
    scene.frame_start, scene.frame_end = start_frame, end_exclusive - 1
    fps_exact = scene.render.fps / scene.render.fps_base
    texts = []
    for start_s, end_s, prompt in text_events:
        first = start_frame + round(start_s * fps_exact)
        last = start_frame + round(end_s * fps_exact)
        text = compat.new_effect_strip(scene, prompt[:20], "TEXT", 2, first, last)
        text.text = prompt
        texts.append(text.name)
    return SampleEdit(scene.name, movie.name, texts, start_frame, end_exclusive - 1)
