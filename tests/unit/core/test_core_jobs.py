import json
from fractions import Fraction
from itertools import pairwise

import pytest

from vse_foley.core.jobs import (
    TRANSITIONS,
    Job,
    JobState,
    TransitionError,
    can_transition,
)
from vse_foley.core.timeline import FrameRange
from vse_foley.providers.base import GenerationRequest, TimedEvent

S = JobState


def make_job(**fields) -> Job:
    request = GenerationRequest(
        "fake.video", 4.0, prompt="rain", events=(TimedEvent(0, 1, "drop"),), options={"asmr_mode": True}
    )
    return Job.create(
        request, FrameRange(1, 100), Fraction(25), blend_path="/tmp/a.blend", now=10.0, **fields
    )


def test_every_state_has_transitions():
    assert set(TRANSITIONS) == set(JobState)


def test_happy_paths_are_allowed():
    video = [
        S.QUEUED,
        S.RENDERING,
        S.UPLOADING,
        S.SUBMITTED,
        S.GENERATING,
        S.DOWNLOADING,
        S.READY,
        S.INSERTED,
    ]
    text = [S.QUEUED, S.SUBMITTED, S.GENERATING, S.DOWNLOADING, S.READY, S.INSERTED]
    for path in (video, text):
        for old, new in pairwise(path):
            assert can_transition(old, new), (old, new)


def test_cancel_and_fail_from_every_active_state():
    for state in (S.QUEUED, S.RENDERING, S.UPLOADING, S.SUBMITTED, S.GENERATING, S.DOWNLOADING):
        assert can_transition(state, S.CANCELLED)
        assert can_transition(state, S.FAILED)
    assert can_transition(S.READY, S.CANCELLED)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (S.INSERTED, S.QUEUED),
        (S.CANCELLED, S.QUEUED),
        (S.CANCELLED, S.READY),
        (S.READY, S.FAILED),
        (S.QUEUED, S.READY),
        # (SUBMITTED → QUEUED is allowed since issue 9: a busy refusal proves no task exists;
        # the engine tests prove an uncertain submit is still never re-queued)
        (S.GENERATING, S.SUBMITTED),
        (S.FAILED, S.READY),
    ],
)
def test_forbidden_transitions(old, new):
    assert not can_transition(old, new)
    job = make_job()
    job.state = old
    with pytest.raises(TransitionError):
        job.with_state(new, 11.0)


def test_with_state_records_timings_and_copies():
    job = make_job()
    moved = job.with_state(S.SUBMITTED, 12.5).with_state(S.GENERATING, 14.0).with_state(S.DOWNLOADING, 20.0)
    assert job.state == S.QUEUED  # the original is untouched
    assert moved.timings == {"queued": 10.0, "submitted": 12.5, "generating": 14.0, "downloading": 20.0}
    assert moved.phase_durations() == {"queued": 2.5, "submitted": 1.5, "generating": 6.0}


def test_create_fills_the_record():
    job = make_job(group_id="g1", take_index=2, take_label="Take 3")
    assert len(job.id) == 12 and int(job.id, 16) >= 0
    assert (job.fps_num, job.fps_den, job.fps) == (25, 1, Fraction(25))
    assert job.frame_range == FrameRange(1, 100) and job.seconds == 4
    assert job.prompt == "rain" and job.group_id == "g1" and job.take_index == 2
    assert job.generation_request.options == {"asmr_mode": True}
    assert job.task is None
    job.vendor_task = {"task_id": "t1", "data": {"a": 1}}
    assert job.task is not None and job.task.task_id == "t1" and job.task.data == {"a": 1}


def test_json_round_trip():
    job = make_job()
    job.state = S.GENERATING
    job.vendor_task = {"task_id": "t", "data": {"x": [1, 2]}}
    job.files = {"clip": "/c.mp4"}
    job.warnings = ["short"]
    job.chunk_ids = ["a", "b"]
    job.progress = 0.5
    data = json.loads(json.dumps(job.to_dict()))
    assert data["state"] == "generating" and data["v"] == 1
    assert Job.from_dict(data) == job


def test_unknown_keys_survive_a_round_trip_and_missing_ones_default():
    data = make_job().to_dict()
    data["from_the_future"] = {"nested": True}
    job = Job.from_dict(data)
    assert job.extra == {"from_the_future": {"nested": True}}
    assert job.to_dict()["from_the_future"] == {"nested": True}
    minimal = Job.from_dict({"id": "abc", "provider_id": "p"})
    assert minimal.state == S.QUEUED and minimal.request == {} and minimal.warnings == []


def test_bad_records_raise_value_error():
    with pytest.raises(ValueError):
        Job.from_dict({"id": "a", "provider_id": "p", "state": "teleporting"})
    with pytest.raises(ValueError):
        Job.from_dict({"provider_id": "p"})


def test_settled_and_unfinished():
    job = make_job()
    assert not job.settled and job.unfinished
    job.state = S.READY
    assert job.settled and job.unfinished  # still to be inserted
    job.state = S.CANCELLED
    job.keep_result = True
    assert job.awaiting_paid_result and not job.settled and job.unfinished
    job.files["audio"] = "/a.wav"
    assert job.settled and not job.unfinished


@pytest.mark.parametrize(
    ("fields", "pays_again"),
    [
        ({"submit_attempted": True}, True),  # answer lost, no way to look it up
        ({"submit_attempted": True, "submit_key": "vsefoley-1"}, False),  # Kling looks it up instead
        ({"submit_attempted": True, "vendor_task": {"task_id": "t", "data": {}}}, False),  # polled again
        ({"submit_attempted": False}, False),  # refused before anything was made
    ],
)
def test_retry_sends_again_only_for_a_lost_submit_that_cannot_be_looked_up(fields, pays_again):
    job = make_job()
    for name, value in fields.items():
        setattr(job, name, value)
    job.state = S.FAILED
    assert job.retry_sends_again is pays_again
    job.state = S.CANCELLED
    assert not job.retry_sends_again  # only a failed job is retried


def test_the_three_where_predicates_nest():
    # in_progress ⊂ not settled ⊂ unfinished, for every state and kept-result case (issue 12 item 7)
    from dataclasses import replace as _replace

    request = GenerationRequest("fake.text", 4.0)
    base = Job.create(request, FrameRange(1, 100), Fraction(25), blend_path="/p/e.blend")
    seen = set()
    for state in JobState:
        for keep in (False, True):
            for audio in ({}, {"audio": "/a.wav"}):
                job = _replace(base, state=state, keep_result=keep, files=audio)
                assert not job.in_progress or not job.settled
                assert job.settled or job.unfinished
                seen.add((job.in_progress, job.settled, job.unfinished))
    assert (False, False, True) in seen  # cancelled after submit, its paid result still to fetch
    assert (False, True, True) in seen  # ready, waiting to be inserted
    assert (True, False, True) in seen and (False, True, False) in seen
