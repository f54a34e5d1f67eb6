"""Clip headers, audio sniffing by magic bytes, durations, and the verified download to disk."""

from __future__ import annotations

import io
import struct
import threading
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from providers_testkit import FAST, make_mp4

from vse_foley.providers.download import check_result_url, download_audio
from vse_foley.providers.errors import DownloadError
from vse_foley.providers.http import VendorHttp
from vse_foley.providers.media import audio_duration, looks_like_text_page, read_clip_info, sniff_audio


def _wav_bytes(seconds: float, rate: int = 8000, channels: int = 1) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(b"\0\0" * channels * round(seconds * rate))
    return buffer.getvalue()


def _float_wav(seconds: float, rate: int = 48000) -> bytes:
    """WAVE_FORMAT_EXTENSIBLE float32 stereo: the stdlib wave module cannot read it."""
    frames = round(seconds * rate)
    fmt = struct.pack("<HHIIHHHHIH14s", 0xFFFE, 2, rate, rate * 8, 8, 32, 22, 32, 3, 3, b"\0" * 14)
    data = b"\0" * frames * 8
    body = (
        b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _mp3_frames(count: int) -> bytes:
    # MPEG-1 layer III, 128 kbit/s, 44.1 kHz, no padding: 417-byte frames of 1152 samples.
    header = bytes([0xFF, 0xFB, 0x90, 0x00])
    return (header + b"\0" * 413) * count


def _flac(seconds: float, rate: int = 44100) -> bytes:
    total = round(seconds * rate)
    packed = (rate << 44) | (1 << 41) | (15 << 36) | total
    info = struct.pack(">HH3s3s", 4096, 4096, b"\0\0\0", b"\0\0\0") + packed.to_bytes(8, "big") + b"\0" * 16
    return b"fLaC" + bytes([0x80]) + len(info).to_bytes(3, "big") + info


def test_mp4_header_gives_length_size_and_picture(tmp_path: Path):
    info = read_clip_info(make_mp4(tmp_path / "a.mp4", 7.25, width=1280, height=720))
    assert info.container == "mp4" and info.duration == pytest.approx(7.25)
    assert (info.width, info.height) == (1280, 720)
    assert info.size == (tmp_path / "a.mp4").stat().st_size


def test_mov_brand_and_moov_after_mdat(tmp_path: Path):
    path = make_mp4(tmp_path / "b.mov", 3.5, brand=b"qt  ")
    data = path.read_bytes()
    ftyp_len = struct.unpack(">I", data[:4])[0]
    moov_len = struct.unpack(">I", data[ftyp_len : ftyp_len + 4])[0]
    ftyp, moov, rest = data[:ftyp_len], data[ftyp_len : ftyp_len + moov_len], data[ftyp_len + moov_len :]
    path.write_bytes(ftyp + rest + moov)  # "not faststart": moov at the end
    info = read_clip_info(path)
    assert info.container == "mov" and info.duration == pytest.approx(3.5)


def test_mvhd_version_1_and_64_bit_box_size(tmp_path: Path):
    mvhd = b"mvhd" + bytes([1, 0, 0, 0]) + struct.pack(">QQIQ", 0, 0, 90000, 90000 * 12) + b"\0" * 80
    moov = (
        struct.pack(">I", 1)
        + b"moov"
        + struct.pack(">Q", 16 + 4 + len(mvhd))
        + struct.pack(">I", 4 + len(mvhd))
    )
    path = tmp_path / "c.mp4"
    path.write_bytes(struct.pack(">I4s4sI", 16, b"ftyp", b"isom", 0) + moov + mvhd)
    assert read_clip_info(path).duration == pytest.approx(12.0)


@pytest.mark.parametrize("data", [b"", b"<html>nope</html>", b"\0" * 64, b"RIFF\0\0\0\0AVI LIST"])
def test_not_a_clip(tmp_path: Path, data: bytes):
    path = tmp_path / "x.mp4"
    path.write_bytes(data)
    with pytest.raises(ValueError):
        read_clip_info(path)


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (_wav_bytes(0.1), "wav"),
        (b"ID3\x04\0\0\0\0\0\0" + _mp3_frames(2), "mp3"),
        (_mp3_frames(3), "mp3"),
        (b"fLaC\0\0\0\x22", "flac"),
        (b"OggS\0\x02" + b"\0" * 20, "ogg"),
        (b"\0\0\0\x20ftypM4A \0\0\0\0", "m4a"),
        (b"\0\0\0\x20ftypisom\0\0\0\0", "mp4"),
        (b"<!DOCTYPE html><html>", None),
        (b'{"code": 404}', None),
        (b"\xff\xf1\x50\x80", None),  # AAC ADTS is no MP3
        (b"", None),
    ],
)
def test_sniffing_ignores_names_and_trusts_bytes(head, fmt):
    assert sniff_audio(head[:4096]) == fmt


