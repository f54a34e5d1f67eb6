"""Shots and cuts: where a long range may be split so no model sounds across a cut.

A *cut* is the first frame of a new shot inside a range (a boundary between
picture strips). Video-to-audio models make smeared, wrong sounds across a cut,
so a range longer than a provider's maximum is split AT the cuts wherever a cut
falls where a chunk may end: each chunk then holds one shot, or several whole
shots when a shot alone is shorter than the provider's minimum. Only a stretch
where no cut fits the limits (one shot longer than the maximum, or short shots
that cannot stand alone) is split the old way: evenly, with overlapping
crossfades (``core.chunks.plan_chunks``).

Chunks that meet at a cut do not overlap: the join there is a cut with a short
fade (``core.conform``), like an editor's sound cut, not a crossfade.

Choice: the fewest chunks that hold a cut (a model sounds across it), then the
fewest chunks (each is a paid call): a montage of one-second shots becomes
chunks as long as the provider allows, not a call per three seconds. Pure
arithmetic, no bpy.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from fractions import Fraction
from itertools import pairwise

from .chunks import DEFAULT_OVERLAP_S, plan_chunks
from .timeline import FrameRange


def cuts_inside(frames: FrameRange, boundaries: Iterable[int]) -> list[int]:
    """The frames in ``boundaries`` where a new shot starts strictly inside ``frames``, sorted, unique.

    ``boundaries`` are strip starts and exclusive ends (both are the first frame of what follows).
    """
    return sorted({int(frame) for frame in boundaries if frames.start < int(frame) <= frames.end})


def shot_spans(frames: FrameRange, cuts: Sequence[int]) -> list[FrameRange]:
    """The shots of ``frames`` between its cuts, in order (one span when there is no cut)."""
    edges = [frames.start, *cuts_inside(frames, cuts), frames.end_exclusive]
    return [FrameRange(a, b - 1) for a, b in pairwise(edges)]


_Cost = tuple[int, int]  # (chunks that hold a cut, chunks)


def _segment(frames: FrameRange, fps: Fraction, shortest: int, longest: int, low: float, high: float,
             overlap_seconds: float) -> list[FrameRange] | None:
    """Chunks for one stretch between two chosen cuts; None when it cannot be made."""
    length = frames.frame_count
    if length < shortest:
        return None
    if length <= longest:
        return [frames]
    try:
        return plan_chunks(frames, fps, low, high, overlap_seconds=overlap_seconds)
    except ValueError:
        return None


def plan_chunks_at_cuts(
    frames: FrameRange,
    fps: Fraction,
    min_seconds: float,
    max_seconds: float,
    cuts: Sequence[int] = (),
    *,
    overlap_seconds: float = DEFAULT_OVERLAP_S,
) -> list[FrameRange]:
    """Chunks covering ``frames``: split at ``cuts`` where they fit, evenly elsewhere.

    A range that fits the maximum is one chunk (one call), cuts or not. Without a
    usable cut this is exactly ``plan_chunks`` (which raises ValueError with a
    sentence when even that cannot meet the limits).
    """
    longest = math.floor(Fraction(max_seconds) * fps)
    shortest = math.ceil(Fraction(min_seconds) * fps)
    if frames.frame_count <= longest:
        return [frames]
    edges = [frames.start, *cuts_inside(frames, cuts), frames.end_exclusive]
    if len(edges) == 2:
        return plan_chunks(frames, fps, min_seconds, max_seconds, overlap_seconds=overlap_seconds)
    # best[j]: the cheapest way to cover edges[0]..edges[j]; a shortest-path over the cuts
    best: list[tuple[_Cost, int, list[FrameRange]] | None] = [None] * len(edges)
    best[0] = ((0, 0), -1, [])
    for j in range(1, len(edges)):
        # the last cut that could end a chunk before edges[j] (index into edges; 0: none)
        last_fit = bisect.bisect_right(edges, edges[j] - shortest, 1, j) - 1
        for i in range(j - 1, -1, -1):
            start = best[i]
            length = edges[j] - edges[i]
            inner = j - i - 1
            if length > longest and last_fit > i and edges[last_fit] - edges[i] >= shortest:
                # a cut fits inside: the even split is not used over it, and a longer stretch keeps it
                break
            if start is None:
                continue
            chunks = _segment(FrameRange(edges[i], edges[j] - 1), fps, shortest, longest,
                              min_seconds, max_seconds, overlap_seconds)
            if chunks is None:
                continue
            mixed = len(chunks) if inner else 0  # an even split over a cut: each of its chunks may hold it
            cost = (start[0][0] + mixed, start[0][1] + len(chunks))
            current = best[j]
            if current is None or cost < current[0]:
                best[j] = (cost, i, chunks)
    if best[-1] is None:  # no way along the cuts: today's even split of the whole range
        return plan_chunks(frames, fps, min_seconds, max_seconds, overlap_seconds=overlap_seconds)
    pieces: list[list[FrameRange]] = []
    j = len(edges) - 1
    while j > 0:
        entry = best[j]
        assert entry is not None
        pieces.append(entry[2])
        j = entry[1]
    return [chunk for piece in reversed(pieces) for chunk in piece]


def cut_joins(chunks: Sequence[FrameRange]) -> list[bool]:
    """For each consecutive pair: True where they meet at a cut (abut), False where they overlap."""
    return [a.end_exclusive == b.start for a, b in pairwise(chunks)]
