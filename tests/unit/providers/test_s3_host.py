"""The S3-compatible upload host against a real server that verifies SigV4 (nanio on 127.0.0.1).

Every check here is one the server makes itself: a wrong secret, a tampered or foreign link
and an anonymous read are refused by the server, not by our code.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

import pytest
import requests
from providers_testkit import FAST, generate, request_for

from devtools.s3_server import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY
from vse_foley.providers.connection_test import check_connection
from vse_foley.providers.errors import AuthError, ConfigError, FoleyError
from vse_foley.providers.kling import UPLOADED_CLIP
from vse_foley.providers.s3_host import S3UploadHost
from vse_foley.providers.settings import resolve_settings
from vse_foley.providers.upload_hosts import select_upload_host

ROOT = Path(__file__).resolve().parents[3]
KLING_ONLY = ("KLING_ACCESS_KEY", "KLING_SECRET_KEY", "VSE_FOLEY_KLING_URL")


@pytest.fixture
def s3(s3_server):
    """The session's server; each test writes under a prefix of its own."""
    prefix = f"t-{uuid.uuid4().hex[:8]}/"
    return s3_server, prefix, s3_server.environ(VSE_FOLEY_S3_PREFIX=prefix)


def _host(environ: dict[str, str], prefs: dict[str, str] | None = None) -> S3UploadHost:
    host = select_upload_host(resolve_settings(prefs or {}, environ, FAST))
    assert isinstance(host, S3UploadHost)
    return host


def _secret_forms() -> set[str]:
    return {SECRET_ACCESS_KEY, quote(SECRET_ACCESS_KEY, safe=""), quote_plus(SECRET_ACCESS_KEY)}


def test_clip_is_private_and_reachable_only_through_the_expiring_link(s3, clip):
    server, prefix, environ = s3
    host = _host(environ)
    video = clip(4.0)
    url = host.upload(video)

    (key,) = server.keys(prefix)
    assert key.startswith(f"{prefix}clip-") and key.endswith(".mp4")
    assert server.get(key) == video.read_bytes()
    assert requests.get(f"{server.endpoint}/{server.bucket}/{key}", timeout=5).status_code == 403  # private
    answer = requests.get(url, timeout=5)
    assert answer.status_code == 200 and answer.content == video.read_bytes()
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["3600"] and query["X-Amz-Credential"][0].startswith(ACCESS_KEY_ID)
    assert not any(form in url for form in _secret_forms())  # only the signature, never the secret
    other = url.replace(key.rsplit("/", 1)[1], f"clip-{uuid.uuid4().hex}.mp4")
    assert requests.get(other, timeout=5).status_code == 403  # the signature covers the key


def test_wrong_secret_is_refused_by_the_server(s3, clip):
    server, prefix, environ = s3
    host = _host({**environ, "AWS_SECRET_ACCESS_KEY": "not-the-secret-at-all"})
    with pytest.raises(AuthError) as refused:
        host.upload(clip(4.0))
    assert "SignatureDoesNotMatch" in str(refused.value) and "AWS_SECRET_ACCESS_KEY" in str(refused.value)
    assert server.keys(prefix) == []
    # A link signed with the wrong secret opens nothing either.
    right = _host(environ)
    url = right.upload(clip(4.0))
    forged = host.presigned_get(right.own_key(url) or "")
    assert requests.get(forged, timeout=5).status_code == 403
    assert requests.get(url, timeout=5).status_code == 200


def test_release_deletes_our_clip_and_nothing_else(s3, clip):
    server, prefix, environ = s3
    host = _host(environ)
    url = host.upload(clip(4.0))
    server.request("PUT", f"/{server.bucket}/{prefix}keep-me.mp4", b"not ours")
    foreign = f"{server.endpoint}/{server.bucket}/{prefix}keep-me.mp4"
    assert host.release(foreign) is False
    assert host.release(url.replace("127.0.0.1", "localhost")) is False  # another host's URL
    assert host.release(url) is True
    assert server.keys(prefix) == [f"{prefix}keep-me.mp4"]
    assert requests.get(url, timeout=5).status_code == 404
    assert host.release(url) is True  # already gone counts as released


@pytest.mark.parametrize(
    ("unset", "named"),
    [
        ("VSE_FOLEY_S3_ENDPOINT", "S3 endpoint URL"),
        ("VSE_FOLEY_S3_BUCKET", "S3 bucket"),
        ("AWS_ACCESS_KEY_ID", "S3 access key ID"),
        ("AWS_SECRET_ACCESS_KEY", "S3 secret access key"),
    ],
)
def test_missing_setting_names_preference_and_environment_variable(s3, unset, named):
    _server, _prefix, environ = s3
    environ = {k: v for k, v in environ.items() if k != unset}
    with pytest.raises(ConfigError) as missing:
        select_upload_host(resolve_settings({"upload_host": "s3"}, environ, FAST))
    sentence = str(missing.value)
    assert f"{unset} ({named}) is missing" in sentence and "Preferences ▸ Add-ons ▸ VSE Foley" in sentence


