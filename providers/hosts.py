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

import logging
import threading
from pathlib import Path
from typing import Any, Protocol

from .errors import AuthError, ConfigError, FoleyError, InputError, VendorBusyError, VendorUnavailableError
from .host_choice import UPLOAD_OPTIONS, wants_s3
from .http import VendorHttp, json_body, with_retry_after
from .s3_settings import S3Settings
from .settings import PREFS_PATH, FoleySettings, WaveSpeedSettings

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


def select_upload_host(settings: FoleySettings, http: VendorHttp | None = None) -> UploadHost | None:
    """The host chosen by the ``upload_host`` preference.

    "auto": WaveSpeed when its key is set, else the user's own S3 bucket once one is set up
    (``host_choice.wants_s3``); "s3" uses the bucket whatever other keys are set. ``http`` is
    reused when given (WaveSpeed providers); otherwise the host gets its own session.
    """
    if settings.upload_host == "none":
        return None
    if wants_s3(settings):
        from .s3_host import S3UploadHost  # loads the signer only when S3 is used

        return S3UploadHost.create(S3Settings.of(settings), settings.tuning)
    if settings.upload_host == "wavespeed" or settings.wavespeed.api_key:
        if not settings.wavespeed.api_key:
            raise ConfigError(
                "The upload host is set to WaveSpeed but no WaveSpeed API key is set. Set WAVESPEED_API_KEY "
                f"or {PREFS_PATH} ▸ WaveSpeed API key."
            )
        if http is None:
            http = VendorHttp("WaveSpeed", settings.tuning, settings.secrets())
        http.redact.add(settings.wavespeed.api_key.reveal())
        return WaveSpeedUploadHost(settings.wavespeed, http)
    return None
