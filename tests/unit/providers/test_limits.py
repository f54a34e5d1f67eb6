"""Every documented limit is enforced before anything is sent: the emulator sees no request at all."""

from __future__ import annotations

from pathlib import Path

import pytest
from providers_testkit import generate, request_for

from vse_foley.providers.base import TimedEvent
from vse_foley.providers.errors import ConfigError, FoleyError, InputError

LONG_200 = "x" * 201
LONG_1500 = "y" * 1501

# (provider id, clip seconds or None, request overrides, words the sentence must contain)
CASES = [
    # WaveSpeed ThinkSound / Hunyuan: seed range
    ("wavespeed.think-sound", 5.0, {"seed": 2147483648}, "at most 2147483647"),
    ("wavespeed.think-sound", 5.0, {"seed": -2}, "at least -1"),
    ("wavespeed.hunyuan-video-foley", 5.0, {"seed": -7}, "at least -1"),
    ("wavespeed.hunyuan-video-foley", 16.0, {"duration": 16.0}, "1–15 s"),
    # MMAudio: prompt required, steps 4-50, guidance 0-20, duration 1-30
    ("wavespeed.mmaudio-v2", 8.0, {"prompt": "", "duration": 8.0}, "must not be empty"),
    ("wavespeed.mmaudio-v2", 8.0, {"duration": 8.0, "options": {"num_inference_steps": 3}}, "at least 4"),
    ("wavespeed.mmaudio-v2", 8.0, {"duration": 8.0, "options": {"num_inference_steps": 51}}, "at most 50"),
    ("wavespeed.mmaudio-v2", 8.0, {"duration": 8.0, "options": {"guidance_scale": 20.5}}, "at most 20"),
    ("wavespeed.mmaudio-v2", 31.0, {"duration": 31.0}, "1–30 s"),
    # Kling through WaveSpeed: same model limits
    ("wavespeed.kling-video-to-audio", 5.0, {"prompt": LONG_200}, "at most 200"),
    ("wavespeed.kling-video-to-audio", 5.0, {"bgm_prompt": LONG_200}, "at most 200"),
    ("wavespeed.kling-video-to-audio", 2.5, {"duration": 2.5}, "3–20 s"),
    ("wavespeed.mirelo-sfx", 5.0, {"duration": 601.0}, "1–600 s"),
    # Kling direct: 3-20 s (range and clip), prompts <= 200, exactly one video
    ("kling.video-to-audio", 5.0, {"duration": 2.9}, "3–20 s"),
    ("kling.video-to-audio", 5.0, {"duration": 20.5}, "3–20 s"),
    ("kling.video-to-audio", 2.0, {"duration": 5.0}, "clip lasts 2.00 s"),
    ("kling.video-to-audio", 21.0, {"duration": 5.0}, "clip lasts 21.00 s"),
    ("kling.video-to-audio", 5.0, {"prompt": LONG_200}, "201 characters"),
    ("kling.video-to-audio", 5.0, {"bgm_prompt": LONG_200}, "music prompt"),
    ("kling.video-to-audio", 5.0, {"options": {"video_id": "860000001"}}, "exactly one"),
    ("kling.video-to-audio", None, {}, "needs a video clip"),
    # Vidu text2audio: prompt required <= 1500, duration 2-10, seed >= -1
    ("vidu.text2audio", None, {"prompt": ""}, "must not be empty"),
    ("vidu.text2audio", None, {"prompt": LONG_1500}, "at most 1500"),
    ("vidu.text2audio", None, {"duration": 1.9}, "at least 2"),
    ("vidu.text2audio", None, {"duration": 10.5}, "at most 10"),
    ("vidu.text2audio", None, {"seed": -3}, "seed"),
    ("vidu.text2audio", None, {"seed": 2**31}, "at most 2147483647"),
    # Vidu timing2audio: events inside [0, duration], from < to, prompt <= 1500, at least one
    ("vidu.timing2audio", None, {"events": ()}, "at least one"),
    (
        "vidu.timing2audio",
        None,
        {"duration": 5.0, "events": (TimedEvent(1.0, 6.0, "rain"),)},
        "after the 5 s",
    ),
    ("vidu.timing2audio", None, {"events": (TimedEvent(-0.5, 1.0, "rain"),)}, "at least 0"),
    ("vidu.timing2audio", None, {"events": (TimedEvent(2.0, 2.0, "rain"),)}, "end after it starts"),
    ("vidu.timing2audio", None, {"events": (TimedEvent(0.0, 1.0, LONG_1500),)}, "at most 1500"),
    ("vidu.timing2audio", None, {"events": (TimedEvent(0.0, 1.0, ""),)}, "must not be empty"),
    ("vidu.timing2audio", None, {"duration": 11.0}, "at most 10"),
    # FlexStack: prompt required, model choice, duration whole seconds 1-300, top_k >= 1, top_p 0-1
    ("flexstack.audiogen", None, {"prompt": ""}, "must not be empty"),
    ("flexstack.audiogen", None, {"options": {"model": "speechgen"}}, "'audiogen' or 'musicgen'"),
    ("flexstack.audiogen", None, {"options": {"top_k": 0}}, "at least 1"),
    ("flexstack.audiogen", None, {"options": {"top_p": 1.5}}, "at most 1"),
    ("flexstack.audiogen", None, {"duration": 301.0}, "at most 300"),
]


