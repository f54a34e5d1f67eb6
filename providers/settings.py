"""Keys, base URLs and tuning for every vendor, from preferences with environment fallback.

Resolution order for each value: a non-empty preference, then the environment
variable, then the default. An environment base URL wins over the region
choice, so tests and proxies can point any vendor at another host.

Stdlib only: the UI may resolve settings without loading requests or pydantic.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .base import AccountLimits
from .errors import ConfigError

PREFS_PATH = "Edit ▸ Preferences ▸ Add-ons ▸ VSE Foley"

KLING_REGIONS: Mapping[str, str] = {
    "singapore": "https://api-singapore.klingai.com",
    "beijing": "https://api-beijing.klingai.com",
    "legacy": "https://api.klingai.com",
}
VIDU_REGIONS: Mapping[str, str] = {
    "global": "https://api.vidu.com",
    "china": "https://api.vidu.cn",
}
WAVESPEED_DEFAULT_URL = "https://api.wavespeed.ai"
FLEXSTACK_DEFAULT_URL = "https://api.flexstack.ai/v1"
ELEVENLABS_DEFAULT_URL = "https://api.elevenlabs.io"
UPLOAD_HOST_CHOICES = ("auto", "wavespeed", "none")


class Secret:
    """A credential whose ``repr``/``str`` never show the value; call ``reveal()`` to use it."""

    __slots__ = ("_value",)

    def __init__(self, value: str = "") -> None:
        self._value = value.strip()

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('****')" if self._value else "Secret('')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class HttpTuning:
    """Timeouts, retry and size limits; tests shrink the waits, never the logic."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    upload_read_timeout: float = 300.0
    retries: int = 4  # extra attempts for idempotent calls (polls, downloads, uploads)
    submit_retries: int = 2  # extra attempts for a submit that certainly never left or was refused
    backoff: float = 1.0  # first wait; doubles each attempt
    max_backoff: float = 30.0
    max_retry_after: float = 60.0  # a vendor's Retry-After is honoured up to this many seconds
    max_download_bytes: int = 200 * 1024 * 1024
    recover_delay: float = 2.0  # wait before looking up a task whose submit got no answer


@dataclass(frozen=True)
class VendorSettings:
    """What every vendor has: a name for messages and a base URL without trailing slash."""

    vendor: str
    label: str
    base_url: str

    def secrets(self) -> tuple[str, ...]:
        """Every credential value, for redaction."""
        return ()


@dataclass(frozen=True)
class WaveSpeedSettings(VendorSettings):
    api_key: Secret = field(default_factory=Secret)

    def secrets(self) -> tuple[str, ...]:
        return _revealed(self.api_key)

    def require_key(self) -> str:
        if not self.api_key:
            raise ConfigError(
                f"No WaveSpeed API key is set. Set WAVESPEED_API_KEY or {PREFS_PATH} ▸ WaveSpeed API key."
            )
        return self.api_key.reveal()


@dataclass(frozen=True)
class KlingSettings(VendorSettings):
    access_key: Secret = field(default_factory=Secret)
    secret_key: Secret = field(default_factory=Secret)
    region: str = "singapore"

    def secrets(self) -> tuple[str, ...]:
        return _revealed(self.access_key, self.secret_key)

    def require_keys(self) -> tuple[str, str]:
        missing = [
            f"{env} ({pref})"
            for env, secret, pref in (
                ("KLING_ACCESS_KEY", self.access_key, "Kling access key"),
                ("KLING_SECRET_KEY", self.secret_key, "Kling secret key"),
            )
            if not secret
        ]
        if missing:
            raise ConfigError(
                f"Kling needs both keys and {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
                f"missing. Set KLING_ACCESS_KEY and KLING_SECRET_KEY or {PREFS_PATH} ▸ Kling access key / "
                "secret key."
            )
        return self.access_key.reveal(), self.secret_key.reveal()


@dataclass(frozen=True)
class ViduSettings(VendorSettings):
    api_key: Secret = field(default_factory=Secret)
    region: str = "global"

    def secrets(self) -> tuple[str, ...]:
        return _revealed(self.api_key)

    def require_key(self) -> str:
        if not self.api_key:
            raise ConfigError(f"No Vidu API key is set. Set VIDU_API_KEY or {PREFS_PATH} ▸ Vidu API key.")
        return self.api_key.reveal()


