"""A real, small MP4 "video with its new audio track", as fal's video-to-video audio models answer.

fal's MMAudio and ThinkSound return the input video with the generated sound muxed in
(H.264 + AAC in production). The emulator cannot encode H.264 or AAC, so it writes
the same container with codecs FFmpeg reads without any encoder: a one-frame
uncompressed picture track (``raw `` RGB, 16x16) that lasts the whole movie, and a
16-bit little-endian PCM sound track (``sowt``). FFmpeg's mov/mp4 demuxer - the one
inside Blender's audaspace - opens it like any MP4, so the client's audio extraction
runs on a file with a video track in front of its sound, as it will in production.

Boxes follow ISO/IEC 14496-12 (QuickTime's sound sample description, version 0).
"""

from __future__ import annotations

import struct
import wave
from io import BytesIO

_WIDTH = _HEIGHT = 16
_MOVIE_TIMESCALE = 1000
_UNITY_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def _box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def _full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags), *payload)


def _tkhd(track_id: int, duration_ms: int, *, audio: bool) -> bytes:
    volume = 0x0100 if audio else 0
    width, height = (0, 0) if audio else (_WIDTH << 16, _HEIGHT << 16)
    return _full_box(
        b"tkhd",
        0,
        3,
        struct.pack(">IIIII", 0, 0, track_id, 0, duration_ms),
        bytes(8),
        struct.pack(">hhhH", 0, 0, volume, 0),
        _UNITY_MATRIX,
        struct.pack(">II", width, height),
    )


def _dinf() -> bytes:
    return _box(b"dinf", _full_box(b"dref", 0, 0, struct.pack(">I", 1), _full_box(b"url ", 0, 1)))


def _sample_table(entry: bytes, stts: tuple[int, int], sample_size: int, count: int, offset: int) -> bytes:
    return _box(
        b"stbl",
        _full_box(b"stsd", 0, 0, struct.pack(">I", 1), entry),
        _full_box(b"stts", 0, 0, struct.pack(">III", 1, *stts)),
        _full_box(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, count, 1)),
        _full_box(b"stsz", 0, 0, struct.pack(">II", sample_size, count)),
        _full_box(b"stco", 0, 0, struct.pack(">II", 1, offset)),
    )


def _mdia(handler: bytes, name: bytes, timescale: int, duration: int, header: bytes, table: bytes) -> bytes:
    return _box(
        b"mdia",
        _full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, timescale, duration, 0x55C4, 0)),
        _full_box(b"hdlr", 0, 0, struct.pack(">I4s", 0, handler), bytes(12), name + b"\0"),
        _box(b"minf", header, _dinf(), table),
    )


def _video_entry() -> bytes:
    return _box(
        b"raw ",
        bytes(6),
        struct.pack(">H", 1),
        bytes(16),
        struct.pack(">HHIIIH", _WIDTH, _HEIGHT, 0x480000, 0x480000, 0, 1),
        bytes(32),
        struct.pack(">hh", 24, -1),
    )


def _sound_entry(channels: int, rate: int) -> bytes:
    return _box(
        b"sowt",
        bytes(6),
        struct.pack(">H", 1),
        struct.pack(">HHI", 0, 0, 0),
        struct.pack(">HHhHI", channels, 16, 0, 0, rate << 16),
    )


def movie_with_sound(wav_bytes: bytes) -> bytes:
    """An MP4 with a still picture track and ``wav_bytes``' PCM as its sound track (same length)."""
    with wave.open(BytesIO(wav_bytes), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError("16-bit PCM only")
        rate, channels, frames = wav.getframerate(), wav.getnchannels(), wav.getnframes()
        pcm = wav.readframes(frames)
    duration_ms = max(1, round(frames * _MOVIE_TIMESCALE / rate))
    picture = bytes([40, 90, 160]) * (_WIDTH * _HEIGHT)
    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isomiso2mp41")
    mdat_start = len(ftyp) + 8
    picture_at, sound_at = mdat_start, mdat_start + len(picture)
    mdat = _box(b"mdat", picture, pcm)
    video = _box(
        b"trak",
        _tkhd(1, duration_ms, audio=False),
        _mdia(
            b"vide",
            b"VideoHandler",
            _MOVIE_TIMESCALE,
            duration_ms,
            _full_box(b"vmhd", 0, 1, bytes(8)),
            _sample_table(_video_entry(), (1, duration_ms), len(picture), 1, picture_at),
        ),
    )
    sound = _box(
        b"trak",
        _tkhd(2, duration_ms, audio=True),
        _mdia(
            b"soun",
            b"SoundHandler",
            rate,
            frames,
            _full_box(b"smhd", 0, 0, bytes(4)),
            _sample_table(_sound_entry(channels, rate), (frames, 1), 2 * channels, frames, sound_at),
        ),
    )
    mvhd = _full_box(
        b"mvhd",
        0,
        0,
        struct.pack(">IIII", 0, 0, _MOVIE_TIMESCALE, duration_ms),
        struct.pack(">IH", 0x10000, 0x0100),
        bytes(10),
        _UNITY_MATRIX,
        bytes(24),
        struct.pack(">I", 3),
    )
    return ftyp + mdat + _box(b"moov", mvhd, video, sound)
