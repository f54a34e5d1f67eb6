"""Settings of the S3-compatible upload host (AWS S3, Cloudflare R2, MinIO, Backblaze B2 …).

Stdlib only, like ``providers.settings``: the UI resolves these without loading requests.
Each value: a non-empty preference, then the environment variable (the AWS SDKs' standard
names for the keys and the region), then the default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .errors import ConfigError
from .settings import PREFS_PATH, Secret, is_loopback_host

#: (preference, environment variables in order, label) of every S3 value.
S3_FIELDS: Mapping[str, tuple[str, tuple[str, ...], str]] = {
    "endpoint": ("s3_endpoint", ("VSE_FOLEY_S3_ENDPOINT",), "S3 endpoint URL"),
    "region": ("s3_region", ("AWS_REGION", "AWS_DEFAULT_REGION"), "S3 region"),
    "bucket": ("s3_bucket", ("VSE_FOLEY_S3_BUCKET",), "S3 bucket"),
    "prefix": ("s3_prefix", ("VSE_FOLEY_S3_PREFIX",), "S3 key prefix"),
    "access_key_id": ("s3_access_key_id", ("AWS_ACCESS_KEY_ID",), "S3 access key ID"),
    "secret_access_key": ("s3_secret_access_key", ("AWS_SECRET_ACCESS_KEY",), "S3 secret access key"),
}
S3_PREF_NAMES = tuple(pref for pref, _env, _label in S3_FIELDS.values())
DEFAULT_REGION = "us-east-1"  # what MinIO and most S3-compatible stores answer to; R2 takes "auto"
DEFAULT_PREFIX = "vse-foley/"
#: Bucket names as S3 allows them (3-63 lowercase letters, digits, dots, hyphens); B2/R2 are stricter.
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
#: Key prefixes of unreserved URL characters and "/", so a key is its own canonical URI (SigV4).
_PREFIX_RE = re.compile(r"^[A-Za-z0-9._~/-]*$")
_REGION_RE = re.compile(r"^[a-z0-9-]{1,40}$")


@dataclass(frozen=True)
class S3Settings:
    """Where clips go: ``{endpoint}/{bucket}/{prefix}clip-<random>.mp4`` (path-style addressing)."""

    endpoint: str = ""
    region: str = DEFAULT_REGION
    bucket: str = ""
    prefix: str = DEFAULT_PREFIX
    access_key_id: Secret = field(default_factory=Secret)
    secret_access_key: Secret = field(default_factory=Secret)
    link_seconds: int = 3600  # how long the presigned GET the vendor receives stays valid

    @property
    def configured(self) -> bool:
        """True once the user has started setting S3 up (a bucket or an endpoint)."""
        return bool(self.bucket or self.endpoint)

    def secrets(self) -> tuple[str, ...]:
        return tuple(s.reveal() for s in (self.access_key_id, self.secret_access_key) if s)

    def require(self) -> S3Settings:
        """Raise ConfigError naming the preference and the environment variable of what is missing."""
        missing = [
            name for name in ("endpoint", "bucket", "access_key_id", "secret_access_key")
            if not getattr(self, name)
        ]
        if missing:
            what = "; ".join(_where(name) for name in missing)
            raise ConfigError(
                f"The S3 upload host is not set up: {what} {'is' if len(missing) == 1 else 'are'} missing. "
                f"Fill {'it' if len(missing) == 1 else 'them'} in {PREFS_PATH} ▸ S3 upload host. Nothing was "
                "sent or charged."
            )
        check_endpoint(self.endpoint)
        if not _BUCKET_RE.match(self.bucket):
            raise ConfigError(
                f"The S3 bucket name '{self.bucket[:70]}' is not valid (3-63 lowercase letters, digits, dots "
                f"and hyphens). Fix {_where('bucket')}."
            )
        if not _PREFIX_RE.match(self.prefix) or "//" in self.prefix or self.prefix.startswith("/"):
            raise ConfigError(
                f"The S3 key prefix '{self.prefix[:70]}' may only hold letters, digits, '.', '_', '-', '~' "
                f"and single '/' (not at the start). Fix {_where('prefix')}."
            )
        if not _REGION_RE.match(self.region):
            raise ConfigError(f"The S3 region '{self.region[:40]}' is not valid. Fix {_where('region')}.")
        return self


def _where(name: str) -> str:
    pref, envs, label = S3_FIELDS[name]
    return f"{label} (preference {pref}, or {' / '.join(envs)})"


def check_endpoint(url: str) -> str:
    """The endpoint without trailing slash; https only (plain http only for this computer)."""
    parts = urlsplit(url)
    secure = parts.scheme == "https" and bool(parts.hostname)
    if not (secure or (parts.scheme == "http" and is_loopback_host(parts.hostname))):
        raise ConfigError(
            f"The S3 endpoint {parts.scheme}://{parts.hostname or ''} is refused: it must start with "
            "https:// (plain http only for this computer), or the keys and the clip would travel "
            f"unencrypted. Fix {_where('endpoint')}."
        )
    if parts.path.strip("/") or parts.query or parts.username:
        raise ConfigError(
            "The S3 endpoint must be only the server's address, e.g. https://s3.eu-central-1.amazonaws.com "
            "or https://<account>.r2.cloudflarestorage.com, without a path: the bucket is its own setting. "
            f"Fix {_where('endpoint')}."
        )
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
    default_port = 443 if parts.scheme == "https" else 80
    port = f":{parts.port}" if parts.port and parts.port != default_port else ""
    # No default port: the signed Host header must be the one the HTTP library sends.
    return f"{parts.scheme}://{host}{port}"


def _pick(prefs: Mapping[str, object], environ: Mapping[str, str], name: str) -> str:
    pref, envs, _label = S3_FIELDS[name]
    value = str(prefs.get(pref, "") or "").strip()
    for env in envs:
        value = value or str(environ.get(env, "") or "").strip()
    return value


def resolve_s3_settings(prefs: Mapping[str, object], environ: Mapping[str, str]) -> S3Settings:
    """Never raises: what is missing or wrong is said by ``S3Settings.require`` before anything is sent."""
    prefix = _pick(prefs, environ, "prefix") or DEFAULT_PREFIX
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return S3Settings(
        endpoint=_pick(prefs, environ, "endpoint").rstrip("/"),
        region=_pick(prefs, environ, "region") or DEFAULT_REGION,
        bucket=_pick(prefs, environ, "bucket"),
        prefix=prefix,
        access_key_id=Secret(_pick(prefs, environ, "access_key_id")),
        secret_access_key=Secret(_pick(prefs, environ, "secret_access_key")),
    )
