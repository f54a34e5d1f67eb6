"""Make the clip a video provider needs, without freezing Blender.

The main thread only writes a copy of the edit (``prepare_clip_source``); a
worker thread then renders it in a separate Blender process
(``clip_cache``, bpy-free) which the user's session never waits on.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import bpy

from .. import compat
from ..providers.errors import FoleyError
from . import clip_cache
from .clip_cache import ClipSpec, render_clip_in_subprocess

__all__ = ["ClipSpec", "clip_source_key", "prepare_clip_source", "render_clip_in_subprocess",
           "render_command", "shared_clip_source"]


def prepare_clip_source(scene_name: str, work_dir: Path) -> str:
    """Write what the scene needs to render into a .blend for the render process (main thread, fast).

    ``bpy.data.libraries.write`` is Blender's partial writer (``BKE_blendfile_write_partial``,
    blendfile.cc): it writes the scene and every data-block it references (scene strips' scenes,
    sounds, fonts, images, packed data included) and nothing else. Unlike
    ``save_as_mainfile(copy=True)`` (``wm_file_write``, wm_files.cc) it runs no save handlers of
    other add-ons, reports nothing in the status bar, writes no thumbnail and never auto-packs
    the live file. ``ABSOLUTE`` rebases every ``//`` path on the open file's folder, so movies,
    image sequences and sounds resolve wherever the copy lives.
    """
    scene = bpy.data.scenes.get(scene_name)
    if scene is None:
        raise FoleyError(f"The scene '{scene_name}' is not in the open file any more.")
    work_dir.mkdir(parents=True, exist_ok=True)
    copy_path = work_dir / "source.blend"
    # Blender writes to "<path>@" and renames it when complete: a reader never sees half a file.
    bpy.data.libraries.write(str(copy_path), {scene}, path_remap="ABSOLUTE", compress=False)
    return str(copy_path)


# Strips whose picture depends on data a strip fingerprint cannot see (another scene's objects, a mask's
# shape, a tracked clip): while the file has unsaved changes, their copies are never shared.
_OPAQUE_STRIP_TYPES = frozenset({"SCENE", "MASK", "MOVIECLIP"})
# Selection and proxies (preview-only) never change the rendered picture.
_SKIPPED_PROPERTIES = frozenset({"rna_type", "select", "select_left_handle", "select_right_handle", "proxy"})


_PROPERTY_LISTS: dict[str, tuple[tuple[str, str, bool], ...]] = {}


def _properties_of(struct: Any) -> tuple[tuple[str, str, bool], ...]:
    """(name, RNA type, is an array) of the properties worth reading, once per RNA type."""
    rna = struct.bl_rna
    cached = _PROPERTY_LISTS.get(rna.identifier)
    if cached is None:
        cached = tuple((prop.identifier, prop.type, bool(getattr(prop, "is_array", False)))
                       for prop in rna.properties
                       if prop.identifier not in _SKIPPED_PROPERTIES
                       # deprecated names are aliases of current ones (5.2: frame_final_* for handles)
                       and not getattr(prop, "is_deprecated", False)
                       and (not prop.is_readonly or prop.type in ("POINTER", "COLLECTION")))
        _PROPERTY_LISTS[rna.identifier] = cached
    return cached


def _rna_fingerprint(struct: Any, depth: int = 0) -> list[Any]:
    """Every writable value of an RNA struct, following nested structs a little way (IDs by name)."""
    values: list[Any] = []
    for name, kind, is_array in _properties_of(struct):
        value: Any = getattr(struct, name, None)
        if kind == "POINTER":
            if value is None or isinstance(value, bpy.types.ID):
                values.append((name, getattr(value, "name_full", None)))
            elif "channel" in value.bl_rna.properties:  # another strip (an effect's input)
                values.append((name, value.name))
            elif depth < 2:
                values.append((name, _rna_fingerprint(value, depth + 1)))
        elif kind == "COLLECTION":
            if depth < 2:
                values.append((name, [_rna_fingerprint(item, depth + 1) for item in value]))
        elif is_array:
            values.append((name, tuple(value)))
        else:
            values.append((name, value))
    return values


def _media_stamps(strip: Any) -> list[Any]:
    """(path, size, mtime) of the files a strip reads: a re-rendered shot must not reuse an old clip."""
    if strip.type == "MOVIE":
        paths = [strip.filepath]
    elif strip.type == "IMAGE":
        paths = [str(Path(strip.directory) / element.filename) for element in strip.elements]
    elif strip.type == "SOUND" and strip.sound is not None:
        paths = [strip.sound.filepath]
    else:
        return []
    stamps: list[Any] = []
    for path in paths:
        absolute = bpy.path.abspath(path)
        try:
            stat = os.stat(absolute)
            stamps.append((absolute, stat.st_size, stat.st_mtime_ns))
        except OSError:
            stamps.append((absolute, None, None))
    return stamps


_AUDIO_ONLY = (".volume", ".pan", ".pitch")  # animated sound settings do not change the picture


def _animation_fingerprint(scene: Any) -> list[Any] | None:
    """The scene's keyframes that can change the picture; None for drivers (they read anything)."""
    animation = scene.animation_data
    if animation is None:
        return []
    if len(animation.drivers) > 0:
        return None
    if animation.action is None:
        return []
    return [(curve.data_path, curve.array_index, curve.mute,
             [(tuple(key.co), key.interpolation, tuple(key.handle_left), tuple(key.handle_right))
              for key in curve.keyframe_points],
             [modifier.type for modifier in curve.modifiers])
            for curve in compat.action_fcurves(animation.action) if not curve.data_path.endswith(_AUDIO_ONLY)]


