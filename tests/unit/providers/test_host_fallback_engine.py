"""Issue 14 item 6: "any host" through the real JobEngine and providers, against the emulator.

One emulator plays WaveSpeed and fal.ai. A job of MMAudio v2 chosen on WaveSpeed, with fal as
its second host, moves to fal only when WaveSpeed PROVES it made nothing (its own 503 answer,
code 5003, after the client's re-sends) or the request never left (connection refused); an
uncertain answer (500/502/504, a dropped connection) stays *may have been charged* and never
reaches a second host. Each test counts the tasks each account made.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from providers_testkit import FAST, EngineRun, submits_sent

from vse_foley.core.host_fallback import host_sentence
from vse_foley.core.jobs import Job, JobState

S = JobState
#: every attempt of one submit (the first and the client's re-sends of a refusal)
ATTEMPTS = FAST.submit_retries + 1


def _dead_port() -> int:
    """A loopback port nothing listens on: a connection there is refused (never sent)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ledger_lines(path: Path, job_id: str) -> list[dict[str, object]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [row for row in rows if row.get("id") == job_id]


def _until_accepted(run: EngineRun, job: Job) -> Job:
    return run.until(job, lambda seen: bool(seen.vendor_task))  # a host accepted the task


# -- a proven refusal moves the job ---------------------------------------------------------------


def test_wavespeed_unavailable_then_fal_makes_it_and_the_job_names_the_host(emu, run):
    emu.inject("wavespeed", "unavailable", count=ATTEMPTS)  # 503 + code 5003 on every re-send
    job = run.job("wavespeed.mmaudio-v2", any_host=True)
    assert job.hosts == ["wavespeed.mmaudio-v2", "fal.mmaudio-v2"]
    final = run.finish(job)
    assert final.state is S.READY and Path(final.audio_path).is_file(), final.error
    assert emu.tasks_created("wavespeed") == 0 and submits_sent(emu, "wavespeed") == ATTEMPTS
    assert emu.tasks_created("fal") == 1 and submits_sent(emu, "fal") == 1
    assert final.provider_id == "fal.mmaudio-v2" and final.request["provider_id"] == "fal.mmaudio-v2"
    sentence = host_sentence(final)
    assert sentence.startswith("Made by fal.ai; WaveSpeed was unavailable"), sentence
    assert "nothing was charged there" in sentence
    # the ledger recorded the move (queued on fal, nothing sent) before fal's submit was recorded
    rows = ledger_lines(run.ledger_path, job.id)
    on_fal = [row for row in rows if row["provider_id"] == "fal.mmaudio-v2"]
    assert on_fal[0]["state"] == "queued" and on_fal[0]["submit_attempted"] is False
    assert any(row["state"] == "submitted" for row in on_fal[1:])


def test_fal_storage_gets_the_clip_again_for_the_second_host(emu, run):
    emu.inject("wavespeed", "unavailable", count=ATTEMPTS)
    final = run.finish(run.job("wavespeed.mmaudio-v2", any_host=True))
    assert final.state is S.READY, final.error
    uploads = {r.vendor for r in emu.requests if r.kind == "upload"}
    assert uploads == {"wavespeed", "fal"}  # each host's own upload; fal's model reads fal's copy
    sent = next(r.json for r in emu.requests if r.vendor == "fal" and r.kind == "submit")
    assert "/wavespeed/" not in str(sent["video_url"])


def test_a_connection_that_never_sent_moves_the_job_too(emu, tmp_path):
    environ = {**emu.environ(), "VSE_FOLEY_FAL_URL": f"http://127.0.0.1:{_dead_port()}"}  # storage stays
    made = EngineRun(emu, tmp_path, environ=environ)
    try:
        final = made.finish(made.job("fal.thinksound", any_host=True))
        assert final.state is S.READY, final.error
        assert final.provider_id == "wavespeed.think-sound"
        assert "fal.ai was unavailable (it could not be reached: the request never left)" in final.host_note
        assert emu.tasks_created("wavespeed") == 1 and emu.tasks_created("fal") == 0
    finally:
        made.close()


def test_a_host_that_cannot_take_the_values_is_skipped_with_a_note(emu, tmp_path):
    environ = {**emu.environ(), "VSE_FOLEY_FAL_URL": f"http://127.0.0.1:{_dead_port()}"}
    made = EngineRun(emu, tmp_path, environ=environ)
    try:
        # fal's ThinkSound takes steps; WaveSpeed's has no such setting: sending without would
        # make another sound than asked for, so WaveSpeed is skipped and the job fails as today
        final = made.finish(made.job("fal.thinksound", options={"num_inference_steps": 60}, any_host=True))
        assert final.state is S.FAILED and final.error_kind == "NetworkError", final.error
        assert "nothing was sent or charged" in final.error
        assert "WaveSpeed was skipped" in final.host_note and "Steps" in final.host_note
        assert final.provider_id == "fal.thinksound"
        assert submits_sent(emu, "wavespeed") == 0 and emu.tasks_created("fal") == 0
    finally:
        made.close()


# -- an uncertain answer never moves it ------------------------------------------------------------


@pytest.mark.parametrize(("fault", "status"), [
    ("http_500", 500),            # a server error before the task: still unknown to the client
    ("lose_submit_answer", 500),  # the task IS made, the answer is a 500
    ("lose_submit_answer", 502),  # a gateway's page
    ("lose_submit_answer", 504),
    ("lose_submit_answer", 503),  # a bare 503 without WaveSpeed's code proves nothing (issue 9)
    ("lose_submit_answer", 0),    # the connection closes after the request was sent
])
def test_an_uncertain_answer_never_falls_back(fault, status, emu, run):
    emu.inject("wavespeed", fault, on="submit", status=status)
    final = run.finish(run.job("wavespeed.mmaudio-v2", any_host=True))
    assert final.state is S.FAILED and final.error_kind == "SubmitUncertainError", final.error
    assert "may have been charged" in final.error and "not sent again" in final.error
    assert final.provider_id == "wavespeed.mmaudio-v2" and not final.host_note
    assert submits_sent(emu, "wavespeed") == 1 and emu.tasks_created("wavespeed") in (0, 1)
    assert submits_sent(emu, "fal") == 0 and emu.tasks_created("fal") == 0  # never a second host's


def test_a_busy_refusal_waits_on_the_same_host(emu, run):
    emu.inject("wavespeed", "http_429", count=ATTEMPTS, on="submit", retry_after=1)
    final = run.finish(run.job("wavespeed.mmaudio-v2", any_host=True))
    assert final.state is S.READY, final.error
    assert final.provider_id == "wavespeed.mmaudio-v2" and not final.host_note
    assert emu.tasks_created("wavespeed") == 1 and submits_sent(emu, "fal") == 0


# -- no second host, or any host off: today's sentence -------------------------------------------


def test_without_a_usable_second_host_the_job_ends_as_today(emu, tmp_path):
    environ = {k: v for k, v in emu.environ().items() if k != "FAL_KEY"}
    made = EngineRun(emu, tmp_path, environ=environ)
    try:
        job = made.job("wavespeed.mmaudio-v2", any_host=True)
        assert job.hosts == ["wavespeed.mmaudio-v2"]  # fal has no key: not a host of this job
        emu.inject("wavespeed", "unavailable", count=ATTEMPTS)
        final = made.finish(job)
        assert final.state is S.FAILED and final.error_kind == "ServiceUnavailableError"
        assert "unavailable right now (HTTP 503)" in final.error and "nothing was created" in final.error
        assert not final.submit_attempted and not final.host_note
        assert submits_sent(emu, "fal") == 0
    finally:
        made.close()


def test_any_host_off_never_falls_back(emu, run):
    emu.inject("wavespeed", "unavailable", count=ATTEMPTS)
    final = run.finish(run.job("wavespeed.mmaudio-v2"))
    assert final.state is S.FAILED and final.error_kind == "ServiceUnavailableError", final.error
    assert final.provider_id == "wavespeed.mmaudio-v2" and final.hosts == []
    assert submits_sent(emu, "fal") == 0 and emu.tasks_created("wavespeed") == 0


# -- slots and resume --------------------------------------------------------------------------


def test_the_old_accounts_slot_is_given_back_and_the_new_accounts_is_taken(emu, run):
    from vse_foley.providers.base import AccountLimits

    run.engine.set_account_limits("wavespeed", AccountLimits("WaveSpeed", concurrency=1))
    emu.inject("wavespeed", "unavailable", count=ATTEMPTS)
    emu.min_polls = 10**6  # the moved job stays in progress on fal
    moved = run.job("wavespeed.mmaudio-v2", any_host=True)
    _until_accepted(run, moved)
    assert run.engine.peak_in_account("fal") == 1
    # WaveSpeed's only slot is free again: another WaveSpeed job is sent while the moved one works on fal
    other = run.job("wavespeed.think-sound")
    _until_accepted(run, other)
    assert run.engine.get(moved.id).state is not S.READY  # type: ignore[union-attr]
    emu.min_polls = 1
    assert run.finish(other).state is S.READY and run.finish(moved).state is S.READY
    assert run.engine.peak_in_account("wavespeed") == 1


def test_resume_after_a_restart_keeps_the_host_the_job_reached(emu, tmp_path):
    emu.inject("wavespeed", "unavailable", count=ATTEMPTS)
    emu.min_polls = 10**6  # fal's task stays in progress while the first window closes
    first = EngineRun(emu, tmp_path)
    job = first.job("wavespeed.mmaudio-v2", any_host=True)
    _until_accepted(first, job)
    first.close()  # Blender quits while fal works on it
    emu.min_polls = 1
    second = EngineRun(emu, tmp_path / "after", ledger=first.ledger_path)
    try:
        assert [j.id for j in second.engine.resume_from_ledger()] == [job.id]
        final = second.finish(job)
        assert final.state is S.READY and final.provider_id == "fal.mmaudio-v2", final.error
        assert host_sentence(final).startswith("Made by fal.ai; WaveSpeed was unavailable")
        assert emu.tasks_created("fal") == 1 and submits_sent(emu, "fal") == 1  # polled, never resent
        assert emu.tasks_created("wavespeed") == 0
    finally:
        second.close()
