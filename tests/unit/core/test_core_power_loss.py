"""A power loss at any moment of a job never makes a second paid request.

Passing states (queued, rendering, uploading, generating, downloading) are written without an
fsync (core/ledger.py ``durable=False``), on the claim that losing them changes nothing a resume
does. This runs one video job to the end while noting, before every ledger write, how much of the
file an fsync had made durable and how many requests the vendor had received. Then, for every one
of those moments, it keeps only the durable part of the ledger (the worst a power loss leaves:
whatever was not fsynced is gone) and resumes a fresh engine on it against the same vendor:
once the vendor had the request, the resume must never send it again.
"""

from __future__ import annotations

import os
from pathlib import Path

from core_fakes import FakeVendor, Harness
from test_core_engine import INFOS, new_job, state_of

from vse_foley.core import ledger as ledger_module
from vse_foley.core.jobs import JobState


class DiskWatch:
    """Before each ledger write: the bytes an fsync had made durable, and the vendor's requests."""

    def __init__(self, vendor: FakeVendor) -> None:
        self.vendor = vendor
        self.durable_by_file: dict[int, int] = {}  # inode -> bytes of it an fsync made durable
        self.moments: list[tuple[int, int]] = []  # (durable bytes, requests the vendor had) per write

    def durable(self, path: Path) -> int:
        """Of the ledger file: os.fsync is the one os module's, so other files' fsyncs pass here too."""
        return self.durable_by_file.get(path.stat().st_ino, 0) if path.exists() else 0

    def install(self, monkeypatch) -> None:
        real_fsync, real_write_line = os.fsync, ledger_module.JobLedger._write_line
        watch = self

        def fsync(fd: int) -> None:
            real_fsync(fd)
            status = os.fstat(fd)
            watch.durable_by_file[status.st_ino] = status.st_size

        def write_line(ledger, payload: bytes, *, durable: bool = True) -> None:
            watch.moments.append((watch.durable(ledger.path), watch.vendor.submits))
            real_write_line(ledger, payload, durable=durable)

        monkeypatch.setattr(ledger_module.os, "fsync", fsync)
        monkeypatch.setattr(ledger_module.JobLedger, "_write_line", write_line)


def test_resuming_from_what_a_power_loss_leaves_never_sends_a_paid_request_twice(tmp_path: Path, monkeypatch):
    vendor = FakeVendor(polls_until_done=2)
    watch = DiskWatch(vendor)
    watch.install(monkeypatch)
    h = Harness(tmp_path / "before", vendor, INFOS)
    job = h.engine.enqueue(new_job("fake.video"))
    assert h.wait(timeout=10) and state_of(h, job.id) is JobState.INSERTED
    h.close()
    whole = h.ledger_path.read_bytes()
    moments = [*watch.moments, (watch.durable(h.ledger_path), vendor.submits)]  # and after the last write
    assert any(requests for _durable, requests in moments)  # the run did reach the vendor
    assert any(durable < len(whole) for durable, _requests in moments)  # and some writes were not fsynced

    checked_after_the_request = 0
    for index, (durable, requests_then) in enumerate(moments):
        left = tmp_path / f"after-{index}" / "ledger.jsonl"  # a folder each: the ledger's neighbours too
        left.parent.mkdir()
        left.write_bytes(whole[:durable])
        before = vendor.submits
        resumed = Harness(tmp_path / f"after-{index}", vendor, INFOS, ledger_path=left)
        try:
            resumed.engine.resume_from_ledger()
            assert resumed.wait(timeout=10)
            final = resumed.engine.get(job.id) or resumed.ledger.get(job.id)  # settled: in the history
        finally:
            resumed.close()
        sent_again = vendor.submits - before
        if requests_then:
            checked_after_the_request += 1
            assert sent_again == 0, f"moment {index}: the request the vendor had was sent again"
            # the task id was durable, or the job says it may have been charged; never silent
            assert final is not None and (final.state is JobState.INSERTED
                                          or "may have been charged" in final.error
                                          or "may have reached" in final.error)
        else:
            assert sent_again <= 1  # the vendor had nothing: sending it now is the first request
    assert checked_after_the_request >= 3  # moments from the intent's fsync to the end were all tried
