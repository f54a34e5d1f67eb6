"""Issue 11, item 6: a result that sniffs as audio but cannot be decoded is a failed job with a sentence."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from providers_testkit import FAST

from devtools.emulator.hostile import HostileVendor, tiny_wav
from vse_foley.providers.download import download_audio
from vse_foley.providers.errors import DownloadError
from vse_foley.providers.http import VendorHttp
from vse_foley.providers.media import check_decodable, sniff_audio


def wav_with(fmt_body: bytes, data: bytes) -> bytes:
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt_body)) + fmt_body
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


RATE_ZERO = wav_with(struct.pack("<HHIIHH", 1, 1, 0, 0, 2, 16), b"\x00\x01" * 400)
HEADER_ONLY = wav_with(struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16), b"")
SHORT_FMT = wav_with(struct.pack("<HH", 1, 1), b"\x00\x01" * 400)
GARBAGE_MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 16
GARBAGE_MP4 = struct.pack(">I4s4sI", 20, b"ftyp", b"M4A ", 0) + b"\x00\x00\x00\x00" + b"\xde\xad" * 500

BROKEN = {
    "rate zero": (RATE_ZERO, "sample rate is 0"),
    "header only": (HEADER_ONLY, "no audio samples"),
    "short fmt": (SHORT_FMT, "format chunk is cut short"),
    "garbage mp3": (GARBAGE_MP3, "no MPEG audio frames"),
    "garbage mp4": (GARBAGE_MP4, "no playable length"),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_broken_audio_sniffs_as_audio_but_is_not_decodable(tmp_path: Path, name: str):
    data, reason = BROKEN[name]
    fmt = sniff_audio(data[:4096])
    assert fmt is not None  # it claims to be audio...
    path = tmp_path / f"x.{fmt}"
    path.write_bytes(data)
    assert reason in check_decodable(path, fmt)  # ...but holds none


def test_a_good_wav_is_decodable(tmp_path: Path):
    path = tmp_path / "ok.wav"
    path.write_bytes(tiny_wav())
    assert check_decodable(path, "wav") == ""


@pytest.fixture
def bad() -> Iterator[HostileVendor]:
    with HostileVendor(bomb_bytes=1024 * 1024) as server:
        yield server


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_download_that_does_not_decode_is_a_sentence_and_the_paid_file_is_kept(
        bad: HostileVendor, tmp_path: Path, name: str):
    data, reason = BROKEN[name]
    bad.files["result"] = data
    http = VendorHttp("Hostile", FAST)
    try:
        with pytest.raises(DownloadError, match="not playable") as caught:
            download_audio(http, bad.url("/files/result"), tmp_path / "take")
    finally:
        http.close()
    assert reason in str(caught.value) and "Please report" not in str(caught.value)
    [kept] = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]
    assert kept.read_bytes() == data  # never thrown away: it was paid for
