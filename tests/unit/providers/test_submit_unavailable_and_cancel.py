"""Issue 9, two submit fixes, against the loopback vendors.

* A bare HTTP 503 (a gateway's page, no vendor error code) to a submit proves nothing: the
  emulator makes the task, then answers so. Kling looks the task up by its external id;
  the others never send again and say it may have been charged. Only a vendor's own
  documented "unavailable" code (Kling 5001, WaveSpeed 5003) is a refusal that is resent.
* The wait between re-sends of a refused submit ends at once on Cancel or shutdown: the
  engine passes the job's abort event into ``Provider.submit``.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from providers_testkit import FAST, generate, make_mp4, request_for, submits_sent

from vse_foley.core.engine import JobEngine, PollSchedule
from vse_foley.core.jobs import Job, JobState
from vse_foley.core.ledger import JobLedger
from vse_foley.core.timeline import FrameRange
from vse_foley.providers import create_provider, provider_info
from vse_foley.providers.base import GenerationRequest, Provider, VendorTask
from vse_foley.providers.errors import ServiceUnavailableError, SubmitUncertainError, proves_no_task

NEVER_RESENT = ("wavespeed.think-sound", "vidu.text2audio", "vidu.timing2audio", "flexstack.audiogen")
ENGINE_POLLS = PollSchedule(initial=0.005, factor=1.5, maximum=0.03, deadline=30)
#: honours a long Retry-After between re-sends, so only a Cancel can end that wait early
PATIENT = replace(FAST, max_retry_after=600.0, submit_retries=2)


def _generate(provider_id: str, provider, clip, tmp_path: Path):
    info = provider_info(provider_id)
    request = request_for(provider_id, clip(5.0) if info.needs_video else None, 5.0)
    return generate(provider(provider_id), request, tmp_path / "take")


# -- a bare 503: the unkind reading ---------------------------------------------------------------


def test_kling_bare_503_after_the_create_is_looked_up_and_found(provider, clip, emu, tmp_path):
    emu.inject("kling", "lose_submit_answer", on="submit", status=503)
    audio = _generate("kling.video-to-audio", provider, clip, tmp_path)
    assert audio.path.exists()
    assert emu.submit_count("kling") == 1 and submits_sent(emu, "kling") == 1
    external = next(r.json for r in emu.requests if r.kind == "submit")["external_task_id"]
    assert any(r.path.endswith(f"/{external}") for r in emu.requests if r.kind == "poll")  # looked up


@pytest.mark.parametrize("provider_id", NEVER_RESENT)
def test_a_bare_503_after_the_create_is_never_resent_and_may_have_been_charged(
    provider_id, provider, clip, emu, tmp_path
):
    vendor = provider_info(provider_id).vendor
    emu.inject(vendor, "lose_submit_answer", on="submit", status=503)
    with pytest.raises(SubmitUncertainError) as caught:
        _generate(provider_id, provider, clip, tmp_path)
    text = str(caught.value)
    assert "may have been charged" in text and "not sent again" in text
    assert not proves_no_task(caught.value)
    assert emu.submit_count(vendor) == 1 and submits_sent(emu, vendor) == 1  # exactly one task


@pytest.mark.parametrize("provider_id", ["vidu.text2audio", "flexstack.audiogen"])
def test_a_503_without_a_documented_vendor_code_is_not_a_refusal(provider_id, provider, clip, emu, tmp_path):
    # issue 9 changes this: Vidu and FlexStack document no "unavailable" code, so a 503 may come
    # after the task was made (here it was not: the unkind reading costs a "may have been charged")
    vendor = provider_info(provider_id).vendor
    emu.inject(vendor, "http_500", count=1, on="submit", status=503)
    with pytest.raises(SubmitUncertainError) as caught:
        _generate(provider_id, provider, clip, tmp_path)
    assert "may have been charged" in str(caught.value)
    assert submits_sent(emu, vendor) == 1 and emu.submit_count(vendor) == 0


@pytest.mark.parametrize("provider_id", ["wavespeed.think-sound", "kling.video-to-audio"])
def test_the_vendors_own_unavailable_code_is_a_refusal_and_is_resent(
    provider_id, provider, clip, emu, tmp_path
):
    vendor = provider_info(provider_id).vendor
    emu.inject(vendor, "http_500", count=1, on="submit", status=503)  # WaveSpeed 5003, Kling 5001
    assert _generate(provider_id, provider, clip, tmp_path).path.exists()
    assert emu.submit_count(vendor) == 1 and submits_sent(emu, vendor) == 2


@pytest.mark.parametrize("provider_id", ["wavespeed.think-sound", "kling.video-to-audio"])
def test_the_vendors_own_unavailable_code_ends_as_a_refusal_when_it_lasts(provider_id, provider, clip, emu):
    vendor = provider_info(provider_id).vendor
    attempts = FAST.submit_retries + 1
    emu.inject(vendor, "http_500", count=attempts, on="submit", status=503)
    created = provider(provider_id)
    request = request_for(provider_id, clip(5.0), 5.0)
    if provider_id.startswith("kling"):
        request = replace(request, options={**request.options, "external_task_id": "vsefoley-unavailable"})
    with pytest.raises(ServiceUnavailableError) as caught:
        created.submit(request, created.upload_clip(request))
    assert proves_no_task(caught.value) and "nothing was created" in str(caught.value)
    assert emu.submit_count(vendor) == 0 and submits_sent(emu, vendor) == attempts


# -- Cancel and shutdown end the wait between re-sends -------------------------------------------


class _Announcing:
    """The real provider; ``sending`` is set when the engine calls ``submit`` (the test's event)."""

    def __init__(self, real: Provider, sending: threading.Event) -> None:
        self._real, self._sending = real, sending

    def submit(self, request: GenerationRequest, clip_url: str | None,
               cancel: threading.Event | None = None) -> VendorTask:
        self._sending.set()
        return self._real.submit(request, clip_url, cancel)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _engine(tmp_path: Path, emu, sending: threading.Event) -> JobEngine:
    environ = emu.environ()
    clip_dir = tmp_path / "clips"
    clip_dir.mkdir()

    def render(job: Job, abort: threading.Event) -> str:
        return str(make_mp4(clip_dir / f"{job.id}.mp4", float(job.seconds)))

    return JobEngine(
        JobLedger(tmp_path / "ledger.jsonl"),
        lambda pid: _Announcing(create_provider(pid, {}, environ, tuning=PATIENT), sending),  # type: ignore[return-value]
        render,
        lambda job: tmp_path / "library",
        provider_info=provider_info,
        poll_schedule=ENGINE_POLLS,
    )


def _job(provider_id: str) -> Job:
    request = request_for(provider_id, None, 5.0)
    return Job.create(request, FrameRange(1, 125), Fraction(25), blend_path="/p/e.blend", scene_name="S")


@pytest.mark.parametrize(
    "provider_id", ["wavespeed.think-sound", "kling.video-to-audio", "vidu.text2audio", "flexstack.audiogen"]
)
def test_cancel_during_the_wait_before_a_resend_ends_the_job_at_once(provider_id, tmp_path, emu):
    vendor = provider_info(provider_id).vendor
    emu.inject(vendor, "http_429", count=1, on="submit", retry_after=300)  # waited in full unless cancelled
    sending = threading.Event()
    engine = _engine(tmp_path, emu, sending)
    try:
        job = engine.enqueue(_job(provider_id))
        assert sending.wait(30)
        engine.cancel(job.id)
        assert engine.wait([job.id], timeout=60)  # far less than the 300 s the vendor asked for
        final = engine.get(job.id)
        assert final is not None and final.state is JobState.CANCELLED
        assert "nothing was charged" in final.note and not final.keep_result and not final.submit_attempted
        assert submits_sent(emu, vendor) == 1 and emu.submit_count(vendor) == 0  # never sent again
    finally:
        engine.shutdown()


def test_shutdown_during_the_wait_before_a_resend_queues_the_job_again(tmp_path, emu):
    emu.inject("wavespeed", "http_429", count=1, on="submit", retry_after=300)
    sending = threading.Event()
    engine = _engine(tmp_path, emu, sending)
    job = engine.enqueue(_job("wavespeed.think-sound"))
    assert sending.wait(30)
    engine.shutdown(timeout=60)  # the worker ends its wait and records the job before it stops
    with JobLedger(tmp_path / "ledger.jsonl") as ledger:
        recorded = ledger.get(job.id)
    assert recorded is not None and recorded.state is JobState.QUEUED and not recorded.submit_attempted
    assert submits_sent(emu, "wavespeed") == 1 and emu.submit_count("wavespeed") == 0
