"""Issue 13 item 5: history drawing reads a cached, parsed view, refreshed only when the job file changed."""

from fractions import Fraction
from pathlib import Path

from vse_foley.core.history import HistoryView, view_of
from vse_foley.core.jobs import Job, JobState
from vse_foley.core.ledger import JobLedger
from vse_foley.core.timeline import FrameRange
from vse_foley.providers.base import GenerationRequest


def finished_job(prompt: str, created: float, state: JobState = JobState.INSERTED) -> Job:
    job = Job.create(GenerationRequest("fake.text", 4.0, prompt=prompt), FrameRange(1, 100), Fraction(25),
                     blend_path="/p/edit.blend", scene_name="Scene", now=created)
    job.state = state
    job.files = {"audio": f"/lib/{prompt}.wav"}
    return job


class CountingParse:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, record: dict) -> Job:
        self.count += 1
        return Job.from_dict(dict(record))


def test_redraws_parse_nothing_until_the_file_changes(tmp_path: Path) -> None:
    ledger = JobLedger(tmp_path / "jobs.jsonl")
    for i in range(30):
        ledger.append(finished_job(f"p{i}", float(i)))
    parse = CountingParse()
    view = HistoryView(ledger, parse)
    first = view.recent(20)
    assert [job.prompt for job in first[:2]] == ["p29", "p28"] and len(first) == 20
    assert parse.count == 30
    for _ in range(100):  # a hundred redraws of an unchanged file
        assert [job.id for job in view.recent(20)] == [job.id for job in first]
    assert parse.count == 30


def test_a_change_parses_only_the_records_that_changed(tmp_path: Path) -> None:
    ledger = JobLedger(tmp_path / "jobs.jsonl")
    jobs = [finished_job(f"p{i}", float(i)) for i in range(10)]
    for job in jobs:
        ledger.append(job)
    parse = CountingParse()
    view = HistoryView(ledger, parse)
    view.recent()
    running = finished_job("new", 100.0, JobState.GENERATING)
    ledger.append(running)
    assert [job.prompt for job in view.recent()][:1] == ["p9"]  # an unfinished job is not history
    assert parse.count == 11
    running.state = JobState.INSERTED
    ledger.append(running)
    assert [job.prompt for job in view.recent()][:1] == ["new"]
    assert parse.count == 12


def test_another_windows_record_shows_after_its_write(tmp_path: Path) -> None:
    path = tmp_path / "jobs.jsonl"
    ours, theirs = JobLedger(path), JobLedger(path)
    ours.append(finished_job("ours", 1.0))
    parse = CountingParse()
    view = HistoryView(ours, parse)
    assert [job.prompt for job in view.recent()] == ["ours"]
    theirs.append(finished_job("theirs", 2.0))
    assert [job.prompt for job in view.recent()] == ["theirs", "ours"]
    assert parse.count == 2  # the other window's record only
    theirs.compact()  # a rewrite by the other window: the records are read again
    assert [job.prompt for job in view.recent()] == ["theirs", "ours"]


def test_one_view_per_ledger(tmp_path: Path) -> None:
    ledger = JobLedger(tmp_path / "jobs.jsonl")
    assert view_of(ledger) is view_of(ledger)
    other = JobLedger(tmp_path / "other.jsonl")
    assert view_of(other).ledger is other
