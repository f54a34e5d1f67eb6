"""The sound of a movie result as a WAV of its own, for models that answer with the video.

fal's MMAudio and ThinkSound return the input video with the generated audio muxed in.
The chunk join, the short-result fill and the loudness match read WAV, so the sound
track is written next to the movie (which is kept: it is the paid file).

Decoding uses Blender's ``aud`` (audaspace's Python API, not ``bpy``): inside Blender it
is always importable and, like ``blender/decode.py``, usable on a worker thread. Under
plain Python (the CLI) there is no ``aud``: the movie itself is the result then, and
Blender can still load a movie's sound as a sound strip. No new native dependency.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
import tempfile
from pathlib import Path
from typing import Any

from .base import AudioFile
from .download import place_file

log = logging.getLogger(__name__)

_WAVE_FORMAT_PCM = 1


def _decode(path: Path) -> tuple[Any, int] | None:
    """(float32 samples shaped (frames, channels), rate) through ``aud``; None where there is no ``aud``."""
    try:
        import aud  # Blender's own module (fake-bpy-module has its stubs)
    except ImportError:
        return None
    sound = aud.Sound.file(str(path))
    rate = int(sound.specs[0])
    # ``data()`` gives exactly the decoded frames; ``Sound.write`` pads to its buffer size.
    return sound.data(), rate


def _pcm24_wav(samples: Any, rate: int) -> bytes:
    """A 24-bit PCM WAV of float ``samples``: every WAV reader takes it, and 24 bits keep a decoded
    AAC track's detail (an overshoot past full scale is clipped, as any integer format must)."""
    import numpy as np  # only where aud is, so numpy is too (Blender ships both)

    channels = int(samples.shape[1])
    values = np.round(np.clip(samples, -1.0, 1.0) * float((1 << 23) - 1)).astype("<i4")
    raw = values.reshape(-1, 1).view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    block = 3 * channels
    fmt = struct.pack("<HHIIHH", _WAVE_FORMAT_PCM, channels, rate, rate * block, block, 24)
    pad = b"\0" if len(raw) & 1 else b""
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(raw)) + raw
    body += pad
    return b"RIFF" + struct.pack("<I", len(body)) + body


def extract_soundtrack(movie: AudioFile, label: str) -> AudioFile:
    """The movie's sound track as ``<movie stem>.wav`` beside it; the movie itself when that cannot be.

    Never raises for a bad or silent movie: the paid file is on disk whatever happens
    here, and the caller's own checks (duration, decodability) still apply to what it gets.
    """
    try:
        decoded = _decode(movie.path)
    except Exception as exc:  # aud's reader failing is not a reason to lose the result
        log.warning("%s: could not read the sound of %s (%s); keeping the movie", label, movie.path.name, exc)
        return movie
    if decoded is None:
        log.info("%s: no aud here; the movie %s is the result", label, movie.path.name)
        return movie
    samples, rate = decoded
    if getattr(samples, "ndim", 0) != 2 or samples.shape[0] == 0 or rate <= 0:
        log.warning("%s: %s has no sound track; keeping the movie", label, movie.path.name)
        return movie
    data = _pcm24_wav(samples, rate)
    handle, temp_name = tempfile.mkstemp(prefix=f".{movie.path.stem}.", suffix=".part", dir=movie.path.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        final = place_file(temp, movie.path.with_suffix(""), "wav")
    except OSError as exc:
        with contextlib.suppress(OSError):
            temp.unlink()
        log.warning(
            "%s: could not write the sound of %s (%s); keeping the movie", label, movie.path.name, exc
        )
        return movie
    duration = int(samples.shape[0]) / rate
    log.info("%s: sound track of %s saved as %s (%.2f s)", label, movie.path.name, final.name, duration)
    return AudioFile(path=final, format="wav", size=len(data), duration=duration)
