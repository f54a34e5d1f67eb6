"""Issue 11, items 1–3: one ledger for many processes, a disk that refuses, records that cannot be read."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from core_fakes import FakeClock, FakeProvider, FakeRenderer, FakeVendor, Harness, make_info

from vse_foley.core.engine import JobEngine, JobReady, PollSchedule
from vse_foley.core.file_lock import FileLock
from vse_foley.core.jobs import Job, JobState
from vse_foley.core.ledger import JobLedger
from vse_foley.core.ownership import JobOwnership
from vse_foley.core.timeline import FrameRange
from vse_foley.providers.base import GenerationRequest

S = JobState
TEXT = make_info("fake.text", input="text", max_seconds=30)
INFOS = {TEXT.id: TEXT}


def new_job(prompt: str = "rain", created: float = 1.0) -> Job:
    request = GenerationRequest("fake.text", 4.0, prompt=prompt)
    return Job.create(request, FrameRange(1, 100), Fraction(25), blend_path="/p/edit.blend",
                      scene_name="Scene", now=created)


# -- many processes, one file ---------------------------------------------------------------------

WRITER = r"""
import sys
from fractions import Fraction
from vse_foley.core.jobs import Job
from vse_foley.core.ledger import JobLedger
from vse_foley.core.timeline import FrameRange
from vse_foley.providers.base import GenerationRequest

path, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
ledger = JobLedger(path)
jobs = [Job.create(GenerationRequest("fake.text", 2.0, prompt=name + "x" * 2000), FrameRange(1, 50),
                   Fraction(25), label=f"{name}-{i}") for i in range(2)]
for n in range(1, count + 1):
    for job in jobs:
        job.progress = float(n)
        ledger.append(job)
    if n % 15 == 0:
        ledger.compact()  # compaction by one process while the others append
print(" ".join(job.id for job in jobs), flush=True)
"""


def test_several_processes_append_and_compact_without_a_broken_line_or_a_lost_record(tmp_path: Path):
    path = tmp_path / "jobs.jsonl"
    with JobLedger(path) as first:  # a record no writer process loaded before it started
        foreign = new_job("foreign")
        first.append(foreign)
    count = 100
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), f"w{i}", str(count)],
                         stdout=subprocess.PIPE, text=True)
        for i in range(4)
    ]
    ids = []
    for writer in writers:
        out, _ = writer.communicate(timeout=120)
        assert writer.returncode == 0
        ids += out.split()
    lines = path.read_bytes().splitlines()
    assert all(isinstance(json.loads(line), dict) for line in lines)  # no torn or glued line
    ledger = JobLedger(path)
    jobs = {job.id: job for job in ledger.jobs()}
    assert set(jobs) == {*ids, foreign.id}  # nothing dropped by another process's compaction
    assert all(jobs[job_id].progress == float(count) for job_id in ids)  # every last snapshot kept
    assert not ledger.rejected_path.exists()


def test_compact_keeps_records_appended_by_another_ledger_after_our_load(tmp_path: Path):
    path = tmp_path / "jobs.jsonl"
    window_a, window_b = JobLedger(path), JobLedger(path)
    ours, theirs = new_job("ours", 1.0), new_job("theirs", 2.0)
    window_a.append(ours)
    window_b.append(theirs)  # A never loaded it
    ours.state = S.FAILED
    window_a.append(ours)
    window_a.compact(keep_finished=5)
    assert {job.id for job in JobLedger(path).jobs()} == {ours.id, theirs.id}
    assert window_b.refresh() and window_b.get(ours.id) == ours  # B sees A's writes when it looks


def test_a_torn_line_of_a_killed_writer_never_glues_to_the_next_record(tmp_path: Path):
    path = tmp_path / "jobs.jsonl"
    a, b = new_job("a"), new_job("b")
    with JobLedger(path) as ledger:
        ledger.append(a)
        with open(path, "ab") as handle:  # another process died in the middle of its write
            handle.write(b'{"id":"dead","provider_id":"fake.te')
        ledger.append(b)
    reloaded = JobLedger(path)
    assert {job.id for job in reloaded.jobs()} == {a.id, b.id}
    assert reloaded.rejected_path.exists()  # the fragment is set aside, not silently lost


# -- which process owns a job ---------------------------------------------------------------------

HOLDER = r"""
import sys
from vse_foley.core.ownership import JobOwnership
owners = JobOwnership(sys.argv[1])
assert owners.claim("job1")
print("held", flush=True)
sys.stdin.readline()
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_job_of_a_live_process_is_not_taken_and_exactly_one_survivor_takes_it_after_its_death(
    tmp_path: Path,
):
    folder = tmp_path / "owners"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    survivors = [JobOwnership(folder) for _ in range(3)]
    assert [s.claim("job1") for s in survivors] == [False, False, False]
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert [s.claim("job1") for s in survivors] == [True, False, False]
    survivors[0].release("job1")
    assert not (folder / "job1.lock").exists()
    assert survivors[1].claim("job1")  # a released job can be owned again


