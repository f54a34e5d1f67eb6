"""The checks behind the Generate panel, on plain values (core/checks.py): no Blender needed."""

from __future__ import annotations

import pytest

from vse_foley.core import checks
from vse_foley.providers import provider_info
from vse_foley.providers.vendor_spec import PREFS_PATH

NO_ENV: dict[str, str] = {}


@pytest.mark.parametrize(
    ("vendor", "prefs", "sentence"),
    [
        (
            "wavespeed",
            {},
            f"No WaveSpeed API key is set. Set WAVESPEED_API_KEY or {PREFS_PATH} ▸ WaveSpeed API key.",
        ),
        ("vidu", {}, f"No Vidu API key is set. Set VIDU_API_KEY or {PREFS_PATH} ▸ Vidu API key."),
        (
            "kling",
            {"kling_secret_key": "s"},
            "Kling needs both keys and KLING_ACCESS_KEY (Kling access key) is missing. "
            f"Set KLING_ACCESS_KEY and KLING_SECRET_KEY or {PREFS_PATH} ▸ Kling access key / secret key.",
        ),
        (
            "kling",
            {},
            "Kling needs both keys and KLING_ACCESS_KEY (Kling access key) and KLING_SECRET_KEY "
            "(Kling secret key) are missing. Set KLING_ACCESS_KEY and KLING_SECRET_KEY or "
            f"{PREFS_PATH} ▸ Kling access key / secret key.",
        ),
        (
            "flexstack",
            {"flexstack_username": "u"},
            "No FlexStack credentials are set. Set FLEXSTACK_ACCESS_TOKEN, or FLEXSTACK_USERNAME and "
            f"FLEXSTACK_PASSWORD, or fill them in {PREFS_PATH} ▸ FlexStack.",
        ),
    ],
)
def test_a_missing_key_is_the_sentence_it_always_was(
    vendor: str, prefs: dict[str, str], sentence: str
) -> None:
    assert checks.credential_problem(vendor, prefs, NO_ENV) == sentence


@pytest.mark.parametrize(
    ("vendor", "environ"),
    [
        ("wavespeed", {"WAVESPEED_API_KEY": "k"}),
        ("kling", {"KLING_ACCESS_KEY": "a", "KLING_SECRET_KEY": "s"}),
        ("vidu", {"VIDU_API_KEY": "k"}),
        ("flexstack", {"FLEXSTACK_ACCESS_TOKEN": "t"}),
        ("flexstack", {"FLEXSTACK_USERNAME": "u", "FLEXSTACK_PASSWORD": "p"}),
    ],
)
def test_set_credentials_are_no_problem(vendor: str, environ: dict[str, str]) -> None:
    assert checks.credential_problem(vendor, {}, environ) == ""


def test_an_unusable_base_url_or_region_is_the_problem_shown() -> None:
    assert "VSE_FOLEY_VIDU_URL" in checks.credential_problem(
        "vidu", {}, {"VSE_FOLEY_VIDU_URL": "http://x.example"}
    )
    assert "mars" in checks.credential_problem("kling", {"kling_region": "mars"}, NO_ENV)
    assert "Unknown vendor 'nobody'" in checks.credential_problem("nobody", {}, NO_ENV)


KLING_KEYS = {"KLING_ACCESS_KEY": "a", "KLING_SECRET_KEY": "s"}


def test_direct_kling_needs_an_upload_host() -> None:
    none = checks.provider_problem("kling.video-to-audio", {"upload_host": "none"}, KLING_KEYS)
    assert none.startswith("Direct Kling needs the clip at a public URL, but the clip upload host is 'None'.")
    assert none.endswith("or use the provider Kling video-to-audio (WaveSpeed).")
    no_key = checks.provider_problem("kling.video-to-audio", {}, KLING_KEYS)
    # issue 14: the sentence names every way to an upload host: a WaveSpeed key, your bucket, a fal.ai key
    assert no_key == (
        "Direct Kling uploads the clip through WaveSpeed, S3 or fal.ai, and none is set up. Set "
        "WAVESPEED_API_KEY; or VSE_FOLEY_S3_ENDPOINT + VSE_FOLEY_S3_BUCKET + AWS_ACCESS_KEY_ID + "
        "AWS_SECRET_ACCESS_KEY; or FAL_KEY (or fill them in the add-on preferences)."
    )
    assert checks.provider_problem("kling.video-to-audio", {}, {**KLING_KEYS, "WAVESPEED_API_KEY": "w"}) == ""
    assert checks.provider_problem("kling.video-to-audio", {}, {**KLING_KEYS, "FAL_KEY": "f"}) == ""
    # the key problem comes first; vendors that need no upload host never get the upload sentence
    assert "KLING_ACCESS_KEY" in checks.provider_problem(
        "kling.video-to-audio", {"upload_host": "none"}, NO_ENV
    )
    assert checks.upload_problem("vidu", {"upload_host": "none"}, NO_ENV) == ""


