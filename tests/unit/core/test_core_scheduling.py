"""Issue 9 scheduling: account limits across models, waiting out busy vendors, pacing, held chunks.

The engine runs against the in-memory fake vendor with a fake clock that only moves
when a worker (or the waker) sleeps, so minutes of vendor waiting take milliseconds.
"""

import threading
from itertools import pairwise
from pathlib import Path

import pytest
from core_fakes import FakeVendor, Harness, make_info
from test_core_engine import copy_then_set, gate_hook, new_job, state_of

from vse_foley.core import accounts
from vse_foley.core.jobs import JobState
from vse_foley.providers.base import AccountLimits
from vse_foley.providers.errors import (
    CreditsError,
    InputError,
    ModerationError,
    RateLimitError,
    VendorBusyError,
)

S = JobState
ACCOUNT = "shared"
# three "models" on one vendor account, like the WaveSpeed models on one key
INFOS = {
    pid: make_info(pid, input="text", max_seconds=20, concurrency=3, account=ACCOUNT)
    for pid in ("acct.one", "acct.two", "acct.three")
}
INFOS["solo.text"] = make_info("solo.text", input="text", max_seconds=20, concurrency=3)


def limits(concurrency: int = 3, per_minute: float = 0.0, polls: float = 0.0) -> dict[str, AccountLimits]:
    return {ACCOUNT: AccountLimits("Shared", concurrency, per_minute, polls)}


def busy(retry_after: float | None = None) -> VendorBusyError:
    return VendorBusyError(
        "The account is busy; nothing was created.", vendor_code=1303, retry_after=retry_after
    )


def records_of(h: Harness, job_id: str) -> list[dict]:
    return h.records(job_id)


# -- item 3: limits belong to the account ----------------------------------------------------------


def test_three_models_times_two_takes_share_the_accounts_three_slots(tmp_path: Path):
    vendor = FakeVendor(polls_until_done=3)
    h = Harness(tmp_path, vendor, INFOS, account_limits=limits(concurrency=3))
    gate = threading.Event()
    vendor.hooks["submit"] = gate_hook(gate)
    try:
        jobs = [
            h.engine.enqueue(new_job(pid)) for pid in ("acct.one", "acct.two", "acct.three") for _ in range(2)
        ]
        gate.set()
        assert h.wait(timeout=10)
        assert all(state_of(h, job.id) == S.INSERTED for job in jobs)
        assert vendor.peak_running == 3 and h.engine.peak_in_account(ACCOUNT) == 3
        assert vendor.submits == 6
    finally:
        h.close()


def started(h: Harness, provider_id: str) -> int:
    """Jobs of ``provider_id`` that left the queue and have not settled (they hold a slot)."""
    return sum(1 for job in h.engine.jobs() if job.provider_id == provider_id
               and job.state is not S.QUEUED and not job.settled)


def test_a_higher_tier_lets_one_model_use_every_slot_of_the_account(tmp_path: Path):
    vendor = FakeVendor(polls_until_done=2)
    h = Harness(tmp_path, vendor, INFOS, account_limits=limits(concurrency=5))  # the models' default: 3
    gate = threading.Event()
    vendor.hooks["submit"] = gate_hook(gate)
    try:
        for _ in range(6):
            h.engine.enqueue(new_job("acct.one"))
        h.wait_for(lambda: started(h, "acct.one") == 5)
        gate.set()
        assert h.wait(timeout=10)
        # every slot used, never more tasks at the vendor than the tier allows (a job that is only
        # downloading holds no slot, so jobs in flight may briefly be one more)
        assert h.engine.peak_in_account(ACCOUNT) == 5 and vendor.peak_running == 5
    finally:
        h.close()


