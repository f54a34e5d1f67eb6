"""Which upload host the settings choose, and why none can be made: stdlib only (the panel reads it).

``providers.hosts.select_upload_host`` makes the host; this module says the same thing
without an HTTP session, so the sidebar and the request never disagree.
"""

from __future__ import annotations

from .errors import ConfigError
from .s3_settings import S3Settings
from .settings import PREFS_PATH, FoleySettings


def wants_s3(settings: FoleySettings) -> bool:
    """The S3 host is chosen, or "auto" and the user has started setting a bucket up (it comes first)."""
    return settings.upload_host == "s3" or (
        settings.upload_host == "auto" and S3Settings.of(settings).configured
    )


#: The two ways to give direct Kling (or any vendor that fetches clips by URL) an upload host.
UPLOAD_OPTIONS = (
    "set up your own S3-compatible bucket (VSE_FOLEY_S3_ENDPOINT, VSE_FOLEY_S3_BUCKET, AWS_ACCESS_KEY_ID "
    f"and AWS_SECRET_ACCESS_KEY, or {PREFS_PATH} ▸ S3), or set WAVESPEED_API_KEY (or {PREFS_PATH} ▸ "
    "WaveSpeed API key) to upload through WaveSpeed"
)


def upload_host_problem(settings: FoleySettings) -> str:
    """Why no upload host can be made from ``settings`` ("" when one can); no network, no session.

    Mirrors ``select_upload_host``, so the panel and the request never disagree.
    """
    if settings.upload_host == "none":
        return (
            "Direct Kling needs the clip at a public URL, but the clip upload host is 'None'. Choose "
            "'Automatic' (or S3 / WaveSpeed) in the add-on preferences, or use the provider Kling "
            "video-to-audio (WaveSpeed)."
        )
    if wants_s3(settings):
        try:
            S3Settings.of(settings).require()
        except ConfigError as error:
            return str(error)
        return ""
    if settings.wavespeed.api_key:
        return ""
    if settings.upload_host == "wavespeed":
        return (
            "The upload host is set to WaveSpeed but no WaveSpeed API key is set. Set WAVESPEED_API_KEY "
            f"or {PREFS_PATH} ▸ WaveSpeed API key."
        )
    return (
        f"Direct Kling needs the clip at a public URL, and no upload host is set up: {UPLOAD_OPTIONS}; "
        "or use the provider Kling video-to-audio (WaveSpeed), which needs only a WaveSpeed key."
    )
