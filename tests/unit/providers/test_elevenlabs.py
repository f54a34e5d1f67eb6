"""ElevenLabs sound effects (issue 14 item 3) against the loopback emulator.

The answer to the paid request IS the audio: it must be on disk and recorded before anything
else happens to it; a lost or cut answer may have been charged and is never sent again; 401
(key, or out of credits), 422 and 429 (a refusal: nothing made, waited out) each end with the
right sentence. Jobs run through the real ``JobEngine`` with an injected clock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest
from providers_testkit import FAST, EngineClock, generate

from devtools.emulator import VendorEmulator
from vse_foley.core.engine import JobEngine, PollSchedule
from vse_foley.core.jobs import Job, JobState
from vse_foley.core.ledger import JobLedger
from vse_foley.core.timeline import FrameRange
from vse_foley.providers import create_provider, provider_info
from vse_foley.providers.base import GenerationRequest, TaskState, VendorTask
from vse_foley.providers.connection_test import check_connection
from vse_foley.providers.errors import AuthError, CreditsError, InputError, VendorBusyError, proves_no_task

PID = "elevenlabs.sound-effects"
FPS = Fraction(25)
WAV = {"output_format": "wav_44100"}


def sound_request(seconds: float = 4.0, **options: object) -> GenerationRequest:
    return GenerationRequest(PID, seconds, prompt="glass shattering on concrete", options=dict(options))


def submits(emu: VendorEmulator) -> list:
    return [r for r in emu.requests if r.vendor == "elevenlabs" and r.kind == "submit"]


class Engine:
    """A JobEngine on a ledger file with the real ElevenLabs provider pointed at the emulator."""

    def __init__(self, emu: VendorEmulator, tmp: Path) -> None:
        self.clock = EngineClock()
        self.ledger_path = tmp / "jobs.jsonl"
        self.ledger = JobLedger(self.ledger_path)
        self.folder = tmp / "foley"
        self.engine = JobEngine(
            self.ledger,
            lambda pid: create_provider(pid, {}, emu.environ(), tuning=FAST),
            None,  # text only: nothing to render
            lambda job: self.folder,
            provider_info=provider_info,
            poll_schedule=PollSchedule(initial=0.5, factor=1.5, maximum=2.0, deadline=600.0),
            clock=self.clock.time,
            monotonic=self.clock.time,
            sleep=self.clock.sleep,
        )

    def run(self, frames: FrameRange, **options: object) -> Job:
        seconds = float(frames.seconds(FPS))
        request = GenerationRequest(PID, seconds, prompt="door slam", options=dict(options))
        job = self.engine.enqueue(Job.create(request, frames, FPS, blend_path="/p/e.blend", scene_name="S"))
        assert self.engine.wait([job.id], timeout=60)
        final = self.engine.get(job.id)
        assert final is not None
        return final

    def records(self, job_id: str) -> list[dict]:
        lines = self.ledger_path.read_text().splitlines()
        return [rec for rec in map(json.loads, lines) if rec.get("id") == job_id]

    def close(self) -> None:
        self.engine.shutdown(timeout=5)
        self.ledger.close()


@pytest.fixture
def engine(emu: VendorEmulator, tmp_path: Path) -> Iterator[Engine]:
    made = Engine(emu, tmp_path)
    yield made
    made.close()


# -- the synchronous answer ------------------------------------------------------------------------


def test_the_answer_is_the_audio_written_where_asked(provider, emu, tmp_path):
    audio = generate(provider(PID), sound_request(4.0, prompt_influence=0.6), tmp_path / "out" / "boom")
    assert audio.path == tmp_path / "out" / "boom.mp3" and audio.format == "mp3"  # the default format
    assert audio.size == audio.path.stat().st_size > 0
    sent = submits(emu)
    assert len(sent) == 1 and emu.tasks_created("elevenlabs") == 1
    assert [r.kind for r in emu.requests if r.vendor == "elevenlabs"] == ["submit"]  # nothing to poll
    assert sent[0].path == "/v1/sound-generation" and sent[0].query == {"output_format": "mp3_44100_128"}
    assert sent[0].headers.get("xi-api-key") == emu.keys.elevenlabs
    assert sent[0].json == {"text": "glass shattering on concrete", "duration_seconds": 4.0,
                            "prompt_influence": 0.6, "loop": False, "model_id": "eleven_text_to_sound_v2"}
    assert not list((tmp_path / "out").glob("*.part"))


def test_an_engine_job_records_the_paid_file_with_the_task(engine, emu):
    final = engine.run(FrameRange(1, 100), **WAV)  # 4 s
    assert final.state == JobState.READY, final.error
    assert Path(final.audio_path).parent == engine.folder and final.audio_path.endswith(".wav")
    assert emu.tasks_created("elevenlabs") == 1
    # the record that carries the vendor task already names the file the answer was written to
    with_task = next(rec for rec in engine.records(final.id) if rec.get("vendor_task"))
    assert with_task["vendor_task"]["data"]["audio_path"] == final.audio_path
    assert with_task["state"] == JobState.SUBMITTED.value
    sent = next(rec for rec in engine.records(final.id) if rec.get("submit_attempted"))
    assert sent["vendor_task"] is None  # the intent was on disk before the request left


def test_a_range_longer_than_30_s_is_made_in_parts(engine, emu):
    final = engine.run(FrameRange(1, 1000), **WAV)  # 40 s
    assert final.state == JobState.READY, final.error
    durations = [r.json["duration_seconds"] for r in submits(emu)]
    assert len(durations) == 2 and all(0.5 <= d <= 30.0 for d in durations)
    assert emu.tasks_created("elevenlabs") == 2


# -- answers that may have been paid for ----------------------------------------------------------


@pytest.mark.parametrize("fault", [
    ("lose_submit_answer", {"status": 500}),
    ("lose_submit_answer", {"status": 504}),
    ("lose_submit_answer", {"status": 0}),
    ("truncate_download", {"on": "submit", "keep": 100}),
    ("http_500", {"on": "submit", "status": 503}),
])
def test_a_lost_answer_may_have_been_charged_and_is_never_resent(fault, engine, emu):
    name, params = fault
    emu.inject("elevenlabs", name, **params)
    final = engine.run(FrameRange(1, 100), **WAV)
    assert final.state == JobState.FAILED and final.error_kind == "SubmitUncertainError", final.error
    assert "may have been charged" in final.error and "not sent again" in final.error
    assert "ElevenLabs" in final.error and "elevenlabs.io" in final.error
    assert len(submits(emu)) == 1, "the paid request was sent twice"
    assert not engine.folder.exists() or not list(engine.folder.glob("*.part"))
    assert engine.engine.retry_may_charge_twice(final.id)


# -- refusals: nothing was made ---------------------------------------------------------------------


def test_a_wrong_key_is_a_sentence_without_the_key(provider, emu, tmp_path):
    env = {**emu.environ(), "ELEVENLABS_API_KEY": "xi-wrong-key-123"}
    with pytest.raises(AuthError) as caught:
        generate(provider(PID, environ=env), sound_request(), tmp_path / "x")
    text = str(caught.value)
    assert "ELEVENLABS_API_KEY" in text and "ElevenLabs API key" in text and "xi-wrong-key-123" not in text
    assert proves_no_task(caught.value) and emu.tasks_created("elevenlabs") == 0


def test_out_of_credits_on_401_is_not_a_key_problem(provider, emu, tmp_path):
    emu.inject("elevenlabs", "no_credits")
    with pytest.raises(CreditsError) as caught:
        generate(provider(PID), sound_request(), tmp_path / "x")
    assert "no credits" in str(caught.value) and caught.value.vendor_code == "quota_exceeded"
    assert emu.tasks_created("elevenlabs") == 0


def test_a_422_from_the_vendor_is_an_input_sentence(provider, emu, tmp_path):
    request = sound_request(loop=True, model_id="eleven_text_to_sound_v3")
    with pytest.raises(InputError) as caught:
        generate(provider(PID), request, tmp_path / "x")
    assert "loop" in str(caught.value) and "nothing was generated" in str(caught.value)
    assert emu.tasks_created("elevenlabs") == 0


def test_limits_are_checked_before_anything_is_sent(provider, emu, tmp_path):
    with pytest.raises(InputError, match="0.5–30 s"):
        provider(PID).validate(sound_request(31.0))
    with pytest.raises(InputError, match="Prompt influence must be at most 1"):
        provider(PID).validate(sound_request(prompt_influence=1.5))
    with pytest.raises(InputError, match="[Tt]he prompt must not be empty"):
        provider(PID).validate(GenerationRequest(PID, 3.0, prompt="  "))
    assert emu.requests == []


def test_a_429_is_waited_out_with_its_retry_after(provider, emu, tmp_path):
    emu.inject("elevenlabs", "http_429", count=1, on="submit", retry_after=0.05)
    audio = generate(provider(PID), sound_request(**WAV), tmp_path / "out" / "a")
    assert audio.format == "wav" and len(submits(emu)) == 2 and emu.tasks_created("elevenlabs") == 1


def test_a_429_beyond_the_retries_is_a_busy_refusal(provider, emu):
    emu.inject("elevenlabs", "busy", count=5, retry_after=7)
    with pytest.raises(VendorBusyError) as caught:
        provider(PID).submit(sound_request(answer_stem="/nonexistent/never"), None)
    assert caught.value.retry_after == 7 and caught.value.vendor_code == "concurrent_limit_exceeded"
    assert proves_no_task(caught.value) and emu.tasks_created("elevenlabs") == 0


def test_the_engine_waits_a_busy_account_out_and_then_sends_once_more(engine, emu):
    emu.inject("elevenlabs", "busy", count=3, retry_after=2)  # more than the HTTP layer's 2 retries
    final = engine.run(FrameRange(1, 100), **WAV)
    assert final.state == JobState.READY, final.error
    assert len(submits(emu)) == 4 and emu.tasks_created("elevenlabs") == 1


# -- after the answer -------------------------------------------------------------------------------


def test_a_kept_answer_that_vanished_is_said_plainly(provider, tmp_path):
    gone = tmp_path / "gone.wav"
    status = provider(PID).poll(VendorTask("r1", {"audio_path": str(gone)}))
    assert status.state is TaskState.FAILED and str(gone) in status.message and "paid" in status.message


def test_test_connection_checks_the_key_for_free(emu):
    assert "ElevenLabs: connected" in check_connection("elevenlabs", {}, emu.environ())
    with pytest.raises(AuthError):
        check_connection("elevenlabs", {}, {**emu.environ(), "ELEVENLABS_API_KEY": "nope-nope"})
    assert emu.tasks_created("elevenlabs") == 0
    assert {r.path for r in emu.requests if r.vendor == "elevenlabs"} == {"/v1/models"}