def test_other_accounts_are_not_held_back(tmp_path: Path):
    vendor = FakeVendor(polls_until_done=3)
    h = Harness(tmp_path, vendor, INFOS, account_limits=limits(concurrency=1))
    gate = threading.Event()
    vendor.hooks["submit"] = gate_hook(gate)
    try:
        for pid in ("acct.one", "acct.two", "solo.text", "solo.text"):
            h.engine.enqueue(new_job(pid))
        # own account: both at once; the shared account's first job reaches its (held) submit too
        h.wait_for(lambda: started(h, "solo.text") == 2
                   and started(h, "acct.one") + started(h, "acct.two") >= 1)
        assert started(h, "acct.one") + started(h, "acct.two") == 1  # its one slot: the other waits
        gate.set()
        assert h.wait(timeout=10)
        assert h.engine.peak_in_account(ACCOUNT) == 1 and h.engine.peak_in_account("solo.text") == 2
    finally:
        h.close()


def test_a_raised_account_limit_starts_queued_jobs(tmp_path: Path):
    vendor = FakeVendor(polls_until_done=2)
    h = Harness(tmp_path, vendor, INFOS, account_limits=limits(concurrency=1))
    gate = threading.Event()
    vendor.hooks["submit"] = gate_hook(gate)
    try:
        for _ in range(3):
            h.engine.enqueue(new_job("acct.one"))
        h.wait_for(lambda: started(h, "acct.one") == 1)
        h.engine.set_account_limits(ACCOUNT, AccountLimits("Shared", 3))
        h.wait_for(lambda: started(h, "acct.one") == 3)
        gate.set()
        assert h.wait(timeout=10)
    finally:
        h.close()


def test_a_resumed_polling_job_holds_a_slot_of_its_account(tmp_path: Path):
    vendor = FakeVendor(polls_until_done=10_000)
    crash = tmp_path / "crash.jsonl"
    h = Harness(tmp_path, vendor, INFOS, account_limits=limits(concurrency=1))
    copied = threading.Event()
    vendor.hooks["poll"] = lambda _c: copied.is_set() or copy_then_set(h.ledger_path, crash, copied)
    polling = h.engine.enqueue(new_job("acct.one", prompt="first"))
    assert copied.wait(5)
    h.close()
    h2 = Harness(tmp_path / "after", vendor, INFOS, ledger_path=crash, account_limits=limits(concurrency=1))
    seen: list[S] = []
    try:
        vendor.hooks.clear()
        vendor.hooks["submit"] = lambda _c: seen.append(state_of(h2, polling.id))
        h2.engine.resume_from_ledger()
        h2.wait_for(lambda: started(h2, "acct.one") == 1)
        fresh = h2.engine.enqueue(new_job("acct.two", prompt="second"))
        assert state_of(h2, fresh.id) == S.QUEUED and started(h2, "acct.two") == 0
        vendor.finish_all()
        assert h2.wait(timeout=10)
        # the new job was submitted only once the resumed one had finished with the vendor
        assert seen and seen[0] in (S.DOWNLOADING, S.READY, S.INSERTED)
        assert vendor.submits == 2 and h2.engine.peak_in_account(ACCOUNT) == 1
    finally:
        h2.close()


# -- item 2: busy refusals are waited out -----------------------------------------------------------


def test_a_busy_refusal_waits_for_retry_after_then_submits_again(tmp_path: Path):
    vendor = FakeVendor(polls_until_done=1)
    vendor.submit_errors = [busy(retry_after=42)]
    h = Harness(tmp_path, vendor, INFOS, account_limits=limits())
    try:
        job = h.engine.enqueue(new_job("acct.one"))
        assert h.wait(timeout=10)
        assert state_of(h, job.id) == S.INSERTED and vendor.submits == 2
        waiting = [r for r in records_of(h, job.id) if r.get("retry_at")]
        assert waiting and waiting[0]["state"] == "queued" and not waiting[0]["submit_attempted"]
        assert (
            "Waiting for a free slot at Shared" in waiting[0]["note"]
            and "nothing was created" in waiting[0]["note"]
        )
        (_, first), (_, second) = vendor.submit_log
        assert second - first >= 42 and waiting[0]["retry_at"] == pytest.approx(first + 42)
        final = h.engine.get(job.id)
        assert final is not None and final.retry_at == 0 and final.waiting_since == 0 and final.note == ""
        assert not any(r["state"] == "failed" for r in records_of(h, job.id))  # never shown as failed
    finally:
        h.close()


