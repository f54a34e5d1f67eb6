"""Audio conform without Blender: read/write PCM WAV, join chunks, fit to the range.

WAV is parsed by hand (``providers/riff.py`` walks the chunks) because Python 3.11's
``wave`` module, the one Blender 4.2–5.0 ships, reads neither float WAV nor
WAVE_FORMAT_EXTENSIBLE, which vendors do send. Samples are float64 in [-1, 1],
shaped (frames, channels).

Crossfades are equal-power (gains cos θ and sin θ, θ from 0 to π/2), since
cos² + sin² = 1: the summed POWER is constant when the two sides are
uncorrelated, which is the case for two independent generations (different
chunks of a long range). For identical, fully correlated material the summed
AMPLITUDE peaks at √2 (+3 dB) mid-fade; an equal-gain (linear) fade would be
exact there, but it dips 3 dB for uncorrelated material, the usual case here.
Nothing is resampled: parts must share a sample rate.

Chunks that meet at a picture cut (``core/shots.py``) do not overlap: there the
join is a sound cut with a short fade, one frame out and one frame in (the
usual editor's "soft cut" against a click), never a crossfade that would smear
one shot's sound into the next.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from ..providers import riff
from .timeline import seconds_to_samples

SampleFormat = Literal["pcm16", "pcm24", "pcm32", "float32"]
FloatArray = npt.NDArray[np.float64]

_PCM = riff.FORMAT_PCM
_FLOAT = riff.FORMAT_FLOAT

#: flagged as "much shorter than asked" below this fraction of the range
MUCH_SHORTER_RATIO = 0.9


class AudioFormatError(ValueError):
    """The file is not audio this module can read; the message says what to do."""


@dataclass
class PcmAudio:
    samples: FloatArray  # (frames, channels), float64 in [-1, 1]
    sample_rate: int
    sample_format: SampleFormat = "pcm16"

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def frame_count(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration(self) -> float:
        return self.frame_count / self.sample_rate


# -- WAV I/O -------------------------------------------------------------------------------


def read_wav(path: Path | str) -> PcmAudio:
    """Read 8/16/24/32-bit integer PCM or 32/64-bit float WAV (plain or EXTENSIBLE).

    How much audio there is follows ``providers.riff``'s one rule, the rule the download's
    checks (``providers.media``) measure by: a streaming writer's placeholder size runs to
    the end of the file, a file cut short keeps its whole frames, an empty data chunk is an
    AudioFormatError.
    """
    name = Path(path).name
    with Path(path).open("rb") as stream:
        try:
            layout = riff.find_audio(stream)
        except ValueError:
            raise AudioFormatError(f"{name} is not a WAV file; convert it to WAV first.") from None
        fmt = layout.fmt
        if layout.fmt_bytes is not None and fmt is None:  # truncated: a sentence, not a struct error
            raise AudioFormatError(
                f"{name} has a format chunk cut short ({layout.fmt_bytes} of {riff.FORMAT_MIN_SIZE} bytes); "
                "the file is damaged or incomplete."
            )
        if fmt is None or layout.data is None:
            raise AudioFormatError(f"{name} has no audio data; the download may be incomplete.")
        if fmt.channels < 1 or fmt.sample_rate < 1:
            raise AudioFormatError(f"{name} declares {fmt.channels} channels at {fmt.sample_rate} Hz.")
        if _decode(fmt.tag, fmt.bits, b"") is None:
            raise AudioFormatError(
                f"{name} uses WAV format {fmt.tag} with {fmt.bits}-bit samples, which cannot be read."
            )
        if layout.frame_count == 0:
            raise AudioFormatError(
                f"{name} holds no audio samples (its data chunk is empty); generate again."
            )
        stream.seek(layout.data.offset)
        payload = stream.read(layout.frame_count * fmt.frame_size)
    decoded = _decode(fmt.tag, fmt.bits, payload[: len(payload) - len(payload) % fmt.frame_size])
    assert decoded is not None  # the format was checked above
    samples, sample_format = decoded
    return PcmAudio(samples.reshape(-1, fmt.channels), fmt.sample_rate, sample_format)


_INT_PCM: dict[int, tuple[str, float, SampleFormat]] = {
    16: ("<i2", 32768.0, "pcm16"),
    32: ("<i4", float(1 << 31), "pcm32"),
}


def _decode(tag: int, bits: int, raw: bytes) -> tuple[FloatArray, SampleFormat] | None:
    """Interleaved samples as float64 in [-1, 1], or None for a format we do not read."""
    if tag == _FLOAT and bits in (32, 64):
        return np.frombuffer(raw, dtype="<f4" if bits == 32 else "<f8").astype(np.float64), "float32"
    if tag == _PCM and bits in _INT_PCM:
        dtype, scale, sample_format = _INT_PCM[bits]
        return np.frombuffer(raw, dtype=dtype).astype(np.float64) / scale, sample_format
    if tag == _PCM and bits == 8:
        return (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) / 128.0, "pcm16"
    if tag == _PCM and bits == 24:
        triples = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        values = triples[:, 0] | (triples[:, 1] << 8) | (triples[:, 2] << 16)
        values = np.where(values >= 1 << 23, values - (1 << 24), values)
        return values.astype(np.float64) / float(1 << 23), "pcm24"
    return None


def write_wav(path: Path | str, audio: PcmAudio, sample_format: SampleFormat | None = None) -> Path:
    """Write ``audio`` as WAV (16/24/32-bit PCM or 32-bit float). Overwrites ``path``."""
    fmt = sample_format or audio.sample_format
    clipped = np.clip(audio.samples, -1.0, 1.0)
    if fmt == "pcm16":
        tag, bits = _PCM, 16
        raw = np.round(clipped * 32767.0).astype("<i2").tobytes()
    elif fmt == "pcm24":
        tag, bits = _PCM, 24
        values = np.round(clipped * float((1 << 23) - 1)).astype("<i4")
        raw = values.reshape(-1, 1).view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    elif fmt == "pcm32":
        tag, bits = _PCM, 32
        raw = np.round(clipped * float((1 << 31) - 1)).astype("<i4").tobytes()
    else:
        tag, bits = _FLOAT, 32
        raw = audio.samples.astype("<f4").tobytes()
    channels = audio.channels
    block = channels * bits // 8
    fmt_body = struct.pack(
        "<HHIIHH", tag, channels, audio.sample_rate, audio.sample_rate * block, block, bits
    )
    chunks = [b"fmt " + struct.pack("<I", len(fmt_body)) + fmt_body]
    if tag == _FLOAT:
        chunks.append(b"fact" + struct.pack("<II", 4, audio.frame_count))
    chunks.append(b"data" + struct.pack("<I", len(raw)) + raw + (b"\0" if len(raw) & 1 else b""))
    body = b"WAVE" + b"".join(chunks)
    target = Path(path)
    target.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return target


# -- level and length ----------------------------------------------------------------------


def fit_to_length(audio: PcmAudio, frame_count: int) -> PcmAudio:
    """Pad with silence or trim the end to exactly ``frame_count`` sample frames."""
    have = audio.frame_count
    if have >= frame_count:
        samples = audio.samples[:frame_count]
    else:
        samples = np.concatenate([audio.samples, np.zeros((frame_count - have, audio.channels))])
    return PcmAudio(samples, audio.sample_rate, audio.sample_format)


def match_channels(audio: PcmAudio, channels: int) -> PcmAudio:
    """Mono → N channels by copying; N → mono by averaging; otherwise unchanged."""
    if audio.channels == channels:
        return audio
    if audio.channels == 1:
        return PcmAudio(np.repeat(audio.samples, channels, axis=1), audio.sample_rate, audio.sample_format)
    if channels == 1:
        return PcmAudio(audio.samples.mean(axis=1, keepdims=True), audio.sample_rate, audio.sample_format)
    raise AudioFormatError(f"Cannot join {audio.channels}-channel audio with {channels}-channel audio.")


def equal_power_gains(length: int) -> tuple[FloatArray, FloatArray]:
    """(fade-out, fade-in) gains over ``length`` samples: cos θ and sin θ, θ: 0 → π/2."""
    theta = (np.arange(length, dtype=np.float64) + 0.5) * (math.pi / 2 / max(length, 1))
    return np.cos(theta), np.sin(theta)


#: frames of fade on each side of a cut between two chunks that meet without overlapping
CUT_FADE_FRAMES = 1


def join_chunks(parts: Sequence[PcmAudio], placements: Sequence[tuple[int, int]], total: int,
                cut_fade: int = 0) -> PcmAudio:
    """Place each part at ``(start_sample, planned_length)`` and crossfade where they overlap.

    Each part is first padded/trimmed to its planned length; the overlap of
    consecutive parts is an equal-power crossfade. Parts that meet exactly (a cut)
    get a fade of ``cut_fade`` samples out and in on each side instead. Output is
    ``total`` frames.
    """
    if not parts or len(parts) != len(placements):
        raise ValueError("join_chunks needs one placement per part.")
    rate = parts[0].sample_rate
    if any(part.sample_rate != rate for part in parts):
        rates = sorted({part.sample_rate for part in parts})
        raise AudioFormatError(f"The chunks came back at different sample rates {rates}; retry the odd one.")
    channels = max(part.channels for part in parts)
    out = np.zeros((total, channels))
    previous_end = 0
    for part, (start, length) in zip(parts, placements, strict=True):
        samples = fit_to_length(match_channels(part, channels), length).samples
        fade = max(0, min(previous_end - start, length))
        if start == previous_end and start > 0 and cut_fade > 0:
            edge = min(cut_fade, length, start)
            fade_out, fade_in = equal_power_gains(edge)
            out[start - edge : start] *= fade_out[:, None]
            samples = samples.copy()
            samples[:edge] *= fade_in[:, None]
        if fade:
            fade_out, fade_in = equal_power_gains(fade)
            region = slice(start, start + fade)
            out[region] = out[region] * fade_out[:, None] + samples[:fade] * fade_in[:, None]
        stop = min(start + length, total)
        if stop > start + fade:
            out[start + fade : stop] = samples[fade : stop - start]
        previous_end = start + length
    return PcmAudio(out, rate, parts[0].sample_format)


# -- checking against the range ------------------------------------------------------------


@dataclass(frozen=True)
class DurationCheck:
    expected: float  # seconds of the range
    actual: float  # seconds the vendor returned
    frame: float  # seconds of one frame

    @property
    def short_by(self) -> float:
        return max(0.0, self.expected - self.actual)

    @property
    def is_short(self) -> bool:
        """Shorter by more than one frame (the strip will not cover the range)."""
        return self.short_by > self.frame + 1e-9

    @property
    def much_shorter(self) -> bool:
        """A known failure of several models: far less audio than asked for."""
        return self.actual < self.expected * MUCH_SHORTER_RATIO

    @property
    def message(self) -> str:
        if self.much_shorter:
            return (
                f"The audio lasts {self.actual:.2f} s of the {self.expected:.2f} s asked for, "
                "much shorter than the range; generate another take or pick another provider."
            )
        if self.is_short:
            return (
                f"The audio is {self.short_by:.2f} s shorter than the range "
                f"({self.actual:.2f} s of {self.expected:.2f} s); the end of the range is silent."
            )
        return ""


def check_duration(actual: float, expected: float | Fraction, fps: Fraction) -> DurationCheck:
    return DurationCheck(float(expected), float(actual), float(1 / fps))


@dataclass(frozen=True)
class ConformReport:
    path: Path
    sample_rate: int
    channels: int
    source_seconds: float
    seconds: float
    padded_frames: int
    trimmed_frames: int
    duration: DurationCheck


def join_wav_files(
    paths: Sequence[Path | str],
    offsets: Sequence[Fraction],
    lengths: Sequence[Fraction],
    total: Fraction,
    dest: Path | str,
    fps: Fraction,
) -> ConformReport:
    """Join chunk WAVs (chunk i starts ``offsets[i]`` s into the range and lasts ``lengths[i]`` s)."""
    parts = [read_wav(path) for path in paths]
    rate = parts[0].sample_rate
    placements = []
    for offset, length in zip(offsets, lengths, strict=True):
        start = seconds_to_samples(offset, rate)
        placements.append((start, seconds_to_samples(offset + length, rate) - start))
    target = seconds_to_samples(total, rate)
    cut_fade = seconds_to_samples(Fraction(CUT_FADE_FRAMES) / fps, rate)
    joined = join_chunks(parts, placements, target, cut_fade)
    path = write_wav(dest, joined)
    fits = list(zip(parts, placements, lengths, strict=True))
    # the chunk shortest relative to its slot decides whether the join is "much shorter"
    worst, _placement, worst_length = min(fits, key=lambda fit: fit[0].duration / max(float(fit[2]), 1e-9))
    return ConformReport(
        path=path,
        sample_rate=rate,
        channels=joined.channels,
        source_seconds=sum(part.duration for part in parts),
        seconds=joined.duration,
        padded_frames=sum(max(0, length - part.frame_count) for part, (_s, length), _l in fits),
        trimmed_frames=sum(max(0, part.frame_count - length) for part, (_s, length), _l in fits),
        duration=check_duration(worst.duration, worst_length, fps),
    )
