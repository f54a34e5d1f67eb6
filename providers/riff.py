"""Walking the chunks of a RIFF/WAVE file: the one WAV reader behind length, checks and decoding.

Stdlib only. Hand-written because Python 3.11's ``wave`` module, the one Blender
4.2–5.0 ships, reads neither float WAV nor WAVE_FORMAT_EXTENSIBLE, which vendors send.
A declared size is never trusted: a chunk cut short by a truncated download says how
many bytes it really has, and the walk ends where the file ends. What a missing or
misplaced chunk means is for the caller: ``core.conform.read_wav`` decodes,
``providers.media`` measures and checks.
"""

from __future__ import annotations

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

#: data sizes that mean "to the end of the file": 0 from streaming writers, 0xFFFFFFFF from
#: writers that overflowed 32 bits or left the RF64-style placeholder
SIZES_MEANING_TO_END = (0, 0xFFFFFFFF)


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

    @property
    def audio_length(self) -> int:
        """Bytes of a data chunk a player would take: a placeholder size means to the end."""
        return self.to_end if self.size in SIZES_MEANING_TO_END else self.present


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


def parse_format(body: bytes) -> WavFormat | None:
    """A fmt chunk's fields, or None when the body is shorter than the 16 bytes every format has."""
    if len(body) < FORMAT_MIN_SIZE:
        return None
    tag, channels, rate, byte_rate, block_align, bits = struct.unpack_from("<HHIIHH", body, 0)
    if tag == FORMAT_EXTENSIBLE and len(body) >= 26:
        tag = struct.unpack_from("<H", body, 24)[0]  # first two bytes of the sub-format GUID
    return WavFormat(tag, channels, rate, byte_rate, block_align, bits)
