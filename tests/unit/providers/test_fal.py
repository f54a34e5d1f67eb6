"""fal.ai against its emulator: every model's request, the queue, cancel, failures, movie answers, storage.

What the emulator takes as the unkind readings is in devtools/emulator/fal.py; what was
confirmed from fal's pages and fal-client's source is in docs/vendors/fal.md.
"""

from __future__ import annotations

import json
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from providers_testkit import FAST, expected_format, generate, make_mp4, request_for

from vse_foley.core.conform import read_wav
from vse_foley.core.engine import JobEngine, PollSchedule
from vse_foley.core.jobs import Job, JobState
from vse_foley.core.ledger import JobLedger
from vse_foley.core.timeline import FrameRange
from vse_foley.providers import create_provider, provider_info, soundtrack
from vse_foley.providers.base import AudioFile, TaskState
from vse_foley.providers.errors import (
    AuthError,
    CreditsError,
    InputError,
    SubmitUncertainError,
    TaskFailedError,
)

FAL_IDS = ("fal.mmaudio-v2", "fal.thinksound", "fal.kling-video-to-audio", "fal.mirelo-sfx")
NO_RESEND = replace(FAST, submit_retries=0)

#: each model's body as fal's schema names it, for the request ``request_for`` makes (5 s, a prompt)
EXPECTED_BODY = {
    "fal.mmaudio-v2": {
        "prompt": "footsteps on gravel",
        "duration": 5,
        "num_steps": 30,
        "cfg_strength": 6.0,
        "mask_away_clip": False,
    },
    "fal.thinksound": {"prompt": "footsteps on gravel", "num_inference_steps": 30, "cfg_scale": 6.0},
    "fal.kling-video-to-audio": {
        "sound_effect_prompt": "footsteps on gravel",
        "background_music_prompt": "",
        "asmr_mode": True,
    },
    "fal.mirelo-sfx": {"text_prompt": "footsteps on gravel", "duration": 5},
}
OPTIONS = {"num_inference_steps": 30, "guidance_scale": 6.0, "asmr_mode": True}
#: where each model's requests live: owner/alias only, as fal-client builds request URLs
APP_PATHS = {
    "fal.mmaudio-v2": "fal-ai/mmaudio-v2",
    "fal.thinksound": "fal-ai/thinksound",
    "fal.kling-video-to-audio": "fal-ai/kling-video",
    "fal.mirelo-sfx": "mirelo-ai/sfx-v1.5",
}


def _fal_requests(emu, kind: str):
    return [r for r in emu.requests if r.vendor == "fal" and r.kind == kind]


@pytest.mark.parametrize("provider_id", FAL_IDS)
def test_every_model_sends_its_schema_and_lands_one_result(provider_id, provider, clip, emu, tmp_path):
    request = request_for(provider_id, clip(5.0), 5.0, options=OPTIONS)
    audio = generate(provider(provider_id), request, tmp_path / "take")
    assert audio.path.exists() and audio.duration == pytest.approx(5.0, abs=0.05)
    (submit,) = _fal_requests(emu, "submit")
    model = {
        "fal.mmaudio-v2": "fal-ai/mmaudio-v2",
        "fal.thinksound": "fal-ai/thinksound",
        "fal.kling-video-to-audio": "fal-ai/kling-video/video-to-audio",
        "fal.mirelo-sfx": "mirelo-ai/sfx-v1.5/video-to-audio",
    }[provider_id]
    assert submit.path == f"/{model}" and submit.headers["Authorization"] == f"Key {emu.keys.fal}"
    body = dict(submit.json)
    assert body.pop("video_url").startswith(emu.root_url + "/files/fal-upload-")
    assert body == EXPECTED_BODY[provider_id]
    polls = {r.path for r in _fal_requests(emu, "poll")}
    assert all(path.startswith(f"/{APP_PATHS[provider_id]}/requests/") for path in polls)
    assert emu.tasks_created("fal") == 1


def test_kling_sends_empty_prompts_so_fal_does_not_fill_in_its_examples(provider, clip, emu, tmp_path):
    generate(
        provider("fal.kling-video-to-audio"),
        request_for("fal.kling-video-to-audio", clip(5.0), 5.0, prompt=""),
        tmp_path / "k",
    )
    (submit,) = _fal_requests(emu, "submit")
    assert submit.json["sound_effect_prompt"] == "" and submit.json["background_music_prompt"] == ""


