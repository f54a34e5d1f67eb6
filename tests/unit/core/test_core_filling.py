"""Short results filled (issue 15): one follow-up request for the tail, joined; the flag otherwise."""

import shutil
import threading
from fractions import Fraction
from pathlib import Path

import pytest
from core_fakes import SAMPLE_RATE, FakeVendor, Harness, make_info, rms, wait_until

from vse_foley.core.conform import read_wav
from vse_foley.core.engine import PaidResultKept
from vse_foley.core.filling import FILL_KEY, TailPlan, plan_tail
from vse_foley.core.jobs import Job, JobState
from vse_foley.core.timeline import FrameRange
from vse_foley.providers.base import GenerationRequest

S = JobState
TEXT = make_info("fake.text", input="text", max_seconds=30)
VIDEO = make_info("fake.video", input="video", min_seconds=3, max_seconds=20)
INFOS = {info.id: info for info in (TEXT, VIDEO)}
FPS = Fraction(25)


def new_job(provider: str = "fake.text", frames: tuple[int, int] = (1, 100)) -> Job:
    frame_range = FrameRange(*frames)
    request = GenerationRequest(provider, float(frame_range.seconds(FPS)), prompt="rain on a tin roof")
    return Job.create(request, frame_range, FPS, blend_path="/p/edit.blend", scene_name="Scene")


@pytest.fixture
def vendor() -> FakeVendor:
    return FakeVendor(polls_until_done=2)


@pytest.fixture
def harness(tmp_path: Path, vendor: FakeVendor):
    h = Harness(tmp_path, vendor, INFOS)
    yield h
    h.close()


def children(h: Harness, parent_id: str) -> list[Job]:
    parent = h.engine.get(parent_id)
    assert parent is not None
    found = [h.engine.get(child_id) for child_id in parent.chunk_ids]
    assert all(child is not None for child in found)
    return [child for child in found if child is not None]


def test_the_tail_plan_respects_the_minimum_and_overlaps_the_first_result():
    # 4 s range, 2.7 s came back: 1.3 s missing + 0.75 s overlap (19 frames) = 52 frames
    plan = plan_tail(FrameRange(1, 100), FPS, 2.7, 1.0, 30.0, 0.75)
    assert isinstance(plan, TailPlan)
    assert plan.tail == FrameRange(49, 100) and plan.first == FrameRange(1, 67)
    assert "filling the last 1.3 s" in plan.note
    # a 3 s minimum makes the tail start earlier; the first result is kept only up to the overlap
    longer = plan_tail(FrameRange(1, 100), FPS, 2.7, 3.0, 30.0, 0.75)
    assert isinstance(longer, TailPlan)
    assert longer.tail == FrameRange(26, 100) and longer.first == FrameRange(1, 44)
    # a range shorter than the provider's minimum cannot get a tail: a sentence instead
    refused = plan_tail(FrameRange(1, 50), FPS, 1.5, 3.0, 20.0, 0.75)
    assert isinstance(refused, str) and "shortest request (3 s)" in refused


