"""Reading just enough of media files: clip length and size from MP4/MOV boxes, audio format by magic.

Stdlib only, no decoding: the clip's ``mvhd`` box gives its length, the first
bytes of a download say what it really is, whatever the URL or Content-Type claim.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from . import riff

_CONTAINER_BOXES = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"udta"}
_QUICKTIME_TOP = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


@dataclass(frozen=True)
class ClipInfo:
    """What the vendors' limits need to know about a local clip."""

    path: Path
    container: str  # "mp4" or "mov"
    size: int
    duration: float | None  # seconds, from mvhd; None when absent (e.g. fragmented MP4)
    width: int | None = None
    height: int | None = None


def _boxes(stream: BinaryIO, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload offset, payload end) of each box between ``start`` and ``end``."""
    offset = start
    while offset + 8 <= end:
        stream.seek(offset)
        header = stream.read(8)
        if len(header) < 8:
            return
        size, kind = struct.unpack(">I4s", header)
        payload = offset + 8
        if size == 1:
            large = stream.read(8)
            if len(large) < 8:
                return
            size = struct.unpack(">Q", large)[0]
            payload = offset + 16
        elif size == 0:
            size = end - offset
        if size < payload - offset or offset + size > end:
            return
        yield kind, payload, offset + size
        offset += size


def _read_mvhd(stream: BinaryIO, payload: int) -> float | None:
    stream.seek(payload)
    version = stream.read(4)[:1]
    if version == b"\x01":
        data = stream.read(28)
        if len(data) < 28:
            return None
        timescale, duration = struct.unpack(">16xIQ", data)
    else:
        data = stream.read(16)
        if len(data) < 16:
            return None
        timescale, duration = struct.unpack(">8xII", data)
    if not timescale or duration in (0, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF):
        return None
    return duration / timescale


def _read_tkhd_size(stream: BinaryIO, payload: int) -> tuple[int, int] | None:
    stream.seek(payload)
    version = stream.read(4)[:1]
    skip = 32 if version == b"\x01" else 20  # times, track id, reserved, duration
    stream.seek(payload + 4 + skip + 8 + 8 + 36)  # reserved, layer/group/volume, matrix
    data = stream.read(8)
    if len(data) < 8:
        return None
    width, height = struct.unpack(">II", data)
    return width >> 16, height >> 16


def read_clip_info(path: str | Path) -> ClipInfo:
    """Parse an MP4/MOV file's boxes. Raises ValueError when it is not one."""
    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as stream:
        head = stream.read(12)
        if len(head) < 8:
            raise ValueError("too short to be a video")
        first_kind = head[4:8]
        if first_kind == b"ftyp":
            container = "mov" if head[8:12] == b"qt  " else "mp4"
        elif first_kind in _QUICKTIME_TOP:
            container = "mov"
        else:
            raise ValueError("not an MP4 or MOV file")
        duration: float | None = None
        dims: tuple[int, int] | None = None
        found_moov = False
        stack = [(0, size)]
        while stack:
            start, end = stack.pop()
            for kind, payload, box_end in _boxes(stream, start, end):
                if kind == b"moov":
                    found_moov = True
                if kind == b"mvhd" and duration is None:
                    duration = _read_mvhd(stream, payload)
                elif kind == b"tkhd":
                    size_wh = _read_tkhd_size(stream, payload)
                    if size_wh and all(size_wh) and dims is None:
                        dims = size_wh  # first track with a picture
                elif kind in _CONTAINER_BOXES:
                    stack.append((payload, box_end))
        if not found_moov:
            raise ValueError("no movie header (moov) box")
    return ClipInfo(
        path=path,
        container=container,
        size=size,
        duration=duration,
        width=dims[0] if dims else None,
        height=dims[1] if dims else None,
    )


# -- audio ------------------------------------------------------------------------------------------

