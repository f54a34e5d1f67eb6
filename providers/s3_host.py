"""The S3-compatible upload host: the clip as a private object, the vendor gets a presigned GET.

``PUT {endpoint}/{bucket}/{prefix}clip-<random>.mp4`` signed in the Authorization header,
then a presigned ``GET`` of that object that expires after ``link_seconds`` (an hour) is
what the vendor receives. Once the vendor has fetched it (its task left the queue) the
object is deleted (``release``); an object whose delete never happened (Blender closed,
the network failed) is left to the bucket's lifecycle rule, which the README asks for.

Requests are signed with AWS Signature V4 by the bundled ``aws-request-signer`` (pure
Python, stdlib only, ~350 lines: both header-signed requests and presigned URLs). The
secret never leaves this computer: it only keys the HMAC; URLs carry the signature and the
access key id (``X-Amz-Credential``), as S3 requires.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import requests
from aws_request_signer import UNSIGNED_PAYLOAD, AwsRequestSigner

from .errors import AuthError, ConfigError, FoleyError, InputError, VendorBusyError, VendorUnavailableError
from .http import VendorHttp, safe_url, with_retry_after
from .s3_settings import S3Settings, check_endpoint
from .settings import PREFS_PATH, FoleySettings, HttpTuning
from .vendor_spec import S3, VendorSpec

log = logging.getLogger(__name__)

LABEL = "S3 storage"
CLIP_PREFIX = "clip-"  # release() deletes only objects with this name under the prefix: our own clips
PROBE_BODY = b"VSE Foley connection test: this object is deleted at once.\n"
_SETUP_HINT = f"{PREFS_PATH} ▸ S3 upload host"


class S3UploadHost:
    """Uploads to a bucket of the user's own S3-compatible store; see the module docstring."""

    name = "s3"
    #: The clip is read into memory once (hash + body, retried as is); vendors take far less (Kling 100 MB).
    max_bytes = 1024 * 1024 * 1024

    def __init__(self, settings: S3Settings, http: VendorHttp) -> None:
        self.settings = settings.require()
        self.endpoint = check_endpoint(settings.endpoint)
        self.http = http
        for secret in settings.secrets():
            http.redact.add(secret)
        self._signer = AwsRequestSigner(
            settings.region, settings.access_key_id.reveal(), settings.secret_access_key.reveal(), "s3"
        )

    @classmethod
    def create(cls, settings: S3Settings, tuning: HttpTuning) -> S3UploadHost:
        settings.require()  # a sentence before an HTTP session exists
        return cls(settings, VendorHttp(LABEL, tuning, settings.secrets()))

    # -- the UploadHost protocol -------------------------------------------------------------------

    def upload(self, path: Path, cancel: threading.Event | None = None) -> str:
        path = Path(path)
        size = path.stat().st_size
        if size > self.max_bytes:
            raise InputError(
                f"The clip is {size / 1e6:.0f} MB, more than the {self.max_bytes / 1e6:.0f} MB VSE Foley "
                "uploads to S3 in one piece. Use a shorter range or a lower render resolution."
            )
        suffix = ".mov" if path.suffix.lower() == ".mov" else ".mp4"
        mime = "video/quicktime" if suffix == ".mov" else "video/mp4"
        key = f"{self.settings.prefix}{CLIP_PREFIX}{uuid.uuid4().hex}{suffix}"
        self._put(key, path.read_bytes(), mime, "uploading the clip", cancel)
        log.info("Clip uploaded to %s", safe_url(self._url(key)))
        return self.presigned_get(key)

    def release(self, url: str) -> bool:
        """Delete the object behind ``url`` (one of our clips); True when it is gone.

        Never raises: a delete that fails leaves the object to the bucket's lifecycle rule.
        """
        key = self.own_key(url)
        if key is None:
            log.warning("Not deleting %s: it is not a clip of this S3 host", safe_url(url))
            return False
        try:
            response = self._send("DELETE", key)
        except FoleyError as exc:
            log.warning("Could not delete the uploaded clip %s (%s); the bucket's lifecycle rule removes it",
                        safe_url(url), exc)
            return False
        if response.status_code in (200, 204, 404):  # 404: already gone
            log.info("Uploaded clip %s deleted", safe_url(url))
            return True
        log.warning("S3 answered HTTP %d to deleting %s; the bucket's lifecycle rule removes it",
                    response.status_code, safe_url(url))
        return False

    # -- Test Connection ---------------------------------------------------------------------------

    def probe(self, cancel: threading.Event | None = None) -> str:
        """Write, read back through a presigned link, and delete a tiny object; a sentence or a FoleyError.

        A key that may read but not write is refused at the write with a sentence saying so
        (``_put``); a key that may write but not delete passes, with a sentence saying the
        clips will be left to the bucket's lifecycle rule.
        """
        key = f"{self.settings.prefix}connection-test-{uuid.uuid4().hex}.txt"
        self._put(key, PROBE_BODY, "text/plain", "writing a test object", cancel)
        try:
            response = self.http.request("GET", self.presigned_get(key), cancel=cancel)
            if response.status_code != 200 or response.content != PROBE_BODY:
                raise self._error(response, "reading the test object back through a presigned link")
        finally:
            deleted = self._send("DELETE", key, cancel=cancel)
        if _refused_by_policy(deleted):
            return (
                f"S3: connected; bucket {self.settings.bucket} accepted a test object and served it through "
                "a presigned link, but the key may not delete objects (s3:DeleteObject), so uploaded clips "
                f"(and the test object {key}) will be left to the bucket's lifecycle rule: set one that "
                f"deletes {self.settings.prefix}* after a day (README ▸ S3), or allow s3:DeleteObject."
            )
        if deleted.status_code not in (200, 204):
            raise self._error(deleted, "deleting the test object (clips could not be removed after use)")
        return (
            f"S3: connected; bucket {self.settings.bucket} accepted a test object, served it through a "
            "presigned link and deleted it."
        )

    # -- helpers -----------------------------------------------------------------------------------

    def _url(self, key: str) -> str:
        return f"{self.endpoint}/{self.settings.bucket}/{key}"

    def presigned_get(self, key: str) -> str:
        """A GET link for ``key`` that expires after ``link_seconds``; only the signature is in it."""
        return self._signer.presign_url(
            "GET", self._url(key), content_hash=UNSIGNED_PAYLOAD, expires=self.settings.link_seconds
        )

    def own_key(self, url: str) -> str | None:
        """The object key when ``url`` points at one of our clips in this bucket, else None."""
        parts = urlsplit(url)
        base = urlsplit(self.endpoint)
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
            return None
        bucket_path = f"/{self.settings.bucket}/"
        if not parts.path.startswith(bucket_path):
            return None
        key = parts.path[len(bucket_path):]
        name = key[len(self.settings.prefix):] if key.startswith(self.settings.prefix) else ""
        return key if re.fullmatch(rf"{CLIP_PREFIX}[0-9a-f]{{32}}\.(mp4|mov)", name) else None

    def _put(self, key: str, body: bytes, mime: str, doing: str, cancel: threading.Event | None) -> None:
        response = self._send("PUT", key, body, {"Content-Type": mime}, cancel,
                              read_timeout=self.http.tuning.upload_read_timeout)
        if response.status_code != 200:
            if _refused_by_policy(response) and self._can_read(cancel):
                raise self._read_only(response, doing)
            raise self._error(response, doing)

    def _can_read(self, cancel: threading.Event | None) -> bool:
        """Whether the key may read objects; asked only after a write was refused, to name what is missing.

        A GET of an object that does not exist answers 404 ``NoSuchKey`` to a key that may read
        (AWS: s3:GetObject, and s3:ListBucket to learn that nothing is there, as read-only policies
        grant both) and 403 to one that may not. A key whose read is refused too gets the general
        sentence, which names every action the host needs. Nothing is written either way.
        """
        absent = f"{self.settings.prefix}connection-test-absent-{uuid.uuid4().hex}.txt"
        try:
            return self._send("GET", absent, cancel=cancel).status_code == 404
        except FoleyError:  # the network failed meanwhile: the write's own sentence is the one to give
            return False

    def _read_only(self, response: requests.Response, doing: str) -> AuthError:
        code = self.http.redact(_xml_field(response.text, "Code"))[:60] or f"HTTP {response.status_code}"
        bucket, prefix = self.settings.bucket, self.settings.prefix
        key_id, secret = S3.credential("access_key_id"), S3.credential("secret_access_key")
        return AuthError(
            f"The S3 key can read bucket {bucket} but may not write to it ({code} while {doing}): allow it "
            f"s3:PutObject, and s3:DeleteObject for the clean-up, on {bucket}/{prefix}*, or set another "
            f"key in {key_id.env} / {secret.env} or the preferences {key_id.pref} / {secret.pref} "
            f"({_SETUP_HINT}); nothing was sent to a vendor.",
            vendor_code=response.status_code,
        )

    def _send(
        self,
        method: str,
        key: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        cancel: threading.Event | None = None,
        read_timeout: float | None = None,
    ) -> requests.Response:
        url = self._url(key)
        signed = self._signer.sign_with_headers(
            method, url, headers=headers, content_hash=hashlib.sha256(body).hexdigest()
        )
        return self.http.request(
            method,
            url,
            headers={**(headers or {}), **signed},
            data=body if method == "PUT" else None,
            read_timeout=read_timeout,
            cancel=cancel,
        )

    def _error(self, response: requests.Response, doing: str) -> FoleyError:
        return with_retry_after(s3_error(response.status_code, response.text, self.settings, doing,
                                         self.http), response)


