"""Walking the chunks of a RIFF/WAVE file: the one WAV reader behind length, checks and decoding.

Stdlib only. Hand-written because Python 3.11's ``wave`` module, the one Blender
4.2–5.0 ships, reads neither float WAV nor WAVE_FORMAT_EXTENSIBLE, which vendors send.
A declared size is never trusted: a chunk cut short by a truncated download says how
many bytes it really has, and the walk ends where the file ends. What a missing or
misplaced chunk means is for the caller: ``core.conform.read_wav`` decodes,
``providers.media`` measures and checks, ``core.playback_copy`` copies, all from the
one ``find_audio``.

How long the audio is, the one rule (``audio_bytes``): a data size of 0xFFFFFFFF, or of 0
with more bytes after it, is a placeholder a streaming writer leaves (FFmpeg writing to a
pipe cannot seek back to patch the header), and the audio runs to the end of the file,
as FFmpeg's own reader takes both (``libavformat/wavdec.c``, ``wav_read_header``:
``data_end = size ? next_tag_ofs : INT64_MAX`` and the same for 0xFFFFFFFF), which is
how Blender plays it. A data size of 0 with nothing after it, or followed only by whole
chunks (a LIST of tags), is a truly empty data chunk: no audio. Any other size is taken
as declared, or as far as the file goes when it is cut short.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

RIFF_HEADER_SIZE = 12  # b"RIFF", the file's size, b"WAVE"
CHUNK_HEADER_SIZE = 8  # four-byte id, little-endian size
FORMAT_MIN_SIZE = 16  # the plain WAVEFORMAT fields every fmt chunk has

FORMAT_PCM = 1
FORMAT_FLOAT = 3
FORMAT_EXTENSIBLE = 0xFFFE

#: data sizes a streaming writer leaves for "to the end of the file": 0xFFFFFFFF (FFmpeg to a
#: pipe; writers that overflowed 32 bits or left the RF64-style placeholder) and 0, which is
#: only a placeholder when audio bytes follow it (``audio_bytes``)
SIZE_TO_END = 0xFFFFFFFF
SIZE_UNKNOWN = 0
#: a WAV file has a handful of chunks; more is not a sound file (the walk stops there)
MAX_CHUNKS = 64


def is_riff_wave(head: bytes) -> bool:
    """Whether the first 12 bytes are a RIFF header of WAVE form."""
    return head[:4] == b"RIFF" and head[8:12] == b"WAVE"


@dataclass(frozen=True)
class Chunk:
    """One chunk's header: where its body starts and how much of it the file holds."""

    kind: bytes  # four bytes, e.g. b"fmt " or b"data"
    offset: int  # of the body, from the start of the file
    size: int  # as the header declares it
    to_end: int  # bytes from the body's start to the end of the file

    @property
    def present(self) -> int:
        """Bytes of the body the file really holds (fewer than ``size`` when cut short)."""
        return min(self.size, self.to_end)


def walk_chunks(stream: BinaryIO, start: int = RIFF_HEADER_SIZE) -> Iterator[Chunk]:
    """Each chunk from ``start`` on, in file order, until no whole chunk header is left.

    Odd-sized bodies are followed by one pad byte, which the walk skips. Bounded by the
    file: every step moves at least one header forward. The stream may be read between
    steps (``read_body``); the walk seeks to each header itself.
    """
    end = stream.seek(0, 2)
    position = start
    while position + CHUNK_HEADER_SIZE <= end:
        stream.seek(position)
        header = stream.read(CHUNK_HEADER_SIZE)
        if len(header) < CHUNK_HEADER_SIZE:  # the file shrank under us
            return
        kind, size = struct.unpack("<4sI", header)
        body = position + CHUNK_HEADER_SIZE
        yield Chunk(kind, body, size, end - body)
        position = body + size + (size & 1)


def read_body(stream: BinaryIO, chunk: Chunk) -> bytes:
    """The bytes of ``chunk``'s body the file holds."""
    stream.seek(chunk.offset)
    return stream.read(chunk.present)


