"""Issue 11, item 4: the poll loop's deadline reaches inside each status request."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from core_fakes import FakeVendor, Harness, make_info

from vse_foley.core.engine import PollSchedule
from vse_foley.core.jobs import Job, JobState
from vse_foley.core.timeline import FrameRange
from vse_foley.providers import deadline
from vse_foley.providers.base import GenerationRequest

TEXT = make_info("fake.text", input="text", max_seconds=30)


def test_each_status_request_gets_the_time_the_poll_loop_has_left(tmp_path: Path):
    vendor = FakeVendor(polls_until_done=10_000)
    left: list[float] = []
    vendor.hooks["poll"] = lambda _c: left.append(deadline.remaining(1e9))
    h = Harness(tmp_path, vendor, {TEXT.id: TEXT},
                poll_schedule=PollSchedule(initial=1.0, factor=2.0, maximum=8.0, deadline=60.0))
    try:
        request = GenerationRequest("fake.text", 4.0, prompt="rain")
        job = h.engine.enqueue(Job.create(request, FrameRange(1, 100), Fraction(25)))
        assert h.wait()
        failed = h.engine.get(job.id)
        assert failed is not None and failed.state == JobState.FAILED and "did not finish" in failed.error
        assert left and all(0.0 <= seconds <= 60.0 for seconds in left)  # never the unbounded default
        assert left == sorted(left, reverse=True)  # shrinking as the loop runs out of time
        assert deadline.remaining(1e9) == 1e9  # outside the loop: no limit left behind
    finally:
        h.close()