def test_a_short_result_gets_one_follow_up_and_the_join_covers_the_range(harness: Harness):
    harness.vendor.short_submits = {1: 2.7}  # asked for 4 s
    seen_at_submit: list[dict] = []
    harness.vendor.hooks["submit"] = lambda _c: seen_at_submit.append(harness.records()[-1])
    job = harness.engine.enqueue(new_job())
    assert harness.wait()
    final = harness.engine.get(job.id)
    assert final is not None and final.state == S.INSERTED and harness.inserted == [job.id]
    assert harness.vendor.submits == 2
    first, tail = children(harness, job.id)
    assert (first.frame_start, first.frame_end) == (1, 67) and (tail.frame_start, tail.frame_end) == (49, 100)
    assert tail.generation_request.duration == pytest.approx(52 / 25)
    # the follow-up was on disk as "submitted" before it left (issue 9's money rule)
    assert seen_at_submit[1]["id"] == tail.id and seen_at_submit[1]["submit_attempted"]
    joined = read_wav(final.audio_path)
    assert joined.frame_count == 4 * SAMPLE_RATE  # the strip covers the range
    assert rms(joined.samples[-SAMPLE_RATE // 2:]) > 0.05  # the end is the tail's sound, not silence
    assert not any("shorter" in w for w in final.warnings)
    notes = [e.job.note for e in harness.events if e.job.id == job.id]
    assert any("filling the last 1.3 s" in note for note in notes)
    assert "was filled by one more request" in final.note and final.extra[FILL_KEY] == pytest.approx(1.3)
    assert {first.state, tail.state} == {S.INSERTED}


def test_a_follow_up_that_is_short_again_gets_no_second_one(harness: Harness):
    harness.vendor.short_submits = {1: 2.7, 2: 1.0}
    job = harness.engine.enqueue(new_job())
    assert harness.wait()
    final = harness.engine.get(job.id)
    assert final is not None and final.state == S.INSERTED
    assert harness.vendor.submits == 2
    assert any(w.startswith("Chunk 2:") and "shorter" in w for w in final.warnings)  # the flag stays


def test_preference_off_keeps_the_flag_and_sends_nothing_more(tmp_path: Path, vendor: FakeVendor):
    h = Harness(tmp_path, vendor, INFOS, fill_short=False)
    try:
        vendor.short_submits = {1: 2.7}
        job = h.engine.enqueue(new_job())
        assert h.wait()
        final = h.engine.get(job.id)
        assert final is not None and final.state == S.INSERTED and not final.is_chunked
        assert vendor.submits == 1
        assert any("shorter than the range" in w for w in final.warnings)
    finally:
        h.close()


def test_a_range_shorter_than_the_minimum_keeps_the_flag_with_the_reason(harness: Harness):
    harness.vendor.short_submits = {1: 1.5}
    job = harness.engine.enqueue(new_job("fake.video", frames=(1, 50)))  # 2 s, the minimum is 3 s
    assert harness.wait()
    final = harness.engine.get(job.id)
    assert final is not None and final.state == S.INSERTED and harness.vendor.submits == 1
    assert any("shorter than the range" in w for w in final.warnings)
    assert any("could not be filled" in w for w in final.warnings)


def test_a_failed_follow_up_leaves_the_first_result_with_the_flag(harness: Harness):
    harness.vendor.short_submits = {1: 2.7}
    harness.vendor.fail_tasks = {2}
    job = harness.engine.enqueue(new_job())
    assert harness.wait()
    final = harness.engine.get(job.id)
    first, tail = children(harness, job.id)
    assert final is not None and final.state == S.INSERTED and harness.inserted == [job.id]
    assert tail.state == S.FAILED and harness.vendor.submits == 2
    assert final.audio_path == first.audio_path and Path(final.audio_path).is_file()
    assert any("shorter than the range" in w for w in final.warnings)
    assert "could not be filled" in final.note and "first result is kept" in final.note


def test_cancel_during_the_follow_up_cancels_it(harness: Harness):
    harness.vendor.short_submits = {1: 2.7}
    gate, reached = threading.Event(), threading.Event()

    def hold_the_tail(context):
        if context["task"].task_id == "task-2":
            reached.set()
            assert gate.wait(5)

    harness.vendor.hooks["poll"] = hold_the_tail
    job = harness.engine.enqueue(new_job())
    assert reached.wait(5)
    message = harness.engine.cancel(job.id)
    gate.set()
    assert harness.wait()
    assert "may be charged" in message
    first, tail = children(harness, job.id)
    parent = harness.engine.get(job.id)
    assert parent is not None and parent.state == S.CANCELLED and harness.inserted == []
    assert tail.state == S.CANCELLED and Path(tail.audio_path).is_file()  # the paid tail still fetched
    assert first.state == S.CANCELLED and Path(first.audio_path).is_file()  # the first result is kept
    assert any(isinstance(e, PaidResultKept) and e.job.id == tail.id for e in harness.events)
    assert harness.vendor.submits == 2


def test_a_restart_during_the_follow_up_resumes_it_without_resending(tmp_path: Path, vendor: FakeVendor):
    vendor.short_submits = {1: 2.7}
    vendor.polls_until_done = 10_000
    crash = tmp_path / "crash.jsonl"
    h = Harness(tmp_path, vendor, INFOS)
    first_task_done = threading.Event()

    def on_poll(context):
        if context["task"].task_id == "task-1" and not first_task_done.is_set():
            first_task_done.set()
            vendor.tasks["task-1"]["polls"] = 10_001  # the first task finishes now
        elif context["task"].task_id == "task-2" and not crash.exists():
            shutil.copy(h.ledger_path, crash)  # the tail was sent: its task id is on disk

    vendor.hooks["poll"] = on_poll
    job = h.engine.enqueue(new_job())
    wait_until(crash.exists)
    h.close()
    h2 = Harness(tmp_path / "after", vendor, INFOS, ledger_path=crash)
    try:
        vendor.hooks.pop("poll")
        vendor.finish_all()
        resumed = h2.engine.resume_from_ledger()
        assert job.id in {j.id for j in resumed}
        assert h2.wait()
        final = h2.engine.get(job.id)
        assert final is not None and final.state == S.INSERTED and h2.inserted == [job.id]
        assert vendor.submits == 2  # the tail was polled again, never sent again
        assert read_wav(final.audio_path).frame_count == 4 * SAMPLE_RATE
    finally:
        h2.close()


def test_a_kill_before_the_parent_was_saved_starts_the_fill_over_once(tmp_path: Path, vendor: FakeVendor):
    vendor.short_submits = {1: 2.7}
    crash = tmp_path / "crash.jsonl"
    h = Harness(tmp_path, vendor, INFOS, concurrency={"fake.text": 1})
    job_id = ""

    def snapshot_without_parent(_context):
        # the ledger as a kill after the two chunks but before the parent would leave it
        lines = h.ledger_path.read_bytes().splitlines(keepends=True)
        last_parent = max(i for i, line in enumerate(lines) if f'"id":"{job_id}"'.encode() in line)
        crash.write_bytes(b"".join(lines[:last_parent]))
        raise RuntimeError("stop here: nothing of the tail is sent in this session")

    vendor.hooks["upload"] = lambda c: c["request"].duration < 4 and snapshot_without_parent(c)
    job = h.engine.enqueue(new_job())
    job_id = job.id
    wait_until(crash.exists)
    h.close()
    vendor.hooks.clear()
    h2 = Harness(tmp_path / "after", vendor, INFOS, ledger_path=crash)
    try:
        h2.engine.resume_from_ledger()
        assert h2.wait()
        final = h2.engine.get(job.id)
        assert final is not None and final.state == S.INSERTED
        assert vendor.submits == 2  # the first task fetched again for free, one tail sent
        assert len(final.chunk_ids) == 2
        orphans = [j for j in h2.engine.jobs() if j.parent_id == job.id and j.id not in final.chunk_ids]
        assert orphans and all(j.state == S.CANCELLED for j in orphans)
    finally:
        h2.close()


def test_a_video_provider_renders_the_tail_and_its_minimum_moves_the_tail_start(harness: Harness):
    harness.vendor.short_submits = {1: 2.7}
    job = harness.engine.enqueue(new_job("fake.video"))  # 4 s range, the minimum is 3 s
    assert harness.wait()
    final = harness.engine.get(job.id)
    first, tail = children(harness, job.id)
    assert final is not None and final.state == S.INSERTED and harness.vendor.submits == 2
    assert (tail.frame_start, tail.frame_end) == (26, 100)  # 3 s: longer than 1.3 s + overlap
    assert (first.frame_start, first.frame_end) == (1, 44)  # kept up to the overlap
    assert harness.renderer.calls == 2 and tail.files["clip"] != first.files["clip"]  # its own frames
    assert read_wav(final.audio_path).frame_count == 4 * SAMPLE_RATE


def test_the_tail_cancelled_alone_leaves_the_first_result(harness: Harness):
    harness.vendor.short_submits = {1: 2.7}
    gate, reached = threading.Event(), threading.Event()
    harness.vendor.hooks["upload"] = lambda c: c["request"].duration < 4 and (reached.set(), gate.wait(5))
    job = harness.engine.enqueue(new_job())
    assert reached.wait(5)
    _first, tail = children(harness, job.id)
    assert "nothing was charged" in harness.engine.cancel(tail.id)
    gate.set()
    assert harness.wait()
    final = harness.engine.get(job.id)
    assert final is not None and final.state == S.INSERTED and harness.vendor.submits == 1
    assert any("shorter than the range" in w for w in final.warnings)


def test_a_failed_tail_cannot_be_retried_once_the_job_kept_its_first_result(harness: Harness):
    harness.vendor.short_submits = {1: 2.7}
    harness.vendor.fail_tasks = {2}
    job = harness.engine.enqueue(new_job())
    assert harness.wait()
    _first, tail = children(harness, job.id)
    with pytest.raises(ValueError, match="can no longer be joined"):
        harness.engine.retry(tail.id)
    assert harness.vendor.submits == 2  # nothing more paid


def test_follow_ups_take_a_slot_of_the_same_account(tmp_path: Path, vendor: FakeVendor):
    from vse_foley.providers.base import AccountLimits

    shared = make_info("fake.text", input="text", max_seconds=30, account="one-key")
    h = Harness(tmp_path, vendor, {"fake.text": shared},
                account_limits={"one-key": AccountLimits("One key", 1)})
    try:
        vendor.audio_seconds = 2.7  # every task lasts 2.7 s: both 4 s takes are short, no 2.08 s tail is
        jobs = [h.engine.enqueue(new_job()) for _take in range(2)]
        assert h.wait()
        assert vendor.submits == 4  # two takes, one follow-up each
        assert vendor.peak_running == 1  # never more tasks at once than the account allows
        for job in jobs:
            final = h.engine.get(job.id)
            assert final is not None and final.state == S.INSERTED and len(final.chunk_ids) == 2
    finally:
        h.close()
