"""A real, decodable FLAC file from 16-bit PCM, for the ComfyUI emulator (SaveAudio writes FLAC).

Uncompressed ("verbatim") subframes keep the encoder small: the file is still a
valid FLAC stream (STREAMINFO with the sample count, frame headers with CRC-8,
frames with CRC-16) that ffmpeg, Blender and the extension's own duration
reader open like any other. Format: https://xiph.org/flac/format.html (RFC 9639).
"""

from __future__ import annotations

import struct
import sys
from array import array
from functools import lru_cache

BLOCK_SIZE = 4096
_RATE_CODES = {
    88200: 0b0001,
    176400: 0b0010,
    192000: 0b0011,
    8000: 0b0100,
    16000: 0b0101,
    22050: 0b0110,
    24000: 0b0111,
    32000: 0b1000,
    44100: 0b1001,
    48000: 0b1010,
    96000: 0b1011,
}


def _table(poly: int, width: int) -> list[int]:
    top, mask = 1 << (width - 1), (1 << width) - 1
    table = []
    for byte in range(256):
        crc = byte << (width - 8)
        for _ in range(8):
            crc = ((crc << 1) ^ poly) & mask if crc & top else (crc << 1) & mask
        table.append(crc)
    return table


_CRC8 = _table(0x07, 8)
_CRC16 = _table(0x8005, 16)


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = _CRC8[crc ^ byte]
    return crc


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[(crc >> 8) ^ byte]
    return crc


def _utf8_number(value: int) -> bytes:
    """FLAC's frame number coding (UTF-8 style, up to 31 bits)."""
    if value < 0x80:
        return bytes([value])
    for length, limit, first in (
        (2, 0x800, 0xC0),
        (3, 0x10000, 0xE0),
        (4, 0x200000, 0xF0),
        (5, 0x4000000, 0xF8),
        (6, 0x80000000, 0xFC),
    ):
        if value < limit:
            tail = [0x80 | ((value >> (6 * i)) & 0x3F) for i in range(length - 2, -1, -1)]
            return bytes([first | (value >> (6 * (length - 1))), *tail])
    raise ValueError("frame number too large")


@lru_cache(maxsize=16)
def encode_flac(pcm: bytes, sample_rate: int, channels: int) -> bytes:
    """FLAC bytes for interleaved little-endian int16 ``pcm``."""
    if sample_rate not in _RATE_CODES or not 1 <= channels <= 2:
        raise ValueError(f"unsupported stream: {sample_rate} Hz, {channels} channels")
    samples = array("h", pcm)
    if sys.byteorder == "big":
        samples.byteswap()
    total = len(samples) // channels
    streaminfo = struct.pack(">HH", BLOCK_SIZE, BLOCK_SIZE) + b"\0" * 6
    packed = (sample_rate << 44) | ((channels - 1) << 41) | (15 << 36) | total
    streaminfo += packed.to_bytes(8, "big") + b"\0" * 16  # MD5 0: "not computed", allowed
    out = bytearray(b"fLaC" + bytes([0x80, 0, 0, len(streaminfo)]) + streaminfo)
    for number, start in enumerate(range(0, total, BLOCK_SIZE)):
        count = min(BLOCK_SIZE, total - start)
        header = bytearray(
            [0xFF, 0xF8, (0b0111 << 4) | _RATE_CODES[sample_rate], ((channels - 1) << 4) | (0b100 << 1)]
        )
        header += _utf8_number(number) + struct.pack(">H", count - 1)
        header.append(_crc8(bytes(header)))
        frame = bytearray(header)
        for channel in range(channels):
            frame.append(0b00000010)  # subframe: VERBATIM, no wasted bits
            block = samples[(start * channels) + channel : (start + count) * channels : channels]
            big = array("h", block)
            if sys.byteorder == "little":
                big.byteswap()
            frame += big.tobytes()
        frame += struct.pack(">H", _crc16(bytes(frame)))
        out += frame
    return bytes(out)
