"""A job's clip: rendered once per range in a separate Blender process, kept, and cleaned up.

Runs on worker threads, so nothing here imports bpy: the user folder and Blender's
binary are captured on the main thread (``runtime.Session``) and handed in. The
render itself happens in another process (``render_process``), which the user's
Blender never waits on.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..providers.errors import CancelledError, FoleyError
from .render_priority import lowered

if TYPE_CHECKING:
    from ..core.jobs import Job
    from ..core.ledger import JobLedger

PACKAGE_DIR = Path(__file__).resolve().parent.parent
RENDER_TIMEOUT_S = 30 * 60
#: the clip's short side when a job does not say (``render_settings`` imports this: it needs bpy)
DEFAULT_SHORT_SIDE = 360
#: how a clip's colours are made (the ``clip_colour`` preference, ``render_settings.view_settings_for``):
#: STANDARD renders through the Standard view transform (the footage as recorded, fast); SCENE
#: through the scene's own view transform and look (what the preview shows; AgX or Filmic cost
#: about three times the rest of a clip's frame)
CLIP_COLOURS = ("STANDARD", "SCENE")
DEFAULT_CLIP_COLOUR = "STANDARD"
#: what jobs recorded before the preference existed were rendered with
UNRECORDED_CLIP_COLOUR = "SCENE"
#: the render process prints one line starting with this, then its result as JSON
RESULT_MARKER = "VSE_FOLEY_CLIP "

_BOOT = (
    "import sys, json, importlib; args = json.loads(sys.argv[-1]); "
    "sys.path.insert(0, args['package_parent']); "
    "importlib.import_module(args['package'] + '.blender.render_process').main(args)"
)

#: a folder of the extension's user directory, made if missing: ``user_dir("clips", key)``
UserDir = Callable[..., Path]


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
    colour: str = DEFAULT_CLIP_COLOUR  # one of CLIP_COLOURS


@dataclass(frozen=True)
class ClipSource:
    """What a job's clip is rendered from and how, recorded with the job at Generate."""

    blend_copy: str
    short_side: int
    colour: str


def spec_arguments(spec: ClipSpec) -> dict[str, object]:
    """What the render process needs to know of a clip (JSON), with where to import the extension from."""
    return {
        "blend_path": spec.blend_path,
        "scene_name": spec.scene_name,
        "frame_start": spec.frame_start,
        "frame_end": spec.frame_end,
        "short_side": spec.short_side,
        "output_dir": spec.output_dir,
        "stem": spec.stem,
        "min_short_side": spec.min_short_side,
        "colour": spec.colour,
        "package_parent": str(PACKAGE_DIR.parent),
        "package": PACKAGE_DIR.name,
    }


def render_command(spec: ClipSpec, binary_path: str) -> list[str]:
    """Blender's binary with ``-b``; under the ``bpy`` module (no binary), this Python.

    ``binary_path`` is ``bpy.app.binary_path``, read by the caller on the main thread. One process
    for one clip (the bench's render figures); the session renders in ``render_pool``'s processes.
    """
    payload = json.dumps(spec_arguments(spec))
    if binary_path:
        return [binary_path, "-b", "--factory-startup", "--python-exit-code", "1", "--python-expr", _BOOT,
                "--", payload]
    return [sys.executable, "-c", _BOOT, payload]


def render_clip_in_subprocess(command: list[str], cancel: threading.Event | None = None,
                              timeout_s: float = RENDER_TIMEOUT_S) -> dict[str, object]:
    """Run the render process; return its result. Safe on a worker thread (no bpy)."""
    # Files, not pipes: Blender prints a line per frame and a full pipe would stall it.
    with tempfile.TemporaryFile(mode="w+") as out, tempfile.TemporaryFile(mode="w+") as log:
        command, creationflags = lowered(command)  # below the editor's Blender (render_priority)
        process = subprocess.Popen(command, stdout=out, stderr=log, text=True, creationflags=creationflags)
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


#: renders one clip on a worker thread and returns the render process's result
RenderFunction = Callable[["ClipSpec", threading.Event], dict[str, object]]