@dataclass(frozen=True)
class WavFormat:
    """The fields of a fmt chunk; ``tag`` is the real one, also for WAVE_FORMAT_EXTENSIBLE."""

    tag: int
    channels: int
    sample_rate: int
    byte_rate: int
    block_align: int
    bits: int

    @property
    def is_linear(self) -> bool:
        """Integer PCM or float: samples we (and every player) can count without a codec."""
        return self.tag in (FORMAT_PCM, FORMAT_FLOAT)

    @property
    def frame_size(self) -> int:
        """Bytes of one frame (one sample of every channel): whole bytes per sample for PCM and
        float, the declared block for a codec (ADPCM, mu-law...)."""
        if self.is_linear:
            return self.channels * max(1, (self.bits + 7) // 8)
        return self.block_align


def parse_format(body: bytes) -> WavFormat | None:
    """A fmt chunk's fields, or None when the body is shorter than the 16 bytes every format has."""
    if len(body) < FORMAT_MIN_SIZE:
        return None
    tag, channels, rate, byte_rate, block_align, bits = struct.unpack_from("<HHIIHH", body, 0)
    if tag == FORMAT_EXTENSIBLE and len(body) >= 26:
        tag = struct.unpack_from("<H", body, 24)[0]  # first two bytes of the sub-format GUID
    return WavFormat(tag, channels, rate, byte_rate, block_align, bits)


@dataclass(frozen=True)
class WavLayout:
    """What one walk of a WAV found: its format, where its samples are and how many bytes of them."""

    fmt: WavFormat | None  # the first fmt chunk (None: none, or cut short)
    fmt_bytes: int | None  # bytes of that fmt chunk's body the file holds (under 16: cut short)
    data: Chunk | None  # the first data chunk
    audio_bytes: int  # of sample data by the module's one rule (placeholders run to the end)
    format_first: bool  # the fmt chunk came before the data chunk, as players need
    chunks: int  # chunks walked (the walk stops at MAX_CHUNKS)

    @property
    def frame_count(self) -> int:
        """Whole frames of audio (a partial last frame of a cut-short file is not one)."""
        size = self.fmt.frame_size if self.fmt is not None else 0
        return self.audio_bytes // size if size > 0 else 0

    @property
    def duration(self) -> float | None:
        """Seconds of audio: exact for PCM and float, by the byte rate for a codec; None if unknown."""
        fmt = self.fmt
        if fmt is None or self.data is None:
            return None
        if fmt.is_linear:
            return self.frame_count / fmt.sample_rate if fmt.sample_rate else None
        return self.audio_bytes / fmt.byte_rate if fmt.byte_rate else None


def _is_chunk_id(kind: bytes) -> bool:
    return all(0x20 <= byte < 0x7F for byte in kind)  # printable ASCII, as every registered id is


def _only_whole_chunks_follow(stream: BinaryIO, start: int) -> bool:
    """Whether the bytes from ``start`` to the end are nothing, or chunks that fill them exactly."""
    end = stream.seek(0, 2)
    if start >= end:
        return True
    for chunk in itertools.islice(walk_chunks(stream, start), MAX_CHUNKS):
        if not _is_chunk_id(chunk.kind) or chunk.size > chunk.to_end:
            return False
        if chunk.offset + chunk.size + (chunk.size & 1) >= end:  # a last pad byte may be missing
            return True
    return False


def audio_bytes(stream: BinaryIO, data: Chunk) -> int:
    """Bytes of sample data in ``data`` by the module's rule: a placeholder size runs to the end
    of the file, an honest 0 is no audio, a size the file cannot hold is what it holds."""
    if data.size == SIZE_TO_END:
        return data.to_end
    if data.size == SIZE_UNKNOWN:
        return 0 if _only_whole_chunks_follow(stream, data.offset) else data.to_end
    return data.present


def find_audio(stream: BinaryIO) -> WavLayout:
    """Walk a RIFF/WAVE file (from its start) once: its first fmt and data chunks.

    Stops at a data chunk once the format is known, at one whose audio runs to the end (the
    bytes after it are samples, not chunks), at a format chunk cut short, or after
    MAX_CHUNKS chunks; a data chunk before the format is noted (``format_first``) and the
    walk goes on for the format. Raises nothing for a damaged file: the caller says what is
    wrong from the fields. Raises ValueError when the file is not RIFF/WAVE at all.
    """
    stream.seek(0)
    if not is_riff_wave(stream.read(RIFF_HEADER_SIZE)):
        raise ValueError("not a RIFF/WAVE file")
    fmt: WavFormat | None = None
    fmt_bytes: int | None = None
    data: Chunk | None = None
    length = 0
    format_first = False
    walked = 0
    for chunk in itertools.islice(walk_chunks(stream), MAX_CHUNKS):
        walked += 1
        if chunk.kind == b"fmt " and fmt_bytes is None:
            body = read_body(stream, chunk)
            fmt, fmt_bytes = parse_format(body), len(body)
            if fmt is None or data is not None:
                break
        elif chunk.kind == b"data" and data is None:
            data, format_first = chunk, fmt is not None
            length = audio_bytes(stream, chunk)
            if fmt is not None or length == chunk.to_end:
                break
    return WavLayout(fmt, fmt_bytes, data, length, format_first, walked)