def test_a_waiting_job_gives_its_slot_to_another(tmp_path: Path):
    vendor = FakeVendor(polls_until_done=1)
    vendor.submit_errors = [busy(retry_after=120)]
    h = Harness(tmp_path, vendor, INFOS, account_limits=limits(concurrency=1))
    try:
        first = h.engine.enqueue(new_job("acct.one", prompt="first"))
        h.wait_for(lambda: vendor.submits == 1)
        second = h.engine.enqueue(new_job("acct.two", prompt="second"))
        assert h.wait(timeout=10)
        assert [prompt for prompt, _ in vendor.submit_log] == ["first", "second", "first"]
        assert state_of(h, first.id) == S.INSERTED and state_of(h, second.id) == S.INSERTED
    finally:
        h.close()


def test_busy_without_retry_after_backs_off_and_gives_up_after_a_bounded_time(tmp_path: Path):
    vendor = FakeVendor(polls_until_done=1)
    vendor.submit_errors = [busy() for _ in range(200)]
    h = Harness(tmp_path, vendor, INFOS, account_limits=limits())
    try:
        job = h.engine.enqueue(new_job("acct.one"))
        assert h.wait(timeout=20)
        failed = h.engine.get(job.id)
        assert failed is not None and failed.state == S.FAILED
        assert "stayed busy for 30 minutes" in failed.error and "nothing was sent or charged" in failed.error
        assert failed.error_kind == "VendorBusyError" and not failed.submit_attempted
        times = [t for _, t in vendor.submit_log]
        gaps = [b - a for a, b in pairwise(times)]
        assert gaps[0] >= 5 and gaps[1] >= 5 and gaps[2] >= 10 and gaps[3] >= 20 and max(gaps) < 61 + 5
        assert times[-1] - times[0] <= accounts.MAX_BUSY_WAIT_S
        assert 30 < len(times) < 45  # bounded: about one try a minute for half an hour
        retried = h.engine.retry(job.id)  # nothing was sent, so the same job may go again
        assert retried.id == job.id and retried.state == S.QUEUED
    finally:
        h.close()


@pytest.mark.parametrize(
    "error",
    [
        CreditsError("The account has no credits left. Top it up."),
        ModerationError("Refused on policy grounds."),
    ],
)
def test_out_of_credits_and_refusals_end_the_job_with_their_sentence(tmp_path: Path, error):
    vendor = FakeVendor(polls_until_done=1)
    vendor.submit_errors = [error]
    h = Harness(tmp_path, vendor, INFOS, account_limits=limits())
    try:
        job = h.engine.enqueue(new_job("acct.one"))
        assert h.wait(timeout=10)
        failed = h.engine.get(job.id)
        assert failed is not None and failed.state == S.FAILED and failed.error == str(error)
        assert vendor.submits == 1 and failed.retry_at == 0
    finally:
        h.close()


def test_cancel_while_waiting_for_a_slot_sends_nothing_more(tmp_path: Path):
    vendor = FakeVendor(polls_until_done=1)
    vendor.submit_errors = [busy(retry_after=300)]
    h = Harness(tmp_path, vendor, INFOS, account_limits=limits())
    try:
        job = h.engine.enqueue(new_job("acct.one"))
        h.wait_for(lambda: (h.engine.get(job.id).retry_at or 0) > 0)
        assert "nothing was charged" in h.engine.cancel(job.id)
        assert h.wait(timeout=10)
        assert state_of(h, job.id) == S.CANCELLED and vendor.submits == 1
    finally:
        h.close()


# -- item 4: rate limits ------------------------------------------------------------------------------