def test_file_lock_excludes_a_second_holder_until_released(tmp_path: Path):
    first, second = FileLock(tmp_path / "x.lock"), FileLock(tmp_path / "x.lock")
    assert first.acquire(blocking=False) and not second.acquire(blocking=False)
    first.release(delete=True)
    assert second.acquire(blocking=False)
    second.release()


def test_a_second_engine_on_the_ledger_leaves_live_jobs_alone_and_takes_them_over_after_shutdown(
    tmp_path: Path,
):
    vendor = FakeVendor(polls_until_done=10_000)
    ledger_path = tmp_path / "jobs.jsonl"
    window_a = Harness(tmp_path / "a", vendor, INFOS, ledger_path=ledger_path)
    window_b = Harness(tmp_path / "b", vendor, INFOS, ledger_path=ledger_path)
    try:
        job = window_a.engine.enqueue(new_job())
        assert window_a.engine.owns(job.id)
        # wait until A has the vendor task on disk
        window_a.wait_for(lambda: (window_a.engine.get(job.id) or job).task is not None)
        assert window_b.engine.resume_from_ledger() == []  # A lives: B does not touch it
        assert window_b.engine.get(job.id) is None and not window_b.engine.owns(job.id)
        with pytest.raises(ValueError, match="Another Blender window"):
            window_b.engine.retry(job.id)
        assert "Another Blender window" in window_b.engine.cancel(job.id)
        assert window_a.engine.get(job.id).state != S.CANCELLED  # type: ignore[union-attr]
        window_a.engine.shutdown()  # A goes away (its locks die with it)
        vendor.finish_all()
        taken = window_b.engine.take_over_orphans()
        assert [j.id for j in taken] == [job.id] and window_b.engine.owns(job.id)
        assert window_b.wait()
        assert window_b.inserted == [job.id]
        assert vendor.submits == 1 and vendor.downloads == 1
        assert window_b.engine.take_over_orphans() == []
    finally:
        window_a.close()
        window_b.close()


# -- a bad record is skipped -----------------------------------------------------------------------


def test_records_with_wrong_types_are_set_aside_and_every_other_job_still_resumes(tmp_path: Path):
    path = tmp_path / "jobs.jsonl"
    good = [new_job("one", 1.0), new_job("two", 2.0)]
    with JobLedger(path) as ledger:
        for job in good:
            ledger.append(job)
    bad_types = {**good[0].to_dict(), "id": "badtypes", "created_at": "yesterday", "frame_start": "1"}
    bad_files = {**good[0].to_dict(), "id": "badfiles", "files": {"audio": 3}}
    glued = json.dumps(good[1].to_dict())[:40] + json.dumps({**good[0].to_dict(), "id": "afterglue"})
    with open(path, "ab") as handle:
        handle.write((json.dumps(bad_types) + "\n" + json.dumps(bad_files) + "\n" + glued + "\n").encode())
    vendor = FakeVendor(polls_until_done=0)
    h = Harness(tmp_path / "h", vendor, INFOS, ledger_path=path)
    try:
        resumed = h.engine.resume_from_ledger()
        assert {j.id for j in resumed} == {good[0].id, good[1].id, "afterglue"}
        assert h.wait()
        assert sorted(h.inserted) == sorted(j.id for j in resumed)
    finally:
        h.close()
    rejected = [json.loads(line) for line in h.ledger.rejected_path.read_bytes().splitlines()]
    assert len(rejected) == 3
    assert any("'created_at'" in r["reason"] or "'frame_start'" in r["reason"] for r in rejected)
    assert any("'files'" in r["reason"] for r in rejected)
    JobLedger(path)  # loading again does not copy them twice
    assert len(h.ledger.rejected_path.read_bytes().splitlines()) == 3


def test_from_dict_names_the_wrong_field():
    record = new_job().to_dict()
    with pytest.raises(ValueError, match="'warnings'"):
        Job.from_dict({**record, "warnings": "oops"})
    with pytest.raises(ValueError, match="'vendor_task'"):
        Job.from_dict({**record, "vendor_task": {"task_id": ["x"]}})
    assert Job.from_dict(record) == Job.from_dict(json.loads(json.dumps(record)))


