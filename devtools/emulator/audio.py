"""Media the emulator makes and reads: result audio (WAV, silent MP3) and MP4/MOV clip facts.

Results must be real, decodable files of the asked length so the clients' sniffing,
duration checks and conforming run on the same bytes they will meet in production.
"""

from __future__ import annotations

import io
import math
import random
import struct
import sys
import wave
from array import array
from functools import lru_cache

DEFAULT_SAMPLE_RATE = 44100

# Chords in whole hertz: a one-second block then loops without a click.
_VOICES: tuple[tuple[int, ...], ...] = (
    (220, 277, 330),
    (196, 247, 294, 392),
    (261, 329, 392),
    (146, 220, 293),
    (174, 220, 261, 349),
    (110, 165, 220),
    (330, 415, 494),
    (123, 185, 247, 370),
)

# Box types that may open an ISO-BMFF (MP4) or QuickTime (MOV) file.
_MP4_FIRST_BOXES = {b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


@lru_cache(maxsize=64)
def _one_second_block(sample_rate: int, channels: int, voice: int) -> bytes:
    """One second of interleaved little-endian int16: tones, a 2 Hz pulse and a little noise.

    Computed with numpy (the per-sample loop took ~0.25 s per voice, and the first
    successful poll of each task paid it inside the emulator's lock, serialising
    eight tasks that finish together: a cost no real vendor adds to its latency).
    """
    import numpy as np

    freqs = _VOICES[voice % len(_VOICES)]
    noise = random.Random(voice)  # fixed noise per voice keeps results reproducible
    jitter = np.array([noise.random() for _ in range(sample_rate * channels)]).reshape(sample_rate, channels)
    two_pi = 2.0 * math.pi
    t = np.arange(sample_rate) / sample_rate
    pulse = 0.55 + 0.45 * np.sin(two_pi * 2.0 * t)
    tone = np.sum([np.sin(two_pi * f * t) for f in freqs], axis=0) / len(freqs)
    top = np.sin(two_pi * freqs[-1] * t)
    # The right channel leans on the top note so stereo is audibly stereo.
    lean = np.stack([top if channel % 2 else tone for channel in range(channels)], axis=1)
    value = 0.35 * pulse[:, None] * (0.7 * tone[:, None] + 0.3 * lean) + 0.02 * (jitter * 2.0 - 1.0)
    samples = np.trunc(np.clip(value, -1.0, 1.0) * 32767).astype("<i2")
    return samples.tobytes()


def synth_wav(
    seconds: float, *, sample_rate: int = DEFAULT_SAMPLE_RATE, channels: int = 2, voice: int = 0,
    gain_db: float = 0.0, silence: tuple[float, float] | None = None,
) -> bytes:
    """A 16-bit PCM WAV of exactly ``round(seconds * sample_rate)`` frames that is not silent.

    ``gain_db`` scales it (clipping at full scale, as an overdriven model would);
    ``silence`` = (from s, seconds) zeroes a stretch.
    """
    frames = max(1, round(seconds * sample_rate))
    block = _one_second_block(sample_rate, channels, voice % len(_VOICES))  # a small, hot cache
    whole, rest = divmod(frames, sample_rate)
    pcm = block * whole + block[: rest * channels * 2]
    if gain_db or silence:
        pcm = _shape(pcm, sample_rate, channels, gain_db, silence)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm)
    return buffer.getvalue()


def _shape(pcm: bytes, sample_rate: int, channels: int, gain_db: float,
           silence: tuple[float, float] | None) -> bytes:
    samples = array("h", pcm)
    if sys.byteorder == "big":
        samples.byteswap()
    if gain_db:
        factor = 10.0 ** (gain_db / 20.0)
        samples = array("h", (max(-32768, min(32767, round(v * factor))) for v in samples))
    if silence is not None:
        first = max(0, round(silence[0] * sample_rate)) * channels
        last = min(len(samples), first + max(0, round(silence[1] * sample_rate)) * channels)
        samples[first:last] = array("h", bytes(2 * (last - first)))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def wav_duration(data: bytes) -> float:
    """Seconds of a WAV file (used by tests and assertions)."""
    with wave.open(io.BytesIO(data), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


# MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, mono, no CRC, no padding: 417-byte frames.
# All-zero side information decodes as silence, so no encoder is needed.
_MP3_HEADER = b"\xff\xfb\x90\xc4"
_MP3_FRAME_BYTES = 417
_MP3_FRAME_SAMPLES = 1152
_MP3_RATE = 44100


def silent_mp3(seconds: float) -> tuple[bytes, float]:
    """A valid silent MP3 at least ``seconds`` long, and its exact length in seconds."""
    count = max(1, math.ceil(seconds * _MP3_RATE / _MP3_FRAME_SAMPLES))
    frame = _MP3_HEADER + bytes(_MP3_FRAME_BYTES - len(_MP3_HEADER))
    return frame * count, count * _MP3_FRAME_SAMPLES / _MP3_RATE


def is_mp4_or_mov(data: bytes) -> bool:
    """True when the bytes open like an MP4 or QuickTime file (first box type)."""
    return len(data) >= 8 and data[4:8] in _MP4_FIRST_BOXES


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, payload_start, box_end) of each box between start and end; stops at damage."""
    found: list[tuple[bytes, int, int]] = []
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:  # 64-bit largesize follows the type
            if pos + 16 > end:
                break
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:  # box runs to the end of the file
            size = end - pos
        if size < header or pos + size > end:
            break
        found.append((kind, pos + header, pos + size))
        pos += size
    return found


def mp4_duration(data: bytes) -> float | None:
    """Movie duration in seconds from ``moov/mvhd`` (timescale, duration), or None.

    None when there is no parseable mvhd, the timescale is 0, or the duration is
    unknown (all ones, as fragmented files write).
    """
    for kind, start, end in _boxes(data, 0, len(data)):
        if kind != b"moov":
            continue
        for child, c_start, c_end in _boxes(data, start, end):
            if child != b"mvhd" or c_end - c_start < 20:
                continue
            version = data[c_start]
            if version == 1:
                if c_end - c_start < 32:
                    return None
                timescale, duration = struct.unpack_from(">IQ", data, c_start + 4 + 16)
                unknown = duration == 0xFFFFFFFFFFFFFFFF
            else:
                timescale, duration = struct.unpack_from(">II", data, c_start + 4 + 8)
                unknown = duration == 0xFFFFFFFF
            if timescale == 0 or unknown:
                return None
            return float(duration) / float(timescale)
    return None