_MP3_BITRATES = {
    # (version is MPEG-1, layer) -> kbit/s by index
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (False, 3): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
}
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mp3_header(data: bytes, offset: int = 0) -> tuple[int, int, int, int] | None:
    """(bitrate bit/s, sample rate, samples per frame, frame length) of a valid frame header."""
    if len(data) < offset + 4 or data[offset] != 0xFF or data[offset + 1] & 0xE0 != 0xE0:
        return None
    version_bits = (data[offset + 1] >> 3) & 3
    layer_bits = (data[offset + 1] >> 1) & 3
    bitrate_index = data[offset + 2] >> 4
    rate_index = (data[offset + 2] >> 2) & 3
    if version_bits == 1 or layer_bits == 0 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    mpeg1 = version_bits == 3
    layer = 4 - layer_bits
    bitrate = _MP3_BITRATES[(mpeg1, layer)][bitrate_index] * 1000
    rate = _MP3_RATES[version_bits][rate_index]
    padding = (data[offset + 2] >> 1) & 1
    if layer == 1:
        samples, length = 384, (12 * bitrate // rate + padding) * 4
    else:
        samples = 1152 if (layer == 2 or mpeg1) else 576
        length = samples // 8 * bitrate // rate + padding
    return bitrate, rate, samples, length


def sniff_audio(head: bytes) -> str | None:  # noqa: PLR0911 - one exit per format
    """The audio format from the first bytes: wav, mp3, flac, ogg, m4a/mp4; None if not audio."""
    if riff.is_riff_wave(head):
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[4:8] == b"ftyp":
        return "m4a" if head[8:12] in (b"M4A ", b"M4B ") else "mp4"
    if head[:3] == b"ID3":
        return "mp3"
    header = _mp3_header(head)
    if header is not None:
        # One sync word is weak evidence; require the next frame too when the sample is long enough.
        length = header[3]
        if len(head) >= length + 4 and _mp3_header(head, length) is None:
            return None
        return "mp3"
    return None


def looks_like_text_page(head: bytes) -> str | None:
    """ "an HTML page" / "a JSON document" / "text" when the bytes are an error page rather than audio."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<?xml", b"<")):
        return "an HTML page"
    if text.startswith((b"{", b"[")):
        return "a JSON document"
    if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head[:256]):
        return "text"
    return None


def _wav_duration(stream: BinaryIO) -> float | None:
    # riff.find_audio: the stdlib ``wave`` module rejects float and WAVE_FORMAT_EXTENSIBLE files.
    layout = riff.find_audio(stream)
    return layout.duration if layout.format_first else None


def _flac_duration(stream: BinaryIO) -> float | None:
    stream.seek(4)
    header = stream.read(4)
    if len(header) < 4 or header[0] & 0x7F != 0:
        return None
    info = stream.read(34)
    if len(info) < 18:
        return None
    packed = int.from_bytes(info[10:18], "big")
    rate = packed >> 44
    total = packed & ((1 << 36) - 1)
    return total / rate if rate and total else None


def _ogg_duration(stream: BinaryIO) -> float | None:
    start = stream.read(4096)
    rate = 0
    if b"\x01vorbis" in start:
        pos = start.index(b"\x01vorbis") + 12
        rate = struct.unpack("<I", start[pos : pos + 4])[0] if len(start) >= pos + 4 else 0
    elif b"OpusHead" in start:
        rate = 48000  # Opus granule positions always count 48 kHz samples
    if not rate:
        return None
    end = stream.seek(0, 2)
    stream.seek(max(0, end - 65536))
    tail = stream.read()
    pos = tail.rfind(b"OggS")
    if pos < 0 or len(tail) < pos + 14:
        return None
    granule = struct.unpack("<q", tail[pos + 6 : pos + 14])[0]
    return granule / rate if granule > 0 else None


def _mp3_duration(stream: BinaryIO) -> float | None:
    data = stream.read(10)
    offset = 0
    if data[:3] == b"ID3" and len(data) == 10:
        offset = 10 + ((data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9])
    end = stream.seek(0, 2)
    stream.seek(offset)
    block = stream.read(8192)
    for index in range(min(len(block) - 4, 4096)):
        header = _mp3_header(block, index)
        if header is None:
            continue
        bitrate, rate, samples, _length = header
        for tag in (b"Xing", b"Info"):  # VBR header gives the exact frame count
            tag_at = block.find(tag, index, index + 64)
            if tag_at >= 0 and len(block) >= tag_at + 12 and block[tag_at + 7] & 1:
                frames = struct.unpack(">I", block[tag_at + 8 : tag_at + 12])[0]
                return frames * samples / rate
        return (end - offset - index) * 8 / bitrate
    return None


def _mp4_duration(path: Path) -> float | None:
    try:
        return read_clip_info(path).duration
    except ValueError:
        return None


def audio_duration(path: str | Path, fmt: str) -> float | None:  # noqa: PLR0911 - one exit per format
    """Best-effort length in seconds (exact for WAV and FLAC); None when it cannot be read."""
    path = Path(path)
    try:
        if fmt in ("m4a", "mp4"):
            return _mp4_duration(path)
        with path.open("rb") as stream:
            if fmt == "wav":
                return _wav_duration(stream)
            if fmt == "flac":
                return _flac_duration(stream)
            if fmt == "ogg":
                return _ogg_duration(stream)
            if fmt == "mp3":
                return _mp3_duration(stream)
    except (OSError, struct.error, ValueError, ZeroDivisionError):
        return None
    return None


def _wav_problem(path: Path) -> str:  # noqa: PLR0911 - one sentence per defect
    with path.open("rb") as stream:
        layout = riff.find_audio(stream)
    fmt = layout.fmt
    if layout.data is not None and not layout.format_first:
        return "its audio data comes before any format chunk"
    if layout.fmt_bytes is not None and fmt is None:
        return f"its format chunk is cut short ({layout.fmt_bytes} of {riff.FORMAT_MIN_SIZE} bytes)"
    if fmt is not None and not fmt.sample_rate:
        return "its sample rate is 0"
    if fmt is not None and (not fmt.channels or not fmt.block_align):
        return "it declares no channels"
    if layout.data is not None and layout.frame_count == 0:
        return "it holds no audio samples (its data chunk is empty)" if layout.audio_bytes == 0 else \
            "it holds no audio samples (less than one frame)"
    if layout.data is not None:
        return ""
    if layout.chunks == riff.MAX_CHUNKS:
        return "it has too many chunks to be a sound file"
    return "it has no audio data chunk" if fmt is not None else "it has no format chunk"


def _mp3_problem(path: Path) -> str:
    with path.open("rb") as stream:
        data = stream.read(10)
        offset = 0
        if data[:3] == b"ID3" and len(data) == 10:
            offset = 10 + ((data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9])
        stream.seek(offset)
        block = stream.read(65536)
    for index in range(max(0, min(len(block) - 4, 8192))):
        header = _mp3_header(block, index)
        # two frames in a row: one sync word in garbage is chance, two are audio
        if header is not None and _mp3_header(block, index + header[3]) is not None:
            return ""
    return "it has no MPEG audio frames"


def check_decodable(path: str | Path, fmt: str) -> str:
    """"" when the file holds audio a player can decode, else why not (rate 0, header only, garbage).

    Sniffing the first bytes says what a file claims to be; this reads far enough
    to see it really has samples, so a broken result is a failed job with a
    sentence, never a one-frame strip (issue 11).
    """
    path = Path(path)
    try:
        if fmt == "wav":
            return _wav_problem(path)
        if fmt == "mp3":
            return _mp3_problem(path)
        duration = audio_duration(path, fmt)
    except (OSError, struct.error, ValueError) as exc:
        return f"it cannot be read ({exc})"
    if duration is None or duration <= 0:
        return "its header gives no playable length (no samples or no audio track)"
    return ""
