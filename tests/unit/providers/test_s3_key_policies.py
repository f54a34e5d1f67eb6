"""S3 keys with narrower rights than the host needs, against a server that enforces per-key IAM policies.

moto's server (devtools/s3_policy_server.py) checks every request's header signature and
evaluates the key's IAM policy itself: a refused write here is the server's AccessDenied, not
our code's guess. moto cannot verify presigned links, so the one case that needs a limited key
*and* a presigned link (Test Connection with a key that may write but not delete) runs at the
end of this file on nanio with devtools/s3_key_rights.py; the vendor's fetch is in test_s3_host.py.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from providers_testkit import FAST, generate, request_for

from vse_foley.providers.connection_test import check_connection
from vse_foley.providers.errors import AuthError
from vse_foley.providers.s3_host import S3UploadHost
from vse_foley.providers.settings import resolve_settings
from vse_foley.providers.upload_hosts import select_upload_host

ROOT = Path(__file__).resolve().parents[3]
KLING_ONLY = ("KLING_ACCESS_KEY", "KLING_SECRET_KEY", "VSE_FOLEY_KLING_URL")


@pytest.fixture
def policies(s3_policy_server):
    """The session's moto server and a prefix of this test's own."""
    return s3_policy_server, f"t-{uuid.uuid4().hex[:8]}/"


def _secret_forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote_plus(secret)}


def _assert_read_only_sentence(sentence: str, bucket: str, prefix: str) -> None:
    assert f"can read bucket {bucket} but may not write to it" in sentence
    assert "AccessDenied" in sentence  # the server's own refusal, named
    assert "s3:PutObject" in sentence and "s3:DeleteObject" in sentence and f"{bucket}/{prefix}*" in sentence
    assert "AWS_ACCESS_KEY_ID" in sentence and "s3_access_key_id" in sentence  # what to change, both ways
    assert "nothing was sent to a vendor" in sentence
    assert sentence.count(". ") == 0 and sentence.endswith(".")  # one sentence


def test_the_server_itself_refuses_a_read_only_write_and_a_wrong_secret(policies):
    """The oracle first: the policy and the signature are checked by moto, per key."""
    server, prefix = policies
    for key, status in (("read-only", 403), ("no-access", 403), ("read-write", 200)):
        environ = server.environ(key, VSE_FOLEY_S3_PREFIX=prefix)
        host = select_upload_host(resolve_settings({}, environ, FAST))
        assert isinstance(host, S3UploadHost)
        answer = host._send("PUT", f"{prefix}oracle-{key}.txt", b"x")
        assert answer.status_code == status, (key, answer.text[:200])
        if status == 403:
            assert "<Code>AccessDenied</Code>" in answer.text
    forged = server.environ("read-write", AWS_SECRET_ACCESS_KEY="not-the-secret",
                            VSE_FOLEY_S3_PREFIX=prefix)
    wrong = select_upload_host(resolve_settings({}, forged, FAST))
    assert isinstance(wrong, S3UploadHost)
    assert "SignatureDoesNotMatch" in wrong._send("PUT", f"{prefix}forged.txt", b"x").text
    assert server.keys(prefix) == [f"{prefix}oracle-read-write.txt"]


def test_test_connection_says_a_read_only_key_cannot_write(policies):
    server, prefix = policies
    with pytest.raises(AuthError) as refused:
        check_connection("s3", {}, server.environ("read-only", VSE_FOLEY_S3_PREFIX=prefix))
    sentence = str(refused.value)
    _assert_read_only_sentence(sentence, server.bucket, prefix)
    assert "writing a test object" in sentence
    assert not any(form in sentence for form in _secret_forms(server.secret("read-only")))
    assert server.keys(prefix) == []  # nothing was written


def test_test_connection_tells_a_key_without_any_right_from_a_read_only_one(policies):
    server, prefix = policies
    with pytest.raises(AuthError) as refused:
        check_connection("s3", {}, server.environ("no-access", VSE_FOLEY_S3_PREFIX=prefix))
    sentence = str(refused.value)
    assert "can read" not in sentence
    assert "may not do this" in sentence and "s3:PutObject, s3:GetObject and s3:DeleteObject" in sentence


def test_a_key_that_may_write_but_not_delete_leaves_clips_to_the_lifecycle_rule(policies, clip, caplog):
    """The clean-up's DELETE is header-signed: moto refuses it; the clip stays, as the log says."""
    caplog.set_level(logging.DEBUG)
    server, prefix = policies
    host = select_upload_host(resolve_settings({}, server.environ("write-no-delete",
                                                                  VSE_FOLEY_S3_PREFIX=prefix), FAST))
    assert isinstance(host, S3UploadHost)
    url = host.upload(clip(4.0))
    (key,) = server.keys(prefix)
    assert host.own_key(url) == key
    assert host.release(url) is False
    assert server.keys(prefix) == [key]  # left for the bucket's lifecycle rule
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "HTTP 403" in logged and "lifecycle rule" in logged
    assert not any(form in logged for form in _secret_forms(server.secret("write-no-delete")))


