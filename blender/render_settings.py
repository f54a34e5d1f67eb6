"""Render a scene's sequencer to a small H.264 clip without changing the scene.

``clip_render_settings`` sets only what a clip needs and restores every value it
touched, even on error (Blender Studio's kitsu add-on does the same).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .. import compat

DEFAULT_SHORT_SIDE = 360


@dataclass(frozen=True)
class ClipSize:
    percentage: int
    width: int
    height: int
    resolution_x: int  # what resolution_x/_y must be set to (usually unchanged)
    resolution_y: int


def even_clip_size(resolution_x: int, resolution_y: int, short_side: int) -> ClipSize:
    """A size with even dimensions whose short side is close to ``short_side``.

    FFmpeg refuses odd sizes, and Blender truncates ``resolution * percentage / 100``,
    so prefer a percentage that gives even numbers and keeps the scene's own
    resolution (the sequencer lays strips out in render pixels). Never upscale.
    """
    short = min(resolution_x, resolution_y)
    target = max(1, min(100, round(100 * short_side / short))) if short else 100
    for delta in range(0, 15):
        for percentage in (target - delta, target + delta):
            if not 1 <= percentage <= 100:
                continue
            width = resolution_x * percentage // 100
            height = resolution_y * percentage // 100
            if width >= 2 and height >= 2 and width % 2 == 0 and height % 2 == 0:
                return ClipSize(percentage, width, height, resolution_x, resolution_y)
    # No clean percentage: round the resolution itself to even numbers at 100 %.
    scale = target / 100
    width = max(2, int(resolution_x * scale) // 2 * 2)
    height = max(2, int(resolution_y * scale) // 2 * 2)
    return ClipSize(100, width, height, width, height)


def _path_get(root: Any, path: str) -> Any:
    owner, _, attr = path.rpartition(".")
    for part in owner.split(".") if owner else ():
        root = getattr(root, part)
    return root, attr


@contextmanager
def clip_render_settings(scene: Any, frame_start: int, frame_end: int, size: ClipSize,
                         filepath: str) -> Iterator[None]:
    """Temporarily configure ``scene`` to render [frame_start, frame_end] as our clip."""
    render = scene.render
    wanted: list[tuple[str, Any]] = [
        ("frame_start", frame_start),
        ("frame_end", frame_end),
        ("frame_step", 1),
        ("render.resolution_x", size.resolution_x),
        ("render.resolution_y", size.resolution_y),
        ("render.resolution_percentage", size.percentage),
        ("render.filepath", filepath),
        ("render.use_file_extension", True),
        ("render.use_sequencer", True),
        ("render.use_compositing", False),
        ("render.use_stamp", False),
        ("render.use_overwrite", True),
        ("render.ffmpeg.format", "MPEG4"),
        ("render.ffmpeg.codec", "H264"),
        ("render.ffmpeg.constant_rate_factor", "LOW"),
        ("render.ffmpeg.ffmpeg_preset", "REALTIME"),
        ("render.ffmpeg.gop_size", max(1, round(render.fps / render.fps_base))),
        ("render.ffmpeg.max_b_frames", 0),
        ("render.ffmpeg.audio_codec", "NONE"),
    ]
    # Read every value before changing anything: switching to FFmpeg resets the codec settings.
    settings = render.image_settings
    saved: list[tuple[Any, str, Any]] = [
        (settings, attr, getattr(settings, attr))
        # Restored in reverse: media_type before file_format, as 5.0+ requires.
        for attr in ("color_mode", "file_format", "media_type") if hasattr(settings, attr)
    ]
    targets = []
    for path, value in wanted:
        owner, attr = _path_get(scene, path)
        if hasattr(owner, attr):  # a setting this Blender version may not have
            saved.append((owner, attr, getattr(owner, attr)))
            targets.append((owner, attr, value))
    try:
        compat.use_ffmpeg_output(render)
        settings.color_mode = "RGB"
        for owner, attr, value in targets:
            setattr(owner, attr, value)
        yield
    finally:
        for owner, attr, value in reversed(saved):
            setattr(owner, attr, value)
