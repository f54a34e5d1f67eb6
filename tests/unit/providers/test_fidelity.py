"""Issue 9, item 6: the smaller fidelity fixes, each against the emulator or the document.

- Kling: the rendered clip's own length (mvhd) is checked against exactly 3.0-20.0 s, and its
  size against "≤100MB" read as 100 * 10^6 bytes (the smaller reading);
- FlexStack: the token refresh sends the access token as ``Authorization: Bearer``, as the
  official SDK does (flexstack/flexstackapi.py ``refresh_token``);
- WaveSpeed: a moderation failure is recognised from the task's error code 1200, whatever
  its words;
- a 404 for a task the vendor accepted says what is true: the vendor no longer has it; Retry
  asks again at no charge, generating again pays again.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from providers_testkit import EngineRun, generate, make_mp4, request_for

from devtools.emulator import VendorEmulator
from vse_foley.core.jobs import JobState
from vse_foley.providers.errors import AuthError, InputError, ModerationError, TaskGoneError
from vse_foley.providers.kling import MAX_CLIP_BYTES

# -- Kling clip length and size ---------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [3.0, 20.0])
def test_kling_accepts_a_clip_of_exactly_3_or_20_seconds(seconds, provider, clip, emu):
    created = provider("kling.video-to-audio")
    created.validate(request_for("kling.video-to-audio", clip(seconds), seconds))
    assert emu.requests == []


@pytest.mark.parametrize(("seconds", "shown"), [(2.999, "2.9990"), (20.001, "20.0010")])
def test_kling_refuses_a_clip_a_millisecond_outside_3_to_20_seconds(
    seconds, shown, provider, clip, emu, tmp_path
):
    # The range itself is fine (3.0 / 20.0 s): the rendered file is what Kling measures.
    request = request_for("kling.video-to-audio", clip(seconds), round(seconds))
    with pytest.raises(InputError) as caught:
        generate(provider("kling.video-to-audio"), request, tmp_path / "t")
    assert f"clip lasts {shown} s" in str(caught.value) and "nothing was sent" in str(caught.value)
    assert emu.requests == []


def test_kling_refuses_a_clip_whose_length_cannot_be_read(provider, clip, emu, tmp_path):
    request = request_for("kling.video-to-audio", clip(0.0), 5.0)  # mvhd duration 0: unknown
    with pytest.raises(InputError, match="cannot be read"):
        generate(provider("kling.video-to-audio"), request, tmp_path / "t")
    assert emu.requests == []


def _clip_of_size(path: Path, size: int) -> Path:
    make_mp4(path, 5.0)
    os.truncate(path, size)  # sparse: the length is what counts, not the bytes
    return path


def test_kling_size_limit_is_100_million_bytes(provider, emu, tmp_path):
    assert MAX_CLIP_BYTES == 100 * 1000 * 1000  # "≤100MB": MB = 10^6, the smaller reading
    created = provider("kling.video-to-audio")
    fits = _clip_of_size(tmp_path / "fits.mp4", MAX_CLIP_BYTES)
    created.validate(request_for("kling.video-to-audio", fits, 5.0))
    over = _clip_of_size(tmp_path / "over.mp4", MAX_CLIP_BYTES + 1)
    with pytest.raises(InputError, match="at most 100 MB"):
        created.validate(request_for("kling.video-to-audio", over, 5.0))
    assert emu.requests == []


# -- FlexStack refresh --------------------------------------------------------------------------------


def test_flexstack_refresh_sends_the_bearer_token_like_the_sdk(emu, provider, tmp_path):
    created = provider("flexstack.audiogen")
    emu.flexstack_token_ttl = 0.0  # the login's token is expired on arrival: the first call refreshes
    try:
        with pytest.raises(AuthError):  # every refreshed token is expired too; what matters is the refresh
            generate(created, request_for("flexstack.audiogen", duration=2.0), tmp_path / "t")
    finally:
        emu.flexstack_token_ttl = 3600.0
    login = next(r for r in emu.requests if r.path == "/user/login")
    refresh = next(r for r in emu.requests if r.path == "/user/refresh_token")
    assert login.time < refresh.time
    submit = next(r for r in emu.requests if r.kind == "submit")
    rejected = submit.headers["Authorization"]
    assert rejected.startswith("Bearer ") and refresh.headers.get("Authorization") == rejected
    assert emu.submit_count("flexstack") == 0


def test_flexstack_refresh_then_succeeds(emu, provider, tmp_path):
    created = provider("flexstack.audiogen")
    emu.flexstack_token_ttl = 0.0
    try:
        created.validate(request_for("flexstack.audiogen", duration=2.0))
        created._token()  # logs in; the token it holds is already expired
    finally:
        emu.flexstack_token_ttl = 3600.0  # the refreshed one is good
    audio = generate(created, request_for("flexstack.audiogen", duration=2.0), tmp_path / "t")
    assert audio.path.exists() and emu.submit_count("flexstack") == 1
    paths = [r.path for r in emu.requests if r.kind == "auth"]
    assert paths == ["/user/login", "/user/refresh_token"]  # refreshed, not logged in again


# -- WaveSpeed moderation by code --------------------------------------------------------------------


def test_wavespeed_moderation_is_recognised_by_its_code_not_its_words(emu, provider, clip, tmp_path):
    emu.inject("wavespeed", "task_fail", message="The task could not be completed", err_code="1200")
    with pytest.raises(ModerationError) as caught:
        generate(
            provider("wavespeed.think-sound"), request_for("wavespeed.think-sound", clip(5.0)), tmp_path / "t"
        )
    assert caught.value.vendor_code == 1200
    assert emu.submit_count("wavespeed") == 1


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"code": 200, "data": {"status": "failed", "error": "1200: flagged"}}, 1200),
        ({"code": 200, "data": {"status": "failed", "error": {"code": 1200, "message": "x"}}}, 1200),
        ({"code": 200, "data": {"status": "failed", "error_code": "1200", "error": "x"}}, 1200),
        ({"code": 1403, "data": {"status": "failed", "error": "x"}}, 1403),
        ({"code": 200, "data": {"status": "failed", "error": "took 1200 ms"}}, None),
    ],
)
def test_wavespeed_task_error_code_is_read_wherever_it_is(body, code):
    from vse_foley.providers.wavespeed import task_error_code

    assert task_error_code(body, body["data"]) == code


# -- 404 on a known task --------------------------------------------------------------------------------

BY_VENDOR = {
    "wavespeed": "wavespeed.think-sound",
    "kling": "kling.video-to-audio",
    "vidu": "vidu.text2audio",
    "flexstack": "flexstack.audiogen",
}


@pytest.mark.parametrize("vendor", list(BY_VENDOR))
def test_a_404_on_a_known_task_says_the_vendor_no_longer_has_it_and_retry_is_free(
    vendor, emu: VendorEmulator, tmp_path: Path
):
    provider_id = BY_VENDOR[vendor]
    emu.min_polls = 10**6  # the task keeps running until the test says otherwise
    run = EngineRun(emu, tmp_path)
    engine = run.engine
    try:
        job = run.job(provider_id)  # 5 s at 25 fps
        assert emu.wait_for_submits(vendor, 1, timeout=30)  # until the vendor has the task
        task = emu.vendor_tasks(vendor)[0]
        emu.forget_task(task.task_id)
        assert engine.wait([job.id], timeout=30)
        failed = engine.get(job.id)
        assert failed is not None and failed.state == JobState.FAILED
        assert failed.error_kind == TaskGoneError.__name__
        assert "no longer has task" in failed.error and task.task_id in failed.error
        assert "Retry checks it again without a new charge" in failed.error
        assert "new, paid task" in failed.error and "Generate again" not in failed.error
        # Retry polls the same task (no new submit); here the vendor still does not have it.
        assert engine.retry(job.id).id == job.id
        assert engine.wait([job.id], timeout=30)
        assert emu.submit_count(vendor) == 1 and sum(1 for r in emu.requests if r.kind == "submit") == 1
    finally:
        run.close()