@pytest.mark.parametrize("provider_id", ["fal.mmaudio-v2", "fal.thinksound"])
def test_a_movie_answer_is_kept_as_the_paid_file(provider_id, provider, clip, emu, tmp_path):
    # With aud (bpy imported) the sound track becomes a WAV beside the movie; without it the movie is
    # the result. The movie is kept either way: it is what was paid for.
    audio = generate(provider(provider_id), request_for(provider_id, clip(4.0), 4.0), tmp_path / "m")
    assert audio.format == expected_format(provider_id)
    assert audio.duration == pytest.approx(4.0, abs=0.05)
    movie = tmp_path / "m.mp4"
    assert movie.read_bytes()[4:8] == b"ftyp"
    assert audio.path == (movie if audio.format == "mp4" else tmp_path / "m.wav")


def test_the_sound_track_becomes_a_24_bit_wav_beside_the_movie(tmp_path, monkeypatch):
    movie = tmp_path / "take.mp4"
    movie.write_bytes(b"\0\0\0\x18ftypisom")
    (tmp_path / "take.wav").write_bytes(b"someone else's file")  # never overwritten
    samples = np.linspace(-0.5, 0.5, 2000, dtype=np.float32).reshape(1000, 2)
    monkeypatch.setattr(soundtrack, "_decode", lambda path: (samples, 48000))
    result = soundtrack.extract_soundtrack(AudioFile(movie, "mp4", 18, 1000 / 48000), "fal.ai")
    assert result.path == tmp_path / "take-2.wav" and result.format == "wav"
    assert (tmp_path / "take.wav").read_bytes() == b"someone else's file" and movie.exists()
    pcm = read_wav(result.path)
    assert pcm.sample_rate == 48000 and pcm.samples.shape == (1000, 2)
    assert pcm.sample_format == "pcm24" and np.allclose(pcm.samples, samples, atol=2e-7)
    assert result.duration == pytest.approx(1000 / 48000)


def test_without_aud_or_with_an_unreadable_movie_the_movie_is_the_result(tmp_path, monkeypatch):
    movie = AudioFile(tmp_path / "m.mp4", "mp4", 10, 1.0)
    movie.path.write_bytes(b"x" * 10)
    monkeypatch.setattr(soundtrack, "_decode", lambda path: None)
    assert soundtrack.extract_soundtrack(movie, "fal.ai") is movie

    def broken(path):
        raise RuntimeError("no audio stream")

    monkeypatch.setattr(soundtrack, "_decode", broken)
    assert soundtrack.extract_soundtrack(movie, "fal.ai") is movie
    assert [p.name for p in tmp_path.iterdir()] == ["m.mp4"]


def test_the_clip_goes_to_fal_storage_with_an_expiry_and_no_key_on_the_signed_put(provider, clip, emu):
    created = provider("fal.mmaudio-v2")
    request = request_for("fal.mmaudio-v2", clip(5.0), 5.0)
    url = created.upload_clip(request)
    initiate, put = _fal_requests(emu, "upload")
    assert initiate.path == "/storage/upload/initiate" and initiate.query == {"storage_type": "gcs"}
    assert initiate.json == {"file_name": "clip.mp4", "content_type": "video/mp4"}
    assert json.loads(initiate.headers["X-Fal-Object-Lifecycle-Preference"]) == {
        "expiration_duration_seconds": 3600
    }
    assert put.method == "PUT" and "Authorization" not in put.headers
    assert emu.file_bytes(url) == Path(request.video_path).read_bytes()
    assert emu.keys.fal not in url


@pytest.mark.parametrize("in_status", [False, True])
def test_a_failed_request_reports_fals_reason(in_status, provider, clip, emu, tmp_path):
    emu.inject("fal", "task_fail", message="Video has no frames", in_status=in_status)
    with pytest.raises(TaskFailedError) as caught:
        generate(provider("fal.thinksound"), request_for("fal.thinksound", clip(5.0), 5.0), tmp_path / "f")
    assert "Video has no frames" in str(caught.value) and str(caught.value).startswith("Fal.ai")
    assert emu.tasks_created("fal") == 1 and emu.download_count() == 0


