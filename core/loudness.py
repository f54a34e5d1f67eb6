"""Loudness and peaks of a result, with numpy only (Blender ships numpy, not scipy).

- Integrated loudness per ITU-R BS.1770-4 (EBU R128): K-weighting (a high shelf and
  a high pass, two biquads), mean square over 400 ms blocks with 75 % overlap,
  an absolute gate at −70 LUFS and a relative gate 10 LU below the level of the
  blocks above it. Channel weights 1.0 for L, R, C and 1.41 for the surrounds
  (channels 4 and 5); mono counts its one channel with weight 1.0.
- Sample peak in dBFS and true peak in dBTP, the latter by 4× oversampling with a
  polyphase FIR (BS.1770-4 Annex 2).

The biquads are derived for any sample rate from their analogue prototypes (the
way libebur128 does; at 48 kHz they give the coefficients printed in BS.1770-4).
numpy has no IIR filter and a Python loop over every sample would take seconds,
so the cascade is applied as a convolution with its impulse response: the K filter
is stable and its response falls to float rounding (below 1e-15 of its peak) within
0.17 s at 44.1 and 48 kHz, so truncating it at 0.15 s or more (rounded up to a power
of two) changes nothing measurable. The convolution runs block-wise by FFT
(overlap-add), which is what ``scipy.signal.lfilter`` computes from zero state.
The response and the oversampling filter are computed once per rate: every landed
result is measured on a worker thread, and eight landing at once share two cores.

``pyloudnorm`` serves as the test oracle (tests/unit/core/test_core_loudness.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

BLOCK_S = 0.4
OVERLAP = 0.75
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
#: BS.1770 weights by channel position (L, R, C, Ls, Rs); more channels count 1.0
CHANNEL_WEIGHTS = (1.0, 1.0, 1.0, 1.41, 1.41)
OVERSAMPLING = 4
_TAPS_PER_PHASE = 48


@dataclass(frozen=True)
class Loudness:
    """Figures for one signal; ``integrated_lufs`` is None when nothing passed the gates."""

    integrated_lufs: float | None
    sample_peak_dbfs: float | None  # None: digital silence
    true_peak_dbtp: float | None
    reason: str = ""  # why there is no integrated figure ("silent", "shorter than 0.4 s")

    @property
    def silent(self) -> bool:
        return self.integrated_lufs is None and self.reason == "silent"


def _as_frames(samples: FloatArray) -> FloatArray:
    array = np.asarray(samples, dtype=np.float64)
    return array.reshape(-1, 1) if array.ndim == 1 else array


# -- K-weighting -------------------------------------------------------------------------


def k_weighting_biquads(rate: int) -> tuple[tuple[FloatArray, FloatArray], tuple[FloatArray, FloatArray]]:
    """((b, a) of the high shelf, (b, a) of the high pass) for ``rate`` Hz."""
    # Stage 1: high shelf, +4 dB above ~1.7 kHz (the head as a rigid sphere).
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf_b = np.array(
        [(vh + vb * k / q + k * k) / a0, 2.0 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0]
    )
    shelf_a = np.array([1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0])
    # Stage 2: the RLB high pass at ~38 Hz.
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1.0 + k / q + k * k
    pass_b = np.array([1.0, -2.0, 1.0])
    pass_a = np.array([1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0])
    return (shelf_b, shelf_a), (pass_b, pass_a)


def _impulse_response_length(rate: int) -> int:
    return 1 << max(10, math.ceil(math.log2(rate * 0.15)))  # >= 0.15 s (8192 taps at 44.1/48 kHz)


def k_weighting_impulse_response(rate: int) -> FloatArray:
    """The cascade's impulse response, sampled from its frequency response (a read-only copy is cached)."""
    return _cached_impulse_response(rate)


