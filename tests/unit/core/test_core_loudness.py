"""core.loudness against pyloudnorm (a test-only oracle) and against BS.1770-4's printed figures."""

import numpy as np
import pyloudnorm
import pytest

from vse_foley.core import loudness

RATES = (44100, 48000)


def _signals(rate: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(rate)
    t = np.arange(int(rate * 6)) / rate
    gate = np.where((t % 2.0) < 0.6, 1.0, 0.0)[:, None]  # 0.6 s bursts, 1.4 s digital silence
    return {
        "white noise stereo": rng.normal(0.0, 0.1, (len(t), 2)),
        "pink-ish noise mono": np.cumsum(rng.normal(0.0, 0.01, len(t))) * 0.05,
        "tone 60 Hz mono": 0.5 * np.sin(2 * np.pi * 60 * t),
        "tone 440 Hz stereo": 0.3 * np.sin(2 * np.pi * 440 * t)[:, None] * np.array([1.0, 0.5]),
        "tone 1 kHz stereo": 0.3 * np.sin(2 * np.pi * 1000 * t)[:, None] * np.ones(2),
        "tone 3 kHz mono": 0.2 * np.sin(2 * np.pi * 3000 * t),
        "tone 10 kHz stereo": 0.2 * np.sin(2 * np.pi * 10000 * t)[:, None] * np.ones(2),
        "noise bursts with silence": gate * rng.normal(0.0, 0.2, (len(t), 2)),
        "loud and quiet parts": np.where((t % 3.0) < 1.0, 1.0, 0.02)[:, None]
        * rng.normal(0.0, 0.2, (len(t), 2)),
        "quiet noise": rng.normal(0.0, 0.001, (len(t), 1)),
    }


@pytest.mark.parametrize("rate", RATES)
def test_integrated_loudness_agrees_with_pyloudnorm_within_a_tenth_of_a_lu(rate):
    meter = pyloudnorm.Meter(rate)
    errors = {}
    for name, signal in _signals(rate).items():
        ours = loudness.integrated_loudness(signal, rate)
        reference = meter.integrated_loudness(signal)
        assert ours is not None, name
        errors[name] = abs(ours - reference)
    assert max(errors.values()) < 0.1, errors


def test_k_weighting_at_48k_gives_the_coefficients_printed_in_bs1770():
    (shelf_b, shelf_a), (pass_b, pass_a) = loudness.k_weighting_biquads(48000)
    np.testing.assert_allclose(shelf_b, [1.53512485958697, -2.69169618940638, 1.19839281085285], atol=1e-9)
    np.testing.assert_allclose(shelf_a, [1.0, -1.69065929318241, 0.73248077421585], atol=1e-9)
    np.testing.assert_allclose(pass_b, [1.0, -2.0, 1.0])
    np.testing.assert_allclose(pass_a, [1.0, -1.99004745483398, 0.99007225036621], atol=1e-9)


def test_a_full_scale_1khz_sine_on_one_channel_reads_minus_3_lufs():
    rate = 48000
    t = np.arange(rate * 4) / rate
    signal = np.stack([np.sin(2 * np.pi * 997 * t), np.zeros_like(t)], axis=1)
    assert loudness.integrated_loudness(signal, rate) == pytest.approx(-3.01, abs=0.05)


def test_silence_is_silent_with_no_number():
    figures = loudness.measure(np.zeros((48000 * 2, 2)), 48000)
    assert figures.silent and figures.integrated_lufs is None and figures.sample_peak_dbfs is None


def test_below_the_absolute_gate_is_silent_but_has_a_peak():
    rng = np.random.default_rng(3)
    figures = loudness.measure(rng.normal(0.0, 1e-5, (48000 * 2, 1)), 48000)
    assert figures.silent and figures.sample_peak_dbfs is not None


def test_shorter_than_one_block_says_so():
    figures = loudness.measure(np.full((1000, 1), 0.5), 48000)
    assert figures.integrated_lufs is None and figures.reason == "shorter than 0.4 s" and not figures.silent


def test_true_peak_finds_the_peak_between_samples():
    rate = 44100
    n = np.arange(rate)
    signal = 0.5 * np.sin(2 * np.pi * (rate / 4) * n / rate + np.pi / 4)  # samples straddle every peak
    assert loudness.sample_peak_dbfs(signal) == pytest.approx(20 * np.log10(0.5 * np.sqrt(0.5)), abs=1e-6)
    assert loudness.true_peak_dbtp(signal) == pytest.approx(20 * np.log10(0.5), abs=0.2)


def test_true_peak_is_never_below_the_sample_peak():
    rng = np.random.default_rng(5)
    signal = rng.uniform(-0.9, 0.9, (20000, 2))
    assert loudness.true_peak_dbtp(signal) >= loudness.sample_peak_dbfs(signal)