def test_submits_follow_the_accounts_rate_whatever_the_number_of_jobs(tmp_path: Path):
    vendor = FakeVendor(polls_until_done=1)
    h = Harness(tmp_path, vendor, INFOS, account_limits=limits(concurrency=10, per_minute=2))
    try:
        jobs = [
            h.engine.enqueue(new_job(pid, prompt=f"job {i}"))
            for i, pid in enumerate(("acct.one", "acct.two") * 3)
        ]
        assert h.wait(timeout=20)
        assert all(state_of(h, job.id) == S.INSERTED for job in jobs)
        sent_at = dict(vendor.submit_log)
        assert len(sent_at) == 6
        # a burst of 2, then one slot every 30 s, each shown on its job as "retry at"
        reserved = {}
        for job in jobs:
            waits = [r for r in records_of(h, job.id) if r.get("retry_at")]
            if waits:
                assert "2 new tasks a minute" in waits[0]["note"]
                reserved[job.prompt] = waits[0]["retry_at"]
                assert sent_at[job.prompt] >= reserved[job.prompt] - 1e-6  # never sent before its slot
        assert len(reserved) == 4
        slots = sorted(reserved.values())
        assert [slot - slots[0] for slot in slots] == pytest.approx([0, 30, 60, 90])
        assert 0 <= slots[0] - min(sent_at.values()) <= 30 + 1e-6  # the burst of 2 went at once
    finally:
        h.close()


def test_a_poll_429_slows_every_job_of_the_account(tmp_path: Path):
    vendor = FakeVendor(polls_until_done=4)
    h = Harness(tmp_path, vendor, INFOS, account_limits=limits(concurrency=3))
    throttled_at: list[float] = []

    def on_poll(_context):
        if len(vendor.poll_log) == 3 and not throttled_at:  # the third poll of all is refused
            throttled_at.append(vendor.clock())
            vendor.poll_errors.append(VendorBusyError("Too many requests.", retry_after=25))

    vendor.hooks["poll"] = on_poll
    try:
        jobs = [h.engine.enqueue(new_job(pid)) for pid in ("acct.one", "acct.two", "acct.three")]
        assert h.wait(timeout=10)
        assert all(state_of(h, job.id) == S.INSERTED for job in jobs) and throttled_at
        # poll_log[3] is the refused poll; a poll already on its way at that instant has its time
        later = [t for _, t in vendor.poll_log[4:] if t > throttled_at[0]]
        assert later and min(later) >= throttled_at[0] + 25 - 1e-6  # no job of the account polled sooner
        notes = [
            r for job in jobs for r in records_of(h, job.id) if "asked to slow down" in r.get("note", "")
        ]
        assert notes and notes[0]["retry_at"] >= throttled_at[0] + 25 - 1e-6
    finally:
        h.close()


def test_a_poll_rate_limit_without_retry_after_still_backs_off(tmp_path: Path):
    vendor = FakeVendor(polls_until_done=1)
    vendor.poll_errors = [RateLimitError("Too many requests.") for _ in range(3)]
    h = Harness(tmp_path, vendor, INFOS, account_limits=limits())
    try:
        job = h.engine.enqueue(new_job("acct.one"))
        assert h.wait(timeout=10) and state_of(h, job.id) == S.INSERTED
        times = [t for _, t in vendor.poll_log]
        gaps = [b - a for a, b in pairwise(times)]
        assert gaps[0] >= 2 and gaps[1] >= 4 and gaps[2] >= 8
    finally:
        h.close()


# -- item 5: no money on a result that cannot be assembled ---------------------------------------


def long_job(prompt: str = "rain"):
    return new_job("acct.one", frames=(1, 50 * 25), prompt=prompt)  # 50 s: 3 chunks of ≤ 20 s


