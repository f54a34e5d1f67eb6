"""A copy of a 16-bit WAV result that Blender opens in a millisecond, for the strip to play.

Why: ``strips.new_sound`` opens the file twice on the main thread (``BKE_sound_new_file``
and ``add_sound_strip`` each call ``BKE_sound_info_get``, which opens it through
audaspace's FFmpeg reader: ``blenkernel/intern/sound.cc``, ``sequencer/intern/strip_add.cc``),
and the depsgraph opens it once more when the sound is evaluated. FFmpeg's WAV demuxer
asks for a content probe of every 16-bit PCM stream (``libavformat/wavdec.c``,
``handle_stream_probing``: ``request_probe`` for ``AV_CODEC_ID_PCM_S16LE``, up to 32
packets, to find AC-3/DTS hidden in a WAV), so each open of a 16-bit WAV costs tens of
milliseconds. Measured with the bpy 4.5 wheel, a 10 s stereo 44.1 kHz file, median of 7
``new_sound`` calls: 16-bit PCM 87–141 ms (its WAVE_FORMAT_EXTENSIBLE form is probed too),
24-bit PCM 0.9 ms, 32-bit float 1.4 ms, 8-bit 0.7 ms, FLAC 1.5 ms, MP3 1.3 ms, Ogg 3 ms,
AAC 3.8 ms. Only 16-bit WAV needs help, and it is what most vendors (and the chunk joins)
write.

What: the same samples as 24-bit PCM (each 16-bit sample shifted left by 8 bits: exactly
the same waveform, nothing rounded), written beside the result as ``<stem>.pcm24.wav``
on the worker, after the paid file was recorded; the paid original is never touched.
The job's analysis records the copy (``PLAYBACK_KEY``); the strip plays the copy and its
metadata names the original, which Reveal File and the history keep showing.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import BinaryIO

from ..providers import riff

#: the analysis key (``job.audio_info["analysis"]``) that records the copy's path
PLAYBACK_KEY = "playback_path"
SUFFIX = ".pcm24.wav"
#: frames converted per step: a long range's result is not held in memory twice
_FRAMES_PER_STEP = 1 << 18


def copy_path(original: Path) -> Path:
    """``foley/x.wav`` → ``foley/x.pcm24.wav`` (the job's unique stem: no user file has it)."""
    return original.with_name(original.stem + SUFFIX)


def _pcm16_layout(stream: BinaryIO) -> riff.WavLayout | None:
    """Where the samples of a 16-bit integer PCM WAV (plain or EXTENSIBLE) are, else None."""
    try:
        layout = riff.find_audio(stream)  # the one rule for how much audio there is
    except ValueError:
        return None
    fmt = layout.fmt
    if fmt is None or layout.data is None or not layout.format_first:
        return None
    if fmt.tag != riff.FORMAT_PCM or fmt.bits != 16 or fmt.channels < 1:
        return None
    return layout


def _header(fmt: riff.WavFormat, data_bytes: int) -> bytes:
    block = fmt.channels * 3
    body = struct.pack("<HHIIHH", riff.FORMAT_PCM, fmt.channels, fmt.sample_rate,
                       fmt.sample_rate * block, block, 24)
    riff_size = 4 + 8 + len(body) + 8 + data_bytes + (data_bytes & 1)
    return (b"RIFF" + struct.pack("<I", riff_size) + b"WAVE" + b"fmt " + struct.pack("<I", len(body)) + body
            + b"data" + struct.pack("<I", data_bytes))


def make_playback_copy(original: Path) -> Path | None:
    """Write the 24-bit copy of a 16-bit PCM WAV beside it; None when the file needs none.

    Worker thread (numpy, no bpy). Written to a temporary name and renamed, so a copy
    that exists is whole; an existing one (the same job analysed again after a restart)
    is written again from the original. Raises OSError when the disk refuses.
    """
    import numpy as np

    with original.open("rb") as stream:
        layout = _pcm16_layout(stream)
        if layout is None:
            return None
        fmt, data = layout.fmt, layout.data
        assert fmt is not None and data is not None  # _pcm16_layout checked both
        frame_bytes = fmt.frame_size
        frames = layout.frame_count
        target = copy_path(original)
        partial = target.with_name(target.name + ".part")
        try:
            with partial.open("wb") as out:
                out.write(_header(fmt, frames * fmt.channels * 3))
                stream.seek(data.offset)
                left = frames
                while left > 0:
                    step = min(left, _FRAMES_PER_STEP)
                    raw = stream.read(step * frame_bytes)
                    got = len(raw) // frame_bytes
                    if got == 0:
                        break  # the file shrank under us: the header's size is checked below
                    pairs = np.frombuffer(raw[: got * frame_bytes], dtype=np.uint8).reshape(-1, 2)
                    # little-endian 24-bit = a zero low byte, then the 16-bit sample's two bytes
                    out.write(np.hstack([np.zeros((len(pairs), 1), np.uint8), pairs]).tobytes())
                    left -= got
                if left:
                    raise OSError(f"{original.name} ended before its declared audio data")
                if (frames * fmt.channels * 3) & 1:
                    out.write(b"\0")
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return target


def playable_path(original: str, analysis: dict[str, object]) -> str:
    """The file a strip should play: the recorded copy when it is still there, else the original."""
    copy = str(analysis.get(PLAYBACK_KEY, "") or "")
    if copy and Path(copy).is_file() and Path(copy).parent == Path(original).parent:
        return copy
    return original
