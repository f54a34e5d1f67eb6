"""Every Blender version difference the extension meets, in one place.

The rest of the code calls these helpers and never checks ``bpy.app.version``.
Supported: 4.2 LTS to 5.2.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, TypeAlias

# What an operator's execute/invoke/modal returns (the stubs' exact type for every version).
OperatorResult: TypeAlias = set[
    Literal["RUNNING_MODAL", "CANCELLED", "FINISHED", "PASS_THROUGH", "INTERFACE"]]


# --- strips ------------------------------------------------------------------

def top_level_strips(editor: Any) -> Any:
    """The editor's top-level strip collection (``strips`` 4.4+, ``sequences`` before)."""
    return editor.strips if hasattr(editor, "strips") else editor.sequences


def all_strips(editor: Any) -> Iterable[Any]:
    """Every strip, including those inside meta strips."""
    return editor.strips_all if hasattr(editor, "strips_all") else editor.sequences_all


NO_SEQUENCER_SCENE = "Choose a sequencer scene in the Sequencer header."


def sequencer_scene(context: Any) -> Any:
    """The scene the Sequencer shows and edits; None when a 5.x workspace has none.

    4.x: ``context.scene``. 5.0+: the workspace's sequencer scene
    (``context.sequencer_scene``), which may differ from the window's scene and
    may be None: then the editor sees no strips and we must not fall back to the
    window's scene (it may be a 3D scene; rendering it gives the camera view).
    Only without a window at all (``blender -b``: no workspace, so no sequencer
    scene) is ``context.scene`` the scene a script chose.
    """
    # 4.x has no such member; 5.x has none without a window either (``blender -b``, or a
    # ``temp_override(window=None)``): then ``context.scene`` is the scene the script chose.
    if not hasattr(context, "sequencer_scene"):
        return context.scene
    scene = context.sequencer_scene
    if scene is not None:
        return scene
    if getattr(context, "window", None) is None:
        return context.scene
    return None


def sequencer_scene_problem(context: Any) -> str:
    """Why there is no scene to generate for ("" when there is one)."""
    if sequencer_scene(context) is not None:
        return ""
    if hasattr(context, "sequencer_scene"):
        return NO_SEQUENCER_SCENE
    return "Open a scene in the Video Sequencer first."


def selected_strips(context: Any) -> list[Any]:
    """Selected strips of the sequencer scene, whatever the context offers."""
    for name in ("selected_strips", "selected_sequences"):
        strips = getattr(context, name, None)
        if strips is not None:
            return list(strips)
    scene = sequencer_scene(context)
    editor = scene.sequence_editor if scene else None
    return [strip for strip in top_level_strips(editor) if strip.select] if editor else []


def active_strip(context: Any) -> Any:
    """The active strip; the editor's own when the context has none (5.0+ in background)."""
    for name in ("active_strip", "active_sequence_strip"):
        strip = getattr(context, name, None)
        if strip is not None:
            return strip
    scene = sequencer_scene(context)
    editor = scene.sequence_editor if scene else None
    return editor.active_strip if editor else None


def set_active_strip(scene: Any, strip: Any) -> None:
    scene.sequence_editor.active_strip = strip


def strip_start(strip: Any) -> int:
    """First visible frame (the left handle)."""
    if hasattr(strip, "left_handle"):
        return int(strip.left_handle)
    return int(strip.frame_final_start)


def strip_end(strip: Any) -> int:
    """One past the last visible frame (the right handle), like ``frame_final_end``."""
    if hasattr(strip, "right_handle"):
        return int(strip.right_handle)
    return int(strip.frame_final_end)


def set_strip_end(strip: Any, frame_end_exclusive: int) -> None:
    """Move the right handle (trims content, keeps the start)."""
    if hasattr(strip, "right_handle"):
        strip.right_handle = frame_end_exclusive
    else:
        strip.frame_final_end = frame_end_exclusive


def new_sound_strip(scene: Any, name: str, filepath: str, channel: int, frame_start: int) -> Any:
    editor = scene.sequence_editor or scene.sequence_editor_create()
    return top_level_strips(editor).new_sound(name=name, filepath=filepath, channel=channel,
                                              frame_start=frame_start)


def new_movie_strip(scene: Any, name: str, filepath: str, channel: int, frame_start: int) -> Any:
    editor = scene.sequence_editor or scene.sequence_editor_create()
    return top_level_strips(editor).new_movie(name=name, filepath=filepath, channel=channel,
                                              frame_start=frame_start)


def new_effect_strip(scene: Any, name: str, effect_type: str, channel: int, frame_start: int,
                     frame_end: int) -> Any:
    """An input-less effect strip (TEXT, COLOR) spanning [frame_start, frame_end)."""
    editor = scene.sequence_editor or scene.sequence_editor_create()
    strips = top_level_strips(editor)
    # 5.0 replaced new_effect's frame_end with length; ask the function which one it takes.
    if "length" in strips.bl_rna.functions["new_effect"].parameters:
        return strips.new_effect(name=name, type=effect_type, channel=channel, frame_start=frame_start,
                                 length=frame_end - frame_start)
    return strips.new_effect(name=name, type=effect_type, channel=channel, frame_start=frame_start,
                             frame_end=frame_end)


def remove_strip(scene: Any, strip: Any) -> None:
    top_level_strips(scene.sequence_editor).remove(strip)



def action_fcurves(action: Any) -> list[Any]:
    """Every F-curve of an action: ``action.fcurves`` before 5.0; layered actions' channel bags after."""
    if hasattr(action, "fcurves"):
        return list(action.fcurves)
    return [curve for layer in action.layers for strip in layer.strips
            for bag in strip.channelbags for curve in bag.fcurves]


# --- rendering -----------------------------------------------------------------

def has_media_type() -> bool:
    """5.0 added ``ImageFormatSettings.media_type`` (it must be 'VIDEO' before 'FFMPEG')."""
    import bpy

    return bool(bpy.app.version >= (5, 0, 0))


def output_format_attributes() -> tuple[str, ...]:
    """The image-format settings a clip render changes, in the order to save them
    (restored in reverse: media_type before file_format, as 5.0+ requires)."""
    return ("color_mode", "file_format", "media_type") if has_media_type() else ("color_mode", "file_format")


def use_ffmpeg_output(render: Any) -> None:
    """Switch the output to FFmpeg video (5.0+ wants media_type='VIDEO' first)."""
    settings = render.image_settings
    if has_media_type():
        settings.media_type = "VIDEO"
    settings.file_format = "FFMPEG"


# --- keymaps -----------------------------------------------------------------

SEQUENCER_KEYMAP: tuple[str, Literal["SEQUENCE_EDITOR"]] = ("Sequencer", "SEQUENCE_EDITOR")