def probe_connection(settings: FoleySettings, _spec: VendorSpec) -> str:
    """Test Connection for the S3 spec: put, read back through a presigned link, delete a tiny object.

    A bucket the key cannot write to (or read, or delete from) is reported here, before a clip
    is uploaded or a vendor is paid.
    """
    host = S3UploadHost.create(S3Settings.of(settings), settings.tuning)
    try:
        return host.probe()
    finally:
        host.http.close()


def _refused_by_policy(response: requests.Response) -> bool:
    """A 403 that is about what the key may do (AccessDenied), not about the key itself (a bad signature)."""
    return response.status_code == 403 and _xml_field(response.text, "Code") in ("AccessDenied", "")


def _xml_field(text: str, name: str) -> str:
    match = re.search(rf"<{name}>([^<]{{0,300}})</{name}>", text or "")
    return match.group(1).strip() if match else ""


def s3_error(  # noqa: PLR0911 - one sentence per kind of S3 refusal
    status: int, text: str, settings: S3Settings, doing: str, http: VendorHttp
) -> FoleyError:
    """A sentence for an S3 error answer (its XML ``Code``), naming what to fix."""
    code = http.redact(_xml_field(text, "Code"))[:60]
    detail = f" ({code})" if code else f" (HTTP {status})"
    bucket = settings.bucket
    if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken") or (
        status == 401
    ):
        return AuthError(
            f"S3 refused the access key while {doing}{detail}. Check the S3 access key ID and secret access "
            f"key (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or {_SETUP_HINT}). Nothing was sent to a "
            "vendor.",
            vendor_code=status,
        )
    if code == "RequestTimeTooSkewed":
        return ConfigError(
            f"S3 refused the request while {doing}{detail}: this computer's clock is off by more than 15 "
            "minutes. Set the clock automatically, then try again.",
            vendor_code=status,
        )
    wrong_region = ("AuthorizationHeaderMalformed", "PermanentRedirect", "IllegalLocationConstraintException")
    if code in wrong_region or status == 301:
        region = _xml_field(text, "Region")
        hint = f" (the bucket says it is in {http.redact(region)[:40]})" if region else ""
        return ConfigError(
            f"S3 says bucket {bucket} is in another region{hint} while {doing}{detail}. Set the S3 region "
            f"(AWS_REGION or {_SETUP_HINT}) and use that region's endpoint.",
            vendor_code=status,
        )
    if code == "NoSuchBucket" or (status == 404 and not code):
        return ConfigError(
            f"S3 has no bucket {bucket} at {settings.endpoint}{detail}. Create it (private) or fix the S3 "
            f"bucket (VSE_FOLEY_S3_BUCKET or {_SETUP_HINT}).",
            vendor_code=status,
        )
    if status == 403:
        return AuthError(
            f"The S3 key may not do this in bucket {bucket} while {doing}{detail}. Give it s3:PutObject, "
            f"s3:GetObject and s3:DeleteObject on {bucket}/{settings.prefix}*. Nothing was sent to a "
            "vendor.",
            vendor_code=status,
        )
    if status in (429, 503) or code == "SlowDown":  # no task was made: the job waits like a busy submit
        return VendorBusyError(f"S3 asks to slow down while {doing}{detail}; nothing was created.",
                               vendor_code=status)
    if status == 413 or code == "EntityTooLarge":
        return InputError(f"S3 says the clip is too large{detail}; use a shorter range.", vendor_code=status)
    return VendorUnavailableError(
        f"S3 did not accept the request while {doing}{detail}; try again later.", vendor_code=status
    )
