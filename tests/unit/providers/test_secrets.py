"""No key, token, password or JWT in any log line, exception text or requested URL, across many runs."""

from __future__ import annotations

import base64
import logging
import re
from pathlib import Path

import pytest
from providers_testkit import generate, request_for

from vse_foley.providers import PROVIDER_IDS, provider_info
from vse_foley.providers.errors import FoleyError
from vse_foley.providers.redaction import Redactor, safe_url
from vse_foley.providers.settings import Secret, resolve_settings

FAMILY = ("wavespeed.think-sound", "kling.video-to-audio", "vidu.timing2audio", "flexstack.audiogen")
JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")

SCENARIOS = [
    None,
    ("http_500", {"on": "poll"}),
    ("http_429", {"on": "submit", "retry_after": 0}),
    ("task_fail", {"message": "failed"}),
    ("moderation", {}),
    ("no_credits", {}),
    ("drop_submit_response", {}),
    ("lose_submit_answer", {"status": 504}),
    ("html_download", {}),
]


def test_no_secret_anywhere(provider, clip, emu, tmp_path: Path, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)  # urllib3 included: its request lines carry paths and queries
    environ = emu.environ()
    secrets = {
        environ[name]
        for name in (
            "WAVESPEED_API_KEY",
            "KLING_ACCESS_KEY",
            "KLING_SECRET_KEY",
            "VIDU_API_KEY",
            "FLEXSTACK_PASSWORD",
        )
    }
    basic = base64.b64encode(
        f"{environ['FLEXSTACK_USERNAME']}:{environ['FLEXSTACK_PASSWORD']}".encode()
    ).decode()
    secrets.add(basic)
    texts: list[str] = []
    outcomes = 0
    for scenario in SCENARIOS:
        for provider_id in PROVIDER_IDS if scenario is None else FAMILY:
            vendor = provider_info(provider_id).vendor
            if scenario is not None:
                fault, params = scenario
                emu.inject(vendor, fault, **params)
            clip_path = clip(4.0) if provider_info(provider_id).needs_video else None
            created = provider(provider_id)
            try:
                generate(
                    created,
                    request_for(provider_id, clip_path, 4.0),
                    tmp_path / provider_id / "take",
                    on_progress=texts.append,
                )
            except FoleyError as exc:
                texts.extend([str(exc), repr(exc), str(exc.args)])
                if exc.__cause__ is not None:
                    texts.append(repr(exc.__cause__))
            outcomes += 1
            emu.reset()
            # Tokens issued during the run (FlexStack logins) are secrets too.
            token = getattr(created, "_access", "")
            if token:
                secrets.add(token)
    assert outcomes == len(PROVIDER_IDS) + (len(SCENARIOS) - 1) * len(FAMILY)
    logged = [record.getMessage() for record in caplog.records]
    urls = [r.path + "?" + "&".join(f"{k}={v}" for k, v in r.query.items()) for r in emu.requests]
    haystack = "\n".join(texts + logged + urls)
    assert logged, "nothing was logged: the test would prove nothing"
    for secret in secrets:
        assert secret not in haystack, f"a secret leaked ({len(secret)} chars)"
    assert not JWT_SHAPE.search(haystack)


def test_result_urls_are_logged_without_their_signed_query(caplog: pytest.LogCaptureFixture):
    url = "https://cdn.example.com/a/b.wav?X-Amz-Signature=abcdef123456&X-Amz-Credential=KEY"
    assert safe_url(url) == "https://cdn.example.com/a/b.wav"
    assert safe_url("https://user:pw@host:8443/p?q=1#f") == "https://host:8443/p"
    caplog.set_level(logging.DEBUG)
    logging.getLogger("urllib3.connectionpool").debug(
        '%s://%s:%s "%s %s %s" %s %s',
        "https",
        "cdn",
        443,
        "GET",
        "/a/b.wav?X-Amz-Signature=abcdef123456",
        "HTTP/1.1",
        200,
        9,
    )
    assert "abcdef123456" not in caplog.text


def test_redactor_hides_known_secrets_jwts_and_auth_headers():
    redact = Redactor(["sk-live-123456"])
    token = "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJhayJ9.c2lnbmF0dXJlc2lnbmF0dXJl"
    text = redact(f"key sk-live-123456 jwt {token} header Bearer abcdefghijklmnop, Token zyxwvutsrqpo")
    assert "sk-live-123456" not in text and token not in text
    assert "abcdefghijklmnop" not in text and "zyxwvutsrqpo" not in text


def test_secret_wrapper_never_shows_its_value():
    secret = Secret("  hunter2-very-secret ")
    assert secret.reveal() == "hunter2-very-secret"
    assert "hunter2" not in repr(secret) and "hunter2" not in str(secret) and "hunter2" not in f"{secret}"
    settings = resolve_settings({"wavespeed_api_key": "ws-abcdef"}, {"KLING_SECRET_KEY": "kling-sk-xyz"})
    assert "ws-abcdef" not in repr(settings) and "kling-sk-xyz" not in repr(settings)