def test_preferences_win_over_the_environment(s3, clip):
    server, prefix, environ = s3
    prefs = {"s3_bucket": server.bucket, "s3_secret_access_key": SECRET_ACCESS_KEY}
    shadowed = {**environ, "VSE_FOLEY_S3_BUCKET": "no-such-bucket", "AWS_SECRET_ACCESS_KEY": "wrong"}
    host = _host(shadowed, prefs)
    assert requests.get(host.upload(clip(4.0)), timeout=5).status_code == 200
    assert host.settings.region == REGION


@pytest.mark.parametrize(
    "endpoint", ["http://s3.example.com", "http://192.168.1.20:9000", "ftp://127.0.0.1", "s3.example.com"]
)
def test_plain_http_is_refused_unless_loopback(s3, endpoint):
    _server, _prefix, environ = s3
    with pytest.raises(ConfigError, match="must start with https://"):
        select_upload_host(resolve_settings({}, {**environ, "VSE_FOLEY_S3_ENDPOINT": endpoint}, FAST))
    for fine in ("https://s3.eu-central-1.amazonaws.com", "http://localhost:9000", "http://[::1]:9000"):
        assert select_upload_host(resolve_settings({}, {**environ, "VSE_FOLEY_S3_ENDPOINT": fine}, FAST))


def test_test_connection_writes_reads_and_deletes_a_probe(s3):
    server, prefix, environ = s3
    sentence = check_connection("s3", {}, environ)
    assert "connected" in sentence and server.bucket in sentence
    assert server.keys(prefix) == []  # the probe object is gone


def test_test_connection_reports_a_bucket_the_key_cannot_write_to(s3):
    _server, _prefix, environ = s3
    with pytest.raises(ConfigError) as no_bucket:
        check_connection("s3", {}, {**environ, "VSE_FOLEY_S3_BUCKET": "not-created-here"})
    assert "NoSuchBucket" in str(no_bucket.value) and "VSE_FOLEY_S3_BUCKET" in str(no_bucket.value)
    with pytest.raises(AuthError, match="SignatureDoesNotMatch"):
        check_connection("s3", {}, {**environ, "AWS_SECRET_ACCESS_KEY": "wrong-secret"})
    with pytest.raises(AuthError, match="InvalidAccessKeyId"):
        check_connection("s3", {}, {**environ, "AWS_ACCESS_KEY_ID": "AKIDUNKNOWN"})


def _kling_and_s3(emu, environ: dict[str, str]) -> dict[str, str]:
    """Kling keys and S3 settings only: no WaveSpeed key anywhere."""
    return {**{k: v for k, v in emu.environ().items() if k in KLING_ONLY}, **environ}


