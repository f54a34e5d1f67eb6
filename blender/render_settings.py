"""Render a scene's sequencer to a small H.264 clip without changing the scene.

``clip_render_settings`` sets only what a clip needs and restores every value it
touched, even on error (Blender Studio's kitsu add-on does the same).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .. import compat
from .clip_cache import DEFAULT_CLIP_COLOUR


@dataclass(frozen=True)
class ClipSize:
    percentage: int
    width: int
    height: int
    resolution_x: int  # what resolution_x/_y must be set to (usually unchanged)
    resolution_y: int


def even_clip_size(resolution_x: int, resolution_y: int, short_side: int,
                   min_short_side: int = 0) -> ClipSize:
    """A size with even dimensions whose short side is close to ``short_side``, never below it
    when the scene allows, and never below ``min_short_side`` (the provider's preferred input).

    FFmpeg refuses odd sizes, and Blender truncates ``resolution * percentage / 100``,
    so prefer a percentage that gives even numbers and keeps the scene's own
    resolution (the sequencer lays strips out in render pixels). The preference
    never upscales the scene; the provider's minimum does when the scene is smaller.
    """
    short = min(resolution_x, resolution_y)
    if short <= 0:
        return ClipSize(100, max(2, resolution_x // 2 * 2), max(2, resolution_y // 2 * 2),
                        resolution_x, resolution_y)
    wanted = max(min(short_side, short), min_short_side)
    start = math.ceil(100 * wanted / short)  # the smallest percentage that reaches ``wanted``
    may_upscale = min_short_side > short  # only the provider's minimum upscales, never the preference
    # Upward first (reaching ``wanted``), then slightly below it while the provider's minimum holds.
    for percentage in (*range(start, start + 15), *range(start - 1, start - 15, -1)):
        if percentage < 1 or (percentage > 100 and not may_upscale):
            continue
        width = resolution_x * percentage // 100
        height = resolution_y * percentage // 100
        if min(width, height) < min_short_side:
            continue
        if width >= 2 and height >= 2 and width % 2 == 0 and height % 2 == 0:
            return ClipSize(percentage, width, height, resolution_x, resolution_y)
    # No clean percentage: round the resolution itself up to even numbers at 100 %.
    scale = max(wanted, min_short_side) / short
    width = max(2, math.ceil(resolution_x * scale / 2) * 2)
    height = max(2, math.ceil(resolution_y * scale / 2) * 2)
    return ClipSize(100, width, height, width, height)


def _path_get(root: Any, path: str) -> Any:
    owner, _, attr = path.rpartition(".")
    for part in owner.split(".") if owner else ():
        root = getattr(root, part)
    return root, attr


def clip_settings(scene: Any, frame_start: int, frame_end: int, size: ClipSize,
                  filepath: str) -> list[tuple[str, Any]]:
    """Every setting a clip render changes, by its real RNA path (scene-relative).

    No name is optional: one that a Blender version lacks raises AttributeError
    (and fails the suite on that version) instead of being skipped silently.
    """
    render = scene.render
    return [
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
        # A keyframe every second, so a vendor can seek; the RNA name is ``gopsize``.
        ("render.ffmpeg.gopsize", max(1, round(render.fps / render.fps_base))),
        # ``max_b_frames`` is read only while ``use_max_b_frames`` is on (rna_scene.cc).
        ("render.ffmpeg.use_max_b_frames", True),
        ("render.ffmpeg.max_b_frames", 0),
        ("render.ffmpeg.audio_codec", "NONE"),
        # No dither noise: with a view transform other than Standard (AgX, Filmic) every frame goes
        # byte -> float -> view transform -> byte, and ``IMB_buffer_byte_from_float`` adds random
        # noise of ``dither_intensity`` (render_result.cc ``RE_render_result_rect_to_ibuf`` sets
        # ``ibuf->dither``; colormanagement.cc ``do_display_buffer_apply_thread`` applies it). The
        # picture is the same within one code value, the noise only costs bits: the bench's clip
        # went from 318 to 216 kB. The view transform itself stays: it is what the editor sees.
        ("render.dither_intensity", 0.0),
    ]


def view_settings_for(colour: str) -> list[tuple[str, Any]]:
    """The view settings a clip of ``colour`` (``clip_cache.CLIP_COLOURS``) changes.

    STANDARD: the Standard view transform and no look. A movie or image strip's pixels are then
    written as they were recorded (sRGB in, sRGB out, no colour processing at all), which is also
    what the video-to-audio models were trained on. AgX or Filmic (a new General scene's AgX)
    run OpenColorIO on every output pixel, byte -> float -> view transform -> byte
    (colormanagement.cc, ``IMB_colormanagement_imbuf_for_write``): measured here, a 4 s
    640x360 clip takes 1.6 s with AgX and 0.53 s with Standard. Blender makes the same choice for
    video editing: its Video_Editing template sets Standard with the comment "Filmic is too slow,
    use standard until it is optimized" (versioning_defaults.cc, ``BLO_update_defaults_startup_blend``).
    Exposure, gamma and curves stay: they are the editor's own brightness.

    SCENE: nothing changes; the clip is what the preview shows (the ``clip_colour`` preference).
    The view goes first, then the look: "None" is valid under every view, and when the view cannot
    be set (``clip_render_settings``) the scene's look stays with the scene's view.
    """
    if colour != "STANDARD":
        return []
    return [("view_settings.view_transform", "Standard"), ("view_settings.look", "None")]


@contextmanager
def clip_render_settings(scene: Any, frame_start: int, frame_end: int, size: ClipSize,
                         filepath: str, colour: str = DEFAULT_CLIP_COLOUR) -> Iterator[None]:
    """Temporarily configure ``scene`` to render [frame_start, frame_end] as our clip."""
    render = scene.render
    # Read every value before changing anything: switching to FFmpeg resets the codec settings.
    settings = render.image_settings
    saved: list[tuple[Any, str, Any]] = [
        (settings, attr, getattr(settings, attr))
        # Restored in reverse: media_type before file_format, as 5.0+ requires.
        for attr in compat.output_format_attributes()
    ]
    targets = []
    for path, value in clip_settings(scene, frame_start, frame_end, size, filepath):
        owner, attr = _path_get(scene, path)
        before = getattr(owner, attr)  # AttributeError: a name this version lacks (a test fails)
        # An enum whose stored value has no item reads as "" (5.0, ffmpeg_preset of a new scene) and
        # cannot be written back; it is set for the clip but left as Blender reads it afterwards.
        if before != "" or owner.bl_rna.properties[attr].type != "ENUM":
            saved.append((owner, attr, before))
        targets.append((owner, attr, value))
    view_targets = [(*_path_get(scene, path), value) for path, value in view_settings_for(colour)]
    view_saved = [(owner, attr, getattr(owner, attr)) for owner, attr, _value in view_targets]
    saved += view_saved
    try:
        compat.use_ffmpeg_output(render)
        settings.color_mode = "RGB"
        for owner, attr, value in targets:
            setattr(owner, attr, value)
        try:
            for owner, attr, value in view_targets:
                setattr(owner, attr, value)
        except TypeError:
            # A studio's own OCIO config may have no Standard view (the views are the config's): the
            # clip then keeps the scene's view and look, the slow but faithful choice.
            for owner, attr, value in reversed(view_saved):
                setattr(owner, attr, value)
        yield
    finally:
        for owner, attr, value in reversed(saved):
            setattr(owner, attr, value)
