"""Issue 11, item 6: a failed join says what failed, and Retry redoes exactly that."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import pytest
from core_fakes import FakeClock, FakeProvider, FakeRenderer, FakeVendor, make_info

from vse_foley.core.conform import AudioFormatError, read_wav
from vse_foley.core.engine import JobEngine, JobReady, PollSchedule, assemble_wav_chunks
from vse_foley.core.jobs import Job, JobState
from vse_foley.core.ledger import JobLedger
from vse_foley.core.timeline import FrameRange
from vse_foley.providers.base import GenerationRequest
from vse_foley.providers.errors import DownloadError

S = JobState
TEXT = make_info("fake.text", input="text", max_seconds=30)


class JoinHarness:
    def __init__(self, tmp: Path, vendor: FakeVendor, assemble) -> None:
        self.clock = FakeClock()
        self.inserted: list[str] = []
        self.engine = JobEngine(
            JobLedger(tmp / "jobs.jsonl"), lambda pid: FakeProvider(vendor, TEXT),
            FakeRenderer(tmp / "clips"),
            lambda job: tmp / "library", provider_info=lambda pid: TEXT, poll_schedule=PollSchedule(),
            clock=self.clock.time, monotonic=self.clock.time, sleep=self.clock.sleep, assemble=assemble,
        )

    def pump(self) -> None:
        for event in self.engine.drain(0.05):
            if isinstance(event, JobReady):
                self.inserted.append(event.job.id)
                self.engine.mark_inserted(event.job.id, "strip")

    def wait(self) -> bool:
        return self.engine.wait(timeout=10, pump=self.pump, interval=0.002)


def long_job() -> Job:
    request = GenerationRequest("fake.text", 40.0, prompt="rain")
    return Job.create(request, FrameRange(1, 40 * 25), Fraction(25), blend_path="/p/e.blend", scene_name="S")


def test_a_truncated_fmt_chunk_is_a_sentence(tmp_path: Path):
    path = tmp_path / "cut.wav"
    path.write_bytes(b"RIFF\x20\x00\x00\x00WAVEfmt \x04\x00\x00\x00\x01\x00\x01\x00data\x00\x00\x00\x00")
    with pytest.raises(AudioFormatError, match="format chunk cut short"):
        read_wav(path)


def test_a_damaged_chunk_fails_the_join_with_a_sentence_and_retry_fetches_only_that_chunk(tmp_path: Path):
    vendor = FakeVendor(polls_until_done=0)
    damaged: list[str] = []

    def assemble(parent: Job, children: Sequence[Job], stem: Path) -> Path:
        if not damaged:  # the first join finds chunk 2's file cut short (a disk hiccup)
            damaged.append(children[1].id)
            Path(children[1].audio_path).write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt \x02\x00\x00\x00\x01\x00")
        return assemble_wav_chunks(parent, children, stem)

    h = JoinHarness(tmp_path, vendor, assemble)
    try:
        parent = h.engine.enqueue(long_job())
        assert h.wait()
        failed = h.engine.get(parent.id)
        assert failed is not None and failed.state == S.FAILED
        assert "Chunk 2 of 2 could not be joined" in failed.error and "format chunk cut short" in failed.error
        assert "Retry downloads that chunk again" in failed.error and "Please report" not in failed.error
        assert (vendor.submits, vendor.downloads) == (2, 2)
        h.engine.retry(parent.id)
        assert h.wait()
        final = h.engine.get(parent.id)
        assert final is not None and final.state == S.INSERTED and h.inserted == [parent.id]
        assert damaged[0] not in final.chunk_ids
        assert (vendor.submits, vendor.downloads) == (2, 3)  # that chunk fetched again, nothing paid again
        assert read_wav(final.audio_path).frame_count > 0
    finally:
        h.engine.shutdown()


def test_a_join_that_failed_by_itself_is_joined_again_on_retry(tmp_path: Path):
    vendor = FakeVendor(polls_until_done=0)
    calls: list[int] = []

    def assemble(parent: Job, children: Sequence[Job], stem: Path) -> Path:
        calls.append(len(children))
        if len(calls) == 1:
            raise DownloadError("The chunks could not be joined: the library folder was full.")
        return assemble_wav_chunks(parent, children, stem)

    h = JoinHarness(tmp_path, vendor, assemble)
    try:
        parent = h.engine.enqueue(long_job())
        assert h.wait()
        assert h.engine.get(parent.id).state == S.FAILED  # type: ignore[union-attr]
        h.engine.retry(parent.id)
        assert h.wait()
        assert h.engine.get(parent.id).state == S.INSERTED  # type: ignore[union-attr]
        assert calls == [2, 2] and (vendor.submits, vendor.downloads) == (2, 2)  # only the join again
    finally:
        h.engine.shutdown()
