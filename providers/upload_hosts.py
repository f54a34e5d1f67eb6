"""Upload hosts: where a local clip goes so a vendor can fetch it by URL.

A host is anything with ``upload(path, cancel) -> url``, and optionally
``release(url)``: delete the upload once the vendor has fetched it (its task
left the queue; ``release_upload``). WaveSpeed's media upload is built in (used
by every WaveSpeed model, and by direct Kling when a WaveSpeed key is set); the
S3-compatible host (``providers/s3_host.py``) is the user's own bucket. Another
host is one more class plus one more ``upload_host`` preference choice in
``select_upload_host``.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any, Protocol

from .errors import AuthError, ConfigError, FoleyError, InputError, VendorBusyError, VendorUnavailableError
from .host_choice import UPLOAD_OPTIONS, wants_s3
from .http import VendorHttp, allowed_address, json_body, with_retry_after
from .s3_settings import S3Settings
from .settings import PREFS_PATH, FoleySettings, VendorSettings, WaveSpeedSettings, check_base_url

#: fal's REST API, home of its storage (fal-client ``REST_URL``); VSE_FOLEY_FAL_STORAGE_URL overrides it
FAL_STORAGE_URL = "https://rest.fal.ai"

log = logging.getLogger(__name__)

__all__ = ["UPLOAD_OPTIONS", "UploadHost", "release_upload", "select_upload_host"]


class UploadHost(Protocol):
    """Makes a local file reachable by URL for a while (long enough for the vendor to fetch it)."""

    name: str
    max_bytes: int

    def upload(self, path: Path, cancel: threading.Event | None = None) -> str:
        """Upload ``path`` and return its public URL; raise a FoleyError with a sentence."""
        ...


def release_upload(host: object, url: str) -> bool:
    """Ask ``host`` to delete the upload behind ``url`` once the vendor has it; False when it cannot.

    ``release`` is optional (WaveSpeed's uploads expire on their own) and never raises: a host
    that keeps the file leaves it to its own expiry or the bucket's lifecycle rule.
    """
    release = getattr(host, "release", None)
    if not callable(release) or not url:
        return False
    try:
        return bool(release(url))
    except Exception:  # cleanup must never fail a paid job
        log.exception("Releasing an upload failed")
        return False


class WaveSpeedUploadHost:
    """``POST /api/v3/media/upload/binary`` (multipart ``file``) → ``data.download_url``."""

    name = "wavespeed"
    max_bytes = 300 * 1024 * 1024  # documented: larger files must be given as a URL

    def __init__(self, settings: WaveSpeedSettings, http: VendorHttp) -> None:
        self.settings = settings
        self.http = http

    def upload(self, path: Path, cancel: threading.Event | None = None) -> str:
        key = self.settings.require_key()
        path = Path(path)
        size = path.stat().st_size
        if size > self.max_bytes:
            raise InputError(
                f"The clip is {size / 1e6:.0f} MB, more than the {self.max_bytes / 1e6:.0f} MB WaveSpeed "
                "accepts for upload. Use a shorter range or a lower render resolution."
            )
        mime = "video/quicktime" if path.suffix.lower() == ".mov" else "video/mp4"
        handles: list[Any] = []

        def files() -> dict[str, tuple[str, Any, str]]:
            handle = path.open("rb")
            handles.append(handle)
            return {"file": (path.name, handle, mime)}

        try:
            response = self.http.request(
                "POST",
                f"{self.settings.base_url}/api/v3/media/upload/binary",
                headers={"Authorization": f"Bearer {key}"},
                files=files,
                read_timeout=self.http.tuning.upload_read_timeout,
                cancel=cancel,
            )
        finally:
            for handle in handles:
                handle.close()
        body = json_body(response)
        data = body.get("data") if isinstance(body, dict) else None
        url = data.get("download_url") if isinstance(data, dict) else None
        if response.status_code == 200 and isinstance(url, str) and url.startswith(("https://", "http://")):
            return url
        raise with_retry_after(_upload_error(response.status_code, body, self.http), response)


def _upload_error(status: int, body: Any, http: VendorHttp) -> FoleyError:
    message = ""
    if isinstance(body, dict):
        message = http.redact(body.get("message") or body.get("error") or "")[:200]
    detail = f" ({message})" if message else ""
    if status in (401, 403):
        return AuthError(
            f"WaveSpeed rejected the API key while uploading the clip{detail}. Check WAVESPEED_API_KEY or "
            f"{PREFS_PATH} ▸ WaveSpeed API key.",
            vendor_code=status,
        )
    if status == 429:  # an upload makes no task: the job waits for a free slot like a busy submit
        return VendorBusyError(
            f"WaveSpeed is limiting uploads right now{detail}; nothing was created.", vendor_code=status
        )
    if status >= 500:
        return VendorUnavailableError(
            f"WaveSpeed's upload service is failing (HTTP {status}){detail}; try again later.",
            vendor_code=status,
        )
    if status == 413:
        return InputError(
            f"WaveSpeed says the clip is too large{detail}; use a shorter range.", vendor_code=status
        )
    return VendorUnavailableError(
        f"WaveSpeed did not accept the clip upload (HTTP {status}){detail}; try again later.",
        vendor_code=status,
    )


class FalStorageUploadHost:
    """fal.ai's own storage (fal-client 1.0.3 ``_upload_via_storage``), used when a fal key is set.

    ``POST {storage}/storage/upload/initiate?storage_type=gcs`` with ``Authorization: Key`` and
    JSON ``{file_name, content_type}`` answers ``{upload_url, file_url}``; the bytes go to
    ``upload_url`` by ``PUT`` (a signed URL: no key travels there) and the vendor fetches
    ``file_url``. ``X-Fal-Object-Lifecycle-Preference`` asks fal to delete the clip after an
    hour (the client's own lifecycle header). Uploads make no task, so they are retried.
    """

    name = "fal"
    #: fal-client sends larger files in parts (its MULTIPART_THRESHOLD); a clip never needs that
    max_bytes = 100 * 1024 * 1024
    #: seconds the uploaded clip is kept: long enough for a queue wait, then fal deletes it
    expires_after_s = 3600

    def __init__(self, settings: VendorSettings, http: VendorHttp) -> None:
        self.settings = settings
        self.http = http

    @property
    def storage_url(self) -> str:
        url = self.settings.value("storage_url") or FAL_STORAGE_URL
        return check_base_url(url, "fal.ai storage", "VSE_FOLEY_FAL_STORAGE_URL")

    def upload(self, path: Path, cancel: threading.Event | None = None) -> str:
        (key,) = self.settings.require("api_key")
        path = Path(path)
        size = path.stat().st_size
        if size > self.max_bytes:
            raise InputError(
                f"The clip is {size / 1e6:.0f} MB, more than the {self.max_bytes / 1e6:.0f} MB VSE Foley "
                "sends to fal.ai storage. Use a shorter range or a lower render resolution."
            )
        mime = "video/quicktime" if path.suffix.lower() == ".mov" else "video/mp4"
        lifecycle = json.dumps({"expiration_duration_seconds": self.expires_after_s})
        response = self.http.request(
            "POST",
            f"{self.storage_url}/storage/upload/initiate",
            params={"storage_type": "gcs"},
            headers={"Authorization": f"Key {key}", "Accept": "application/json",
                     "X-Fal-Object-Lifecycle-Preference": lifecycle},
            json={"file_name": path.name, "content_type": mime},
            cancel=cancel,
        )
        body = json_body(response)
        upload_url = body.get("upload_url") if isinstance(body, dict) else None
        file_url = body.get("file_url") if isinstance(body, dict) else None
        if response.status_code != 200 or not isinstance(upload_url, str) or not isinstance(file_url, str):
            raise with_retry_after(_fal_upload_error(response.status_code, body, self.http), response)
        if not (allowed_address(upload_url) and allowed_address(file_url)):
            raise VendorUnavailableError(
                "Fal.ai storage answered with an upload address that is not https, so the clip was not sent. "
                "Try again later; if it keeps happening, report it to fal.ai."
            )
        put = self.http.request(
            "PUT", upload_url, headers={"Content-Type": mime}, data=path.read_bytes(),
            read_timeout=self.http.tuning.upload_read_timeout, cancel=cancel,
        )
        if put.status_code not in (200, 201, 204):
            raise with_retry_after(_fal_upload_error(put.status_code, json_body(put), self.http), put)
        return file_url


def _fal_upload_error(status: int, body: Any, http: VendorHttp) -> FoleyError:
    message = ""
    if isinstance(body, dict):
        detail = body.get("detail") or body.get("message") or body.get("error") or ""
        message = http.redact(detail if isinstance(detail, str) else str(detail))[:200]
    detail = f" ({message})" if message else ""
    if status in (401, 403):
        return AuthError(
            f"Fal.ai rejected the API key while uploading the clip{detail}. Check FAL_KEY or {PREFS_PATH} ▸ "
            "fal.ai API key.",
            vendor_code=status,
        )
    if status == 429:  # an upload makes no task: the job waits for a free slot like a busy submit
        return VendorBusyError(f"Fal.ai storage is limiting uploads right now{detail}; nothing was created.",
                               vendor_code=status)
    if status == 413:
        return InputError(f"Fal.ai storage says the clip is too large{detail}; use a shorter range.",
                          vendor_code=status)
    return VendorUnavailableError(
        f"Fal.ai storage did not accept the clip upload (HTTP {status}){detail}; try again later.",
        vendor_code=status,
    )


def select_upload_host(settings: FoleySettings, http: VendorHttp | None = None) -> UploadHost | None:
    """The host chosen by the ``upload_host`` preference.

    "auto": WaveSpeed when its key is set, else the user's own S3 bucket once one is set up
    (``host_choice.wants_s3``), else fal.ai storage when a fal key is set; "s3", "wavespeed" and
    "fal" use that host whatever other keys are set. ``http`` is
    reused when given (WaveSpeed providers); otherwise the host gets its own session.
    """
    if settings.upload_host == "none":
        return None
    if wants_s3(settings):
        from .s3_host import S3UploadHost  # loads the signer only when S3 is used

        return S3UploadHost.create(S3Settings.of(settings), settings.tuning)
    if settings.upload_host == "wavespeed" or (settings.upload_host == "auto" and settings.wavespeed.api_key):
        if not settings.wavespeed.api_key:
            raise ConfigError(
                "The upload host is set to WaveSpeed but no WaveSpeed API key is set. Set WAVESPEED_API_KEY "
                f"or {PREFS_PATH} ▸ WaveSpeed API key."
            )
        if http is None:
            http = VendorHttp("WaveSpeed", settings.tuning, settings.secrets())
        http.redact.add(settings.wavespeed.api_key.reveal())
        return WaveSpeedUploadHost(settings.wavespeed, http)
    fal = settings.vendor("fal") if "fal" in settings.vendors else None
    if fal is not None and (settings.upload_host == "fal" or fal.has("api_key")):
        if not fal.has("api_key"):
            fal.require("api_key")  # the sentence naming FAL_KEY and the preference
        if http is None:
            http = VendorHttp("fal.ai", settings.tuning, settings.secrets())
        http.redact.add(fal.secret("api_key").reveal())
        return FalStorageUploadHost(fal, http)
    return None
