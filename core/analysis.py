"""One look at every result, on the worker thread right after it is downloaded.

``analyse_file`` reads the audio once and returns plain, JSON-able figures
(loudness, peaks, silent stretches, clipping, mono, sample rate) and, when asked,
writes a small waveform PNG. It never raises: a file it cannot read gives
``{"measured": False, "reason": ...}``, so nothing downstream (the pump) fails on it.
The figures travel in ``job.audio_info["analysis"]``; ``flags`` turns them into the
short sentences an editor sees on the job, the strip and in the CLI.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: a result that cannot be read by numpy (MP3, AAC, a movie) is decoded by this, if given:
#: path -> (samples (frames, channels) float, sample rate); Blender passes one built on ``aud``
Decoder = Callable[[Path], tuple[Any, int]]

SILENCE_DBFS = -60.0
SILENCE_WINDOW_S = 0.05
#: silent stretches shorter than this are pauses, not a flag
SILENCE_MIN_S = 1.0
MAX_SILENCES = 3
#: identical channels within this (relative to the peak) make a "stereo" file mono
MONO_TOLERANCE = 1e-4


def format_clock(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes:02d}:{rest:02d}"


def read_samples(path: Path, decode: Decoder | None = None) -> tuple[Any, int]:
    """(samples, rate) from a WAV with numpy, else through ``decode``; raises AudioFormatError."""
    from .conform import AudioFormatError, read_wav

    try:
        audio = read_wav(path)
        return audio.samples, audio.sample_rate
    except AudioFormatError:
        if decode is None:
            raise
    try:
        return decode(path)
    except Exception as exc:  # the decoder is Blender's: any failure means "could not read"
        raise AudioFormatError(f"{path.name} could not be decoded ({exc}).") from exc


def silent_stretches(samples: Any, rate: int) -> list[list[float]]:
    """[start_s, length_s] of stretches at least SILENCE_MIN_S long below SILENCE_DBFS (50 ms windows)."""
    import numpy as np

    window = max(1, int(rate * SILENCE_WINDOW_S))
    count = samples.shape[0] // window
    if count == 0:
        return []
    power = np.mean(np.square(samples[: count * window]).reshape(count, window, -1), axis=1).max(axis=1)
    quiet = power < 10.0 ** (SILENCE_DBFS / 10.0)
    stretches: list[list[float]] = []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]])))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        length = (stop - start) * window / rate
        if length >= SILENCE_MIN_S:
            stretches.append([round(start * window / rate, 3), round(length, 3)])
    stretches.sort(key=lambda stretch: -stretch[1])
    return sorted(stretches[:MAX_SILENCES])


def clipped_runs(samples: Any) -> int:
    """How many runs of two or more consecutive full-scale samples (a flattened top) there are."""
    import numpy as np

    from .waveform import FULL_SCALE

    full = np.abs(samples) >= FULL_SCALE
    runs = 0
    for channel in range(full.shape[1]):
        column = full[:, channel]
        both = column[1:] & column[:-1]
        starts = both & ~np.concatenate([[False], both[:-1]])
        runs += int(np.count_nonzero(starts))
    return runs


def is_mono(samples: Any) -> bool:
    import numpy as np

    if samples.shape[1] == 1:
        return True
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    spread = float(np.max(np.abs(samples - samples[:, :1]))) if samples.size else 0.0
    return spread <= MONO_TOLERANCE * max(peak, 1e-12)


def _frames(samples: Any) -> Any:
    import numpy as np

    frames = np.asarray(samples, dtype=np.float64)
    return frames.reshape(-1, 1) if frames.ndim == 1 else frames


def analyse_samples(samples: Any, rate: int) -> dict[str, Any]:
    from .loudness import measure

    frames = _frames(samples)
    figures = measure(frames, rate)
    return {
        "measured": True,
        "reason": figures.reason,
        "lufs": None if figures.integrated_lufs is None else round(figures.integrated_lufs, 2),
        "sample_peak_dbfs": None if figures.sample_peak_dbfs is None else round(figures.sample_peak_dbfs, 2),
        "true_peak_dbtp": None if figures.true_peak_dbtp is None else round(figures.true_peak_dbtp, 2),
        "silent": figures.silent,
        "sample_rate": int(rate),
        "channels": int(frames.shape[1]),
        "seconds": round(frames.shape[0] / rate, 3),
        "silences": silent_stretches(frames, rate),
        "clipped_runs": clipped_runs(frames),
        "mono": is_mono(frames),
    }


def analyse_file(
    path: Path | str, *, preview: Path | None = None, decode: Decoder | None = None
) -> dict[str, Any]:
    """Figures for the result at ``path`` (and its waveform PNG at ``preview``); never raises."""
    path = Path(path)
    try:
        samples, rate = read_samples(path, decode)
        analysis = analyse_samples(samples, rate)
    except Exception as exc:  # never let a look at the result stop the result
        log.info("Could not measure %s: %s", path, exc)
        return {"measured": False, "reason": f"The level of {path.name} could not be measured: {exc}"}
    if preview is not None:
        try:
            from .waveform import write_png

            analysis["waveform"] = str(write_png(preview, _frames(samples)))
        except OSError as exc:
            log.info("Could not write the waveform of %s: %s", path, exc)
    return analysis


def flags(analysis: dict[str, Any], scene_rate: int = 0) -> list[str]:
    """Short sentences about a result: silence, clipping, mono, an unexpected sample rate."""
    if not analysis:
        return []
    if not analysis.get("measured", False):
        return ["level not measured"]
    found: list[str] = []
    if analysis.get("silent"):
        found.append("all silent")
    else:
        for start, length in analysis.get("silences", []):
            found.append(f"silent for {length:.1f} s from {format_clock(start)}")
    if analysis.get("clipped_runs", 0):
        found.append("clips at 0 dBFS")
    if analysis.get("mono") and not analysis.get("silent"):
        found.append("mono")
    rate = int(analysis.get("sample_rate", 0))
    if scene_rate and rate and rate != scene_rate:
        found.append(f"{rate} Hz (the scene mixes at {scene_rate} Hz)")
    return found


def summary(analysis: dict[str, Any]) -> str:
    """"-18.2 LUFS, peak -3.1 dBFS" or why there is no number."""
    if not analysis:
        return ""
    if not analysis.get("measured", False):
        return "not measured"
    if analysis.get("lufs") is None:
        return "silent" if analysis.get("silent") else str(analysis.get("reason", "no level"))
    text = f"{analysis['lufs']:.1f} LUFS"
    if analysis.get("true_peak_dbtp") is not None:
        text += f", peak {analysis['true_peak_dbtp']:.1f} dBTP"
    return text
