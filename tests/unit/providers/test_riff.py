"""The one RIFF/WAVE chunk walker (issue 12 item 5) and what its callers make of the same bytes."""

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
    assert riff.audio_bytes(io.BytesIO(data), chunks[1]) == 16
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


def streamed(fmt: bytes, samples: bytes, placeholder: int) -> bytes:
    """A WAV as a streaming writer leaves it: RIFF and data sizes are the placeholder, never patched."""
    size = struct.pack("<I", placeholder)
    return b"RIFF" + size + b"WAVE" + fmt + b"data" + size + samples


def agreed_length(path: Path) -> tuple[int, float | None, str]:
    """What the decoder, the length and the download check each make of one file."""
    return read_wav(path).frame_count, audio_duration(path, "wav"), check_decodable(path, "wav")


@pytest.mark.parametrize("placeholder", [0, 0xFFFFFFFF])
def test_a_placeholder_data_size_means_to_the_end_for_decoding_length_and_checks(tmp_path: Path,
                                                                                  placeholder: int):
    samples = struct.pack("<80h", *range(-40, 40))
    data = streamed(chunk(b"fmt ", fmt_body()), samples, placeholder)
    (only_data,) = [c for c in walk(data) if c.kind == b"data"]
    assert riff.audio_bytes(io.BytesIO(data), only_data) == 160
    path = tmp_path / "stream.wav"
    path.write_bytes(data)
    assert agreed_length(path) == (80, pytest.approx(80 / 8000), "")
    assert read_wav(path).samples[:, 0].tolist() == [v / 32768 for v in range(-40, 40)]


@pytest.mark.parametrize("placeholder", [0, 0xFFFFFFFF])
def test_a_streamed_stereo_24_bit_file_cut_mid_frame_keeps_its_whole_frames(tmp_path: Path, placeholder: int):
    # 24-bit stereo: 6 bytes a frame; 100 frames and 4 bytes of the next, where the stream was cut
    path = tmp_path / "stream24.wav"
    fmt = chunk(b"fmt ", fmt_body(channels=2, rate=48000, bits=24))
    path.write_bytes(streamed(fmt, b"\x11" * 604, placeholder))
    assert agreed_length(path) == (100, pytest.approx(100 / 48000), "")


def test_a_streamed_file_of_digital_silence_is_audio_not_chunks(tmp_path: Path):
    # zero bytes after a 0 size read as an (empty) chunk id would end the audio; they are samples
    path = tmp_path / "silence.wav"
    path.write_bytes(streamed(chunk(b"fmt ", fmt_body()), bytes(8000 * 2), 0))
    assert agreed_length(path) == (8000, pytest.approx(1.0), "")


def test_an_honest_empty_data_chunk_is_no_audio_everywhere(tmp_path: Path):
    path = tmp_path / "empty.wav"
    path.write_bytes(riff_file(chunk(b"fmt ", fmt_body()), chunk(b"data", b"")))
    with pytest.raises(AudioFormatError, match="holds no audio samples"):
        read_wav(path)
    assert audio_duration(path, "wav") == 0.0
    assert check_decodable(path, "wav") == "it holds no audio samples (its data chunk is empty)"


def test_an_empty_data_chunk_followed_by_tags_is_no_audio_not_the_tags_played(tmp_path: Path):
    # size 0 then whole chunks (a LIST of tags, odd-sized and padded): honest, not a placeholder
    tags = chunk(b"LIST", b"INFOISFT" + struct.pack("<I", 5) + b"Lavf\0") + chunk(b"id3 ", b"ID3\3\0")
    data = riff_file(chunk(b"fmt ", fmt_body()), chunk(b"data", b""), tags)
    (only_data,) = [c for c in walk(data) if c.kind == b"data"]
    assert riff.audio_bytes(io.BytesIO(data), only_data) == 0
    path = tmp_path / "empty-tagged.wav"
    path.write_bytes(data)
    with pytest.raises(AudioFormatError, match="holds no audio samples"):
        read_wav(path)
    assert check_decodable(path, "wav") == "it holds no audio samples (its data chunk is empty)"
    # the same tags with one stray byte after them are no longer whole chunks: the audio runs to the end
    path.write_bytes(data + b"\x7f")
    assert agreed_length(path) == ((len(tags) + 1) // 2, pytest.approx((len(tags) + 1) // 2 / 8000), "")


def test_less_than_one_frame_is_no_audio(tmp_path: Path):
    path = tmp_path / "crumb.wav"
    path.write_bytes(riff_file(chunk(b"fmt ", fmt_body(channels=2)), chunk(b"data", b"\1\0\2")))
    with pytest.raises(AudioFormatError, match="holds no audio samples"):
        read_wav(path)
    assert check_decodable(path, "wav") == "it holds no audio samples (less than one frame)"


def test_a_truncated_file_keeps_its_whole_frames_in_every_reader(tmp_path: Path):
    # an honest size of 4000 bytes, the download cut after 7 frames and one byte of the eighth
    path = tmp_path / "truncated.wav"
    whole = riff_file(chunk(b"fmt ", fmt_body()), chunk(b"data", b"\1\0" * 8, declared=4000))
    path.write_bytes(whole[:-1])
    assert agreed_length(path) == (7, pytest.approx(7 / 8000), "")


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

