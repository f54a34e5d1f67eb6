import math
import struct
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from vse_foley.core.conform import (
    AudioFormatError,
    PcmAudio,
    check_duration,
    equal_power_gains,
    fit_to_length,
    join_chunks,
    join_wav_files,
    read_wav,
    write_wav,
)
from vse_foley.core.timeline import fps_fraction, seconds_to_samples

RATE = 48000


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples)))) if samples.size else 0.0


def noise(seconds: float, seed: int, channels: int = 1, level: float = 0.1) -> PcmAudio:
    rng = np.random.default_rng(seed)
    return PcmAudio(rng.normal(0.0, level, (round(seconds * RATE), channels)), RATE)


def db(ratio: float) -> float:
    return 20 * math.log10(ratio)


@pytest.mark.parametrize(
    ("fmt", "tolerance"), [("pcm16", 1 / 30000), ("pcm24", 1e-6), ("pcm32", 1e-8), ("float32", 1e-7)]
)
@pytest.mark.parametrize("channels", [1, 2])
def test_wav_round_trip(tmp_path: Path, fmt, tolerance, channels):
    audio = noise(0.05, 1, channels)
    path = write_wav(tmp_path / f"{fmt}.wav", audio, fmt)
    back = read_wav(path)
    assert (back.sample_rate, back.channels, back.frame_count) == (RATE, channels, audio.frame_count)
    assert back.sample_format == fmt
    assert np.max(np.abs(back.samples - audio.samples)) <= tolerance


def test_reads_wave_format_extensible_and_odd_chunks(tmp_path: Path):
    samples = np.array([[0, 16384], [-16384, 32767]], dtype="<i2")
    guid_pcm = struct.pack("<H", 1) + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
    fmt = struct.pack("<HHIIHHHHI", 0xFFFE, 2, 44100, 44100 * 4, 4, 16, 22, 16, 3) + guid_pcm
    data = samples.tobytes()
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"LIST" + struct.pack("<I", 3) + b"abc\x00"  # an odd-sized chunk before the data
    body += b"data" + struct.pack("<I", len(data)) + data
    path = tmp_path / "ext.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    audio = read_wav(path)
    assert audio.sample_rate == 44100 and audio.channels == 2
    assert audio.samples[0, 1] == pytest.approx(0.5) and audio.samples[1, 0] == pytest.approx(-0.5)


def test_not_wav_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "x.mp3"
    path.write_bytes(b"ID3\x04" + b"\x00" * 64)
    with pytest.raises(AudioFormatError, match="not a WAV file"):
        read_wav(path)


def test_fit_to_length_pads_with_silence_and_trims():
    audio = noise(0.01, 2)
    longer = fit_to_length(audio, audio.frame_count + 100)
    assert longer.frame_count == audio.frame_count + 100 and not longer.samples[-100:].any()
    assert fit_to_length(audio, 10).frame_count == 10


def test_equal_power_gains_sum_to_unit_power():
    fade_out, fade_in = equal_power_gains(1000)
    assert np.allclose(fade_out**2 + fade_in**2, 1.0)
    assert fade_out[0] > 0.999 and fade_in[-1] > 0.999


def window_rms_db(samples: np.ndarray, centre: int, width: int, reference: float) -> list[float]:
    """RMS level (dB relative to ``reference``) of consecutive windows around ``centre``."""
    levels = []
    for start in range(centre - 4 * width, centre + 4 * width, width):
        levels.append(db(rms(samples[start : start + width]) / reference))
    return levels


