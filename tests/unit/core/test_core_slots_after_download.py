"""The vendor slot is given back once, as the job turns to downloading (its task is done at the
vendor); whatever happens to the download afterwards (it fails and is retried, it is cancelled)
must not give it back a second time. A second release would let one job too many start: the
account's count clamps at zero, so only the vendor's own count of live tasks shows it."""

import contextlib
import threading
from pathlib import Path

from core_fakes import FakeVendor, Harness, make_info
from test_core_engine import new_job, state_of

from vse_foley.core.jobs import JobState
from vse_foley.providers.base import AccountLimits
from vse_foley.providers.errors import DownloadError

ACCOUNT = "one-slot"
INFOS = {"acct.text": make_info("acct.text", input="text", max_seconds=20, concurrency=1, account=ACCOUNT)}


def harness(tmp_path: Path, vendor: FakeVendor) -> Harness:
    vendor.hooks["poll"] = keep_the_second_task_live(vendor)
    return Harness(tmp_path, vendor, INFOS, account_limits={ACCOUNT: AccountLimits("One slot", 1)})


def keep_the_second_task_live(vendor: FakeVendor):
    """The second job's first poll waits (at most a second) for a third submit: one that only a
    slot freed twice can make while the second's task is still live at the vendor."""
    def poll(context):
        if context["task"].task_id == "task-2" and not waited.is_set():
            waited.set()
            with contextlib.suppress(AssertionError):  # the normal case: no third submit comes
                vendor.changes.wait_for(lambda: vendor.submits >= 3, 1.0)

    waited = threading.Event()
    return poll


def test_a_failed_download_and_its_retry_never_free_the_slot_twice(tmp_path: Path):
    vendor = FakeVendor(polls_until_done=3)
    h = harness(tmp_path, vendor)
    failed_once = threading.Event()

    def fail_the_first_download_once_the_next_job_runs(context):
        if context["task_id"] == "task-1" and not failed_once.is_set():
            # the slot went back at downloading: the second job has it and its task is live
            vendor.changes.wait_for(lambda: vendor.submits >= 2, 5)
            failed_once.set()
            raise DownloadError("The download of the result broke off; Retry fetches it again at no charge.")

    vendor.hooks["download"] = fail_the_first_download_once_the_next_job_runs
    try:
        first, second, third = (h.engine.enqueue(new_job("acct.text")) for _ in range(3))
        h.wait_for(lambda: state_of(h, first.id) is JobState.FAILED)
        h.engine.retry(first.id)  # the same task, downloaded again, no new submit
        assert h.wait(timeout=10)
        assert [state_of(h, job.id) for job in (first, second, third)] == [JobState.INSERTED] * 3
        assert vendor.submits == 3
        assert vendor.peak_running == 1  # never two live tasks on a one-task account
        assert h.engine.peak_in_account(ACCOUNT) == 1
        assert h.engine._accounts.running(ACCOUNT) == 0  # every slot back, none owed
    finally:
        h.close()


def test_a_cancel_during_the_download_does_not_free_the_slot_again(tmp_path: Path):
    vendor = FakeVendor(polls_until_done=3)
    h = harness(tmp_path, vendor)
    downloading, cancelled = threading.Event(), threading.Event()

    def hold_the_first_download(context):
        if context["task_id"] == "task-1":
            vendor.changes.wait_for(lambda: vendor.submits >= 2, 5)
            downloading.set()
            assert cancelled.wait(5)

    vendor.hooks["download"] = hold_the_first_download
    try:
        first, second, third = (h.engine.enqueue(new_job("acct.text")) for _ in range(3))
        assert downloading.wait(5)
        h.engine.cancel(first.id)  # a paid result: still downloaded into the library, not inserted
        cancelled.set()
        assert h.wait(timeout=10)
        assert [state_of(h, job.id) for job in (second, third)] == [JobState.INSERTED] * 2
        assert vendor.peak_running == 1
        assert h.engine.peak_in_account(ACCOUNT) == 1
        assert h.engine._accounts.running(ACCOUNT) == 0
    finally:
        h.close()
