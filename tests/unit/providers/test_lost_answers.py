"""Issue 9: a lost submit answer never makes a second paid task, for every vendor and every fault.

The faults are the ones the vendor documents leave open (``devtools/emulator``): the task IS
created and then the client hears HTTP 500, HTTP 504, or the connection closes; a slow answer
outlives the read timeout; Kling accepts a repeated ``external_task_id`` (the unkind reading)
and finds a new task by it only after a lag. Jobs run through the real ``JobEngine`` with the
real providers against the emulator; the engine's clock is injected, so the several-minute
lookup schedule runs in milliseconds. Each test asserts the account made EXACTLY ONE task and
the job ended with the result or with the *may have been charged* sentence.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from providers_testkit import FAST, EngineRun, submits_sent

from devtools.emulator import VendorEmulator
from vse_foley.core.jobs import Job, JobState
from vse_foley.core.timeline import FrameRange
from vse_foley.providers import provider_info
from vse_foley.providers.base import GenerationRequest, VendorTask
from vse_foley.providers.errors import (
    AuthError,
    CreditsError,
    NetworkError,
    RateLimitError,
    ServiceUnavailableError,
    SubmitUncertainError,
    TaskFailedError,
    VendorUnavailableError,
    proves_no_task,
)
from vse_foley.providers.recovery import LookupSchedule, find_lost_task

S = JobState
#: One provider per vendor account.
BY_VENDOR = {
    "wavespeed": "wavespeed.think-sound",
    "kling": "kling.video-to-audio",
    "vidu": "vidu.text2audio",
    "flexstack": "flexstack.audiogen",
}
#: lose_submit_answer statuses: 500, 502 (a gateway page), 504, and 0 = closed with no answer.
LOST = {"http_500": 500, "http_502": 502, "http_504": 504, "closed": 0}


def assert_exactly_one_task(emu: VendorEmulator, vendor: str) -> None:
    assert submits_sent(emu, vendor) == 1, "the paid request was sent more than once"
    assert emu.tasks_created(vendor) == 1, "the account made more than one paid task"


def assert_may_have_been_charged(job: Job, vendor: str) -> None:
    info = provider_info(BY_VENDOR[vendor])
    assert job.state == S.FAILED and job.error_kind == "SubmitUncertainError", job.error
    assert job.submit_attempted and job.task is None
    text = job.error
    assert "may have been charged" in text and "not sent again" in text and info.label in text
    assert text[:1].isupper() and text.endswith(".") and "Traceback" not in text


# -- every vendor, every lost answer -----------------------------------------------------------


@pytest.mark.parametrize("fault", list(LOST))
@pytest.mark.parametrize("vendor", list(BY_VENDOR))
def test_a_lost_answer_makes_exactly_one_task(vendor, fault, emu, run):
    emu.inject(vendor, "lose_submit_answer", status=LOST[fault])
    final = run.finish(run.job(BY_VENDOR[vendor]))
    assert_exactly_one_task(emu, vendor)
    if vendor == "kling":  # found by its external_task_id: polled and downloaded, never resent
        assert final.state == S.READY and Path(final.audio_path).is_file(), final.error
        task = next(iter(emu.vendor_tasks("kling")))
        assert final.task is not None and final.task.task_id == task.task_id
        assert task.external_task_id == final.submit_key
    else:  # no idempotency key: never resent, and the job says so and where to look
        assert_may_have_been_charged(final, vendor)
        assert "no way to look a task up" in final.error and "Check " in final.error


@pytest.mark.parametrize("vendor", list(BY_VENDOR))
def test_a_read_timeout_on_submit_makes_exactly_one_task(vendor, emu, tmp_path):
    emu.inject(vendor, "slow", on="submit", delay=0.5)
    # The lookup waits in real time here: the slow answer lands after the read timeout.
    run = EngineRun(emu, tmp_path, real=0.05, tuning=replace(FAST, read_timeout=0.2, recover_delay=0.05))
    try:
        final = run.finish(run.job(BY_VENDOR[vendor]))
        assert emu.wait_for_submits(vendor, 1, timeout=2.0)  # lands after the client gave up
        assert emu.tasks_created(vendor) == 1 and submits_sent(emu, vendor) == 1
        if vendor == "kling":
            assert final.state == S.READY, final.error
        else:
            assert_may_have_been_charged(final, vendor)
    finally:
        run.close()


# -- Kling: the unkind readings of the document -----------------------------------------------------


def test_kling_accepting_a_repeated_id_still_gets_one_task(emu, run):
    assert emu.kling_duplicate_ids == "accept"  # a resend WOULD make a second paid task
    emu.inject("kling", "lose_submit_answer", status=500)
    emu.inject("kling", "lookup_lag", lookups=2)
    final = run.finish(run.job("kling.video-to-audio"))
    assert final.state == S.READY, final.error
    assert_exactly_one_task(emu, "kling")


def test_kling_task_found_only_after_n_lookups(emu, run):
    emu.inject("kling", "lose_submit_answer", status=504)
    emu.inject("kling", "lookup_lag", lookups=7)
    final = run.finish(run.job("kling.video-to-audio"))
    assert final.state == S.READY, final.error
    assert_exactly_one_task(emu, "kling")
    lookups = [
        r
        for r in emu.requests
        if r.kind in ("poll", "list") and final.submit_key in (r.path, r.path.rsplit("/", 1)[-1])
    ]
    assert lookups, "looked up by the external id"
    assert sum(run.clock.slept) > 0  # waited between lookups (the injected clock)


def test_kling_task_found_only_after_t_seconds(emu, tmp_path):
    emu.inject("kling", "lose_submit_answer", status=0)
    emu.inject("kling", "lookup_lag", lookups=0, seconds=0.4)
    run = EngineRun(emu, tmp_path, real=0.05)  # the lag is in real seconds
    try:
        final = run.finish(run.job("kling.video-to-audio"))
        assert final.state == S.READY, final.error
        assert_exactly_one_task(emu, "kling")
    finally:
        run.close()


def test_kling_task_found_only_in_the_list_on_a_later_page(emu, run):
    # The query by external id never finds it; the list does, past page 1 of a capped listing.
    emu.kling_page_size_cap = 2
    for number in range(5):  # newer tasks of the same account push ours to page 3
        emu.create_task(
            "kling",
            f"other-{number}",
            "video-to-audio",
            {},
            5.0,
            created_at=4_000_000_000.0 + number,
            external_task_id=f"someone-else-{number}",
            extra={"clip_bytes": b"", "clip_url": "", "parent_video_id": str(number)},
        )
    emu.inject("kling", "lose_submit_answer", status=500)
    emu.inject("kling", "lookup_lag", lookups=10**6, list=False)
    final = run.finish(run.job("kling.video-to-audio"))
    assert final.state == S.READY, final.error
    mine = [t for t in emu.vendor_tasks("kling") if t.external_task_id == final.submit_key]
    assert len(mine) == 1 and submits_sent(emu, "kling") == 1
    pages = {r.query.get("pageNum") for r in emu.requests if r.kind == "list"}
    assert {"1", "2", "3"} <= pages


def test_kling_never_found_ends_as_may_have_been_charged_with_the_external_id(emu, run):
    emu.inject("kling", "lose_submit_answer", status=500)
    emu.inject("kling", "lookup_lag", lookups=10**6)
    final = run.finish(run.job("kling.video-to-audio"))
    assert_may_have_been_charged(final, "kling")
    assert (
        final.submit_key and final.submit_key in final.error and "Kling AI developer console" in final.error
    )
    assert_exactly_one_task(emu, "kling")
    assert sum(run.clock.slept) >= 300 - 1  # looked for about five minutes (injected clock)


def test_kling_no_second_send_so_no_refusal_can_say_nothing_was_made(emu, run):
    # The old client resent and read Kling's refusal of the repeated id (or a 429/1303) as proof
    # that nothing existed. Here the lookups never see the task and a resend would be refused:
    # there is no resend, and the job says *may have been charged*, never "nothing was charged".
    emu.kling_duplicate_ids = "refuse"
    emu.inject("kling", "lose_submit_answer", status=500)
    emu.inject("kling", "lookup_lag", lookups=10**6)
    final = run.finish(run.job("kling.video-to-audio"))
    assert_may_have_been_charged(final, "kling")
    assert "nothing was" not in final.error
    assert_exactly_one_task(emu, "kling")


def test_retry_of_a_may_have_been_charged_kling_job_looks_again_and_never_sends(emu, run):
    emu.inject("kling", "lose_submit_answer", status=500)
    emu.inject("kling", "lookup_lag", lookups=10**6)
    job = run.job("kling.video-to-audio")
    assert run.finish(job).state == S.FAILED
    for task in emu.vendor_tasks("kling"):
        task.extra["hidden_lookups"] = 0  # the lagging backend finally shows it
    assert run.engine.retry(job.id).id == job.id  # the same job, no new charge
    final = run.finish(job)
    assert final.state == S.READY, final.error
    assert_exactly_one_task(emu, "kling")


def _until_looking(run: EngineRun, job: Job) -> Job:
    return run.until(job, lambda seen: "Still looking" in seen.note)  # the worker reported a miss


def test_cancel_while_looking_still_fetches_the_paid_result_and_keeps_its_note(emu, run):
    emu.inject("kling", "lose_submit_answer", status=500)
    emu.inject("kling", "lookup_lag", lookups=10**6)
    job = run.job("kling.video-to-audio")
    _until_looking(run, job)
    message = run.engine.cancel(job.id)
    assert "may already have arrived" in message
    for task in emu.vendor_tasks("kling"):
        task.extra["hidden_lookups"] = 0
    final = run.finish(job)
    assert final.state == S.CANCELLED and Path(final.audio_path).is_file()  # paid: kept in the library
    assert final.note.startswith("Cancelled") and "Still looking" not in final.note
    assert_exactly_one_task(emu, "kling")


# -- resume from the ledger --------------------------------------------------------------------------


def test_restart_keeps_looking_and_fetches_the_lagging_task(emu, tmp_path):
    emu.inject("kling", "lose_submit_answer", status=0)
    emu.inject("kling", "lookup_lag", lookups=10**6)
    first = EngineRun(emu, tmp_path)
    job = first.job("kling.video-to-audio")
    ended = first.finish(job)
    assert_may_have_been_charged(ended, "kling")
    first.close()
    for task in emu.vendor_tasks("kling"):
        task.extra["hidden_lookups"] = 0  # appears while Blender is closed
    second = EngineRun(emu, tmp_path / "after", ledger=first.ledger_path)
    second.clock.now = first.clock.now + 60  # a minute later
    try:
        resumed = second.engine.resume_from_ledger()
        assert [j.id for j in resumed] == [job.id]
        final = second.finish(job)
        assert final.state == S.READY and Path(final.audio_path).is_file(), final.error
        assert_exactly_one_task(emu, "kling")
    finally:
        second.close()


def test_shutdown_while_looking_then_restart_keeps_looking(emu, tmp_path):
    emu.inject("kling", "lose_submit_answer", status=504)
    emu.inject("kling", "lookup_lag", lookups=10**6)
    first = EngineRun(emu, tmp_path)
    job = first.job("kling.video-to-audio")
    _until_looking(first, job)
    first.close()  # Blender quits mid-lookup: the job stays "submitted" in the ledger
    for task in emu.vendor_tasks("kling"):
        task.extra["hidden_lookups"] = 0
    second = EngineRun(emu, tmp_path / "after", ledger=first.ledger_path)
    try:
        second.engine.resume_from_ledger()
        final = second.finish(job)
        assert final.state == S.READY, final.error
        assert_exactly_one_task(emu, "kling")
    finally:
        second.close()


def test_a_long_range_whose_chunk_lost_its_answer_is_joined_after_restart(emu, tmp_path):
    # 30 s on Kling (3-20 s) runs as chunks; the first chunk's answer is lost and its task lags.
    emu.inject("kling", "lose_submit_answer", status=500)
    emu.inject("kling", "lookup_lag", lookups=10**6)
    first = EngineRun(emu, tmp_path)
    parent = first.job("kling.video-to-audio", FrameRange(1, 750))
    assert first.engine.wait([parent.id], timeout=60)
    failed = first.engine.get(parent.id)
    assert failed is not None and failed.state == S.FAILED and "may have been charged" in failed.error
    chunks = len(failed.chunk_ids)
    assert chunks >= 2 and emu.tasks_created("kling") == chunks
    first.close()
    for task in emu.vendor_tasks("kling"):
        task.extra["hidden_lookups"] = 0
    second = EngineRun(emu, tmp_path / "after", ledger=first.ledger_path)
    second.clock.now = first.clock.now + 60
    try:
        second.engine.resume_from_ledger()
        assert second.engine.wait([parent.id], timeout=60)
        joined = second.engine.get(parent.id)
        assert joined is not None and joined.state == S.READY and Path(joined.audio_path).is_file(), (
            joined.error
        )
        assert emu.tasks_created("kling") == chunks and submits_sent(emu, "kling") == chunks  # none resent
    finally:
        second.close()


# -- what counts as proof that nothing was made --------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "proves"),
    [
        (CreditsError("x"), True),
        (RateLimitError("x"), True),
        (ServiceUnavailableError("x"), True),
        (SubmitUncertainError("x"), False),
        (VendorUnavailableError("x"), False),  # a 5xx-coded answer: the task may exist
        (TaskFailedError("x"), False),
        (ConnectionResetError("x"), False),
    ],
)
def test_only_a_refusal_proves_that_no_task_exists(error, proves):
    assert proves_no_task(error) is proves


# -- the lookup schedule and its loop ----------------------------------------------------------------


def test_the_default_schedule_looks_for_about_five_minutes_with_backoff():
    delays = list(LookupSchedule().delays())
    assert delays[:5] == [2.0, 4.0, 8.0, 16.0, 30.0] and max(delays) == 30.0
    assert 300 <= sum(delays) < 330 and len(delays) == 13
    assert list(LookupSchedule(window=0).delays()) == [2.0]  # always at least one look


class _Answers:
    """A provider whose lookups answer from a script: a task, None, or an exception."""

    info = provider_info("kling.video-to-audio")
    supports_recovery = True
    lookup_schedule = LookupSchedule(first=1.0, factor=1.0, maximum=1.0, window=5.0)

    def __init__(self, *answers: object) -> None:
        self.answers = list(answers)
        self.calls = 0

    def recover_submit(self, request: GenerationRequest, key: str) -> VendorTask | None:
        self.calls += 1
        answer = self.answers.pop(0) if self.answers else None
        if isinstance(answer, BaseException):
            raise answer
        return answer  # type: ignore[return-value]


def test_the_loop_survives_retryable_and_unreadable_answers_and_stops_on_credentials():
    request = GenerationRequest("kling.video-to-audio", 5.0)
    found = VendorTask("t-1")
    flaky = _Answers(None, NetworkError("x"), ValueError("odd JSON"), found)
    waits: list[float] = []
    assert find_lost_task(flaky, request, "k", sleep=waits.append) is found  # type: ignore[arg-type]
    assert flaky.calls == 4 and waits == [1.0] * 4
    locked_out = _Answers(AuthError("bad key"), found)
    assert find_lost_task(locked_out, request, "k", sleep=waits.append) is None  # type: ignore[arg-type]
    assert locked_out.calls == 1
    never = _Answers()
    assert find_lost_task(never, request, "k", sleep=waits.append) is None  # type: ignore[arg-type]
    assert never.calls == 5  # the whole window, then it gives up (the caller says "may have been charged")


def test_another_open_window_does_not_pick_up_a_failed_lookup_only_a_start_does(emu, tmp_path):
    """A Kling job whose lost submit was not found ends as failed in its window; another open
    window must not start its own lookup of it every few seconds (only a start looks again)."""
    emu.inject("kling", "lose_submit_answer", status=0)
    emu.inject("kling", "lookup_lag", lookups=10**6)
    first = EngineRun(emu, tmp_path)
    job = first.job("kling.video-to-audio")
    assert_may_have_been_charged(first.finish(job), "kling")
    second = EngineRun(emu, tmp_path / "other", ledger=first.ledger_path)
    second.clock.now = first.clock.now + 60
    try:
        assert second.engine.take_over_orphans() == []  # the pump's look, while the first lives
        assert second.engine.get(job.id) is None
        first.close()
        assert [j.id for j in second.engine.resume_from_ledger()] == [job.id]  # what a start does
        assert_exactly_one_task(emu, "kling")
    finally:
        second.close()
