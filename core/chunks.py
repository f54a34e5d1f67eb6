"""Split a range that is too long for a provider into overlapping chunks.

Chunks are whole frames (each chunk renders exactly those frames), evenly sized,
each within the provider's minimum and maximum length, and consecutive chunks
share ``overlap`` seconds (rounded to whole frames) for the crossfade. The
fewest chunks that fit are used, because every chunk is a paid call.
"""

from __future__ import annotations

import math
from fractions import Fraction

from ..providers.base import ProviderInfo
from .timeline import FrameRange

DEFAULT_OVERLAP_S = 0.75


def chunk_limits(info: ProviderInfo) -> tuple[float, float]:
    """(minimum, maximum) seconds per chunk: the best length when the vendor names one."""
    maximum = info.max_seconds
    if info.best_seconds is not None and info.min_seconds <= info.best_seconds < maximum:
        maximum = info.best_seconds
    return info.min_seconds, maximum


def needs_chunks(seconds: float | Fraction, max_seconds: float) -> bool:
    return Fraction(seconds) > Fraction(max_seconds)


def _chunk_count(total: int, longest: int, overlap: int) -> int:
    """Fewest chunks of at most ``longest`` units that cover ``total`` with ``overlap`` shared."""
    if total <= longest:
        return 1
    # k chunks cover k*longest - (k-1)*overlap units
    return math.ceil((total - overlap) / (longest - overlap))


def _even_lengths(total: int, count: int, overlap: int) -> list[int]:
    covered = total + (count - 1) * overlap
    base, extra = divmod(covered, count)
    return [base + (1 if index < extra else 0) for index in range(count)]


def plan_chunks(
    frame_range: FrameRange,
    fps: Fraction,
    min_seconds: float,
    max_seconds: float,
    *,
    overlap_seconds: float = DEFAULT_OVERLAP_S,
) -> list[FrameRange]:
    """Frame ranges covering ``frame_range``; one range when it already fits.

    Raises ValueError with a sentence when the limits cannot be met (a range
    shorter than the minimum is returned whole: the provider's validation says
    what to do about it).
    """
    total = frame_range.frame_count
    longest = math.floor(Fraction(max_seconds) * fps)
    shortest = math.ceil(Fraction(min_seconds) * fps)
    if total <= longest:
        return [frame_range]
    # a crossfade longer than a quarter chunk would eat the chunk it blends into
    overlap = min(max(1, round(Fraction(overlap_seconds) * fps)), max(1, longest // 4))
    count = _chunk_count(total, longest, overlap)
    lengths = _even_lengths(total, count, overlap)
    if min(lengths) < shortest or max(lengths) > longest:
        raise ValueError(
            f"A {float(frame_range.seconds(fps)):.1f} s range cannot be split into chunks of "
            f"{min_seconds:g}–{max_seconds:g} s; choose a shorter or longer range."
        )
    chunks = []
    start = frame_range.start
    for length in lengths:
        chunks.append(FrameRange(start, start + length - 1))
        start += length - overlap
    assert chunks[-1].end == frame_range.end
    return chunks


def plan_chunk_seconds(
    seconds: float, min_seconds: float, max_seconds: float, *, overlap_seconds: float = DEFAULT_OVERLAP_S
) -> list[float]:
    """Chunk lengths in seconds for a duration (for cost estimates; millisecond grid)."""
    chunks = plan_chunks(
        FrameRange(0, max(0, round(seconds * 1000) - 1)),
        Fraction(1000),
        min_seconds,
        max_seconds,
        overlap_seconds=overlap_seconds,
    )
    return [chunk.frame_count / 1000 for chunk in chunks]
