"""Test connection: one cheap authenticated request per vendor, nothing generated.

The probe asks for the status of a task id that cannot exist. An authentication
failure comes back as AuthError (or ConfigError when no key is set); any other
answer from the vendor ("no such task") proves the address and the key work.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from . import create_provider
from .base import VendorTask
from .errors import AuthError, ConfigError, FoleyError, NetworkError, RateLimitError, VendorUnavailableError

PROBE_PROVIDER = {
    "wavespeed": "wavespeed.think-sound",
    "kling": "kling.video-to-audio",
    "vidu": "vidu.text2audio",
    "flexstack": "flexstack.audiogen",
}
PROBE_TASK_ID = "vse-foley-connection-test"
VENDOR_NAMES = {"wavespeed": "WaveSpeed", "kling": "Kling", "vidu": "Vidu", "flexstack": "FlexStack"}


def check_connection(vendor: str, prefs: Mapping[str, str] | None = None,
                     environ: Mapping[str, str] = os.environ) -> str:
    """A sentence saying the vendor accepted the key; raises FoleyError otherwise."""
    if vendor == "s3":
        return check_s3_host(prefs or {}, environ)
    if vendor not in PROBE_PROVIDER:
        raise ConfigError(f"Unknown vendor '{vendor}'; choose one of {', '.join(PROBE_PROVIDER)}, s3.")
    provider = create_provider(PROBE_PROVIDER[vendor], prefs or {}, environ)
    name = VENDOR_NAMES[vendor]
    try:
        provider.poll(VendorTask(PROBE_TASK_ID))
    except (AuthError, ConfigError, NetworkError, RateLimitError, VendorUnavailableError):
        raise
    except FoleyError:
        pass  # the vendor answered an authenticated request about a task that does not exist
    finally:
        provider.close()
    return f"{name}: connected, and the key was accepted."


def check_s3_host(prefs: Mapping[str, str], environ: Mapping[str, str] = os.environ) -> str:
    """The S3 upload host: put, read back through a presigned link and delete a tiny object.

    A bucket the key cannot write to (or read, or delete from) is reported here, before a
    clip is uploaded or a vendor is paid.
    """
    from .s3_host import S3UploadHost
    from .settings import resolve_settings

    settings = resolve_settings(prefs, environ)
    host = S3UploadHost.create(settings.s3, settings.tuning)
    try:
        return host.probe()
    finally:
        host.http.close()