# -- a disk that refuses ---------------------------------------------------------------------------


class SwitchableDisk:
    """An ``os.open`` that fails like a full disk while ``full`` is set."""

    def __init__(self) -> None:
        self.full = False
        self.refused = 0

    def __call__(self, path: str, flags: int, mode: int = 0o777) -> int:
        if self.full and flags & (os.O_WRONLY | os.O_RDWR):
            self.refused += 1
            raise OSError(errno.ENOSPC, "No space left on device", path)
        return os.open(path, flags, mode)


class DiskHarness:
    """An engine on a ledger whose writes fail on demand, with a recording pump."""

    def __init__(self, tmp: Path, vendor: FakeVendor, out: Path | None = None) -> None:
        self.disk = SwitchableDisk()
        self.ledger = JobLedger(tmp / "jobs.jsonl", opener=self.disk)
        self.clock = FakeClock()
        self.inserted: list[str] = []
        self.library = tmp / "library"
        self.engine = JobEngine(
            self.ledger, lambda pid: FakeProvider(vendor, INFOS[pid]), FakeRenderer(tmp / "clips"),
            lambda job: out or self.library, poll_schedule=PollSchedule(), clock=self.clock.time,
            monotonic=self.clock.time, sleep=self.clock.sleep, library_dir=lambda: self.library,
        )

    def pump(self) -> None:
        for event in self.engine.drain(0.05):
            if isinstance(event, JobReady):
                self.inserted.append(event.job.id)
                self.engine.mark_inserted(event.job.id, "strip")

    def wait(self) -> bool:
        return self.engine.wait(timeout=5, pump=self.pump, interval=0.002)


def test_a_full_disk_after_the_paid_submit_keeps_the_task_id_and_the_job_keeps_polling(tmp_path: Path):
    vendor = FakeVendor(polls_until_done=3)
    h = DiskHarness(tmp_path, vendor)
    seen: list[list[str]] = []
    vendor.hooks["submit"] = lambda _c: setattr(h.disk, "full", True)
    vendor.hooks["poll"] = lambda c: seen.append(list(h.engine.get(job.id).warnings))  # type: ignore[union-attr]
    vendor.hooks["download"] = lambda _c: setattr(h.disk, "full", False)  # space was freed
    try:
        job = h.engine.enqueue(new_job())
        assert h.wait()
        done = h.engine.get(job.id)
        assert done is not None and done.state == S.INSERTED and h.inserted == [job.id]
        assert vendor.submits == 1 and vendor.downloads == 1 and h.disk.refused >= 1
        assert any("Could not record the task: disk full — free space, then Retry" in w
                   for warnings in seen for w in warnings)
        assert not any(w.startswith("Could not record") for w in done.warnings)  # written since
        on_disk = JobLedger(h.ledger.path).get(job.id)
        assert on_disk is not None and on_disk.task is not None and on_disk.state == S.INSERTED
    finally:
        h.engine.shutdown()


def test_a_ledger_that_cannot_record_the_intent_sends_nothing(tmp_path: Path):
    vendor = FakeVendor()
    h = DiskHarness(tmp_path, vendor)
    h.disk.full = True
    try:
        assert "disk full" in h.ledger.check_writable()
        job = h.engine.enqueue(new_job())
        assert h.wait()
        failed = h.engine.get(job.id)
        assert failed is not None and failed.state == S.FAILED
        assert "Nothing was sent or charged" in failed.error and vendor.submits == 0
    finally:
        h.engine.shutdown()


def test_a_ledger_path_that_is_a_folder_is_a_sentence(tmp_path: Path):
    (tmp_path / "jobs.jsonl").mkdir()
    ledger = JobLedger(tmp_path / "jobs.jsonl")
    assert "is a folder" in ledger.check_writable()


