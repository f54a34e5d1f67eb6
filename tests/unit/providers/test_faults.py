"""Every injected fault ends in success without a second paid submit, or in the right error (a sentence)."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
from providers_testkit import (
    EMULATED_PROVIDER_IDS,
    FAST,
    expected_format,
    generate,
    request_for,
    submits_sent,
)

from vse_foley.providers import provider_info
from vse_foley.providers.errors import (
    CreditsError,
    DownloadError,
    FoleyError,
    ModerationError,
    SubmitUncertainError,
    TaskFailedError,
)

#: providers with a task to poll: ElevenLabs answers with the audio itself (test_elevenlabs.py)
POLLED_IDS = [pid for pid in EMULATED_PROVIDER_IDS if provider_info(pid).vendor != "elevenlabs"]

# One video provider per protocol family is enough for most faults; all of them for the paid-submit ones.
FAMILY = (
    "wavespeed.think-sound",
    "kling.video-to-audio",
    "vidu.text2audio",
    "vidu.timing2audio",
    "flexstack.audiogen",
)


def _run(provider_id, provider, clip, tmp_path: Path, progress=None, tuning=FAST, **request_kwargs):
    info = provider_info(provider_id)
    clip_path = clip(5.0) if info.needs_video else None
    request = request_for(provider_id, clip_path, 5.0, **request_kwargs)
    return generate(
        provider(provider_id, tuning=tuning),
        request,
        tmp_path / "take",
        on_progress=(progress.append if progress is not None else None),
    )


def _assert_sentence(error: FoleyError) -> None:
    text = str(error)
    assert text[:1].isupper() and text.rstrip().endswith("."), text
    assert "Traceback" not in text


@pytest.mark.parametrize("provider_id", POLLED_IDS)
@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_while_polling_are_retried(provider_id, status, provider, clip, emu, tmp_path):
    vendor = provider_info(provider_id).vendor
    emu.inject(vendor, "http_500", count=2, on="poll", status=status)
    audio = _run(provider_id, provider, clip, tmp_path)
    assert audio.format == expected_format(provider_id)
    assert emu.submit_count(vendor) == 1 and submits_sent(emu, vendor) == 1


@pytest.mark.parametrize("provider_id", FAMILY)
def test_rate_limit_on_submit_waits_for_retry_after_and_submits_once(
    provider_id, provider, clip, emu, tmp_path
):
    vendor = provider_info(provider_id).vendor
    emu.inject(vendor, "http_429", count=1, on="submit", retry_after=0.1)
    audio = _run(provider_id, provider, clip, tmp_path)
    assert audio.path.exists()
    assert emu.submit_count(vendor) == 1  # the 429 created nothing; the resend created the one task
    submits = [r.time for r in emu.requests if r.vendor == vendor and r.kind == "submit"]
    assert len(submits) == 2 and submits[1] - submits[0] >= 0.09  # Retry-After honoured


@pytest.mark.parametrize("provider_id", FAMILY)
def test_rate_limit_on_poll_is_retried(provider_id, provider, clip, emu, tmp_path):
    vendor = provider_info(provider_id).vendor
    emu.inject(vendor, "http_429", count=2, on="poll", retry_after=0)
    assert _run(provider_id, provider, clip, tmp_path).path.exists()
    assert emu.submit_count(vendor) == 1


# Issue 9 changes this for Vidu and FlexStack: a 503 without a documented vendor code is not a
# refusal any more (test_submit_unavailable_and_cancel.py); WaveSpeed's answer carries its code 5003.
@pytest.mark.parametrize("provider_id", ["wavespeed.think-sound"])
def test_unavailable_submit_is_a_refusal_and_is_resent(provider_id, provider, clip, emu, tmp_path):
    vendor = provider_info(provider_id).vendor
    emu.inject(vendor, "http_500", count=1, on="submit", status=503)
    assert _run(provider_id, provider, clip, tmp_path).path.exists()
    assert emu.submit_count(vendor) == 1


@pytest.mark.parametrize(
    "provider_id", ["wavespeed.think-sound", "vidu.text2audio", "vidu.timing2audio", "flexstack.audiogen"]
)
@pytest.mark.parametrize("status", [500, 502, 504])
def test_server_error_on_submit_is_uncertain_and_never_resent(
    provider_id, status, provider, clip, emu, tmp_path
):
    vendor = provider_info(provider_id).vendor
    emu.inject(vendor, "http_500", count=1, on="submit", status=status)
    with pytest.raises(SubmitUncertainError) as caught:
        _run(provider_id, provider, clip, tmp_path)
    _assert_sentence(caught.value)
    assert "paying twice" in str(caught.value)
    assert submits_sent(emu, vendor) == 1


@pytest.mark.parametrize(
    "provider_id",
    [
        "wavespeed.think-sound",
        "wavespeed.mirelo-sfx",
        "vidu.text2audio",
        "vidu.timing2audio",
        "flexstack.audiogen",
    ],
)
def test_dropped_submit_answer_is_uncertain_and_never_resent(provider_id, provider, clip, emu, tmp_path):
    vendor = provider_info(provider_id).vendor
    emu.inject(vendor, "drop_submit_response")
    with pytest.raises(SubmitUncertainError) as caught:
        _run(provider_id, provider, clip, tmp_path)
    _assert_sentence(caught.value)
    assert emu.submit_count(vendor) == 1 and submits_sent(emu, vendor) == 1


def test_kling_finds_the_task_by_external_id_after_a_dropped_answer(provider, clip, emu, tmp_path):
    emu.inject("kling", "drop_submit_response")
    audio = _run("kling.video-to-audio", provider, clip, tmp_path)
    assert audio.format == "wav"
    assert emu.submit_count("kling") == 1 and submits_sent(emu, "kling") == 1
    submit = next(r for r in emu.requests if r.vendor == "kling" and r.kind == "submit")
    external = submit.json["external_task_id"]
    assert any(r.path.endswith(f"/{external}") for r in emu.requests if r.kind == "poll")


@pytest.mark.parametrize("status", [500, 502, 504])
def test_kling_server_error_on_submit_is_looked_up_and_never_resent(status, provider, clip, emu, tmp_path):
    # Issue 9 changes this: "not found" is no proof, so Kling is never sent the body twice.
    emu.inject("kling", "http_500", count=1, on="submit", status=status)
    with pytest.raises(SubmitUncertainError) as caught:
        _run("kling.video-to-audio", provider, clip, tmp_path)
    _assert_sentence(caught.value)
    assert "may have been charged" in str(caught.value) and "not sent again" in str(caught.value)
    assert submits_sent(emu, "kling") == 1 and emu.submit_count("kling") == 0
    external = next(r.json for r in emu.requests if r.kind == "submit")["external_task_id"]
    assert caught.value.external_task_id == external and external in str(caught.value)
    lookups = [r for r in emu.requests if r.kind == "poll" and r.path.endswith(f"/{external}")]
    assert len(lookups) >= 10  # looked for it for the whole schedule, not once or twice
    assert [r for r in emu.requests if r.kind == "list"]  # and in the task list


def test_kling_slow_submit_answer_is_recovered_not_resent(provider, clip, emu, tmp_path):
    emu.inject("kling", "slow", on="submit", delay=0.4)
    created = provider("kling.video-to-audio", tuning=replace(FAST, read_timeout=0.15, recover_delay=0.05))
    request = request_for("kling.video-to-audio", clip(5.0), 5.0)
    audio = generate(created, request, tmp_path / "take", sleep=time.sleep)  # real waits: it lands late
    assert audio.path.exists()
    assert emu.submit_count("kling") == 1 and submits_sent(emu, "kling") == 1  # found, never resent


def test_slow_submit_answer_elsewhere_is_uncertain(provider, clip, emu, tmp_path):
    emu.inject("vidu", "slow", on="submit", delay=0.4)
    with pytest.raises(SubmitUncertainError):
        _run("vidu.text2audio", provider, clip, tmp_path, tuning=replace(FAST, read_timeout=0.15))
    assert emu.wait_for_submits("vidu", 1, timeout=2.0)  # the slow answer's task lands late
    assert emu.submit_count("vidu") == 1 and submits_sent(emu, "vidu") == 1


@pytest.mark.parametrize("provider_id", FAMILY)
def test_slow_poll_times_out_and_is_retried(provider_id, provider, clip, emu, tmp_path):
    vendor = provider_info(provider_id).vendor
    emu.inject(vendor, "slow", on="poll", delay=0.5)
    assert _run(provider_id, provider, clip, tmp_path, tuning=replace(FAST, read_timeout=0.2)).path.exists()
    assert emu.submit_count(vendor) == 1


@pytest.mark.parametrize("provider_id", POLLED_IDS)
def test_failed_task_reports_the_vendor_reason(provider_id, provider, clip, emu, tmp_path):
    vendor = provider_info(provider_id).vendor
    emu.inject(vendor, "task_fail", message="GPU fell over", err_code="InternalServiceFailure")
    with pytest.raises(TaskFailedError) as caught:
        _run(provider_id, provider, clip, tmp_path)
    _assert_sentence(caught.value)
    expected = "InternalServiceFailure" if vendor == "vidu" else "GPU fell over"
    assert expected in str(caught.value)
    assert emu.submit_count(vendor) == 1


@pytest.mark.parametrize("provider_id", FAMILY)
def test_moderation_is_reported_as_such(provider_id, provider, clip, emu, tmp_path):
    vendor = provider_info(provider_id).vendor
    emu.inject(vendor, "moderation")
    with pytest.raises(ModerationError) as caught:
        _run(provider_id, provider, clip, tmp_path)
    _assert_sentence(caught.value)
    assert submits_sent(emu, vendor) == 1


@pytest.mark.parametrize("provider_id", FAMILY)
def test_no_credits_is_reported_as_such_and_not_retried(provider_id, provider, clip, emu, tmp_path):
    vendor = provider_info(provider_id).vendor
    emu.inject(vendor, "no_credits")
    with pytest.raises(CreditsError) as caught:
        _run(provider_id, provider, clip, tmp_path)
    _assert_sentence(caught.value)
    assert "top it up" in str(caught.value).lower()
    assert submits_sent(emu, vendor) == 1


@pytest.mark.parametrize("provider_id", FAMILY)
def test_short_audio_is_kept_with_a_warning(provider_id, provider, clip, emu, tmp_path):
    vendor = provider_info(provider_id).vendor
    emu.inject(vendor, "short_audio", seconds=1.0)
    progress: list[str] = []
    audio = _run(provider_id, provider, clip, tmp_path, progress=progress)
    assert audio.duration == pytest.approx(1.0, abs=0.05)
    assert any("warning" in line and "1.00 s" in line for line in progress)


@pytest.mark.parametrize("provider_id", EMULATED_PROVIDER_IDS)
def test_truncated_download_is_fetched_again(provider_id, provider, clip, emu, tmp_path):
    vendor = provider_info(provider_id).vendor
    emu.inject(vendor, "truncate_download")
    audio = _run(provider_id, provider, clip, tmp_path)
    assert audio.duration == pytest.approx(5.0, abs=0.05)
    assert emu.submit_count(vendor) == 1


@pytest.mark.parametrize("provider_id", FAMILY)
def test_download_truncated_every_time_fails_clearly(provider_id, provider, clip, emu, tmp_path):
    vendor = provider_info(provider_id).vendor
    emu.inject(vendor, "truncate_download", count=5)
    with pytest.raises(DownloadError, match="incomplete") as caught:
        _run(provider_id, provider, clip, tmp_path)
    _assert_sentence(caught.value)
    assert not list(tmp_path.glob("take*"))  # no partial file left behind
    assert not list(tmp_path.glob(".take*"))


@pytest.mark.parametrize("provider_id", FAMILY)
def test_html_instead_of_audio_is_rejected(provider_id, provider, clip, emu, tmp_path):
    vendor = provider_info(provider_id).vendor
    emu.inject(vendor, "html_download")
    with pytest.raises(DownloadError, match="HTML page") as caught:
        _run(provider_id, provider, clip, tmp_path)
    _assert_sentence(caught.value)
    assert not list(tmp_path.glob("*take*"))


@pytest.mark.parametrize("provider_id", FAMILY)
def test_expired_result_url_is_rejected(provider_id, provider, clip, emu, tmp_path):
    vendor = provider_info(provider_id).vendor
    emu.inject(vendor, "expired_download")
    with pytest.raises(DownloadError, match="no longer available") as caught:
        _run(provider_id, provider, clip, tmp_path)
    _assert_sentence(caught.value)


@pytest.mark.parametrize("provider_id", ["wavespeed.think-sound", "kling.video-to-audio"])
def test_upload_server_errors_are_retried(provider_id, provider, clip, emu, tmp_path):
    emu.inject("wavespeed", "http_500", count=2, on="upload", status=503)
    assert _run(provider_id, provider, clip, tmp_path).path.exists()
    assert emu.submit_count(provider_info(provider_id).vendor) == 1
