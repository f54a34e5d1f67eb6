"""Issue 14 item 4: the newer WaveSpeed models send only the fields their pages confirm."""

from __future__ import annotations

import pytest
from providers_testkit import generate, request_for

from vse_foley.providers.errors import InputError


def submits(emu):
    return [r for r in emu.requests if r.vendor == "wavespeed" and r.kind == "submit"]


def test_sonilo_sends_the_clip_prompt_and_asks_for_wav(provider, clip, emu, tmp_path):
    pid = "wavespeed.sonilo-video-to-sfx"
    audio = generate(provider(pid), request_for(pid, clip(6.0), 6.0), tmp_path / "out" / "s")
    assert audio.format == "wav" and audio.duration == pytest.approx(6.0, abs=0.05)  # follows the clip
    (sent,) = submits(emu)
    assert sent.path == "/api/v3/sonilo/v1/video-to-sfx"
    assert set(sent.json) == {"video", "prompt", "audio_format"} and sent.json["audio_format"] == "wav"


def test_sonilo_limits_are_checked_before_anything_is_sent(provider, clip, emu):
    pid = "wavespeed.sonilo-video-to-sfx"
    with pytest.raises(InputError, match="2000"):
        provider(pid).validate(request_for(pid, clip(5.0), 5.0, prompt="x" * 2001))
    with pytest.raises(InputError, match="1–180 s"):
        provider(pid).validate(request_for(pid, clip(181.0), 181.0))
    assert submits(emu) == []


def test_kling_text_to_audio_sends_no_video(provider, emu, tmp_path):
    pid = "wavespeed.kling-text-to-audio"
    audio = generate(provider(pid), request_for(pid, None, 4.5), tmp_path / "out" / "k")
    assert audio.duration == pytest.approx(4.5, abs=0.05)
    (sent,) = submits(emu)
    assert sent.path == "/api/v3/kwaivgi/kling-text-to-audio"
    assert sent.json == {"prompt": "footsteps on gravel", "duration": 4.5}
    assert not [r for r in emu.requests if r.kind == "upload"]


def test_kling_text_to_audio_refuses_what_kling_does_not_take(provider, emu):
    pid = "wavespeed.kling-text-to-audio"
    with pytest.raises(InputError, match="3–10 s"):
        provider(pid).validate(request_for(pid, None, 12.0))
    with pytest.raises(InputError, match="200"):
        provider(pid).validate(request_for(pid, None, 5.0, prompt="y" * 201))
    with pytest.raises(InputError, match="must not be empty"):
        provider(pid).validate(request_for(pid, None, 5.0, prompt=" "))
    assert emu.requests == []
