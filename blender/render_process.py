"""The entry point of the separate Blender process that renders clips (not a thread).

``clip_cache.render_command`` starts ``blender -b`` (or this Python, under the bpy
module) with ``main(args)`` as its script, so the user's Blender never blocks on a
render. It opens the copy of the edit, renders the clip and prints one line
``VSE_FOLEY_CLIP {json}`` with the result for the parent.

``render_pool`` starts the same process with ``serve()`` instead: it renders one clip per
line of its stdin until stdin closes: one Blender start for many clips.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import bpy

from .clip_cache import DEFAULT_CLIP_COLOUR, RESULT_MARKER
from .render_settings import clip_render_settings, even_clip_size


def render(args: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    # Opened afresh for every clip, also in a serving process: a clip never sees what the last
    # render left behind (a small copy of an edit opens in a few hundredths of a second).
    bpy.ops.wm.open_mainfile(filepath=args["blend_path"], load_ui=False)
    scene = bpy.data.scenes.get(args["scene_name"])
    if scene is None:
        raise RuntimeError(f"The scene '{args['scene_name']}' is not in the file any more.")
    size = even_clip_size(scene.render.resolution_x, scene.render.resolution_y, int(args["short_side"]),
                          int(args.get("min_short_side", 0)))
    output_dir = Path(args["output_dir"])
    output_dir.mkdir(parents=True, exist_ok=True)
    stem = str(output_dir / args["stem"])
    loaded = time.perf_counter()
    with clip_render_settings(scene, int(args["frame_start"]), int(args["frame_end"]), size, stem,
                              str(args.get("colour", DEFAULT_CLIP_COLOUR))):
        view_transform = scene.view_settings.view_transform  # the one the clip is rendered through
        bpy.ops.render.render(animation=True, scene=scene.name)
    # Blender appends the frame range and extension to the stem for movie files.
    clips = sorted(output_dir.glob(Path(stem).name + "*.mp4"))
    if not clips:
        raise RuntimeError("Blender rendered no clip; check that the range has visible strips.")
    return {
        "path": str(clips[-1]),
        "width": size.width,
        "height": size.height,
        "view_transform": view_transform,
        "process_id": os.getpid(),  # which render process made it (a serving one makes many)
        "load_seconds": loaded - started,
        "render_seconds": time.perf_counter() - loaded,
    }


def _answer(args: dict[str, Any]) -> None:
    try:
        result = {"ok": True, **render(args)}
    except Exception as error:  # everything goes back to the parent as a sentence
        result = {"ok": False, "error": str(error)}
    sys.stdout.write(RESULT_MARKER + json.dumps(result) + "\n")
    sys.stdout.flush()


def main(args: dict[str, Any]) -> None:
    _answer(args)


def serve() -> None:
    """Render one clip per line of stdin (JSON, as ``clip_cache.spec_arguments``) until it closes."""
    for line in sys.stdin:
        if line.strip():
            _answer(json.loads(line))
