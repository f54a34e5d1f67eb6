"""A small waveform picture of a result, drawn with numpy and written as PNG with the stdlib.

No image library: a PNG is a signature, an IHDR chunk, zlib-compressed scanlines
(each prefixed by filter type 0) in IDAT, and IEND; every chunk carries a CRC-32.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import numpy.typing as npt

WIDTH = 96
HEIGHT = 48
_WAVE = (150, 200, 255, 255)
_CLIPPED = (255, 80, 60, 255)
_MIDLINE = (120, 120, 120, 160)
#: |sample| at or above this counts as full scale (int16 tops out at 32767/32768)
FULL_SCALE = 0.9999


def draw(samples: npt.NDArray[np.float64], width: int = WIDTH, height: int = HEIGHT) -> npt.NDArray[np.uint8]:
    """RGBA pixels (height, width, 4): per column the min..max of the samples, red where it clips.

    Row 0 is the TOP of the picture (PNG order).
    """
    frames = samples.reshape(-1, 1) if samples.ndim == 1 else samples
    pixels = np.zeros((height, width, 4), dtype=np.uint8)
    middle = height // 2
    pixels[middle, :] = _MIDLINE
    count = frames.shape[0]
    if count == 0:
        return pixels
    edges = np.linspace(0, count, width + 1).astype(np.int64)
    mono = frames.mean(axis=1) if frames.shape[1] > 1 else frames[:, 0]
    loudest = np.max(np.abs(frames), axis=1)
    half = (height - 1) / 2.0
    for column in range(width):
        start, stop = int(edges[column]), max(int(edges[column + 1]), int(edges[column]) + 1)
        piece = mono[start:stop]
        if piece.size == 0:
            continue
        top = round(half - float(np.clip(piece.max(), -1, 1)) * half)
        bottom = round(half - float(np.clip(piece.min(), -1, 1)) * half)
        clipped = bool(np.any(loudest[start:stop] >= FULL_SCALE))
        pixels[min(top, bottom) : max(top, bottom) + 1, column] = _CLIPPED if clipped else _WAVE
    return pixels


def _chunk(kind: bytes, body: bytes) -> bytes:
    checksum = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", checksum)


def png_bytes(pixels: npt.NDArray[np.uint8]) -> bytes:
    """An 8-bit RGBA PNG of ``pixels`` (height, width, 4)."""
    height, width = int(pixels.shape[0]), int(pixels.shape[1])
    filters = np.zeros((height, 1), dtype=np.uint8)  # filter type 0 (none) on every scanline
    rows = np.concatenate([filters, pixels.reshape(height, width * 4)], axis=1)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8 bits, RGBA, deflate, no interlace
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
            + _chunk(b"IEND", b""))


def write_png(path: Path, samples: npt.NDArray[np.float64]) -> Path:
    """Draw ``samples`` and write the PNG to ``path`` (a new file in the preview folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(png_bytes(draw(samples)))
    temporary.replace(path)  # a half-written picture is never loaded
    return path
