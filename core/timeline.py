"""Exact frame ↔ seconds arithmetic for Blender's rational frame rates.

Blender stores a frame rate as ``fps`` (int) and ``fps_base`` (float): 29.97 is
``30 / 1.001``. Floats drift over a long edit, so everything here works on
``Fraction``: ``fps_fraction(24, 1.001) == Fraction(24000, 1001)`` exactly.

Rounding rules (one place, so every caller agrees):

* a duration in frames → seconds is exact (a ``Fraction``);
* seconds → a sample count rounds to the NEAREST sample, halves up (``floor(x + 1/2)``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from ..providers.base import TimedEvent

#: fps_base values are floats like 1.001 or 1.0010000467300415 (float32 in DNA);
#: no real frame rate needs a denominator above this.
_MAX_FPS_DENOMINATOR = 10_000


def fps_fraction(fps: int | float, fps_base: float = 1.0) -> Fraction:
    """Blender's ``render.fps / render.fps_base`` as an exact fraction (24/1.001 → 24000/1001)."""
    if fps <= 0 or fps_base <= 0:
        raise ValueError(f"The frame rate must be positive (fps={fps}, fps_base={fps_base}).")
    base = Fraction(fps_base).limit_denominator(_MAX_FPS_DENOMINATOR)
    return (Fraction(fps).limit_denominator(_MAX_FPS_DENOMINATOR) / base).limit_denominator(
        _MAX_FPS_DENOMINATOR
    )


def frames_to_seconds(frames: int, fps: Fraction) -> Fraction:
    """Exact duration of ``frames`` frames."""
    return Fraction(frames) / fps


def seconds_to_samples(seconds: float | Fraction, sample_rate: int) -> int:
    """Sample count for a duration: nearest sample, halves up."""
    return math.floor(Fraction(seconds) * sample_rate + Fraction(1, 2))


@dataclass(frozen=True, order=True)
class FrameRange:
    """Frames ``start`` to ``end`` INCLUSIVE, like ``scene.frame_start``/``frame_end``.

    Strip handles are half-open (``frame_final_end`` is the first frame after the
    strip): build those with :meth:`from_strip`.
    """

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"The range ends (frame {self.end}) before it starts (frame {self.start}).")

    @classmethod
    def from_strip(cls, frame_final_start: int, frame_final_end: int) -> FrameRange:
        """The frames a strip shows: its handles, end exclusive as Blender stores them."""
        return cls(int(frame_final_start), int(frame_final_end) - 1)

    @property
    def frame_count(self) -> int:
        return self.end - self.start + 1

    @property
    def end_exclusive(self) -> int:
        return self.end + 1

    def seconds(self, fps: Fraction) -> Fraction:
        """Exact length in seconds (``frame_count / fps``)."""
        return frames_to_seconds(self.frame_count, fps)

    def offset_seconds(self, frame: int, fps: Fraction) -> Fraction:
        """Seconds from the start of this range to the start of ``frame``."""
        return frames_to_seconds(frame - self.start, fps)

    def contains(self, frame: int) -> bool:
        return self.start <= frame <= self.end

    def overlaps(self, other: FrameRange) -> bool:
        return self.start <= other.end and other.start <= self.end

    def intersection(self, other: FrameRange) -> FrameRange | None:
        start, end = max(self.start, other.start), min(self.end, other.end)
        return FrameRange(start, end) if start <= end else None


def union_spans(spans: Iterable[FrameRange]) -> list[FrameRange]:
    """Merge overlapping or touching spans; sorted, disjoint, with gaps kept as gaps."""
    merged: list[FrameRange] = []
    for span in sorted(spans):
        if merged and span.start <= merged[-1].end + 1:
            last = merged[-1]
            merged[-1] = FrameRange(last.start, max(last.end, span.end))
        else:
            merged.append(span)
    return merged


def covering_range(spans: Iterable[FrameRange]) -> FrameRange:
    """The one range from the first span's start to the last span's end (gaps included)."""
    merged = union_spans(spans)
    if not merged:
        raise ValueError("No strips or frames were given, so there is no range to generate sound for.")
    return FrameRange(merged[0].start, merged[-1].end)


def clip_events(
    events: Iterable[TimedEvent], start: float, end: float, *, min_length: float = 0.0
) -> tuple[TimedEvent, ...]:
    """Events cut to ``[start, end]`` seconds and re-timed relative to ``start``.

    Events entirely outside, or shorter than ``min_length`` after cutting, are
    dropped. Used for a whole range (``start=0``) and for each chunk of a long one.
    """
    clipped: list[TimedEvent] = []
    for event in events:
        lo, hi = max(event.start, start), min(event.end, end)
        if hi - lo > min_length:
            clipped.append(TimedEvent(round(lo - start, 6), round(hi - start, 6), event.prompt))
    return tuple(sorted(clipped, key=lambda e: (e.start, e.end)))


def events_from_spans(
    spans: Iterable[tuple[FrameRange, str]], frame_range: FrameRange, fps: Fraction
) -> tuple[TimedEvent, ...]:
    """Timed events from text strips: each span's frames, in seconds from the range start."""
    events = []
    for span, prompt in spans:
        part = span.intersection(frame_range)
        text = prompt.strip()
        if part is None or not text:
            continue
        events.append(
            TimedEvent(
                float(frame_range.offset_seconds(part.start, fps)),
                float(frame_range.offset_seconds(part.end + 1, fps)),
                text,
            )
        )
    return tuple(sorted(events, key=lambda e: (e.start, e.end)))


def events_from_markers(
    markers: Sequence[tuple[int, str]], frame_range: FrameRange, fps: Fraction
) -> tuple[TimedEvent, ...]:
    """Timed events from markers: each lasts until the next marker or the range end."""
    inside = sorted((frame, name.strip()) for frame, name in markers if frame_range.contains(frame))
    events = []
    for index, (frame, name) in enumerate(inside):
        stop = inside[index + 1][0] if index + 1 < len(inside) else frame_range.end_exclusive
        if name and stop > frame:
            events.append(
                TimedEvent(
                    float(frame_range.offset_seconds(frame, fps)),
                    float(frame_range.offset_seconds(stop, fps)),
                    name,
                )
            )
    return tuple(events)