@lru_cache(maxsize=8)
def _cached_impulse_response(rate: int) -> FloatArray:
    length = _impulse_response_length(rate)
    grid = 4 * length  # the response is negligible long before the grid wraps around
    z = np.exp(-1j * np.pi * np.arange(grid // 2 + 1) / (grid // 2))  # z^-1 on the unit circle
    response = np.ones_like(z)
    for b, a in k_weighting_biquads(rate):
        response *= (b[0] + b[1] * z + b[2] * z * z) / (a[0] + a[1] * z + a[2] * z * z)
    impulse = np.fft.irfft(response, grid)[:length]
    impulse.flags.writeable = False  # shared by every caller
    return impulse


@lru_cache(maxsize=8)
def _impulse_spectrum(rate: int, size: int) -> npt.NDArray[np.complex128]:
    spectrum = np.fft.rfft(k_weighting_impulse_response(rate), size)
    spectrum.flags.writeable = False
    return spectrum


def k_weight(samples: FloatArray, rate: int) -> FloatArray:
    """K-weighted copy of ``samples`` (frames, channels), same length, from zero state."""
    frames = _as_frames(samples)
    block = _impulse_response_length(rate)
    return _convolve_columns(frames, block, _impulse_spectrum(rate, 2 * block))


def _convolve_columns(
    frames: FloatArray, block: int, spectrum: npt.NDArray[np.complex128], blocks_per_batch: int = 32
) -> FloatArray:
    """Each column convolved with the ``block``-long filter whose ``2 * block`` spectrum is given,
    truncated to the input length (overlap-add; FFTs along contiguous rows, bounded memory)."""
    count, channels = frames.shape
    size = 2 * block
    n_blocks = -(-count // block)
    out = np.zeros((channels, (n_blocks + 1) * block))
    for channel in range(channels):
        column = np.zeros(n_blocks * block)
        column[:count] = frames[:, channel]
        result = out[channel]
        for first in range(0, n_blocks, blocks_per_batch):
            last = min(n_blocks, first + blocks_per_batch)
            batch = column[first * block : last * block].reshape(last - first, block)
            filtered = np.fft.irfft(np.fft.rfft(batch, size, axis=1) * spectrum, size, axis=1)
            # each block's first half lands on itself, its second half on the next block
            result[first * block : last * block] += filtered[:, :block].reshape(-1)
            result[(first + 1) * block : (last + 1) * block] += filtered[:, block:].reshape(-1)
    return np.ascontiguousarray(out[:, :count].T)


# -- gating --------------------------------------------------------------------------------


def block_powers(weighted: FloatArray, rate: int) -> FloatArray:
    """Mean square per complete 400 ms block (75 % overlap), shape (blocks, channels)."""
    block = round(BLOCK_S * rate)
    step = round(BLOCK_S * (1.0 - OVERLAP) * rate)
    count = weighted.shape[0]
    if count < block:
        return np.zeros((0, weighted.shape[1]))
    # cumulative sums make every block O(1): sum over [s, s + block)
    squares = np.concatenate([np.zeros((1, weighted.shape[1])), np.cumsum(np.square(weighted), axis=0)])
    starts = np.arange(0, count - block + 1, step)
    return (squares[starts + block] - squares[starts]) / block


def _weights(channels: int) -> FloatArray:
    return np.array([CHANNEL_WEIGHTS[i] if i < len(CHANNEL_WEIGHTS) else 1.0 for i in range(channels)])


def _lufs(power: FloatArray | float) -> FloatArray:
    with np.errstate(divide="ignore"):
        return -0.691 + 10.0 * np.log10(power)


def gated_loudness(powers: FloatArray) -> float | None:
    """Integrated loudness from block powers, or None when no block passes the gates."""
    if powers.shape[0] == 0:
        return None
    weighted = powers @ _weights(powers.shape[1])
    levels = _lufs(weighted)
    above_absolute = levels > ABSOLUTE_GATE_LUFS
    if not above_absolute.any():
        return None
    relative_gate = float(_lufs(float(weighted[above_absolute].mean()))) + RELATIVE_GATE_LU
    kept = above_absolute & (levels > relative_gate)
    return float(_lufs(float(weighted[kept].mean())))


def integrated_loudness(samples: FloatArray, rate: int) -> float | None:
    """Integrated loudness in LUFS, or None (silence or shorter than one block)."""
    frames = _as_frames(samples)
    return gated_loudness(block_powers(k_weight(frames, rate), rate))


# -- peaks ---------------------------------------------------------------------------------


def _decibels(amplitude: float) -> float | None:
    return 20.0 * math.log10(amplitude) if amplitude > 0.0 else None


def sample_peak_dbfs(samples: FloatArray) -> float | None:
    frames = _as_frames(samples)
    return _decibels(float(np.max(np.abs(frames)))) if frames.size else None


@lru_cache(maxsize=4)
def oversampling_filter(taps_per_phase: int = _TAPS_PER_PHASE, factor: int = OVERSAMPLING) -> FloatArray:
    """Kaiser-windowed sinc low pass at the original Nyquist, gain ``factor`` (interpolation; cached)."""
    length = taps_per_phase * factor
    n = np.arange(length) - (length - 1) / 2.0
    ideal = np.sinc(n / factor)
    taps = ideal * np.kaiser(length, 8.0)  # sinc(n/L) already has gain L in the pass band
    taps.flags.writeable = False
    return taps


def true_peak_dbtp(samples: FloatArray) -> float | None:
    """The highest |sample| after 4× oversampling, in dBTP (never below the sample peak)."""
    frames = _as_frames(samples)
    if not frames.size:
        return None
    taps = oversampling_filter()
    peak = float(np.max(np.abs(frames)))
    for channel in range(frames.shape[1]):
        column = frames[:, channel]
        for phase in range(OVERSAMPLING):
            interpolated = np.convolve(column, taps[phase::OVERSAMPLING])
            peak = max(peak, float(np.max(np.abs(interpolated))))
    return _decibels(peak)


def measure(samples: FloatArray, rate: int) -> Loudness:
    """All figures for one signal (frames, channels) at ``rate`` Hz."""
    frames = _as_frames(samples)
    peak = sample_peak_dbfs(frames)
    if peak is None:
        return Loudness(None, None, None, "silent")
    lufs = integrated_loudness(frames, rate)
    reason = ""
    if lufs is None:
        reason = "shorter than 0.4 s" if frames.shape[0] < round(BLOCK_S * rate) else "silent"
    return Loudness(lufs, peak, true_peak_dbtp(frames), reason)