class ClipCache:
    """The engine's ``render_clip``: one render per clip; other takes of the range wait and reuse it."""

    def __init__(self, user_dir: UserDir, binary_path: str, find_job: Callable[[str], Job | None],
                 render: RenderFunction | None = None) -> None:
        self._user_dir = user_dir
        self._binary_path = binary_path
        #: how a clip is rendered: the session's ``render_pool.RenderPool.render``; alone, a process a clip
        self._render = render or self._render_in_own_process
        self._find_job = find_job  # a chunk renders from its parent's copy of the edit
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _render_in_own_process(self, spec: ClipSpec, cancel: threading.Event) -> dict[str, object]:
        return render_clip_in_subprocess(render_command(spec, self._binary_path), cancel)

    def source_of(self, job: Job) -> ClipSource | None:
        """The copy of the edit a job renders from, the clip size and colour (a chunk asks its parent)."""
        owners = [job]
        if job.parent_id:
            parent = self._find_job(job.parent_id)
            owners += [parent] if parent is not None else []
        for owner in owners:
            source = owner.extra.get("clip_source")
            if source:
                return ClipSource(str(source), int(owner.extra.get("clip_short_side", DEFAULT_SHORT_SIDE)),
                                  str(owner.extra.get("clip_colour", UNRECORDED_CLIP_COLOUR)))
        return None

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def __call__(self, job: Job, cancel: threading.Event) -> str:
        """Worker thread: render the job's range, or reuse the clip another take already made."""
        from ..providers import provider_info  # loaded by the warm-up thread long before the first job

        source = self.source_of(job)
        if source is None or not Path(source.blend_copy).is_file():
            raise FoleyError("The copy of the edit this job renders from is gone (the work files were "
                             "cleaned up); generate the sound again.")
        preferred = provider_info(job.provider_id).min_short_side  # the clip is never smaller than this
        identity = (f"{source.blend_copy}|{job.scene_name}|{job.frame_start}|{job.frame_end}|"
                    f"{source.short_side}|{preferred}|{source.colour}")
        key = hashlib.sha1(identity.encode(), usedforsecurity=False).hexdigest()[:16]
        folder = self._user_dir("clips", key)
        done = folder / "clip.json"  # written only after a complete render
        with self._lock(key):
            if done.is_file():
                cached = Path(json.loads(done.read_text())["path"])
                if cached.is_file():
                    return str(cached)
            spec = ClipSpec(blend_path=source.blend_copy, scene_name=job.scene_name,
                            frame_start=job.frame_start, frame_end=job.frame_end,
                            short_side=source.short_side, output_dir=str(folder), stem="clip",
                            min_short_side=preferred, colour=source.colour)
            result = self._render(spec, cancel)
            done.write_text(json.dumps(result))
            return str(result["path"])


def prune_work_files(ledger: JobLedger, user_dir: UserDir, older_than_s: float = 3 * 24 * 3600,
                     keep_sources: int = 20) -> int:
    """Delete work files no unfinished job needs; returns how many folders.

    Copies of edits (``sources/``, shared by the jobs of one state of an edit) go when unused for
    ``older_than_s`` or beyond the ``keep_sources`` most recently used; clips when older than
    ``older_than_s`` (a clip is rendered again from its copy if needed); waveform pictures
    when their job is no longer in the history. Runs on the warm-up thread (no bpy).
    """
    keep = set()
    for job in ledger.unfinished():
        source = job.extra.get("clip_source")
        if source:
            keep.add(Path(source).parent)
    removed = 0
    cutoff = time.time() - older_than_s
    for kind, most in (("sources", keep_sources), ("clips", None)):
        folders = [folder for folder in user_dir(kind).iterdir() if folder.is_dir()]
        folders.sort(key=lambda folder: folder.stat().st_mtime, reverse=True)  # most recently used first
        for rank, folder in enumerate(folders):
            if folder in keep:
                continue
            if folder.stat().st_mtime < cutoff or (most is not None and rank >= most):
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
    for picture in user_dir("previews").glob("*.png"):  # waveforms of jobs the history forgot
        if picture.stem not in ledger:
            picture.unlink(missing_ok=True)
    return removed
