"""The one RIFF/WAVE chunk walker (issue 12 item 5) and what its three callers make of the same bytes."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest

from vse_foley.core.conform import AudioFormatError, read_wav
from vse_foley.providers import riff
from vse_foley.providers.media import audio_duration, check_decodable


def chunk(kind: bytes, body: bytes, declared: int | None = None) -> bytes:
    size = len(body) if declared is None else declared
    return kind + struct.pack("<I", size) + body + (b"\0" if len(body) & 1 else b"")


def fmt_body(tag: int = 1, channels: int = 1, rate: int = 8000, bits: int = 16) -> bytes:
    block = channels * bits // 8
    return struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)


def extensible_fmt_body(sub_tag: int, channels: int = 2, rate: int = 48000, bits: int = 32) -> bytes:
    block = channels * bits // 8
    base = struct.pack("<HHIIHH", riff.FORMAT_EXTENSIBLE, channels, rate, rate * block, block, bits)
    # cbSize 22, valid bits, channel mask, then the sub-format GUID whose first two bytes are the tag
    guid = struct.pack("<H", sub_tag) + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
    return base + struct.pack("<HHI", 22, bits, 3) + guid


def riff_file(*chunks: bytes) -> bytes:
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def walk(data: bytes) -> list[riff.Chunk]:
    return list(riff.walk_chunks(io.BytesIO(data)))


def test_walks_chunks_in_file_order_with_body_offsets_and_sizes():
    data = riff_file(chunk(b"fmt ", fmt_body()), chunk(b"LIST", b"INFOabcd"), chunk(b"data", b"\1\0\2\0"))
    chunks = walk(data)
    where = [(c.kind, c.offset, c.size) for c in chunks]
    assert where == [(b"fmt ", 20, 16), (b"LIST", 44, 8), (b"data", 60, 4)]
    assert all(c.present == c.size for c in chunks)
    assert riff.read_body(io.BytesIO(data), chunks[2]) == b"\1\0\2\0"


def test_an_odd_sized_chunk_is_followed_by_a_pad_byte_the_walk_skips(tmp_path: Path):
    data = riff_file(chunk(b"fmt ", fmt_body()), chunk(b"junk", b"abc"), chunk(b"data", b"\1\0"))
    chunks = walk(data)
    assert [c.kind for c in chunks] == [b"fmt ", b"junk", b"data"]
    assert chunks[1].size == 3 and chunks[2].offset == chunks[1].offset + 3 + 1 + 8
    path = tmp_path / "odd.wav"
    path.write_bytes(data)
    assert read_wav(path).frame_count == 1
    assert audio_duration(path, "wav") == pytest.approx(1 / 8000)
    assert check_decodable(path, "wav") == ""


def test_a_chunk_cut_short_reports_what_the_file_holds_and_ends_the_walk(tmp_path: Path):
    data = riff_file(chunk(b"fmt ", fmt_body()), chunk(b"data", b"\1\0\2\0" * 4, declared=4000))
    chunks = walk(data)
    assert [c.kind for c in chunks] == [b"fmt ", b"data"]
    assert (chunks[1].size, chunks[1].present, chunks[1].to_end) == (4000, 16, 16)
    assert chunks[1].audio_length == 16
    path = tmp_path / "cut.wav"
    path.write_bytes(data)
    assert read_wav(path).frame_count == 8  # a truncated download keeps what it has
    assert audio_duration(path, "wav") == pytest.approx(8 / 8000)
    assert check_decodable(path, "wav") == ""


def test_a_half_chunk_header_at_the_end_is_no_chunk():
    data = riff_file(chunk(b"fmt ", fmt_body())) + b"dat"
    assert [c.kind for c in walk(data)] == [b"fmt "]
    assert walk(b"RIFF\0\0\0\0WAVE") == [] and walk(b"RIFF") == []


def test_a_format_chunk_cut_short_is_no_format(tmp_path: Path):
    body = fmt_body()[:10]
    assert riff.parse_format(body) is None
    path = tmp_path / "short-fmt.wav"
    path.write_bytes(riff_file(chunk(b"fmt ", fmt_body(), declared=16)[:18]))
    assert walk(path.read_bytes())[0].present == 10
    with pytest.raises(AudioFormatError, match=r"format chunk cut short \(10 of 16 bytes\)"):
        read_wav(path)
    assert audio_duration(path, "wav") is None
    assert check_decodable(path, "wav") == "its format chunk is cut short (10 of 16 bytes)"


def test_missing_format_chunk(tmp_path: Path):
    path = tmp_path / "no-fmt.wav"
    path.write_bytes(riff_file(chunk(b"LIST", b"INFO"), chunk(b"data", b"\1\0" * 8)))
    assert [c.kind for c in walk(path.read_bytes())] == [b"LIST", b"data"]
    with pytest.raises(AudioFormatError, match="has no audio data"):
        read_wav(path)
    assert audio_duration(path, "wav") is None
    assert check_decodable(path, "wav") == "its audio data comes before any format chunk"
    path.write_bytes(riff_file(chunk(b"LIST", b"INFO")))
    assert check_decodable(path, "wav") == "it has no format chunk"


def test_data_before_format_decodes_but_does_not_pass_the_stricter_checks(tmp_path: Path):
    # read_wav takes the chunks in any order; the download checks want fmt first, as players do
    path = tmp_path / "data-first.wav"
    path.write_bytes(riff_file(chunk(b"data", b"\0\0\xff\x7f"), chunk(b"fmt ", fmt_body())))
    assert [c.kind for c in walk(path.read_bytes())] == [b"data", b"fmt "]
    audio = read_wav(path)
    assert audio.frame_count == 2 and audio.samples[1, 0] == pytest.approx(32767 / 32768)
    assert audio_duration(path, "wav") is None
    assert check_decodable(path, "wav") == "its audio data comes before any format chunk"


def test_extensible_format_reads_its_sub_format_tag(tmp_path: Path):
    float_fmt = riff.parse_format(extensible_fmt_body(riff.FORMAT_FLOAT))
    assert float_fmt == riff.WavFormat(riff.FORMAT_FLOAT, 2, 48000, 384000, 8, 32)
    # 16 bytes only: an EXTENSIBLE tag without its extension stays what it says
    bare = riff.parse_format(extensible_fmt_body(riff.FORMAT_FLOAT)[:16])
    assert bare is not None and bare.tag == riff.FORMAT_EXTENSIBLE
    samples = struct.pack("<4f", 0.5, -0.5, 0.25, -0.25)
    path = tmp_path / "extensible.wav"
    fmt = chunk(b"fmt ", extensible_fmt_body(riff.FORMAT_FLOAT))
    path.write_bytes(riff_file(fmt, chunk(b"data", samples)))
    audio = read_wav(path)
    assert (audio.channels, audio.sample_rate, audio.sample_format) == (2, 48000, "float32")
    assert audio.samples.tolist() == [[0.5, -0.5], [0.25, -0.25]]
    assert audio_duration(path, "wav") == pytest.approx(2 / 48000)
    assert check_decodable(path, "wav") == ""


@pytest.mark.parametrize("placeholder", [0, 0xFFFFFFFF])
def test_a_placeholder_data_size_means_to_the_end_for_length_and_checks(tmp_path: Path, placeholder: int):
    data = riff_file(chunk(b"fmt ", fmt_body())) + b"data" + struct.pack("<I", placeholder) + b"\1\0" * 80
    (only_data,) = [c for c in walk(data) if c.kind == b"data"]
    assert only_data.audio_length == 160
    path = tmp_path / "stream.wav"
    path.write_bytes(data)
    assert audio_duration(path, "wav") == pytest.approx(80 / 8000)
    assert check_decodable(path, "wav") == ""


def test_the_walk_is_bounded_by_the_file_and_the_check_by_a_chunk_count(tmp_path: Path):
    many = riff_file(chunk(b"fmt ", fmt_body()), *(chunk(b"pad ", b"") for _ in range(100)))
    assert len(walk(many)) == 101
    path = tmp_path / "many.wav"
    path.write_bytes(many)
    assert check_decodable(path, "wav") == "it has too many chunks to be a sound file"
    assert audio_duration(path, "wav") is None


def test_is_riff_wave():
    assert riff.is_riff_wave(b"RIFF\0\0\0\0WAVE")
    assert not riff.is_riff_wave(b"RIFF\0\0\0\0AVI ") and not riff.is_riff_wave(b"RIFF")