def test_direct_kling_with_only_kling_keys_and_s3(s3, emu, provider, clip, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    server, prefix, environ = s3
    kling = provider("kling.video-to-audio", environ=_kling_and_s3(emu, environ))
    video = clip(5.0)
    audio = generate(kling, request_for("kling.video-to-audio", video, 5.0), tmp_path / "k")
    assert audio.path.exists() and audio.format == "wav"
    (task,) = emu.vendor_tasks("kling")
    assert task.extra["clip_bytes"] == video.read_bytes()  # Kling fetched it through the link
    assert task.extra["clip_fetches"] == 2  # at submit and again when the task started
    assert "X-Amz-Signature=" in task.request["video_url"]
    assert server.keys(prefix) == []  # deleted once the task left the queue
    assert not any(r.vendor == "wavespeed" for r in emu.requests)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "clip uploaded" in logged.lower() and "deleted" in logged
    assert not any(form in logged for form in _secret_forms())
    assert "X-Amz-Signature" not in logged  # links are logged without their signed query


def test_ledger_keeps_only_the_clips_address(s3, emu, provider, clip):
    _server, _prefix, environ = s3
    kling = provider("kling.video-to-audio", environ=_kling_and_s3(emu, environ))
    request = request_for("kling.video-to-audio", clip(5.0), 5.0)
    kling.validate(request)
    url = kling.upload_clip(request)
    task = kling.submit(request, url)
    assert task.data[UPLOADED_CLIP] == url.split("?", 1)[0]  # no signature, no credential in the ledger


def test_refused_submit_deletes_the_upload_at_once(s3, emu, provider, clip):
    server, prefix, environ = s3
    emu.inject("kling", "moderation")
    kling = provider("kling.video-to-audio", environ=_kling_and_s3(emu, environ))
    with pytest.raises(FoleyError):
        generate(kling, request_for("kling.video-to-audio", clip(5.0), 5.0), Path("/nonexistent/k"))
    assert server.keys(prefix) == []


def test_kling_without_any_upload_host_names_both_options(emu, provider, clip):
    environ = {k: v for k, v in emu.environ().items() if k in KLING_ONLY}
    kling = provider("kling.video-to-audio", environ=environ)
    with pytest.raises(ConfigError) as missing:
        kling.validate(request_for("kling.video-to-audio", clip(5.0), 5.0))
    sentence = str(missing.value)
    assert "S3" in sentence and "VSE_FOLEY_S3_BUCKET" in sentence and "WAVESPEED_API_KEY" in sentence


def test_cli_direct_kling_with_s3(s3, emu, clip, tmp_path):
    server, prefix, environ = s3
    result = subprocess.run(
        [sys.executable, "-m", "vse_foley.cli", "generate", "--provider", "kling.video-to-audio",
         "--video", str(clip(5.0)), "--prompt", "steps on gravel", "--out", str(tmp_path / "k.wav")],
        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", **_kling_and_s3(emu, environ)},
        cwd=ROOT, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "k.wav").exists()
    assert server.keys(prefix) == []
    assert not any(form in result.stdout + result.stderr for form in _secret_forms())


def test_emulated_kling_fails_a_task_whose_clip_vanished_before_it_started(s3, emu, provider, clip):
    """The emulator's unkind reading is real: deleting the upload too early would fail the job."""
    server, prefix, environ = s3
    kling = provider("kling.video-to-audio", environ=_kling_and_s3(emu, environ))
    request = request_for("kling.video-to-audio", clip(5.0), 5.0)
    kling.validate(request)
    task = kling.submit(request, kling.upload_clip(request))
    (key,) = server.keys(prefix)
    assert server.request("DELETE", f"/{server.bucket}/{key}").status_code == 204
    status = kling.poll(task)
    assert status.state.value == "failed" and "could not be downloaded" in status.message


def test_region_falls_back_to_aws_default_region_then_us_east_1(s3):
    from vse_foley.providers.s3_settings import S3Settings

    _server, _prefix, environ = s3
    without = {k: v for k, v in environ.items() if k != "AWS_REGION"}
    assert S3Settings.of(resolve_settings({}, {**without, "AWS_DEFAULT_REGION": "auto"})).region == "auto"
    assert S3Settings.of(resolve_settings({}, without)).region == "us-east-1"
    assert S3Settings.of(resolve_settings({"s3_region": "eu-west-3"}, environ)).region == "eu-west-3"


def test_readiness_sentence_names_both_upload_options_and_accepts_s3_alone(s3, emu):
    from vse_foley.core.checks import upload_problem

    _server, _prefix, environ = s3
    kling_only = {k: v for k, v in emu.environ().items() if k in KLING_ONLY}
    sentence = upload_problem("kling", {}, kling_only)
    assert "S3" in sentence and "VSE_FOLEY_S3_BUCKET" in sentence and "WAVESPEED_API_KEY" in sentence
    assert upload_problem("kling", {}, _kling_and_s3(emu, environ)) == ""
    half = {**kling_only, "VSE_FOLEY_S3_BUCKET": "foley-clips"}  # started, not finished: say what is missing
    assert "AWS_SECRET_ACCESS_KEY" in upload_problem("kling", {}, half)
    plain = {**_kling_and_s3(emu, environ), "VSE_FOLEY_S3_ENDPOINT": "http://s3.example.com"}
    assert "must start with https://" in upload_problem("kling", {}, plain)
    assert "'None'" in upload_problem("kling", {"upload_host": "none"}, _kling_and_s3(emu, environ))
    # A WaveSpeed key and a half-made bucket: WaveSpeed uploads, as select_upload_host decides.
    both = {**half, "WAVESPEED_API_KEY": "ws-key", "VSE_FOLEY_WAVESPEED_URL": emu.base_url("wavespeed")}
    assert upload_problem("kling", {}, both) == ""
    assert select_upload_host(resolve_settings({}, both, FAST)).name == "wavespeed"
    complete = {**_kling_and_s3(emu, environ), "WAVESPEED_API_KEY": "ws-key"}
    assert select_upload_host(resolve_settings({"upload_host": "s3"}, complete, FAST)).name == "s3"
    assert upload_problem("kling", {"upload_host": "s3"}, {**complete, "VSE_FOLEY_S3_BUCKET": "No_Such"})
