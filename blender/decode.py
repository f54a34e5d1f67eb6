"""Decode a result numpy cannot read (MP3, AAC, a movie's sound) with Blender's ``aud``.

``aud`` is audaspace's Python API, a module of its own (not ``bpy``): a worker may
use it to read a file. ``aud.Sound(path).data()`` returns a float32 array shaped
(frames, channels) at the file's own rate (``Sound.specs`` = (rate, channels)); seen
with the bpy 4.5 wheel. The 4.2 wheel is built without audaspace: then nothing
decodes and the analysis says the level could not be measured.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core.jobs import Job


def decode_with_aud(path: Path) -> tuple[Any, int]:
    import aud

    sound = aud.Sound.file(str(path))
    rate = int(sound.specs[0])
    return sound.data(), rate


def result_analyser(preview_dir: Path) -> Callable[[Job, Path], dict[str, Any]]:
    """The engine's look at a landed result: figures, flags and ``<preview_dir>/<job id>.png``.

    ``preview_dir`` is resolved on the main thread; the function runs on workers (no bpy).
    """

    def analyse(job: Job, path: Path) -> dict[str, Any]:
        from ..core.analysis import analyse_file

        figures = analyse_file(path, preview=preview_dir / f"{job.id}.png", decode=decode_with_aud)
        return {**figures, **playback_copy_record(path)}

    return analyse


def playback_copy_record(path: Path) -> dict[str, Any]:
    """``{PLAYBACK_KEY: copy}`` when a 16-bit WAV got its fast-opening copy (``core.playback_copy``).

    Made here, on the worker, so the insertion tick's ``strips.new_sound`` opens a file
    FFmpeg does not probe. A copy that cannot be written costs only that speed: the strip
    then plays the original.
    """
    from ..core.playback_copy import PLAYBACK_KEY, make_playback_copy
    from .logs import log

    try:
        copy = make_playback_copy(path)
    except OSError as exc:
        log.warning("No playback copy of %s: %s", path, exc)
        return {}
    return {PLAYBACK_KEY: str(copy)} if copy is not None else {}