@pytest.mark.parametrize(
    ("provider_id", "clip_seconds", "overrides", "words"),
    CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)],
)
def test_limit_is_rejected_before_any_request(
    provider_id, clip_seconds, overrides, words, provider, clip, emu, tmp_path: Path
):
    overrides = dict(overrides)
    duration = overrides.pop("duration", clip_seconds or 5.0)
    clip_path = clip(clip_seconds) if clip_seconds is not None else None
    request = request_for(provider_id, clip_path, duration, **overrides)
    with pytest.raises(InputError) as caught:
        generate(provider(provider_id), request, tmp_path / "take")
    message = str(caught.value)
    assert words in message, message
    assert "nothing was sent" in message or "render" in message or "needs" in message, message
    assert emu.requests == []


def test_kling_clip_over_100_mb_is_rejected_before_upload(provider, clip, emu, tmp_path: Path):
    big = clip(5.0, padding=100 * 1024 * 1024 + 1)
    with pytest.raises(InputError, match="at most 105 MB|accepts at most") as caught:
        generate(
            provider("kling.video-to-audio"), request_for("kling.video-to-audio", big, 5.0), tmp_path / "t"
        )
    assert "MB" in str(caught.value)
    assert emu.requests == []


@pytest.mark.parametrize("name", ["clip.avi", "clip.mp4"])
def test_not_an_mp4_is_rejected(name, provider, emu, tmp_path: Path):
    path = tmp_path / name
    path.write_bytes(b"RIFF\0\0\0\0AVI LIST" + b"\0" * 64)
    with pytest.raises(InputError, match="not a readable MP4 or MOV"):
        generate(
            provider("kling.video-to-audio"), request_for("kling.video-to-audio", path, 5.0), tmp_path / "t"
        )
    assert emu.requests == []


def test_missing_clip_file_is_rejected(provider, emu, tmp_path: Path):
    request = request_for("wavespeed.think-sound", tmp_path / "gone.mp4", 5.0)
    with pytest.raises(InputError, match="does not exist"):
        generate(provider("wavespeed.think-sound"), request, tmp_path / "t")
    assert emu.requests == []


@pytest.mark.parametrize(
    ("provider_id", "drop", "words"),
    [
        (
            "wavespeed.think-sound",
            "WAVESPEED_API_KEY",
            "Set WAVESPEED_API_KEY or Edit ▸ Preferences ▸ Add-ons ▸ VSE Foley ▸ WaveSpeed API key",
        ),
        ("kling.video-to-audio", "KLING_SECRET_KEY", "KLING_SECRET_KEY (Kling secret key) is missing"),
        ("vidu.text2audio", "VIDU_API_KEY", "Set VIDU_API_KEY or Edit ▸ Preferences"),
        ("flexstack.audiogen", "FLEXSTACK_PASSWORD", "FLEXSTACK_ACCESS_TOKEN, or FLEXSTACK_USERNAME and"),
    ],
)
def test_missing_key_names_the_variable_and_the_preference(
    provider_id, drop, words, provider, clip, emu, tmp_path: Path
):
    environ = {k: v for k, v in emu.environ().items() if k != drop}
    request = request_for(
        provider_id, clip(5.0) if provider_id.split(".")[0] in ("wavespeed", "kling") else None
    )
    with pytest.raises(ConfigError) as caught:
        generate(provider(provider_id, environ=environ), request, tmp_path / "t")
    assert words in str(caught.value)
    assert emu.requests == []


def test_direct_kling_without_upload_host_fails_before_spending(provider, clip, emu, tmp_path: Path):
    # no key that gives an upload host: neither WaveSpeed's nor fal.ai's (issue 14)
    environ = {k: v for k, v in emu.environ().items() if k not in ("WAVESPEED_API_KEY", "FAL_KEY")}
    with pytest.raises(ConfigError) as caught:
        generate(
            provider("kling.video-to-audio", environ=environ),
            request_for("kling.video-to-audio", clip(5.0)),
            tmp_path / "t",
        )
    message = str(caught.value)
    assert "WAVESPEED_API_KEY" in message and "wavespeed.kling-video-to-audio" in message
    assert emu.requests == []


def test_upload_host_none_is_respected(provider, clip, emu, tmp_path: Path):
    with pytest.raises(ConfigError, match="'none'"):
        generate(
            provider("kling.video-to-audio", prefs={"upload_host": "none"}),
            request_for("kling.video-to-audio", clip(5.0)),
            tmp_path / "t",
        )
    assert emu.requests == []


def test_kling_video_id_needs_no_upload(provider, emu, tmp_path: Path):
    """A Kling-generated video id is accepted instead of a clip (the other half of "exactly one")."""
    request = request_for("kling.video-to-audio", None, 5.0, options={"video_id": "860000001"})
    try:
        generate(provider("kling.video-to-audio"), request, tmp_path / "t")
    except FoleyError as exc:  # the emulator may not know this id; what matters is what was sent
        assert "video" in str(exc).lower()
    submits = [r for r in emu.requests if r.kind == "submit"]
    assert not [r for r in emu.requests if r.kind == "upload"]
    assert submits and submits[0].json.get("video_id") == "860000001" and "video_url" not in submits[0].json