@dataclass(frozen=True)
class FlexStackSettings(VendorSettings):
    access_token: Secret = field(default_factory=Secret)
    username: str = ""
    password: Secret = field(default_factory=Secret)

    def secrets(self) -> tuple[str, ...]:
        return _revealed(self.access_token, self.password)

    @property
    def can_login(self) -> bool:
        return bool(self.username and self.password)

    def require_credentials(self) -> None:
        if not self.access_token and not self.can_login:
            raise ConfigError(
                "No FlexStack credentials are set. Set FLEXSTACK_ACCESS_TOKEN, or FLEXSTACK_USERNAME and "
                f"FLEXSTACK_PASSWORD, or fill them in {PREFS_PATH} ▸ FlexStack."
            )


@dataclass(frozen=True)
class ElevenLabsSettings(VendorSettings):
    api_key: Secret = field(default_factory=Secret)

    def secrets(self) -> tuple[str, ...]:
        return _revealed(self.api_key)

    def require_key(self) -> str:
        if not self.api_key:
            raise ConfigError(
                f"No ElevenLabs API key is set. Set ELEVENLABS_API_KEY or {PREFS_PATH} ▸ ElevenLabs API key."
            )
        return self.api_key.reveal()


def _no_elevenlabs() -> ElevenLabsSettings:
    return ElevenLabsSettings(vendor="elevenlabs", label="ElevenLabs", base_url=ELEVENLABS_DEFAULT_URL)


@dataclass(frozen=True)
class FoleySettings:
    """Everything the providers need, resolved once per provider instance."""

    wavespeed: WaveSpeedSettings
    kling: KlingSettings
    vidu: ViduSettings
    flexstack: FlexStackSettings
    upload_host: str = "auto"
    elevenlabs: ElevenLabsSettings = field(default_factory=_no_elevenlabs)
    tuning: HttpTuning = field(default_factory=HttpTuning)

    def secrets(self) -> tuple[str, ...]:
        return (
            self.wavespeed.secrets() + self.kling.secrets() + self.vidu.secrets() + self.flexstack.secrets()
            + self.elevenlabs.secrets()
        )


def _revealed(*secrets: Secret) -> tuple[str, ...]:
    return tuple(s.reveal() for s in secrets if s)


def _pick(prefs: Mapping[str, str], environ: Mapping[str, str], pref_key: str, env_key: str) -> str:
    value = str(prefs.get(pref_key, "") or "").strip()
    if value:
        return value
    return str(environ.get(env_key, "") or "").strip()


