"""Provider.preflight runs on the worker before the clip is rendered (a stopped self-hosted server)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

from core_fakes import FakeVendor, Harness, make_info

from vse_foley.core.jobs import Job, JobState
from vse_foley.core.timeline import FrameRange
from vse_foley.providers.base import GenerationRequest
from vse_foley.providers.errors import NetworkError

VIDEO = make_info("fake.video", input="video", min_seconds=1, max_seconds=20)


def video_job() -> Job:
    frames = FrameRange(1, 100)
    request = GenerationRequest("fake.video", float(frames.seconds(Fraction(25))), prompt="steps")
    return Job.create(request, frames, Fraction(25), blend_path="/p/edit.blend", scene_name="Scene")


def test_a_failed_preflight_ends_the_job_before_any_render_upload_or_submit(tmp_path: Path) -> None:
    vendor = FakeVendor(polls_until_done=1)

    def server_down(_context: dict[str, Any]) -> None:
        raise NetworkError("The ComfyUI server at http://127.0.0.1:8188 is not answering.")

    vendor.hooks["preflight"] = server_down
    harness = Harness(tmp_path, vendor, {VIDEO.id: VIDEO})
    try:
        job = harness.engine.enqueue(video_job())
        assert harness.wait()
        failed = harness.engine.get(job.id)
        assert failed is not None and failed.state is JobState.FAILED
        assert "is not answering" in failed.error
        assert harness.renderer.calls == 0 and vendor.submits == 0
        assert "rendering" not in harness.states(job.id)
    finally:
        harness.close()


def test_a_passing_preflight_comes_before_the_render(tmp_path: Path) -> None:
    vendor = FakeVendor(polls_until_done=1)
    order: list[str] = []
    vendor.hooks["preflight"] = lambda _context: order.append("preflight")
    harness = Harness(tmp_path, vendor, {VIDEO.id: VIDEO})
    harness.renderer.on_render = lambda _job: order.append("render")
    try:
        job = harness.engine.enqueue(video_job())
        assert harness.wait()
        assert harness.engine.get(job.id).state is JobState.INSERTED
        assert order == ["preflight", "render"]
    finally:
        harness.close()
