from fractions import Fraction

import pytest

from vse_foley.core.timeline import (
    FrameRange,
    clip_events,
    covering_range,
    events_from_markers,
    events_from_spans,
    fps_fraction,
    frames_to_seconds,
    seconds_to_samples,
    union_spans,
)
from vse_foley.providers.base import TimedEvent

NTSC_FILM = Fraction(24000, 1001)
NTSC_VIDEO = Fraction(30000, 1001)


@pytest.mark.parametrize(
    ("fps", "base", "expected"),
    [
        (24, 1.001, NTSC_FILM),
        (30, 1.001, NTSC_VIDEO),
        (24, 1.0010000467300415, NTSC_FILM),  # fps_base as Blender stores it (float32)
        (60, 1.001, Fraction(60000, 1001)),
        (25, 1.0, Fraction(25)),
        (50, 2.0, Fraction(25)),
    ],
)
def test_fps_fraction_is_exact(fps, base, expected):
    assert fps_fraction(fps, base) == expected


def test_fps_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        fps_fraction(0, 1.0)


def test_frame_range_is_inclusive_like_the_scene():
    frames = FrameRange(1, 250)
    assert frames.frame_count == 250
    assert frames.seconds(Fraction(25)) == 10
    assert frames.end_exclusive == 251
    assert FrameRange.from_strip(1, 251) == frames  # strip handles: end exclusive
    with pytest.raises(ValueError, match="before it starts"):
        FrameRange(10, 9)


def test_ntsc_durations_are_exact():
    assert FrameRange(1, 24).seconds(NTSC_FILM) == Fraction(1001, 1000)
    assert FrameRange(0, 29).seconds(NTSC_VIDEO) == Fraction(1001, 1000)
    # one hour of 29.97 material: 107892 frames (drop-frame count) is not an integer second count
    assert frames_to_seconds(107892, NTSC_VIDEO) == Fraction(107892 * 1001, 30000)


def test_rounding_rules():
    assert seconds_to_samples(Fraction(1001, 1000), 48000) == 48048
    assert seconds_to_samples(FrameRange(1, 24).seconds(NTSC_FILM), 48000) == 48048
    assert seconds_to_samples(Fraction(1, 4), 2) == 1  # halves go up
    assert seconds_to_samples(0.74, 2) == 1
    assert seconds_to_samples(0.75, 2) == 2


def test_intersection_and_overlap():
    a, b = FrameRange(1, 10), FrameRange(10, 20)
    assert a.overlaps(b)
    assert a.intersection(b) == FrameRange(10, 10)
    assert FrameRange(1, 5).intersection(FrameRange(6, 9)) is None
    assert a.offset_seconds(26, Fraction(25)) == 1


def test_union_of_spans_merges_overlapping_and_touching():
    spans = [
        FrameRange(50, 60),
        FrameRange(1, 10),
        FrameRange(11, 20),
        FrameRange(15, 30),
        FrameRange(40, 45),
    ]
    assert union_spans(spans) == [FrameRange(1, 30), FrameRange(40, 45), FrameRange(50, 60)]
    assert covering_range(spans) == FrameRange(1, 60)
    with pytest.raises(ValueError, match="no range"):
        covering_range([])


def test_clip_events_cuts_and_retimes():
    events = [
        TimedEvent(0.0, 2.0, "door"),
        TimedEvent(5.0, 12.0, "rain"),
        TimedEvent(12.0, 13.0, "after"),
        TimedEvent(9.9, 9.95, "blip"),
    ]
    assert clip_events(events, 0.0, 10.0) == (
        TimedEvent(0.0, 2.0, "door"),
        TimedEvent(5.0, 10.0, "rain"),
        TimedEvent(9.9, 9.95, "blip"),
    )
    # a chunk from 4 s to 10 s, dropping slivers under 0.1 s
    assert clip_events(events, 4.0, 10.0, min_length=0.1) == (TimedEvent(1.0, 6.0, "rain"),)


def test_events_from_text_strips_at_2997():
    frames = FrameRange(101, 400)
    spans = [
        (FrameRange.from_strip(101, 131), "door slam"),  # first 30 frames = 1.001 s
        (FrameRange.from_strip(50, 120), "cut at start"),
        (FrameRange.from_strip(390, 500), "cut at end"),
        (FrameRange.from_strip(200, 210), "   "),
    ]
    events = events_from_spans(spans, frames, NTSC_VIDEO)
    by_prompt = {e.prompt: e for e in events}
    assert by_prompt["door slam"] == TimedEvent(0.0, float(Fraction(1001, 1000)), "door slam")
    assert [e.start for e in events] == sorted(e.start for e in events)
    assert by_prompt["cut at start"].start == 0.0
    assert by_prompt["cut at end"].end == pytest.approx(float(frames.seconds(NTSC_VIDEO)))
    assert "" not in by_prompt and "   " not in by_prompt


def test_events_from_markers_last_until_the_next():
    frames = FrameRange(1, 100)
    markers = [(51, "glass"), (1, "wind"), (200, "outside"), (76, "")]
    events = events_from_markers(markers, frames, Fraction(25))
    assert events == (TimedEvent(0.0, 2.0, "wind"), TimedEvent(2.0, 3.0, "glass"))