def is_loopback_host(host: str | None) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1: the only hosts where plain http is accepted."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(url: str, label: str, env_var: str) -> str:
    """Return ``url`` without trailing slash, or raise ConfigError if keys would travel unencrypted."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and is_loopback_host(parts.hostname):
        return url
    raise ConfigError(
        f"The {label} base URL {parts.scheme}://{parts.hostname or ''} is not usable: it must start with "
        f"https:// (plain http only for this computer). Fix or unset {env_var}."
    )


def _region_url(
    regions: Mapping[str, str], region: str, default_region: str, label: str, pref_key: str
) -> tuple[str, str]:
    region = (region or default_region).strip().lower()
    if region not in regions:
        raise ConfigError(
            f"Unknown {label} region '{region}'. Choose one of {', '.join(regions)} in {PREFS_PATH} "
            f"({pref_key})."
        )
    return region, regions[region]


def resolve_settings(
    prefs: Mapping[str, str], environ: Mapping[str, str], tuning: HttpTuning | None = None
) -> FoleySettings:
    """Resolve all vendors' settings; raises ConfigError only for unusable URLs or choices."""
    wavespeed_url = check_base_url(
        str(environ.get("VSE_FOLEY_WAVESPEED_URL", "") or WAVESPEED_DEFAULT_URL),
        "WaveSpeed",
        "VSE_FOLEY_WAVESPEED_URL",
    )
    kling_region, kling_url = _region_url(
        KLING_REGIONS, str(prefs.get("kling_region", "")), "singapore", "Kling", "kling_region"
    )
    kling_url = check_base_url(
        str(environ.get("VSE_FOLEY_KLING_URL", "") or kling_url), "Kling", "VSE_FOLEY_KLING_URL"
    )
    vidu_region, vidu_url = _region_url(
        VIDU_REGIONS, str(prefs.get("vidu_region", "")), "global", "Vidu", "vidu_region"
    )
    vidu_url = check_base_url(
        str(environ.get("VSE_FOLEY_VIDU_URL", "") or vidu_url), "Vidu", "VSE_FOLEY_VIDU_URL"
    )
    flexstack_url = check_base_url(
        str(environ.get("VSE_FOLEY_FLEXSTACK_URL", "") or FLEXSTACK_DEFAULT_URL),
        "FlexStack",
        "VSE_FOLEY_FLEXSTACK_URL",
    )
    elevenlabs_url = check_base_url(
        str(environ.get("VSE_FOLEY_ELEVENLABS_URL", "") or ELEVENLABS_DEFAULT_URL),
        "ElevenLabs",
        "VSE_FOLEY_ELEVENLABS_URL",
    )
    upload_host = (str(prefs.get("upload_host", "") or "auto")).strip().lower()
    if upload_host not in UPLOAD_HOST_CHOICES:
        raise ConfigError(
            f"Unknown upload host '{upload_host}'. Choose one of {', '.join(UPLOAD_HOST_CHOICES)} in "
            f"{PREFS_PATH} (upload_host)."
        )
    return FoleySettings(
        wavespeed=WaveSpeedSettings(
            vendor="wavespeed",
            label="WaveSpeed",
            base_url=wavespeed_url,
            api_key=Secret(_pick(prefs, environ, "wavespeed_api_key", "WAVESPEED_API_KEY")),
        ),
        kling=KlingSettings(
            vendor="kling",
            label="Kling",
            base_url=kling_url,
            access_key=Secret(_pick(prefs, environ, "kling_access_key", "KLING_ACCESS_KEY")),
            secret_key=Secret(_pick(prefs, environ, "kling_secret_key", "KLING_SECRET_KEY")),
            region=kling_region,
        ),
        vidu=ViduSettings(
            vendor="vidu",
            label="Vidu",
            base_url=vidu_url,
            api_key=Secret(_pick(prefs, environ, "vidu_api_key", "VIDU_API_KEY")),
            region=vidu_region,
        ),
        flexstack=FlexStackSettings(
            vendor="flexstack",
            label="FlexStack",
            base_url=flexstack_url,
            access_token=Secret(_pick(prefs, environ, "flexstack_access_token", "FLEXSTACK_ACCESS_TOKEN")),
            username=_pick(prefs, environ, "flexstack_username", "FLEXSTACK_USERNAME"),
            password=Secret(_pick(prefs, environ, "flexstack_password", "FLEXSTACK_PASSWORD")),
        ),
        elevenlabs=ElevenLabsSettings(
            vendor="elevenlabs",
            label="ElevenLabs",
            base_url=elevenlabs_url,
            api_key=Secret(_pick(prefs, environ, "elevenlabs_api_key", "ELEVENLABS_API_KEY")),
        ),
        upload_host=upload_host,
        tuning=tuning or HttpTuning(),
    )


# -- per-account limits (issue 9) -----------------------------------------------------------------

#: The preference fields of each vendor account's limits; 0 keeps the documented default.
ACCOUNT_LIMIT_FIELDS = ("tasks_at_once", "submits_per_minute")


def account_limit_pref_names() -> tuple[str, ...]:
    from .catalog import ACCOUNT_LIMITS

    return tuple(f"{account}_{name}" for account in ACCOUNT_LIMITS for name in ACCOUNT_LIMIT_FIELDS)


def account_limits(prefs: Mapping[str, object]) -> dict[str, AccountLimits]:
    """Each account's limits: the catalog's documented defaults, raised (or lowered) by preferences.

    ``<account>_tasks_at_once`` and ``<account>_submits_per_minute`` (e.g.
    ``wavespeed_tasks_at_once``); a missing, invalid or 0 value keeps the default.
    """
    from dataclasses import replace

    from .catalog import ACCOUNT_LIMITS

    def number(name: str) -> float:
        try:
            value = float(str(prefs.get(name, 0) or 0))
        except ValueError:
            return 0.0
        return value if value > 0 else 0.0

    limits: dict[str, AccountLimits] = {}
    for account, default in ACCOUNT_LIMITS.items():
        tasks = number(f"{account}_tasks_at_once")
        per_minute = number(f"{account}_submits_per_minute")
        limits[account] = replace(
            default,
            concurrency=int(tasks) if tasks else default.concurrency,
            submits_per_minute=per_minute or default.submits_per_minute,
        )
    return limits