def test_an_audio_folder_that_cannot_be_written_falls_back_to_the_library(tmp_path: Path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the audio folder should be")
    vendor = FakeVendor(polls_until_done=0)
    h = DiskHarness(tmp_path, vendor, out=blocked)
    try:
        job = h.engine.enqueue(new_job())
        assert h.wait()
        done = h.engine.get(job.id)
        assert done is not None and done.state == S.INSERTED
        assert Path(done.audio_path).parent == h.library
        assert any("saved in the library folder" in w for w in done.warnings)
    finally:
        h.engine.shutdown()


def test_a_disk_full_during_the_download_tries_the_library_then_says_so(tmp_path: Path):
    vendor = FakeVendor(polls_until_done=0)
    out = tmp_path / "out"
    h = DiskHarness(tmp_path, vendor, out=out)

    def full(context):
        raise OSError(errno.ENOSPC, "No space left on device", str(context["dest_stem"]))

    vendor.hooks["download"] = full
    try:
        job = h.engine.enqueue(new_job())
        assert h.wait()
        failed = h.engine.get(job.id)
        assert failed is not None and failed.state == S.FAILED
        assert "disk full" in failed.error and "Retry checks it again without a new charge" in failed.error
        assert "Please report" not in failed.error
    finally:
        h.engine.shutdown()


def test_a_ready_job_of_a_live_window_cannot_be_adopted_by_another_until_it_dies(tmp_path: Path):
    """Insert by hand in a second window must not take a ready sound its owner will insert."""
    vendor = FakeVendor(polls_until_done=1)
    ledger_path = tmp_path / "jobs.jsonl"
    window_a = Harness(tmp_path / "a", vendor, INFOS, ledger_path=ledger_path)
    window_b = Harness(tmp_path / "b", vendor, INFOS, ledger_path=ledger_path)
    try:
        job = window_a.engine.enqueue(new_job())
        assert window_a.engine.wait([job.id], timeout=30)  # no pump: it stays ready, not inserted
        assert window_a.engine.get(job.id).state == S.READY  # type: ignore[union-attr]
        with pytest.raises(ValueError, match="Another Blender window"):
            window_b.engine.adopt(job.id)
        assert not window_b.engine.owns(job.id)
        window_a.engine.shutdown()
        adopted = window_b.engine.adopt(job.id)
        assert adopted.state == S.READY and window_b.engine.owns(job.id)
        window_b.engine.mark_inserted(job.id, "strip")
        assert window_b.engine.get(job.id).state == S.INSERTED  # type: ignore[union-attr]
    finally:
        window_a.close()
        window_b.close()


def test_a_lock_that_cannot_be_made_never_takes_another_windows_job(tmp_path: Path):
    """Without working locks (e.g. a folder where locking fails) a window runs only the jobs it
    made itself; it must not 'take over' every job of the others every few seconds."""
    blocked = tmp_path / "owners"
    blocked.write_text("a file where the lock folder should be")  # every lock attempt fails
    ownership = JobOwnership(blocked)
    assert not ownership.claim("theirs0000001")
    assert not ownership.owns("theirs0000001")
    assert ownership.claim("ours00000001", new=True)  # a job this process just made still runs
    assert ownership.owns("ours00000001")


def test_a_ready_parent_known_only_for_its_chunks_is_inserted_by_the_window_that_claims_it(tmp_path: Path):
    """claim() is what the pump asks before inserting: a job known here but owned by nobody is
    taken (so exactly one window inserts it); one a live window owns is refused."""
    ledger_path = tmp_path / "jobs.jsonl"
    vendor = FakeVendor(polls_until_done=1)
    window_a = Harness(tmp_path / "a", vendor, INFOS, ledger_path=ledger_path)
    window_b = Harness(tmp_path / "b", vendor, INFOS, ledger_path=ledger_path)
    try:
        job = window_a.engine.enqueue(new_job())
        assert window_a.engine.wait([job.id], timeout=30)  # ready, not inserted (no pump)
        assert not window_b.engine.claim(job.id)  # A lives and owns it
        window_a.engine.shutdown()
        assert window_b.engine.claim(job.id) and window_b.engine.owns(job.id)
        assert window_b.engine.claim(job.id)  # asking again is harmless
    finally:
        window_a.close()
        window_b.close()


# -- issue 13 item 5: the ledger stays small -------------------------------------------------------

AUTO_WRITER = r"""
import sys
from fractions import Fraction
from vse_foley.core.jobs import Job
from vse_foley.core.ledger import JobLedger
from vse_foley.core.timeline import FrameRange
from vse_foley.providers.base import GenerationRequest

path, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
ledger = JobLedger(path, run_later=lambda work: work(), compact_after=10)  # compacts itself, often
jobs = [Job.create(GenerationRequest("fake.text", 2.0, prompt=name), FrameRange(1, 50),
                   Fraction(25), label=f"{name}-{i}") for i in range(3)]
for n in range(1, count + 1):
    for job in jobs:
        job.progress = float(n)
        ledger.append(job)
print(" ".join(job.id for job in jobs), flush=True)
"""


def paid_jobs() -> list[Job]:
    """A settled job for each way a paid result is kept, and one still polling its task."""
    inserted, kept, failed, polling = (new_job(p, created=float(i)) for i, p in enumerate("abcd", 1))
    states = ((inserted, S.INSERTED), (kept, S.CANCELLED), (failed, S.FAILED), (polling, S.GENERATING))
    for job, state in states:
        job.state = state
        job.vendor_task = {"task_id": f"task-{job.prompt}", "data": {}}
        job.submit_attempted = True
    inserted.files = {"audio": "/lib/a.wav"}
    kept.files, kept.keep_result = {"audio": "/lib/b.wav"}, True
    return [inserted, kept, failed, polling]


def test_the_ledger_folds_superseded_lines_once_they_outnumber_its_records(tmp_path: Path):
    asked: list = []
    ledger = JobLedger(tmp_path / "jobs.jsonl", run_later=asked.append, compact_after=30)
    jobs = paid_jobs()
    for n in range(10):  # ten snapshots of each job: 40 lines for 4 records
        for job in jobs:
            job.progress = float(n)
            ledger.append(job)
    assert len(asked) == 1  # asked once (superseded >= 30), not at every later append
    assert (tmp_path / "jobs.jsonl").read_bytes().count(b"\n") == 40  # the appending thread never rewrote it
    asked[0]()  # what the compaction thread runs
    assert (tmp_path / "jobs.jsonl").read_bytes().count(b"\n") == 4
    assert not ledger.compaction_due()


def test_compaction_never_drops_a_paid_result(tmp_path: Path):
    ledger = JobLedger(tmp_path / "jobs.jsonl", run_later=lambda work: work(), compact_after=5)
    jobs = paid_jobs()
    for n in range(20):
        for job in jobs:
            job.progress = float(n)
            ledger.append(job)
    assert (tmp_path / "jobs.jsonl").read_bytes().count(b"\n") < 20  # it did compact, repeatedly
    fresh = {job.id: job for job in JobLedger(tmp_path / "jobs.jsonl").jobs()}
    assert set(fresh) == {job.id for job in jobs}
    for job in jobs:
        assert fresh[job.id].vendor_task == job.vendor_task and fresh[job.id].state == job.state
        assert fresh[job.id].audio_path == job.audio_path and fresh[job.id].progress == 19.0
    assert fresh[jobs[1].id].keep_result  # a cancelled job still owed its paid result keeps that


def test_self_compacting_processes_keep_every_last_record_of_each_other(tmp_path: Path):
    path = tmp_path / "jobs.jsonl"
    ours = JobLedger(path, run_later=lambda work: work(), compact_after=10)
    mine = paid_jobs()
    count = 60
    writers = [subprocess.Popen([sys.executable, "-c", AUTO_WRITER, str(path), f"w{i}", str(count)],
                                stdout=subprocess.PIPE, text=True) for i in range(3)]
    for n in range(count):  # this window appends (and compacts) while the others do the same
        for job in mine:
            job.progress = float(n)
            ours.append(job)
    ids = []
    for writer in writers:
        out, _ = writer.communicate(timeout=120)
        assert writer.returncode == 0
        ids += out.split()
    assert all(isinstance(json.loads(line), dict) for line in path.read_bytes().splitlines())
    for reader in (JobLedger(path), ours):  # a fresh reader, and ours after reading on
        reader.refresh()
        jobs = {job.id: job for job in reader.jobs()}
        assert set(jobs) == {*ids, *(job.id for job in mine)}
        assert all(jobs[job_id].progress == float(count) for job_id in ids)
        assert all(jobs[job.id].progress == float(count - 1) for job in mine)
    assert not ours.rejected_path.exists()


def test_refresh_reads_only_the_new_lines_until_another_process_compacts(tmp_path: Path):
    path = tmp_path / "jobs.jsonl"
    writer = JobLedger(path)
    first, second = new_job("one"), new_job("two")
    writer.append(first)
    reader = JobLedger(path)
    assert reader.reads == {"whole": 1, "new_lines": 0}
    writer.append(second)
    first.progress = 0.5
    writer.append(first)
    assert reader.refresh() and reader.reads == {"whole": 1, "new_lines": 1}
    assert reader.get(first.id).progress == 0.5 and reader.get(second.id) is not None
    writer.compact()  # a new file under the same name: read whole again
    second.progress = 0.25
    writer.append(second)
    assert reader.refresh() and reader.reads["whole"] == 2
    assert reader.get(second.id).progress == 0.25 and reader.get(first.id).progress == 0.5
