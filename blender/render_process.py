"""The entry point of the separate Blender process that renders clips (not a thread).

``clip_cache.render_command`` starts ``blender -b`` (or this Python, under the bpy
module) with ``main(args)`` as its script, so the user's Blender never blocks on a
render. It opens the copy of the edit, renders the clip and prints one line
``VSE_FOLEY_CLIP {json}`` with the result for the parent.

With ``args["serve"]`` (``render_pool``) the process stays: it reads one render request
(the same JSON) a line from stdin, answers each with that line, and keeps the last copy
of the edit open while the next request names the same unchanged file. It ends when
stdin closes (its parent went away) or after ``idle_exit_s`` without a request.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import bpy

from .clip_cache import DEFAULT_IDLE_EXIT_S, RESULT_MARKER
from .render_settings import clip_render_settings, even_clip_size


def _file_stamp(path: str) -> tuple[str, int, int]:
    stat = os.stat(path)
    return path, stat.st_size, stat.st_mtime_ns


def render(args: dict[str, Any], reuse_open_file: bool = False) -> dict[str, Any]:
    started = time.perf_counter()
    if not reuse_open_file:
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
    with clip_render_settings(scene, int(args["frame_start"]), int(args["frame_end"]), size, stem):
        bpy.ops.render.render(animation=True, scene=scene.name)
    # Blender appends the frame range and extension to the stem for movie files.
    clips = sorted(output_dir.glob(Path(stem).name + "*.mp4"))
    if not clips:
        raise RuntimeError("Blender rendered no clip; check that the range has visible strips.")
    return {
        "path": str(clips[-1]),
        "width": size.width,
        "height": size.height,
        "load_seconds": loaded - started,
        "render_seconds": time.perf_counter() - loaded,
        "process_id": os.getpid(),  # which process rendered it (one warm process renders many)
        "file_reused": reuse_open_file,
    }


def _answer(out: IO[str], result: dict[str, Any]) -> None:
    out.write(RESULT_MARKER + json.dumps(result) + "\n")
    out.flush()


def main(args: dict[str, Any]) -> None:
    if args.get("serve"):
        serve(sys.stdin, sys.stdout, float(args.get("idle_exit_s", DEFAULT_IDLE_EXIT_S)))
        return
    try:
        result = {"ok": True, **render(args)}
    except Exception as error:  # everything goes back to the parent as a sentence
        result = {"ok": False, "error": str(error)}
    _answer(sys.stdout, result)


class _IdleExit:
    """Ends the process after ``idle_s`` without a request (never during a render)."""

    def __init__(self, idle_s: float) -> None:
        self._idle_s = idle_s
        self._busy = False
        self._last = time.monotonic()
        self._guard = threading.Lock()
        threading.Thread(target=self._watch, name="foley-render-idle-exit", daemon=True).start()

    def busy(self, busy: bool) -> None:
        with self._guard:
            self._busy = busy
            self._last = time.monotonic()

    def _watch(self) -> None:
        while True:
            time.sleep(min(1.0, self._idle_s))
            with self._guard:
                if not self._busy and time.monotonic() - self._last > self._idle_s:
                    # The parent sees the end of our stdout and starts a fresh process next time.
                    os._exit(0)


def serve(requests: IO[str], out: IO[str], idle_exit_s: float = DEFAULT_IDLE_EXIT_S) -> None:
    """Render one request a line until ``requests`` ends.

    The copy of the edit is opened again only when the request names another file, or the
    same path with another size or time: a copy (``clip.shared_clip_source``) is written
    once and never changed, and ``clip_render_settings`` restores every setting it touched,
    so the next clip starts from the file as it was loaded.
    """
    idle = _IdleExit(idle_exit_s)
    open_file: tuple[str, int, int] | None = None
    for line in requests:
        if not line.strip():
            continue
        idle.busy(True)
        try:
            args = json.loads(line)
            stamp = _file_stamp(str(args["blend_path"]))
            result = {"ok": True, **render(args, reuse_open_file=stamp == open_file)}
            open_file = stamp
        except Exception as error:  # a sentence for the parent; the process stays for the next one
            result = {"ok": False, "error": str(error)}
            open_file = None  # a failed render may have left the file half-changed: load it again
        _answer(out, result)
        idle.busy(False)