@pytest.mark.parametrize("status", [0, 500, 502, 504])
def test_a_lost_submit_answer_is_never_sent_again(status, provider, clip, emu, tmp_path):
    emu.inject("fal", "lose_submit_answer", status=status)
    with pytest.raises(SubmitUncertainError) as caught:
        generate(provider("fal.mmaudio-v2"), request_for("fal.mmaudio-v2", clip(5.0), 5.0), tmp_path / "l")
    assert "may have been" in str(caught.value) or "not known whether a paid task" in str(caught.value)
    assert len(_fal_requests(emu, "submit")) == 1 and emu.tasks_created("fal") == 1


def test_a_429_on_submit_is_waited_out_and_queues_one_request(provider, clip, emu, tmp_path):
    emu.inject("fal", "http_429", on="submit", retry_after=0.1)
    generate(provider("fal.mirelo-sfx"), request_for("fal.mirelo-sfx", clip(5.0), 5.0), tmp_path / "r")
    assert len(_fal_requests(emu, "submit")) == 2 and emu.tasks_created("fal") == 1


def test_a_wrong_key_and_an_empty_balance_are_sentences(provider, clip, emu, tmp_path):
    environ = {**emu.environ(), "FAL_KEY": "not-the-key"}
    with pytest.raises(AuthError, match="FAL_KEY"):
        generate(
            provider("fal.mmaudio-v2", environ=environ),
            request_for("fal.mmaudio-v2", clip(5.0), 5.0),
            tmp_path / "a",
        )
    emu.inject("fal", "no_credits")
    with pytest.raises(CreditsError, match="balance"):
        generate(
            provider("fal.mmaudio-v2", tuning=NO_RESEND),
            request_for("fal.mmaudio-v2", clip(5.0), 5.0),
            tmp_path / "b",
        )
    assert emu.tasks_created("fal") == 0


def test_limits_are_checked_before_anything_is_sent(provider, clip, emu):
    with pytest.raises(InputError, match="at most 65535"):
        provider("fal.mmaudio-v2").validate(request_for("fal.mmaudio-v2", clip(5.0), 5.0, seed=70000))
    with pytest.raises(InputError, match="1–10 s"):
        provider("fal.mirelo-sfx").validate(request_for("fal.mirelo-sfx", clip(12.0), 12.0))
    with pytest.raises(InputError, match="at most 200"):
        provider("fal.kling-video-to-audio").validate(
            request_for("fal.kling-video-to-audio", clip(5.0), 5.0, bgm_prompt="x" * 201)
        )
    assert emu.requests == []


def test_a_queued_request_says_its_place_and_cancel_succeeds_only_before_it_starts(provider, clip, emu):
    api = emu.vendor_api("fal")
    api.queued_polls = 5
    created = provider("fal.thinksound")
    request = request_for("fal.thinksound", clip(5.0), 5.0)
    first = created.submit(request, created.upload_clip(request))
    second = created.submit(request, created.upload_clip(request))
    assert created.poll(second).message == "2nd in fal.ai's queue"
    assert created.poll(first).state is TaskState.PENDING
    assert created.cancel_remote(first) is True
    assert api.cancelled == [first.task_id]
    api.queued_polls = 0
    status = created.poll(second)
    while status.state is not TaskState.SUCCEEDED:  # bounded: min_polls is 1 in these tests
        status = created.poll(second)
    assert created.cancel_remote(second) is False  # too late: it ran and is billed
    assert api.refused_cancels == [second.task_id]


def test_test_connection_checks_the_fal_key(emu):
    from vse_foley.providers.connection_test import check_connection

    assert "fal.ai: connected" in check_connection("fal", {}, emu.environ())
    with pytest.raises(AuthError):
        check_connection("fal", {}, {**emu.environ(), "FAL_KEY": "wrong-key"})


# -- Cancel in the engine -----------------------------------------------------------------------


def _engine(tmp_path: Path, emu) -> JobEngine:
    environ = emu.environ()

    def render(job: Job, abort) -> str:
        return str(make_mp4(tmp_path / f"{job.id}.mp4", float(job.seconds)))

    return JobEngine(
        JobLedger(tmp_path / "ledger.jsonl"),
        lambda pid: create_provider(pid, {}, environ, tuning=FAST),
        render,
        lambda job: tmp_path / "library",
        provider_info=provider_info,
        poll_schedule=PollSchedule(initial=0.005, factor=1.5, maximum=0.03, deadline=30),
    )