def _kling_and_s3(emu, server, key: str, prefix: str) -> dict[str, str]:
    """Kling keys and S3 settings only: no WaveSpeed key anywhere."""
    kling = {k: v for k, v in emu.environ().items() if k in KLING_ONLY}
    return {**kling, **server.environ(key, VSE_FOLEY_S3_PREFIX=prefix)}


def test_generate_with_a_read_only_key_fails_at_the_upload_and_submits_nothing(
    policies, emu, provider, clip, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)
    server, prefix = policies
    kling = provider("kling.video-to-audio", environ=_kling_and_s3(emu, server, "read-only", prefix))
    with pytest.raises(AuthError) as refused:
        generate(kling, request_for("kling.video-to-audio", clip(5.0), 5.0), tmp_path / "k")
    sentence = str(refused.value)
    _assert_read_only_sentence(sentence, server.bucket, prefix)
    assert "uploading the clip" in sentence
    assert emu.vendor_tasks("kling") == []  # the emulator counts 0 tasks
    assert not any(r.vendor == "kling" for r in emu.requests)  # not even a request
    assert server.keys(prefix) == []
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert not any(form in logged + sentence for form in _secret_forms(server.secret("read-only")))


def test_cli_generate_with_a_read_only_key_says_so_and_submits_nothing(policies, emu, clip, tmp_path):
    server, prefix = policies
    out = tmp_path / "k.wav"
    result = subprocess.run(
        [sys.executable, "-m", "vse_foley.cli", "generate", "--provider", "kling.video-to-audio",
         "--video", str(clip(5.0)), "--prompt", "steps on gravel", "--out", str(out), "--verbose"],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=False,
        env={"PATH": "/usr/bin:/bin", **_kling_and_s3(emu, server, "read-only", prefix)},
    )
    assert result.returncode != 0 and not out.exists()
    assert f"can read bucket {server.bucket} but may not write to it" in result.stderr
    assert "AWS_ACCESS_KEY_ID" in result.stderr and "s3:PutObject" in result.stderr
    assert emu.vendor_tasks("kling") == []
    assert not any(r.vendor == "kling" for r in emu.requests)
    printed = result.stdout + result.stderr
    assert not any(form in printed for form in _secret_forms(server.secret("read-only")))


# -- a key that may write but not delete, where the probe's presigned read-back must work -------------
# moto cannot serve a presigned link with its authentication on, so this case runs on nanio (which
# verifies both signature kinds) with devtools/s3_key_rights.py refusing the key's DELETE.


@pytest.fixture(scope="module")
def no_delete_server():
    from devtools.s3_server import S3Server

    with S3Server(limited_keys={"write-no-delete": ["s3:DeleteObject"]}) as server:
        yield server


def test_test_connection_leaves_clips_to_the_lifecycle_rule_when_the_key_may_not_delete(no_delete_server):
    server = no_delete_server
    prefix = f"t-{uuid.uuid4().hex[:8]}/"
    sentence = check_connection("s3", {}, server.environ("write-no-delete", VSE_FOLEY_S3_PREFIX=prefix))
    assert sentence.startswith("S3: connected;") and "served it through a presigned link" in sentence
    assert "may not delete objects (s3:DeleteObject)" in sentence and "lifecycle rule" in sentence
    (left,) = server.keys(prefix)  # the test object stays, as the sentence says
    assert left.startswith(f"{prefix}connection-test-") and left in sentence
    # The same server deletes for the owner's key: the refusal is the limited key's alone.
    assert "deleted it" in check_connection("s3", {}, server.environ(VSE_FOLEY_S3_PREFIX=f"{prefix}owner/"))
    assert server.keys(f"{prefix}owner/") == []
    secret = server.environ("write-no-delete")["AWS_SECRET_ACCESS_KEY"]
    assert not any(form in sentence for form in _secret_forms(secret))


def test_a_limited_key_is_still_signature_checked(no_delete_server):
    server = no_delete_server
    wrong = server.environ("write-no-delete", AWS_SECRET_ACCESS_KEY="not-the-secret")
    with pytest.raises(AuthError, match="SignatureDoesNotMatch"):
        check_connection("s3", {}, wrong)