def test_field_problems_say_what_the_provider_refuses() -> None:
    mmaudio = provider_info("wavespeed.mmaudio-v2")
    problems = checks.field_problems(
        mmaudio, {"prompt": " ", "num_inference_steps": 3, "guidance_scale": 4.5}
    )
    assert problems == [
        "MMAudio v2 (WaveSpeed) needs a prompt: describe what should be heard.",
        "Steps is 3; MMAudio v2 (WaveSpeed) allows 4–50.",
    ]
    kling = provider_info("kling.video-to-audio")
    assert checks.field_problems(kling, {"prompt": "x" * 205}) == [
        "Sound effect prompt is 205 characters; Kling video-to-audio allows 200. Shorten it by 5."
    ]
    assert checks.field_problems(kling, None) == []
    vidu = provider_info("vidu.text2audio")
    assert (
        checks.field_problems(vidu, {"prompt": "rain", "seed": -1, "duration": 0}) == []
    )  # random, range length
    assert checks.field_problems(vidu, {"prompt": "rain", "duration": 12.0}) == [
        "Duration is 12 s; Vidu text to audio allows 2–10 s."
    ]


def test_limit_text_and_characters_left() -> None:
    info = provider_info("vidu.text2audio")
    seed, prompt = info.field("seed"), info.field("prompt")
    assert seed is not None and prompt is not None
    assert checks.limit_text(seed) == "0–2147483647"  # -1 is the Random toggle
    assert checks.characters_left(prompt, "abc") == 1497


def test_range_problems_and_notes() -> None:
    kling = provider_info("kling.video-to-audio")
    assert checks.range_problems(kling, 2.0, {}) == [
        "The range is 2.00 s; Kling video-to-audio needs at least 3 s. Select longer strips or set a longer "
        "preview range."
    ]
    assert checks.range_problems(kling, 60.0, {}) == []  # long ranges are chunked, not refused
    [note] = checks.range_notes(kling, 60.0, {})
    assert note.startswith("Longer than Kling video-to-audio's maximum (20 s): made as ")
    assert checks.range_problems(kling, None, {}) == [] and checks.range_notes(kling, None, {}) == []


def test_a_timeline_provider_needs_events() -> None:
    timed = provider_info("vidu.timing2audio")
    values = {"duration": 0.0, "seed": -1}
    assert any("no sound events" in p for p in checks.range_problems(timed, 5.0, values, event_count=0))
    assert checks.range_problems(timed, 5.0, values, event_count=None) == []  # unknown: not claimed
    assert checks.range_notes(timed, 5.0, values, event_count=2) == [
        "2 sound events from text strips and markers."
    ]
    text = provider_info("vidu.text2audio")
    assert checks.range_notes(text, 5.0, {"duration": 0.0}) == [
        "Made from the prompt alone (no picture), placed at the range start."
    ]


def test_generate_blockers_most_fundamental_first() -> None:
    base = {
        "prefs": {},
        "values": {"prompt": "rain", "duration": 0.0, "seed": -1},
        "range_seconds": 5.0,
        "environ": NO_ENV,
    }
    scene = checks.generate_blockers(
        online=False, scene_problem="Open a scene.", provider_id="vidu.text2audio", **base
    )
    assert [b.kind for b in scene] == ["offline", "scene"]
    assert "Allow Online Access" in scene[0].text
    unknown = checks.generate_blockers(online=True, scene_problem="", provider_id="nope", **base)
    assert [b.kind for b in unknown] == ["input"] and "Unknown provider 'nope'" in unknown[0].text
    short = {**base, "range_seconds": 1.0}
    blockers = checks.generate_blockers(
        online=True,
        scene_problem="",
        provider_id="vidu.text2audio",
        requests_problem="Too many paid calls.",
        **short,
    )
    assert [b.kind for b in blockers] == ["key", "input", "requests"]
    assert "VIDU_API_KEY" in blockers[0].text
    ready = checks.generate_blockers(
        online=True,
        scene_problem="",
        provider_id="vidu.text2audio",
        **{**base, "environ": {"VIDU_API_KEY": "k"}},
    )
    assert ready == []


def test_env_is_set_ignores_blank_values() -> None:
    assert checks.env_is_set("A", {"A": "x"}) and not checks.env_is_set("A", {"A": "  "})
    assert not checks.env_is_set("A", {})
