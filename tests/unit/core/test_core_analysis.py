"""The look at a result (core.analysis), the gain decision (core.level) and the waveform PNG."""

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from vse_foley.core import analysis, level, waveform
from vse_foley.core.conform import PcmAudio, write_wav

RATE = 48000


def tone(seconds: float, amplitude: float = 0.3, channels: int = 2) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    left = amplitude * np.sin(2 * np.pi * 440 * t)
    right = amplitude * np.sin(2 * np.pi * 660 * t)
    return np.stack([left, right], axis=1)[:, :channels]


def test_silence_and_clipping_are_both_flagged(tmp_path: Path):
    samples = np.clip(tone(6.0, amplitude=1.6), -1.0, 1.0)
    samples[round(4.0 * RATE) : round(7.2 * RATE)] = 0.0  # silent from 00:04 to the end (2.0 s)
    samples = np.concatenate([samples, np.zeros((round(1.2 * RATE), 2))])  # 3.2 s in all
    path = write_wav(tmp_path / "r.wav", PcmAudio(samples, RATE, "float32"))
    figures = analysis.analyse_file(path)
    assert analysis.flags(figures) == ["silent for 3.2 s from 00:04", "clips at 0 dBFS"]


def test_mono_and_an_odd_sample_rate_are_flagged(tmp_path: Path):
    twin = np.repeat(tone(2.0, channels=1), 2, axis=1)
    path = write_wav(tmp_path / "m.wav", PcmAudio(twin, RATE, "float32"))
    flags = analysis.flags(analysis.analyse_file(path), scene_rate=44100)
    assert flags == ["mono", "48000 Hz (the scene mixes at 44100 Hz)"]
    assert analysis.flags(analysis.analyse_file(path), scene_rate=48000) == ["mono"]


def test_all_silence_is_silent_and_never_matched(tmp_path: Path):
    path = write_wav(tmp_path / "s.wav", PcmAudio(np.zeros((RATE * 2, 2)), RATE))
    figures = analysis.analyse_file(path)
    assert figures["silent"] and figures["lufs"] is None and analysis.flags(figures) == ["all silent"]
    assert level.gain_for(figures, level.LevelSetting("TARGET", -23.0)) is None
    assert analysis.summary(figures) == "silent"


def test_an_unreadable_file_says_so_and_never_raises(tmp_path: Path):
    path = tmp_path / "movie.mp4"
    path.write_bytes(b"\0\0\0\x18ftypisom" + bytes(64))
    figures = analysis.analyse_file(path)
    assert figures["measured"] is False and "could not be measured" in figures["reason"]
    assert analysis.flags(figures) == ["level not measured"]


def test_a_decoder_reads_what_numpy_cannot(tmp_path: Path):
    path = tmp_path / "r.mp3"
    path.write_bytes(b"ID3 not really")
    figures = analysis.analyse_file(path, decode=lambda p: (tone(2.0), RATE))
    assert figures["measured"] and figures["lufs"] is not None


def test_the_waveform_is_a_valid_png(tmp_path: Path):
    path = tmp_path / "w" / "job.png"
    samples = tone(1.0)
    samples[:100] = 1.0  # a clipped start: drawn red
    waveform.write_png(path, samples)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (waveform.WIDTH, waveform.HEIGHT)
    pos, idat = 8, b""
    while pos < len(data):  # walk the chunks and check every CRC
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + size]
        assert struct.unpack(">I", data[pos + 8 + size : pos + 12 + size])[0] == zlib.crc32(kind + body)
        if kind == b"IDAT":
            idat += body
        pos += 12 + size
    rows = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, 1 + width * 4)
    pixels = rows[:, 1:].reshape(height, width, 4)
    assert (pixels[:, 0, 0] == 255).any()  # the clipped first column is red
    assert (pixels[:, -1, 2] == 255).any()  # the rest is drawn blue


@pytest.mark.parametrize(
    ("pref", "target", "scene", "scene_target", "expected"),
    [
        ("OFF", -23.0, None, None, ("OFF", -23.0)),
        ("WEB", -23.0, None, None, ("TARGET", -16.0)),
        ("BROADCAST", -10.0, None, None, ("TARGET", -23.0)),
        ("TARGET", -12.0, None, None, ("TARGET", -12.0)),
        ("WEB", -23.0, "OFF", -23.0, ("OFF", -23.0)),
        ("OFF", -23.0, "TARGET", -18.0, ("TARGET", -18.0)),
        ("OFF", -23.0, "MATCH_TAKES", -23.0, ("MATCH_TAKES", -23.0)),
    ],
)
def test_the_scene_setting_wins_over_the_preference(pref, target, scene, scene_target, expected):
    setting = level.resolve(pref, target, scene, scene_target)
    assert (setting.mode, setting.target_lufs) == expected


def test_the_gain_never_lifts_the_peak_above_minus_one_dbfs():
    figures = {"lufs": -20.0, "sample_peak_dbfs": -6.0}
    gain = level.gain_for(figures, level.LevelSetting("TARGET", -10.0))
    assert gain is not None and gain.gain_db == pytest.approx(5.0) and gain.short_by_db == pytest.approx(5.0)
    assert "5.0 dB short" in gain.warning
    quieter = level.gain_for(figures, level.LevelSetting("TARGET", -30.0))
    assert quieter is not None and quieter.gain_db == pytest.approx(-10.0) and quieter.warning == ""
    hot = level.gain_for({"lufs": -20.0, "sample_peak_dbfs": 0.0}, level.LevelSetting("TARGET", -16.0))
    assert hot is not None and hot.gain_db == 0.0  # already above the ceiling: not boosted at all


def test_match_takes_follows_the_reference_and_leaves_the_first_alone():
    setting = level.LevelSetting("MATCH_TAKES")
    assert level.gain_for({"lufs": -20.0, "sample_peak_dbfs": -12.0}, setting, None) is None
    gain = level.gain_for({"lufs": -26.0, "sample_peak_dbfs": -12.0}, setting, -20.0)
    assert gain is not None and gain.effective_lufs == pytest.approx(-20.0)
    assert gain.volume == pytest.approx(10 ** (6 / 20))