def test_an_unfixable_chunk_failure_holds_the_unsent_chunks(tmp_path: Path):
    vendor = FakeVendor(polls_until_done=1)
    vendor.submit_errors = [ModerationError("Refused on policy grounds. Change the prompt.")]
    h = Harness(tmp_path, vendor, INFOS, account_limits=limits(concurrency=1))
    try:
        parent = h.engine.enqueue(long_job())
        assert len(parent.chunk_ids) == 3
        assert h.wait(timeout=10)
        failed = h.engine.get(parent.id)
        assert failed is not None and failed.state == S.FAILED
        assert "Chunk 1 of 3 failed: Refused on policy grounds" in failed.error
        assert (
            "2 chunks not sent yet are held" in failed.error and "nothing was sent or charged" in failed.error
        )
        assert vendor.submits == 1  # the siblings were never sent
        held = [h.engine.get(cid) for cid in parent.chunk_ids[1:]]
        assert all(c is not None and c.held and c.state == S.QUEUED for c in held)

        # Retry: the failed chunk alone first, then the held ones
        held_at_submit: list[list[bool]] = []
        vendor.hooks["submit"] = lambda _c: held_at_submit.append(
            [h.engine.get(cid).held for cid in parent.chunk_ids[1:]]
        )
        h.engine.retry(parent.id)
        assert h.wait(timeout=10)
        final = h.engine.get(parent.id)
        assert final is not None and final.state == S.INSERTED
        assert vendor.submits == 4
        assert held_at_submit[0] == [True, True]  # the failed chunk went again while the others waited
        assert held_at_submit[1:] == [[False, False]] * 2
    finally:
        h.close()


def test_held_chunks_stay_held_after_a_restart(tmp_path: Path):
    vendor = FakeVendor(polls_until_done=1)
    vendor.submit_errors = [ModerationError("Refused on policy grounds.")]
    h = Harness(tmp_path, vendor, INFOS, account_limits=limits(concurrency=1))
    parent = h.engine.enqueue(long_job())
    assert h.wait(timeout=10)
    h.close()
    h2 = Harness(
        tmp_path / "after", vendor, INFOS, ledger_path=h.ledger_path, account_limits=limits(concurrency=1)
    )
    try:
        h2.engine.resume_from_ledger()
        assert h2.wait(timeout=5)
        assert vendor.submits == 1 and state_of(h2, parent.id) == S.FAILED
        assert all(h2.engine.get(cid).held for cid in parent.chunk_ids[1:])
        h2.engine.retry(parent.id)  # the failed parent is back in the list: Retry works after a restart
        assert h2.wait(timeout=10) and state_of(h2, parent.id) == S.INSERTED and vendor.submits == 4
    finally:
        h2.close()


def test_cancel_drops_the_held_chunks_and_the_sent_ones_finish(tmp_path: Path):
    vendor = FakeVendor(polls_until_done=1)
    h = Harness(tmp_path, vendor, INFOS, account_limits=limits(concurrency=2))
    release = threading.Event()
    submitted: list[str] = []

    def on_submit(_context):
        submitted.append("x")
        if len(submitted) == 1:
            assert release.wait(5)  # chunk 1 is still being accepted when chunk 2 is refused

    vendor.hooks["submit"] = on_submit
    # the first chunk to arrive waits in the hook; the second pops this refusal
    vendor.submit_errors = [InputError("The prompt is too long; shorten it.")]
    try:
        parent = h.engine.enqueue(long_job())
        h.wait_for(lambda: state_of(h, parent.id) == S.FAILED)
        message = h.engine.cancel(parent.id)
        assert "Cancelled 1 chunk(s) not sent yet; nothing was sent or charged for them." in message
        assert "1 chunk(s) already sent finish and are kept" in message
        release.set()
        assert h.wait(timeout=10)
        states = [state_of(h, cid) for cid in parent.chunk_ids]
        assert states.count(S.CANCELLED) == 1 and states.count(S.FAILED) == 1 and S.READY in states
        assert vendor.submits == 2  # the held chunk never went
    finally:
        h.close()


def test_a_retryable_chunk_failure_holds_nothing(tmp_path: Path):
    vendor = FakeVendor(polls_until_done=1)
    vendor.fail_tasks = {1}  # the vendor's task failed: a retry may well pass
    h = Harness(tmp_path, vendor, INFOS, account_limits=limits(concurrency=1))
    try:
        parent = h.engine.enqueue(long_job())
        assert h.wait(timeout=10)
        failed = h.engine.get(parent.id)
        assert failed is not None and "Retry it alone" in failed.error
        assert vendor.submits == 3 and not any(h.engine.get(c).held for c in parent.chunk_ids)
    finally:
        h.close()
