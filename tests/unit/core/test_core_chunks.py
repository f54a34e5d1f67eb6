from fractions import Fraction
from itertools import pairwise

import pytest
from core_fakes import make_info

from vse_foley.core.chunks import chunk_limits, needs_chunks, plan_chunk_seconds, plan_chunks
from vse_foley.core.timeline import FrameRange, fps_fraction

RATES = {"23.976": fps_fraction(24, 1.001), "29.97": fps_fraction(30, 1.001), "25": Fraction(25)}


def frames_for(seconds: float, fps: Fraction, start: int = 1) -> FrameRange:
    return FrameRange(start, start + round(Fraction(seconds) * fps) - 1)


def overlaps(chunks: list[FrameRange]) -> list[int]:
    """Frames shared by each consecutive pair."""
    return [a.end - b.start + 1 for a, b in pairwise(chunks)]


def check_plan(frames: FrameRange, fps: Fraction, chunks: list[FrameRange], low: float, high: float) -> None:
    assert chunks[0].start == frames.start and chunks[-1].end == frames.end
    for chunk in chunks:
        assert Fraction(low) <= chunk.seconds(fps) <= Fraction(high), chunk
    for shared in overlaps(chunks):
        assert shared >= 1  # consecutive chunks overlap, never leave a gap
    lengths = [c.frame_count for c in chunks]
    assert max(lengths) - min(lengths) <= 1  # evenly sized


@pytest.mark.parametrize("rate", RATES)
def test_45_seconds_with_kling_limits_makes_3_chunks(rate):
    fps = RATES[rate]
    frames = frames_for(45, fps, start=101)
    chunks = plan_chunks(frames, fps, 3.0, 20.0)
    assert len(chunks) == 3
    check_plan(frames, fps, chunks, 3.0, 20.0)
    for shared in overlaps(chunks):
        assert 0.7 <= shared / fps <= 0.8  # ≈ 0.75 s, whole frames


@pytest.mark.parametrize("rate", RATES)
def test_invariants_over_many_lengths(rate):
    fps = RATES[rate]
    for tenths in range(30, 1200, 7):  # 3 s to 2 min
        frames = frames_for(tenths / 10, fps)
        for low, high in ((3.0, 20.0), (2.0, 10.0), (1.0, 8.0)):
            chunks = plan_chunks(frames, fps, low, high)
            if frames.seconds(fps) <= high:
                assert chunks == [frames]
                continue
            check_plan(frames, fps, chunks, low, high)
            fewer = len(chunks) - 1  # the fewest paid calls: one less chunk would not fit
            covered = fewer * int(high * fps) - (fewer - 1) * overlaps(chunks)[0]
            assert fewer == 0 or covered < frames.frame_count


def test_edges_of_the_maximum():
    fps = Fraction(25)
    assert plan_chunks(FrameRange(1, 500), fps, 3, 20) == [FrameRange(1, 500)]  # exactly 20 s
    assert len(plan_chunks(FrameRange(1, 501), fps, 3, 20)) == 2
    assert plan_chunks(FrameRange(1, 10), fps, 3, 20) == [FrameRange(1, 10)]  # too short: validation says so
    assert needs_chunks(Fraction(501, 25), 20.0) and not needs_chunks(20, 20.0)


def test_limits_that_cannot_be_met_raise_a_sentence():
    with pytest.raises(ValueError, match="cannot be split"):
        plan_chunks(FrameRange(1, 25 * 25), Fraction(25), 15.0, 20.0)  # 2 chunks of ≈13 s


def test_best_length_is_the_chunk_maximum_when_given():
    assert chunk_limits(make_info(min_seconds=1, max_seconds=30, best_seconds=8)) == (1, 8)
    assert chunk_limits(make_info(min_seconds=3, max_seconds=20)) == (3, 20)


def test_plan_in_seconds_for_cost():
    lengths = plan_chunk_seconds(45.0, 3.0, 20.0)
    assert len(lengths) == 3 and all(3 <= s <= 20 for s in lengths)
    assert plan_chunk_seconds(8.0, 3.0, 20.0) == [8.0]
