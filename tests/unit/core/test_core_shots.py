"""Chunks follow the cuts (issue 13 item 2): pure arithmetic, milliseconds."""

from fractions import Fraction
from itertools import accumulate, pairwise

import pytest

from vse_foley.core.chunks import plan_chunks
from vse_foley.core.shots import cut_joins, cuts_inside, plan_chunks_at_cuts, shot_spans
from vse_foley.core.timeline import FrameRange

FPS = Fraction(25)


def shots_of(seconds: list[float], start: int = 1, fps: Fraction = FPS) -> tuple[FrameRange, list[int]]:
    """A range made of back-to-back shots of these lengths, and its cuts."""
    lengths = [round(Fraction(s) * fps) for s in seconds]
    edges = [start + n for n in accumulate(lengths)]
    return FrameRange(start, edges[-1] - 1), edges[:-1]


def test_45_seconds_of_four_shots_with_kling_makes_four_chunks_on_the_cuts() -> None:
    frames, cuts = shots_of([12, 9, 15, 9], start=101)
    assert frames.frame_count == 1125
    chunks = plan_chunks_at_cuts(frames, FPS, 3.0, 20.0, cuts)
    assert chunks == shot_spans(frames, cuts)
    assert [c.frame_count for c in chunks] == [300, 225, 375, 225]
    assert cut_joins(chunks) == [True, True, True]  # they meet at the cuts, no overlap
    assert chunks[0].start == frames.start and chunks[-1].end == frames.end
    assert len(plan_chunks(frames, FPS, 3.0, 20.0)) == 3  # the even split would have crossed the cuts


def test_a_range_that_fits_is_one_call_whatever_its_cuts() -> None:
    frames, cuts = shots_of([5, 5, 5])
    assert plan_chunks_at_cuts(frames, FPS, 3.0, 20.0, cuts) == [frames]


def test_without_cuts_it_is_the_even_split() -> None:
    frames = FrameRange(1, 45 * 25)
    assert plan_chunks_at_cuts(frames, FPS, 3.0, 20.0, []) == plan_chunks(frames, FPS, 3.0, 20.0)
    # cuts on the range's own edges are no cuts
    assert plan_chunks_at_cuts(frames, FPS, 3.0, 20.0, [1, frames.end_exclusive]) == plan_chunks(
        frames, FPS, 3.0, 20.0)


def test_short_shots_join_their_neighbours_as_whole_shots() -> None:
    frames, cuts = shots_of([10, 1, 10, 2, 8])  # 1 s and 2 s are under Kling's 3 s
    chunks = plan_chunks_at_cuts(frames, FPS, 3.0, 20.0, cuts)
    edges = {c.start for c in chunks[1:]}
    assert edges <= set(cuts)  # every chunk starts on a cut
    assert all(3 * 25 <= c.frame_count <= 20 * 25 for c in chunks)
    assert cut_joins(chunks) == [True] * (len(chunks) - 1)
    assert len(chunks) == 3
    holding_a_cut = [c for c in chunks if any(c.start < cut <= c.end for cut in cuts)]
    assert len(holding_a_cut) == 1  # both short shots went into one chunk: the fewest mixed chunks


def test_a_shot_longer_than_the_maximum_is_split_evenly_inside_only() -> None:
    frames, cuts = shots_of([8, 30, 6])
    chunks = plan_chunks_at_cuts(frames, FPS, 3.0, 20.0, cuts)
    assert chunks[0] == FrameRange(1, 200)  # the first shot alone
    assert chunks[-1].start == cuts[1]  # the last shot alone
    middle = chunks[1:-1]
    assert middle[0].start == cuts[0] and middle[-1].end == cuts[1] - 1
    assert cut_joins(chunks) == [True, False, True]  # overlap (crossfade) only inside the long shot
    assert all(c.frame_count <= 500 for c in chunks)


def test_where_no_cut_fits_the_old_even_split_is_used() -> None:
    frames, cuts = shots_of([1, 22, 1])  # every cut is under the minimum away from an edge
    chunks = plan_chunks_at_cuts(frames, FPS, 3.0, 20.0, cuts)
    assert all(75 <= c.frame_count <= 500 for c in chunks)
    assert chunks[0].start == frames.start and chunks[-1].end == frames.end


def test_a_better_split_beats_a_greedy_one() -> None:
    frames, cuts = shots_of([18, 2, 19])  # 18+2 | 19 needs no even split; 18 | 2+19 would
    chunks = plan_chunks_at_cuts(frames, FPS, 3.0, 20.0, cuts)
    assert [c.frame_count for c in chunks] == [500, 475]
    assert cut_joins(chunks) == [True]


@pytest.mark.parametrize("fps", [Fraction(24000, 1001), Fraction(30000, 1001)])
def test_cuts_at_fractional_rates_cover_the_range_exactly(fps: Fraction) -> None:
    frames, cuts = shots_of([7.3, 11.1, 4.2, 16.9, 3.05], start=11, fps=fps)
    chunks = plan_chunks_at_cuts(frames, fps, 2.0, 10.0, cuts)
    assert chunks[0].start == frames.start and chunks[-1].end == frames.end
    for a, b in pairwise(chunks):
        assert b.start <= a.end + 1  # never a gap
    assert all(Fraction(2) <= c.seconds(fps) <= Fraction(10) for c in chunks)
    assert {c.start for c in chunks} & set(cuts)  # the cuts that fit are used


def test_many_short_shots_stay_fast_and_valid() -> None:
    frames, cuts = shots_of([1.0] * 600)  # a ten-minute montage of one-second shots
    chunks = plan_chunks_at_cuts(frames, FPS, 3.0, 20.0, cuts)
    assert all(75 <= c.frame_count <= 500 for c in chunks)
    assert {c.start for c in chunks[1:]} <= set(cuts)
    assert sum(c.frame_count for c in chunks) == frames.frame_count  # on cuts: no overlap anywhere
    assert len(chunks) == 30  # every chunk must hold cuts anyway: as few calls as the maximum allows


def test_cuts_inside_ignores_edges_and_repeats() -> None:
    frames = FrameRange(10, 100)
    assert cuts_inside(frames, [5, 10, 50, 50, 101, 100, 30]) == [30, 50, 100]