def clip_source_key(scene: Any) -> str | None:
    """A key that changes whenever what ``scene`` renders may have changed; None when no cheap key is safe.

    Every strip's settings (a generic walk of its RNA values), the scene's size, rate and colour
    management, channel mutes and the media files' size and time go in; for a saved file without
    unsaved changes, also the .blend's own size and time. With unsaved changes, a scene with
    drivers or with strips showing other data-blocks (scene, mask, clip) gets no key: a new copy each
    time. Sound strips and their fades are left out: the clip has no audio.
    """
    clean = bool(bpy.data.filepath) and not bpy.data.is_dirty
    editor = scene.sequence_editor
    # Sound strips never show in the clip (it has no audio track): a newly inserted sound keeps the key.
    strips = [strip for strip in compat.all_strips(editor) if strip.type != "SOUND"] if editor else []
    animation = _animation_fingerprint(scene)
    if not clean and (animation is None or any(strip.type in _OPAQUE_STRIP_TYPES for strip in strips)):
        return None
    parts: list[Any] = [bpy.data.filepath, scene.name]
    if clean:
        stat = os.stat(bpy.data.filepath)
        parts.append((stat.st_size, stat.st_mtime_ns))
    render = scene.render
    parts.append((render.resolution_x, render.resolution_y, render.pixel_aspect_x, render.pixel_aspect_y,
                  render.fps, render.fps_base))
    for settings in (scene.view_settings, scene.display_settings, scene.sequencer_colorspace_settings):
        parts.append(_rna_fingerprint(settings, 1))
    if editor is not None:
        parts.append([(channel.name, channel.mute) for channel in getattr(editor, "channels", ())])
    parts.append(animation)
    for strip in sorted(strips, key=lambda item: item.name):
        parts.append((strip.name, strip.type, _rna_fingerprint(strip), _media_stamps(strip)))
    digest = hashlib.sha1(repr(parts).encode(), usedforsecurity=False).hexdigest()
    return digest[:20]


def shared_clip_source(scene: Any, sources_dir: Path, new_id: str) -> str:
    """The copy to render ``scene`` from: the one made earlier while the edit has not changed since,
    else a new one (folder ``new_id`` when no key is safe). Its folder's time is refreshed on reuse,
    so housekeeping (``clip_cache.prune_work_files``) keeps it while it is in use."""
    key = clip_source_key(scene)
    folder = sources_dir / (f"edit-{key}" if key else new_id)
    existing = folder / "source.blend"
    if key and existing.is_file():
        now = time.time()
        os.utime(folder, (now, now))
        return str(existing)
    return prepare_clip_source(scene.name, folder)


def render_command(spec: ClipSpec) -> list[str]:
    """``clip_cache.render_command`` with this Blender's binary (main thread: it reads bpy)."""
    return clip_cache.render_command(spec, bpy.app.binary_path)
