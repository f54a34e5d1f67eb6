"""Make the clip a video provider needs, without freezing Blender.

The main thread only writes a copy of the edit (``prepare_clip_source``); a
worker thread then renders it in a separate Blender process
(``render_clip_in_subprocess``) which the user's session never waits on.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import bpy

from ..providers.errors import CancelledError, FoleyError
from .clip_worker import RESULT_MARKER

PACKAGE_DIR = Path(__file__).resolve().parent.parent
RENDER_TIMEOUT_S = 30 * 60

_BOOT = (
    "import sys, json, importlib; args = json.loads(sys.argv[-1]); "
    "sys.path.insert(0, args['package_parent']); "
    "importlib.import_module(args['package'] + '.blender.clip_worker').main(args)"
)


@dataclass(frozen=True)
class ClipSpec:
    blend_path: str  # a copy the worker may read while the user keeps editing
    scene_name: str
    frame_start: int
    frame_end: int  # inclusive
    short_side: int
    output_dir: str
    stem: str
    min_short_side: int = 0  # the provider's preferred input: the clip is never smaller


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


def render_command(spec: ClipSpec) -> list[str]:
    """Blender's binary with ``-b``; under the ``bpy`` module, this Python."""
    args = {
        "blend_path": spec.blend_path,
        "scene_name": spec.scene_name,
        "frame_start": spec.frame_start,
        "frame_end": spec.frame_end,
        "short_side": spec.short_side,
        "output_dir": spec.output_dir,
        "stem": spec.stem,
        "min_short_side": spec.min_short_side,
        "package_parent": str(PACKAGE_DIR.parent),
        "package": PACKAGE_DIR.name,
    }
    payload = json.dumps(args)
    binary = bpy.app.binary_path
    if binary:
        return [binary, "-b", "--factory-startup", "--python-exit-code", "1", "--python-expr", _BOOT,
                "--", payload]
    return [sys.executable, "-c", _BOOT, payload]


def render_clip_in_subprocess(command: list[str], cancel: threading.Event | None = None,
                              timeout_s: float = RENDER_TIMEOUT_S) -> dict[str, object]:
    """Run the render process; return its result. Safe on a worker thread (no bpy)."""
    # Files, not pipes: Blender prints a line per frame and a full pipe would stall it.
    with tempfile.TemporaryFile(mode="w+") as out, tempfile.TemporaryFile(mode="w+") as log:
        process = subprocess.Popen(command, stdout=out, stderr=log, text=True)
        deadline = time.monotonic() + timeout_s
        try:
            while process.poll() is None:
                if cancel is not None and cancel.is_set():
                    raise CancelledError("The clip render was cancelled.")
                if time.monotonic() > deadline:
                    raise FoleyError("Rendering the clip took longer than 30 minutes; try a shorter range.")
                try:
                    process.wait(timeout=0.1)
                except subprocess.TimeoutExpired:
                    continue
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        out.seek(0)
        for line in out.read().splitlines():
            if line.startswith(RESULT_MARKER):
                result: dict[str, object] = json.loads(line[len(RESULT_MARKER):])
                if not result.get("ok"):
                    raise FoleyError(f"Rendering the clip failed: {result.get('error')}")
                return result
        log.seek(0)
        tail = log.read()[-400:].strip().splitlines()
        reason = tail[-1] if tail else f"exit code {process.returncode}"
        raise FoleyError(f"The clip render process stopped without a clip ({reason}).")