@pytest.mark.parametrize("cancel_answer_delay", [0.0, 0.3])
def test_cancel_of_a_job_still_in_fals_queue_cancels_it_there_and_fetches_nothing(
    cancel_answer_delay, tmp_path, emu
):
    api = emu.vendor_api("fal")
    api.queued_polls = 10**6  # the request waits in fal's queue until it is cancelled
    if cancel_answer_delay:  # fal answers the cancel late: polls meanwhile wait for that answer
        emu.inject("fal", "slow", on="other", delay=cancel_answer_delay)
    engine = _engine(tmp_path, emu)
    try:
        request = request_for("fal.mmaudio-v2", None, 5.0)
        job = engine.enqueue(
            Job.create(request, FrameRange(1, 125), Fraction(25), blend_path="/p/e.blend", scene_name="S")
        )
        assert api.polled.wait(20)  # the task exists and was polled at least once
        engine.cancel(job.id)
        assert engine.wait([job.id], timeout=30)
        final = engine.get(job.id)
        assert final is not None and final.state == JobState.CANCELLED
        assert "nothing will be charged" in final.note and not final.keep_result
        assert len(api.cancelled) == 1 and emu.download_count() == 0
        assert not emu.pending_faults  # the slow answer was the cancel's
    finally:
        engine.shutdown()


def test_a_lost_submit_ends_the_job_may_have_been_charged_naming_the_fal_dashboard(tmp_path, emu):
    emu.inject("fal", "lose_submit_answer", status=504)
    engine = _engine(tmp_path, emu)
    try:
        request = request_for("fal.kling-video-to-audio", None, 5.0)
        job = engine.enqueue(
            Job.create(request, FrameRange(1, 125), Fraction(25), blend_path="/p/e.blend", scene_name="S")
        )
        assert engine.wait([job.id], timeout=30)
        final = engine.get(job.id)
        assert final is not None and final.state == JobState.FAILED
        assert "may have been charged" in final.error and "fal.ai/dashboard/requests" in final.error
        assert emu.tasks_created("fal") == 1 and len(_fal_requests(emu, "submit")) == 1
    finally:
        engine.shutdown()


def test_direct_kling_with_only_kling_and_fal_keys_uploads_to_fal_storage(provider, clip, emu, tmp_path):
    environ = {k: v for k, v in emu.environ().items() if k != "WAVESPEED_API_KEY"}
    audio = generate(
        provider("kling.video-to-audio", environ=environ),
        request_for("kling.video-to-audio", clip(5.0), 5.0),
        tmp_path / "k",
    )
    assert audio.path.exists() and emu.tasks_created("kling") == 1
    (kling_submit,) = [r for r in emu.requests if r.vendor == "kling" and r.kind == "submit"]
    assert kling_submit.json["video_url"].startswith(emu.root_url + "/files/fal-upload-")
    assert _fal_requests(emu, "upload")[0].path == "/storage/upload/initiate"
    assert not [r for r in emu.requests if r.vendor == "wavespeed"]


def test_a_waiting_job_shows_its_place_in_fals_queue(tmp_path, emu):
    emu.vendor_api("fal").queued_polls = 2
    engine = _engine(tmp_path, emu)
    try:
        request = request_for("fal.mirelo-sfx", None, 5.0)
        job = engine.enqueue(
            Job.create(request, FrameRange(1, 125), Fraction(25), blend_path="/p/e.blend", scene_name="S")
        )
        assert engine.wait([job.id], timeout=30)
        notes = [event.job.note for event in engine.drain(budget_s=1.0) if event.job.id == job.id]
        assert "1st in fal.ai's queue" in notes
        final = engine.get(job.id)
        assert final.state == JobState.READY and final.note == ""  # the queue note is gone once done
    finally:
        engine.shutdown()


def test_the_upload_host_preference_can_choose_fal_storage_over_wavespeeds(provider, clip, emu, tmp_path):
    generate(
        provider("kling.video-to-audio", prefs={"upload_host": "fal"}),
        request_for("kling.video-to-audio", clip(5.0), 5.0),
        tmp_path / "k",
    )
    (kling_submit,) = [r for r in emu.requests if r.vendor == "kling" and r.kind == "submit"]
    assert kling_submit.json["video_url"].startswith(emu.root_url + "/files/fal-upload-")
    assert not [r for r in emu.requests if r.vendor == "wavespeed"]
