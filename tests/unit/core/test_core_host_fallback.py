"""Issue 14 item 6: the fallback decision, pure (which errors move a job, which hosts can take it)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from vse_foley.core.host_fallback import falls_back, host_sentence, next_hosts, unfit_reason
from vse_foley.core.jobs import Job, JobState
from vse_foley.core.timeline import FrameRange
from vse_foley.providers import provider_info
from vse_foley.providers.base import GenerationRequest
from vse_foley.providers.errors import (
    AuthError,
    CreditsError,
    InputError,
    NetworkError,
    ServiceUnavailableError,
    SubmitUncertainError,
    VendorBusyError,
    VendorUnavailableError,
)


@pytest.mark.parametrize(("error", "moves"), [
    (ServiceUnavailableError("503 with the vendor's own code"), True),
    (NetworkError("connection refused: never sent"), True),
    (SubmitUncertainError("500/502/504, a timeout or reset after sending"), False),
    (VendorUnavailableError("a 5xx that is no refusal"), False),
    (VendorBusyError("429: wait on the same host"), False),
    (AuthError("bad key"), False),
    (CreditsError("no credit"), False),
    (InputError("bad value"), False),
    (RuntimeError("a bug"), False),
])
def test_only_a_proven_refusal_falls_back(error, moves):
    assert falls_back(error) is moves


def _job(provider_id: str, hosts: list[str]) -> Job:
    request = GenerationRequest(provider_id, 5.0, prompt="rain")
    return Job.create(request, FrameRange(1, 125), Fraction(25), hosts=hosts)


def test_next_hosts_are_the_ones_after_the_current_host():
    hosts = ["wavespeed.kling-video-to-audio", "kling.video-to-audio", "fal.kling-video-to-audio"]
    job = _job("wavespeed.kling-video-to-audio", hosts)
    assert next_hosts(job) == hosts[1:]
    job.provider_id = "kling.video-to-audio"
    assert next_hosts(job) == hosts[2:]
    assert next_hosts(_job("wavespeed.mmaudio-v2", [])) == []  # any host off


def _fits(provider_id: str, host: str, **asked: object) -> str:
    request = GenerationRequest(provider_id, float(asked.pop("duration", 5.0)),  # type: ignore[arg-type]
                                **{"prompt": "rain", **asked})  # type: ignore[arg-type]
    return unfit_reason(request, provider_info(provider_id), provider_info(host))


def test_a_host_with_the_same_fields_takes_the_request():
    assert _fits("wavespeed.mmaudio-v2", "fal.mmaudio-v2",
                 options={"num_inference_steps": 30, "guidance_scale": 6.0, "mask_away_clip": True}) == ""
    assert _fits("wavespeed.kling-video-to-audio", "fal.kling-video-to-audio",
                 bgm_prompt="strings", options={"asmr_mode": True}) == ""


def test_a_setting_the_host_lacks_skips_it_only_when_the_editor_set_it():
    # fal's default number of steps: not the editor's choice, so WaveSpeed may make it without
    assert _fits("fal.thinksound", "wavespeed.think-sound", options={"num_inference_steps": 24}) == ""
    reason = _fits("fal.thinksound", "wavespeed.think-sound", options={"num_inference_steps": 60})
    assert "has no Steps setting" in reason


def test_a_seed_the_host_cannot_take_skips_it():
    assert "takes no seed" in _fits("fal.mmaudio-v2", "wavespeed.mmaudio-v2", seed=7)
    assert _fits("fal.mmaudio-v2", "wavespeed.mmaudio-v2", seed=-1) == ""


def test_a_value_outside_the_hosts_range_or_a_length_it_cannot_make_skips_it():
    reason = _fits("fal.thinksound", "wavespeed.think-sound", seed=-1, duration=45.0)
    assert "takes 1–30 s" in reason
    assert "allows" in _fits("wavespeed.kling-video-to-audio", "fal.kling-video-to-audio", prompt="x" * 201)


def test_the_host_sentence_says_who_made_it_and_why():
    job = _job("fal.mmaudio-v2", ["wavespeed.mmaudio-v2", "fal.mmaudio-v2"])
    assert host_sentence(job) == ""  # on the chosen host (or never moved): nothing to say
    job.host_note = "WaveSpeed was unavailable (HTTP 503: it refused the request), so nothing was charged"
    assert host_sentence(job).startswith("Sent to fal.ai instead: WaveSpeed was unavailable")
    job.state = JobState.READY
    assert host_sentence(job).startswith("Made by fal.ai; WaveSpeed was unavailable")


def test_the_hosts_survive_the_ledger_round_trip():
    job = _job("fal.mmaudio-v2", ["wavespeed.mmaudio-v2", "fal.mmaudio-v2"])
    job.host_note = "WaveSpeed was unavailable"
    again = Job.from_dict(job.to_dict())
    assert again.hosts == job.hosts and again.host_note == job.host_note
    copy = job.copy()
    copy.hosts.append("x")
    assert job.hosts == ["wavespeed.mmaudio-v2", "fal.mmaudio-v2"]  # a copy owns its list