def test_crossfaded_seams_of_uncorrelated_chunks_have_no_level_jump():
    overlap = int(0.75 * RATE)
    length = 15 * RATE
    starts = [0, length - overlap, 2 * (length - overlap)]
    parts = [noise(15, seed) for seed in (11, 12, 13)]
    total = starts[-1] + length
    joined = join_chunks(parts, [(s, length) for s in starts], total)
    assert joined.frame_count == total
    reference = rms(joined.samples)
    for seam in starts[1:]:
        centre = seam + overlap // 2
        levels = window_rms_db(joined.samples, centre, overlap // 4, reference)
        # 0.19 s windows of noise: ±0.3 dB of estimator spread; no dip or bump beyond that
        assert max(abs(level) for level in levels) < 0.5, levels


def test_correlated_material_bumps_3db_mid_fade_as_documented():
    overlap = RATE // 2
    same = noise(2, 5)
    start = same.frame_count - overlap
    # the second part begins with exactly the samples the first ends with: a fully correlated overlap
    tail = PcmAudio(same.samples[start:].copy(), RATE)
    joined = join_chunks([same, tail], [(0, same.frame_count), (start, overlap)], same.frame_count)
    mid = slice(start + overlap // 2 - 200, start + overlap // 2 + 200)
    assert db(rms(joined.samples[mid]) / rms(same.samples[mid])) == pytest.approx(db(math.sqrt(2)), abs=0.05)


def test_join_mixes_mono_into_stereo_and_refuses_mixed_rates():
    mono, stereo = noise(1, 1, 1), noise(1, 2, 2)
    joined = join_chunks([mono, stereo], [(0, RATE), (RATE // 2, RATE)], RATE * 3 // 2)
    assert joined.channels == 2
    with pytest.raises(AudioFormatError, match="sample rates"):
        join_chunks([mono, PcmAudio(mono.samples, 44100)], [(0, RATE), (RATE // 2, RATE)], RATE * 2)


def test_join_wav_files_gives_the_exact_range_length_at_23976(tmp_path: Path):
    fps = fps_fraction(24, 1.001)
    # a 1079-frame range (≈45 s) in three chunks of 375/375/373 frames overlapping 18 frames
    frames = [(0, 375), (357, 375), (714, 365)]
    paths = []
    for index, (_start, count) in enumerate(frames):
        seconds = float(Fraction(count) / fps) - 0.02 * index  # vendors return a little less
        paths.append(write_wav(tmp_path / f"c{index}.wav", noise(seconds, index)))
    total = Fraction(1079) / fps
    report = join_wav_files(
        paths,
        [Fraction(start) / fps for start, _ in frames],
        [Fraction(count) / fps for _, count in frames],
        total,
        tmp_path / "joined.wav",
        fps,
    )
    joined = read_wav(report.path)
    assert joined.frame_count == math.floor(total * RATE + Fraction(1, 2))
    assert report.sample_rate == RATE and report.channels == 1
    assert not report.duration.much_shorter and report.padded_frames > 0


def test_fit_pads_or_trims_to_the_frame(tmp_path: Path):
    # conform_wav (unused by the product) is gone; its parts are checked directly (issue 12 item 4)
    fps = fps_fraction(30, 1.001)
    seconds = Fraction(300) / fps  # 10.01 s
    target = seconds_to_samples(seconds, RATE)
    assert target == 480480
    short = read_wav(write_wav(tmp_path / "in.wav", noise(9.0, 1)))
    padded = fit_to_length(short, target)
    assert padded.frame_count == 480480 and not padded.samples[9 * RATE:].any()
    check = check_duration(short.duration, seconds, fps)
    assert check.much_shorter and "much shorter" in check.message
    long = read_wav(write_wav(tmp_path / "long.wav", noise(11.0, 2)))
    trimmed = fit_to_length(long, target)
    assert trimmed.frame_count == 480480 and check_duration(long.duration, seconds, fps).message == ""


def test_duration_check_thresholds():
    fps = Fraction(25)
    assert check_duration(10.0, 10.0, fps).message == ""
    assert not check_duration(9.97, 10.0, fps).is_short  # within a frame (0.04 s)
    short = check_duration(9.5, 10.0, fps)
    assert short.is_short and not short.much_shorter and "0.50 s shorter" in short.message
    much = check_duration(8.9, 10.0, fps)
    assert much.much_shorter and "much shorter" in much.message
