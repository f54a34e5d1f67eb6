"""Issue 9 items 2-4 against the loopback vendors: busy refusals, the per-account running count.

The emulator refuses a submit over an account's tasks at once with the vendor's own
"busy" answer (devtools/emulator/accounts.py); the providers turn that answer into
VendorBusyError (no task exists) and the engine waits it out.
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from providers_testkit import FAST, make_mp4, request_for

from vse_foley.core.engine import JobEngine, PollSchedule
from vse_foley.core.jobs import Job, JobState
from vse_foley.core.ledger import JobLedger
from vse_foley.core.timeline import FrameRange
from vse_foley.providers import create_provider, provider_info
from vse_foley.providers.base import AccountLimits
from vse_foley.providers.errors import CreditsError, VendorBusyError

NO_RESEND = replace(FAST, submit_retries=0)
BUSY_CODES = {
    "wavespeed.think-sound": 429,
    "kling.video-to-audio": 1303,
    "vidu.text2audio": "QuotaExceeded",
    "flexstack.audiogen": 429,
}
ENGINE_POLLS = PollSchedule(initial=0.005, factor=1.5, maximum=0.03, deadline=30)


def _submit(provider, provider_id: str, clip):
    info = provider_info(provider_id)
    clip_path = clip(5.0) if info.needs_video else None
    request = request_for(provider_id, clip_path, 5.0)
    url = provider.upload_clip(request)
    return provider.submit(request, url)


@pytest.mark.parametrize("provider_id", sorted(BUSY_CODES))
def test_the_vendors_busy_answer_is_a_busy_error_with_its_retry_after(provider_id, provider, clip, emu):
    vendor = provider_info(provider_id).vendor
    emu.inject(vendor, "busy", on="submit", retry_after=7)
    with pytest.raises(VendorBusyError) as raised:
        _submit(provider(provider_id, tuning=NO_RESEND), provider_id, clip)
    assert raised.value.retry_after == pytest.approx(7, abs=1)
    assert raised.value.vendor_code == BUSY_CODES[provider_id]
    assert "nothing was created" in str(raised.value) and emu.submit_count(vendor) == 0


def test_vidu_out_of_credits_is_not_a_busy_wait(provider, emu):
    emu.inject("vidu", "no_credits", on="submit")
    with pytest.raises(CreditsError) as raised:
        _submit(provider("vidu.text2audio", tuning=NO_RESEND), "vidu.text2audio", None)
    assert not isinstance(raised.value, VendorBusyError)


def test_the_emulator_refuses_a_fourth_running_task_on_one_wavespeed_key(provider, clip, emu):
    models = ["wavespeed.think-sound", "wavespeed.mmaudio-v2", "wavespeed.hunyuan-video-foley"]
    for provider_id in models:
        _submit(provider(provider_id, tuning=NO_RESEND), provider_id, clip)
    assert emu.running("wavespeed") == 3
    with pytest.raises(VendorBusyError):
        _submit(
            provider("wavespeed.kling-video-to-audio", tuning=NO_RESEND),
            "wavespeed.kling-video-to-audio",
            clip,
        )
    assert emu.running("wavespeed") == 3 and emu.submit_count("wavespeed") == 3
    assert emu.peak_demand("wavespeed") == 4 and emu.busy_refusals("wavespeed") == 1


# -- the engine with the real providers -----------------------------------------------------------


def _engine(tmp_path: Path, emu, limits: dict[str, AccountLimits] | None = None) -> JobEngine:
    environ = emu.environ()
    clip_dir = tmp_path / "clips"
    clip_dir.mkdir()

    def render(job: Job, abort: threading.Event) -> str:
        return str(make_mp4(clip_dir / f"{job.id}.mp4", float(job.seconds)))

    return JobEngine(
        JobLedger(tmp_path / "ledger.jsonl"),
        lambda pid: create_provider(pid, {}, environ, tuning=FAST),
        render,
        lambda job: tmp_path / "library",
        account_limits=limits,
        provider_info=provider_info,
        poll_schedule=ENGINE_POLLS,
    )


def _job(provider_id: str) -> Job:
    from fractions import Fraction

    request = request_for(provider_id, None, 5.0)
    return Job.create(request, FrameRange(1, 125), Fraction(25), blend_path="/p/e.blend", scene_name="S")


def test_three_wavespeed_models_times_two_never_run_more_than_three_on_the_key(tmp_path, emu):
    emu.task_seconds = 0.2  # tasks overlap, so a client that ignores the account would go over
    limits = {
        "wavespeed": AccountLimits("WaveSpeed", concurrency=3, submits_per_minute=0, polls_per_minute=0)
    }
    engine = _engine(tmp_path, emu, limits)
    try:
        models = ["wavespeed.think-sound", "wavespeed.mmaudio-v2", "wavespeed.hunyuan-video-foley"]
        jobs = [engine.enqueue(_job(pid)) for pid in models for _ in range(2)]
        assert engine.wait([j.id for j in jobs], timeout=60)
        assert [engine.get(j.id).state for j in jobs] == [JobState.READY] * 6
        assert emu.submit_count("wavespeed") == 6
        assert emu.peak_demand("wavespeed") == 3 and emu.busy_refusals("wavespeed") == 0
        assert engine.peak_in_account("wavespeed") == 3
    finally:
        engine.shutdown()


@pytest.mark.parametrize("provider_id", sorted(BUSY_CODES))
def test_a_busy_vendor_is_waited_out_and_makes_exactly_one_task(provider_id, tmp_path, emu):
    vendor = provider_info(provider_id).vendor
    attempts = FAST.submit_retries + 1  # every attempt of the first send is refused
    emu.inject(vendor, "busy", count=attempts, on="submit", retry_after=1)
    engine = _engine(tmp_path, emu)
    try:
        job = engine.enqueue(_job(provider_id))
        assert engine.wait([job.id], timeout=60)
        final = engine.get(job.id)
        assert final is not None and final.state == JobState.READY, final.error
        assert emu.submit_count(vendor) == 1 and not emu.pending_faults
        label = engine._accounts.limits(vendor).label
        lines = (tmp_path / "ledger.jsonl").read_bytes().splitlines()
        notes = [r.get("note", "") for r in map(json.loads, filter(None, lines)) if r["id"] == job.id]
        assert any(f"Waiting for a free slot at {label}" in note for note in notes)
    finally:
        engine.shutdown()


def test_kling_after_a_lost_answer_never_sends_again_so_no_busy_refusal_can_become_a_wait(
        provider, clip, emu):
    """Kling's submit is sent once: a lost answer is uncertain (looked up by the caller),
    never a second send whose "busy" refusal the engine would wait out and resend."""
    from vse_foley.providers.errors import SubmitUncertainError

    emu.inject("kling", "http_500", on="submit", status=500)  # the first answer is lost
    emu.inject("kling", "busy", on="submit")  # a second send would be refused as busy
    with pytest.raises(SubmitUncertainError) as raised:
        _submit(provider("kling.video-to-audio", tuning=NO_RESEND), "kling.video-to-audio", clip)
    assert not isinstance(raised.value, VendorBusyError)  # the engine must not wait and resend
    assert raised.value.external_task_id
    assert sum(1 for r in emu.requests if r.kind == "submit") == 1  # no second send at all


def test_a_long_retry_after_on_submit_is_left_to_the_engine_in_full(provider, clip, emu):
    emu.inject("wavespeed", "busy", count=3, on="submit", retry_after=120)  # above FAST's 0.15 s cap
    with pytest.raises(VendorBusyError) as raised:
        _submit(provider("wavespeed.think-sound"), "wavespeed.think-sound", clip)  # resends allowed
    assert raised.value.retry_after == pytest.approx(120, abs=1)
    assert sum(1 for r in emu.requests if r.kind == "submit") == 1  # not resent early by the client


def test_retry_after_as_an_http_date_is_honoured():
    import email.utils
    import time

    import requests

    from vse_foley.providers.http import with_retry_after

    response = requests.Response()
    response.status_code = 429
    response.headers["Retry-After"] = email.utils.formatdate(time.time() + 90, usegmt=True)
    error = with_retry_after(VendorBusyError("Busy; nothing was created."), response)
    assert isinstance(error, VendorBusyError) and error.retry_after == pytest.approx(90, abs=2)


def test_a_poll_429_pauses_every_request_to_that_vendor_account(emu):
    from vse_foley.providers.http import VendorHttp, account_pause_left

    tuning = replace(FAST, retries=0, max_retry_after=5.0)  # the refused poll gives up at once
    first, second = VendorHttp("Vidu", tuning), VendorHttp("Vidu", tuning)
    url = emu.base_url("vidu") + "/ent/v2/tasks/123/creations"
    try:
        emu.inject("vidu", "http_429", on="poll", retry_after=1)
        assert first.request("GET", url).status_code == 429
        assert account_pause_left("Vidu") > 0.5 and account_pause_left("WaveSpeed") == 0
        second.request("GET", url)  # another job's poll of the same account waits
        refused, after = [r for r in emu.requests if r.kind == "poll"]
        assert after.time - refused.time >= 0.95  # Retry-After honoured for the whole account
        assert account_pause_left("Vidu") == 0
    finally:
        first.close()
        second.close()


def test_a_busy_upload_host_is_waited_out_like_a_busy_submit(tmp_path, emu):
    """WaveSpeed's upload answering 429 makes no task: the job waits for a free slot, then goes on."""
    attempts = FAST.retries + 1  # every attempt of the first upload is refused
    emu.inject("wavespeed", "http_429", count=attempts, on="upload", retry_after=1)
    engine = _engine(tmp_path, emu)
    try:
        job = engine.enqueue(_job("wavespeed.think-sound"))
        assert engine.wait([job.id], timeout=60)
        final = engine.get(job.id)
        assert final is not None and final.state == JobState.READY, final.error
        assert emu.submit_count("wavespeed") == 1 and not emu.pending_faults
        lines = (tmp_path / "ledger.jsonl").read_bytes().splitlines()
        notes = [r.get("note", "") for r in map(json.loads, filter(None, lines)) if r["id"] == job.id]
        assert any("Waiting for a free slot at WaveSpeed" in note for note in notes)
    finally:
        engine.shutdown()


def test_vidus_busy_code_on_the_job_is_a_short_token_never_the_vendors_prose():
    from vse_foley.providers.vidu import vidu_error

    def redact(text: str) -> str:
        return text.replace("secret-key", "***")

    busy = vidu_error(429, {"reason": "QuotaExceeded"}, redact, "starting the task")
    assert isinstance(busy, VendorBusyError) and busy.vendor_code == "QuotaExceeded"
    echoed = vidu_error(429, {"reason": "Token secret-key is over its limit"}, redact, "starting the task")
    assert echoed.vendor_code == 429  # a sentence (or an echoed key) is not a code
    assert "secret-key" not in str(echoed)
