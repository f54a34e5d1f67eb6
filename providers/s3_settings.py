"""Settings of the S3-compatible upload host (AWS S3, Cloudflare R2, MinIO, Backblaze B2 …).

The values come from the ``s3`` VendorSpec (``providers/vendor_spec.py``): a non-empty
preference, then the environment variable (the AWS SDKs' standard names for the keys and
the region), then the default. This module is the typed view the host uses, and the checks
a generic spec cannot make (an https endpoint, a bucket name, a key prefix). Stdlib only,
like ``providers.settings``: the UI resolves these without loading requests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .errors import ConfigError
from .settings import FoleySettings, Secret, VendorSettings, is_loopback_host
from .vendor_spec import S3

DEFAULT_REGION = "us-east-1"  # what MinIO and most S3-compatible stores answer to; R2 takes "auto"
#: Bucket names as S3 allows them (3-63 lowercase letters, digits, dots, hyphens); B2/R2 are stricter.
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
#: Key prefixes of unreserved URL characters and "/", so a key is its own canonical URI (SigV4).
_PREFIX_RE = re.compile(r"^[A-Za-z0-9._~/-]*$")
_REGION_RE = re.compile(r"^[a-z0-9-]{1,40}$")


@dataclass(frozen=True)
class S3Settings:
    """Where clips go: ``{endpoint}/{bucket}/{prefix}clip-<random>.mp4`` (path-style addressing)."""

    vendor: VendorSettings
    endpoint: str = ""
    region: str = DEFAULT_REGION
    bucket: str = ""
    prefix: str = ""
    access_key_id: Secret = field(default_factory=Secret)
    secret_access_key: Secret = field(default_factory=Secret)
    link_seconds: int = 3600  # how long the presigned GET the vendor receives stays valid

    @classmethod
    def of(cls, settings: FoleySettings) -> S3Settings:
        vendor = settings.vendor(S3.id)
        prefix = vendor.value("prefix")
        return cls(
            vendor=vendor,
            endpoint=vendor.value("endpoint").rstrip("/"),
            region=vendor.value("region") or DEFAULT_REGION,
            bucket=vendor.value("bucket"),
            prefix=prefix if not prefix or prefix.endswith("/") else prefix + "/",
            access_key_id=vendor.secret("access_key_id"),
            secret_access_key=vendor.secret("secret_access_key"),
        )

    @property
    def configured(self) -> bool:
        """True once the user has started setting S3 up (a bucket or an endpoint)."""
        return bool(self.bucket or self.endpoint)

    def secrets(self) -> tuple[str, ...]:
        return self.vendor.secrets()

    def require(self) -> S3Settings:
        """Raise ConfigError naming the preference and the environment variable of what is wrong."""
        self.vendor.require_credentials()  # the spec's sentence for what is missing
        check_endpoint(self.endpoint)
        if not _BUCKET_RE.match(self.bucket):
            raise ConfigError(
                f"The S3 bucket name '{self.bucket[:70]}' is not valid (3-63 lowercase letters, digits, dots "
                f"and hyphens). Fix {where('bucket')}."
            )
        if not _PREFIX_RE.match(self.prefix) or "//" in self.prefix or self.prefix.startswith("/"):
            raise ConfigError(
                f"The S3 key prefix '{self.prefix[:70]}' may only hold letters, digits, '.', '_', '-', '~' "
                f"and single '/' (not at the start). Fix {where('prefix')}."
            )
        if not _REGION_RE.match(self.region):
            raise ConfigError(f"The S3 region '{self.region[:40]}' is not valid. Fix {where('region')}.")
        return self


def where(name: str) -> str:
    """'S3 bucket (preference s3_bucket, or VSE_FOLEY_S3_BUCKET)' for sentences."""
    credential = S3.credential(name)
    envs = " / ".join(env for env in (credential.env, credential.env_fallback) if env)
    return f"{credential.label} (preference {credential.pref}, or {envs})"


def check_endpoint(url: str) -> str:
    """The endpoint without path or default port; https only (plain http only for this computer)."""
    parts = urlsplit(url)
    secure = parts.scheme == "https" and bool(parts.hostname)
    if not (secure or (parts.scheme == "http" and is_loopback_host(parts.hostname))):
        raise ConfigError(
            f"The S3 endpoint {parts.scheme}://{parts.hostname or ''} is refused: it must start with "
            "https:// (plain http only for this computer), or the keys and the clip would travel "
            f"unencrypted. Fix {where('endpoint')}."
        )
    if parts.path.strip("/") or parts.query or parts.username:
        raise ConfigError(
            "The S3 endpoint must be only the server's address, e.g. https://s3.eu-central-1.amazonaws.com "
            "or https://<account>.r2.cloudflarestorage.com, without a path: the bucket is its own setting. "
            f"Fix {where('endpoint')}."
        )
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
    default_port = 443 if parts.scheme == "https" else 80
    port = f":{parts.port}" if parts.port and parts.port != default_port else ""
    # No default port: the signed Host header must be the one the HTTP library sends.
    return f"{parts.scheme}://{host}{port}"
