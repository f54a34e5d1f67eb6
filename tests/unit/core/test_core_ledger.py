import json
import os
import signal
import subprocess
import sys
import threading
from fractions import Fraction
from pathlib import Path

import pytest

from vse_foley.core.jobs import Job, JobState
from vse_foley.core.ledger import JobLedger
from vse_foley.core.timeline import FrameRange
from vse_foley.providers.base import GenerationRequest


def make_job(prompt: str = "rain", created: float = 1.0) -> Job:
    return Job.create(
        GenerationRequest("fake.text", 2.0, prompt=prompt), FrameRange(1, 50), Fraction(25), now=created
    )


def test_append_and_reload_last_snapshot_wins(tmp_path: Path):
    path = tmp_path / "sub" / "ledger.jsonl"
    job = make_job()
    with JobLedger(path) as ledger:
        ledger.append(job)
        job.state = JobState.SUBMITTED
        job.vendor_task = {"task_id": "t1", "data": {}}
        ledger.append(job)
        assert ledger.get(job.id) == job
    reloaded = JobLedger(path)
    assert reloaded.get(job.id) == job
    assert len(path.read_bytes().splitlines()) == 2


def test_a_passing_state_is_written_without_waiting_for_the_disk(tmp_path: Path, monkeypatch):
    path = tmp_path / "ledger.jsonl"
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr("vse_foley.core.ledger.os.fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    job = make_job()
    with JobLedger(path) as ledger:
        ledger.append(job)
        after_first = len(synced)
        job.state = JobState.GENERATING
        ledger.append(job, durable=False)
        assert len(synced) == after_first  # no fsync for it
        assert JobLedger(path).get(job.id) == job  # but written: another reader sees it at once
        job.state = JobState.READY
        ledger.append(job)
        assert len(synced) == after_first + 1  # the next durable line's fsync takes both to disk
    assert JobLedger(path).get(job.id) == job


def test_a_refused_durable_write_is_durable_when_the_disk_takes_it_again(tmp_path: Path, monkeypatch):
    """A task id the full disk refused is kept in memory; the next write of that job (even a
    passing state's, which alone would skip the fsync) carries it, so it is fsynced then."""
    path = tmp_path / "ledger.jsonl"
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr("vse_foley.core.ledger.os.fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    disk_full = threading.Event()

    def opener(name: str, flags: int, mode: int = 0o644) -> int:
        if disk_full.is_set():
            raise OSError(28, "No space left on device")
        return os.open(name, flags, mode)

    job = make_job()
    with JobLedger(path, opener=opener) as ledger:
        ledger.append(job)
        job.state, job.vendor_task = JobState.SUBMITTED, {"task_id": "paid-1", "data": {}}
        disk_full.set()
        with pytest.raises(OSError):
            ledger.append(job)  # the task id: refused
        disk_full.clear()
        before = len(synced)
        job.state = JobState.GENERATING
        ledger.append(job, durable=False)  # the next poll's passing state
        assert len(synced) == before + 1  # fsynced: it is the first record of the task id on disk
        job.state = JobState.DOWNLOADING
        ledger.append(job, durable=False)
        assert len(synced) == before + 1  # written once: passing states skip the fsync again
    assert JobLedger(path).get(job.id).vendor_task == {"task_id": "paid-1", "data": {}}


def test_a_torn_last_line_at_every_offset_loses_only_that_write(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(os, "fsync", lambda fd: None)  # parsing is under test here, not the disk
    a, b = make_job("a", 1.0), make_job("b", 2.0)
    path = tmp_path / "ledger.jsonl"
    with JobLedger(path) as ledger:
        ledger.append(a)
        ledger.append(b)
        a_first = ledger.get(a.id)
        a.state = JobState.SUBMITTED
        a.submit_attempted = True
        ledger.append(a)  # the write "in flight"
    full = path.read_bytes()
    last_start = full.rstrip(b"\n").rfind(b"\n") + 1
    for cut in range(last_start, len(full) + 1):
        path.write_bytes(full[:cut])
        ledger = JobLedger(path)
        assert ledger.get(b.id) == b
        expected = a if cut == len(full) else a_first
        assert ledger.get(a.id) == expected, cut
        if cut in (last_start, last_start + 1, len(full) - 1) or cut % 37 == 0:
            # the torn tail is cut off, so the next append starts on a clean line
            ledger.append(b)
            again = JobLedger(path)
            assert again.get(a.id) == expected and again.get(b.id) == b
            again.close()
        ledger.close()


def test_corrupt_lines_are_skipped(tmp_path: Path):
    path = tmp_path / "ledger.jsonl"
    job = make_job()
    with JobLedger(path) as ledger:
        ledger.append(job)
    with open(path, "ab") as handle:
        handle.write(
            b"{not json}\n[1, 2]\n\n" + json.dumps({"id": "x", "provider_id": "p", "state": "??"}).encode()
        )
        handle.write(b"\n")
    ledger = JobLedger(path)
    assert [j.id for j in ledger.jobs()] == [job.id]  # the record from the future is kept but not shown
    ledger.compact()
    assert b'"state":"??"' in path.read_bytes()  # compaction does not lose it
    ledger.close()


def test_compact_rewrites_one_line_per_job(tmp_path: Path):
    path = tmp_path / "ledger.jsonl"
    ledger = JobLedger(path)
    jobs = [make_job(str(i), float(i)) for i in range(5)]
    for job in jobs:
        for state in (JobState.SUBMITTED, JobState.GENERATING):
            job.state = state
            ledger.append(job)
    jobs[0].state = JobState.FAILED
    jobs[1].state = JobState.INSERTED
    ledger.append(jobs[0])
    ledger.append(jobs[1])
    ledger.compact()
    assert len(path.read_bytes().splitlines()) == 5
    assert not path.with_name(path.name + ".tmp").exists()
    ledger.append(jobs[2])  # appending after compaction goes to the new file
    assert {j.id: j for j in JobLedger(path).jobs()} == {j.id: j for j in jobs}
    ledger.compact(keep_finished=1)
    assert {j.id for j in JobLedger(path).jobs()} == {j.id for j in jobs[1:]}  # oldest finished dropped
    ledger.close()


def test_unfinished_and_history(tmp_path: Path):
    ledger = JobLedger(tmp_path / "l.jsonl")
    states = [JobState.GENERATING, JobState.READY, JobState.INSERTED, JobState.FAILED, JobState.CANCELLED]
    jobs = []
    for index, state in enumerate(states):
        job = make_job(str(index), float(index))
        job.state = state
        jobs.append(job)
        ledger.append(job)
    kept = make_job("kept", 10.0)
    kept.state, kept.keep_result, kept.vendor_task = JobState.CANCELLED, True, {"task_id": "t"}
    ledger.append(kept)
    assert [j.id for j in ledger.unfinished()] == [jobs[0].id, jobs[1].id, kept.id]
    assert [j.id for j in ledger.history()] == [jobs[4].id, jobs[3].id, jobs[2].id]
    ledger.close()


def test_appends_from_many_threads_stay_whole(tmp_path: Path):
    path = tmp_path / "l.jsonl"
    ledger = JobLedger(path)
    jobs = [make_job(str(i)) for i in range(8)]

    def writer(job: Job) -> None:
        for n in range(40):
            job.progress = n / 40
            ledger.append(job)

    threads = [threading.Thread(target=writer, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = path.read_bytes().splitlines()
    assert len(lines) == 8 * 40
    assert all(json.loads(line)["id"] for line in lines)
    assert len(JobLedger(path).jobs()) == 8
    ledger.close()


CHILD = r"""
import sys
from fractions import Fraction
from vse_foley.core.jobs import Job, JobState
from vse_foley.core.ledger import JobLedger
from vse_foley.core.timeline import FrameRange
from vse_foley.providers.base import GenerationRequest

ledger = JobLedger(sys.argv[1])
job = Job.create(GenerationRequest("fake.text", 2.0, prompt="x" * 3000), FrameRange(1, 50), Fraction(25))
n = 0
while True:
    n += 1
    job.progress = n
    job.warnings = ["w" * (n % 500)]
    ledger.append(job)
    print(job.id, n, flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_write_keeps_every_acknowledged_record(tmp_path: Path):
    for attempt in range(2):
        path = tmp_path / f"kill{attempt}.jsonl"
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None
        acknowledged = 0
        job_id = ""
        wanted = 30 + attempt * 40
        for line in child.stdout:  # bounded: blocks on the child's next record, ends at its exit
            job_id, count = line.split()
            acknowledged = int(count)
            if acknowledged >= wanted:
                break
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert acknowledged >= wanted, "the writing child ended before the kill"
        ledger = JobLedger(path)  # never raises on whatever the kill left behind
        job = ledger.get(job_id)
        assert job is not None
        assert job.progress is not None and job.progress >= acknowledged
        # the file is clean again: appending and reloading works
        ledger.append(job)
        assert JobLedger(path).get(job_id) == job
        ledger.close()


def test_unfinished_parses_only_records_that_may_be_unfinished(tmp_path: Path, monkeypatch):
    """The pump looks for ownerless jobs every few seconds: a long history must not be parsed
    each time (2,000 finished records took ~0.7 s on the main thread when it was)."""
    ledger = JobLedger(tmp_path / "jobs.jsonl")
    finished = []
    for index in range(50):
        job = make_job(f"done {index}", created=float(index))
        job.state = JobState.INSERTED if index % 2 else JobState.FAILED
        ledger.append(job)
        finished.append(job.id)
    running = make_job("still running", created=100.0)
    ledger.append(running)
    reread = JobLedger(tmp_path / "jobs.jsonl")  # reading the file checks every record once
    parsed: list[str] = []
    original = Job.from_dict

    def counting(record):
        parsed.append(record["id"])
        return original(record)

    monkeypatch.setattr(Job, "from_dict", staticmethod(counting))
    assert [job.id for job in reread.unfinished()] == [running.id]
    assert parsed == [running.id]  # the 50 finished records were not turned into jobs again