def test_error_pages_are_named():
    assert looks_like_text_page(b"  <!doctype html>") == "an HTML page"
    assert looks_like_text_page(b'{"error": "expired"}') == "a JSON document"
    assert looks_like_text_page(b"<?xml version='1.0'?><Error/>") == "an HTML page"
    assert looks_like_text_page(_wav_bytes(0.01)) is None


def test_durations(tmp_path: Path):
    cases = {
        "a.wav": (_wav_bytes(2.5), "wav", 2.5),
        "b.wav": (_float_wav(1.5), "wav", 1.5),
        "c.mp3": (_mp3_frames(100), "mp3", 100 * 1152 / 44100),
        "d.flac": (_flac(3.0), "flac", 3.0),
    }
    for name, (data, fmt, seconds) in cases.items():
        (tmp_path / name).write_bytes(data)
        assert audio_duration(tmp_path / name, fmt) == pytest.approx(seconds, rel=0.01), name
    m4a = make_mp4(tmp_path / "e.m4a", 4.0, brand=b"M4A ")
    assert audio_duration(m4a, "m4a") == pytest.approx(4.0)
    (tmp_path / "broken.wav").write_bytes(b"RIFF\0\0\0\0WAVEjunk")
    assert audio_duration(tmp_path / "broken.wav", "wav") is None


# -- download against a tiny local server ---------------------------------------------------------


class _Files(BaseHTTPRequestHandler):
    files: ClassVar[dict[str, tuple[int, bytes, dict[str, str]]]] = {}

    def do_GET(self):
        status, body, headers = self.files.get(self.path.split("?")[0], (404, b"missing", {}))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def files_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    _Files.files = {}
    yield f"http://127.0.0.1:{server.server_port}", _Files.files
    server.shutdown()
    server.server_close()


@pytest.fixture
def http():
    client = VendorHttp("TestVendor", FAST)
    yield client
    client.close()


def test_download_sniffs_the_real_format_and_never_overwrites(files_server, http, tmp_path: Path):
    base, files = files_server
    files["/result.wav"] = (200, b"ID3\x04\0\0\0\0\0\0" + _mp3_frames(50), {"Content-Type": "audio/wav"})
    (tmp_path / "take.mp3").write_bytes(b"keep me")
    audio = download_audio(http, f"{base}/result.wav?sig=1", tmp_path / "take")
    assert audio.format == "mp3" and audio.path == tmp_path / "take-2.mp3"  # one naming scheme (issue 12)
    assert (tmp_path / "take.mp3").read_bytes() == b"keep me"
    again = download_audio(http, f"{base}/result.wav", tmp_path / "take")
    assert again.path == tmp_path / "take-3.mp3"
    assert not list(tmp_path.glob(".*part"))


def test_download_rejects_empty_json_and_oversized(files_server, http, tmp_path: Path):
    base, files = files_server
    files["/empty"] = (200, b"", {})
    files["/json"] = (200, b'{"error":"AccessDenied"}', {"Content-Type": "audio/mpeg"})
    files["/big"] = (200, _wav_bytes(1.0), {})
    files["/gone"] = (410, b"", {})
    with pytest.raises(DownloadError, match="empty"):
        download_audio(http, f"{base}/empty", tmp_path / "a")
    with pytest.raises(DownloadError, match="JSON document instead of the audio"):
        download_audio(http, f"{base}/json", tmp_path / "a")
    with pytest.raises(DownloadError, match="no longer available"):
        download_audio(http, f"{base}/gone", tmp_path / "a")
    small = VendorHttp("TestVendor", FAST.__class__(**{**FAST.__dict__, "max_download_bytes": 1000}))
    with pytest.raises(DownloadError, match="more than the"):
        download_audio(small, f"{base}/big", tmp_path / "a")
    small.close()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://cdn.example.com/a.wav", True),
        ("http://127.0.0.1:9/a.wav", True),
        ("http://localhost/a", True),
        ("http://[::1]:80/a", True),
        ("http://cdn.example.com/a.wav", False),
        ("ftp://127.0.0.1/a", False),
        ("file:///etc/passwd", False),
    ],
)
def test_only_https_or_loopback_http(url, ok):
    if ok:
        check_result_url(url, "X")
    else:
        with pytest.raises(DownloadError, match="not https"):
            check_result_url(url, "X")
