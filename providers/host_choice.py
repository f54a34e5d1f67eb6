"""Which upload host the settings choose, and why none can be made: stdlib only (the panel reads it).

``providers.upload_hosts.select_upload_host`` makes the host; this module says the same thing
without an HTTP session, so the sidebar and the request never disagree.
"""

from __future__ import annotations

from .errors import ConfigError
from .s3_settings import S3Settings
from .settings import PREFS_PATH, FoleySettings


def wants_s3(settings: FoleySettings) -> bool:
    """The S3 host is chosen; or "auto" without a WaveSpeed key (the first upload host in the
    registry's order, as the preference's tooltip says) and the user has started setting a bucket
    up (a half-made one is used so that its sentence says what is missing)."""
    if settings.upload_host != "auto":
        return settings.upload_host == "s3"
    return S3Settings.of(settings).configured and not settings.wavespeed.api_key


def chosen_host_problem(settings: FoleySettings) -> str:
    """What the host ``select_upload_host`` would choose still lacks ("" when usable): the checks a
    generic spec cannot make (the S3 endpoint must be https, the bucket name and the prefix valid)."""
    if not wants_s3(settings):
        return ""
    try:
        S3Settings.of(settings).require()
    except ConfigError as error:
        return str(error)
    return ""


#: The two ways to give direct Kling (or any vendor that fetches clips by URL) an upload host.
UPLOAD_OPTIONS = (
    "set up your own S3-compatible bucket (VSE_FOLEY_S3_ENDPOINT, VSE_FOLEY_S3_BUCKET, AWS_ACCESS_KEY_ID "
    f"and AWS_SECRET_ACCESS_KEY, or {PREFS_PATH} ▸ S3), or set WAVESPEED_API_KEY (or {PREFS_PATH} ▸ "
    "WaveSpeed API key) to upload through WaveSpeed"
)


