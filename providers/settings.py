"""Keys, base URLs and tuning for every vendor, from preferences with environment fallback.

Resolution order for each value: a non-empty preference, then the environment
variable, then the default. An environment base URL wins over the region
choice, so tests and proxies can point any vendor at another host.

Stdlib only: the UI may resolve settings without loading requests or pydantic.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import cast
from urllib.parse import urlsplit

from .base import AccountLimits
from .catalog import ACCOUNT_LIMITS
from .errors import ConfigError
from .vendor_spec import PREFS_PATH, VENDOR_SPECS, Credential, VendorSpec, upload_host_specs

__all__ = ["PREFS_PATH", "FoleySettings", "Secret", "VendorSettings", "resolve_settings"]

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
    """One vendor's resolved settings, the same shape for every vendor (built from its ``VendorSpec``).

    ``secret(name)`` / ``value(name)`` read a credential field, ``require(...)``
    returns revealed values or raises ConfigError with the sentence naming the
    preference and the environment variable; ``base_url`` has no trailing slash.
    """

    spec: VendorSpec
    base_url: str = ""
    region: str = ""
    fields: Mapping[str, Secret | str] = field(default_factory=dict)
    #: why the vendor's own address is unusable ("" when fine); raised by ``require_url``
    problem: str = ""

    def require_url(self) -> str:
        """The base URL, or ConfigError with the sentence saying what is wrong with it (or unset)."""
        if self.problem:
            raise ConfigError(self.problem)
        if not self.base_url and self.spec.url_field:
            self.require(self.spec.url_field)  # "No ComfyUI server URL is set. Set ... or ..."
        return self.base_url

    @property
    def vendor(self) -> str:
        return self.spec.id

    @property
    def label(self) -> str:
        return self.spec.label

    def secret(self, name: str) -> Secret:
        """A secret credential field (empty ``Secret`` when not set)."""
        value = self.fields.get(name, Secret())
        return value if isinstance(value, Secret) else Secret(value)

    def value(self, name: str) -> str:
        """A non-secret field (user name, bucket, endpoint...); "" when not set."""
        value = self.fields.get(name, "")
        if isinstance(value, Secret):
            raise TypeError(f"{self.spec.id}.{name} is secret: use secret('{name}')")
        return value

    def has(self, name: str) -> bool:
        return bool(self.fields.get(name))

    @property
    def ready(self) -> bool:
        """Whether one of the vendor's credential sets is complete."""
        return any(all(self.has(name) for name in names) for names in self.spec.requirement_sets())

    def require(self, *names: str) -> tuple[str, ...]:
        """The values of ``names`` (secrets revealed); ConfigError naming what is missing.

        Without names: the vendor's own requirement (any complete credential set), returning
        the values of the first complete set.
        """
        if not names:
            return self.require_credentials()
        missing = [self.spec.credential(name) for name in names if not self.has(name)]
        if missing:
            raise ConfigError(missing_sentence(self.spec, [self.spec.credential(n) for n in names], missing))
        return tuple(self._reveal(name) for name in names)

    def require_credentials(self) -> tuple[str, ...]:
        sets = self.spec.requirement_sets()
        for names in sets:
            if all(self.has(name) for name in names):
                return tuple(self._reveal(name) for name in names)
        if len(sets) == 1:
            return self.require(*sets[0])
        raise ConfigError(alternatives_sentence(self.spec))

    def secrets(self) -> tuple[str, ...]:
        """Every secret credential value, for redaction."""
        return tuple(v.reveal() for v in self.fields.values() if isinstance(v, Secret) and v)

    def _reveal(self, name: str) -> str:
        value = self.fields.get(name, "")
        return value.reveal() if isinstance(value, Secret) else value


def missing_sentence(spec: VendorSpec, needed: list[Credential], missing: list[Credential]) -> str:
    """What to set when ``missing`` (some of ``needed``, all required together) are not set."""
    if len(needed) == 1:
        only = needed[0]
        return f"No {only.label} is set. Set {only.env} or {PREFS_PATH} ▸ {only.label}."
    kind = "keys" if all(c.secret for c in needed) else "settings"
    count = "both" if len(needed) == 2 else f"all {len(needed)}"
    listed = " and ".join(f"{c.env} ({c.label})" for c in missing)
    prefix = f"{spec.label} "
    labels = [needed[0].label, *(c.label.removeprefix(prefix) for c in needed[1:])]
    return (
        f"{spec.label} needs {count} {kind} and {listed} {'is' if len(missing) == 1 else 'are'} missing. "
        f"Set {' and '.join(c.env for c in needed)} or {PREFS_PATH} ▸ {' / '.join(labels)}."
    )


def alternatives_sentence(spec: VendorSpec) -> str:
    """What to set when a vendor takes any one of several credential sets and none is complete."""
    sets = [" and ".join(spec.credential(name).env for name in names) for names in spec.requirement_sets()]
    return (
        f"No {spec.label} credentials are set. Set {', or '.join(sets)}, or fill them in "
        f"{PREFS_PATH} ▸ {spec.label}."
    )


class WaveSpeedSettings(VendorSettings):
    """Typed access for the WaveSpeed provider module (the generic access works too)."""

    @property
    def api_key(self) -> Secret:
        return self.secret("api_key")

    def require_key(self) -> str:
        return self.require("api_key")[0]


class KlingSettings(VendorSettings):
    @property
    def access_key(self) -> Secret:
        return self.secret("access_key")

    @property
    def secret_key(self) -> Secret:
        return self.secret("secret_key")

    def require_keys(self) -> tuple[str, str]:
        access, secret = self.require("access_key", "secret_key")
        return access, secret


class ViduSettings(VendorSettings):
    @property
    def api_key(self) -> Secret:
        return self.secret("api_key")

    def require_key(self) -> str:
        return self.require("api_key")[0]


class FlexStackSettings(VendorSettings):
    @property
    def access_token(self) -> Secret:
        return self.secret("access_token")

    @property
    def username(self) -> str:
        return self.value("username")

    @property
    def password(self) -> Secret:
        return self.secret("password")

    @property
    def can_login(self) -> bool:
        return bool(self.username and self.password)


#: Vendors whose provider modules use typed accessors; any other vendor gets ``VendorSettings``.
SETTINGS_CLASSES: dict[str, type[VendorSettings]] = {
    "wavespeed": WaveSpeedSettings,
    "kling": KlingSettings,
    "vidu": ViduSettings,
    "flexstack": FlexStackSettings,
}


@dataclass(frozen=True)
class FoleySettings:
    """Everything the providers need, resolved once per provider instance.

    ``vendor(id)`` gives any registered vendor's settings; ``wavespeed`` & co. are
    the typed views the built-in provider modules use.
    """

    vendors: Mapping[str, VendorSettings]
    upload_host: str = "auto"
    tuning: HttpTuning = field(default_factory=HttpTuning)

    def vendor(self, vendor_id: str) -> VendorSettings:
        try:
            return self.vendors[vendor_id]
        except KeyError:
            raise ConfigError(
                f"Unknown vendor '{vendor_id}'; known vendors: {', '.join(self.vendors)}."
            ) from None

    @property
    def wavespeed(self) -> WaveSpeedSettings:
        return cast(WaveSpeedSettings, self.vendor("wavespeed"))

    @property
    def kling(self) -> KlingSettings:
        return cast(KlingSettings, self.vendor("kling"))

    @property
    def vidu(self) -> ViduSettings:
        return cast(ViduSettings, self.vendor("vidu"))

    @property
    def flexstack(self) -> FlexStackSettings:
        return cast(FlexStackSettings, self.vendor("flexstack"))

    def secrets(self) -> tuple[str, ...]:
        return tuple(value for vendor in self.vendors.values() for value in vendor.secrets())

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


def is_private_network_host(host: str | None) -> bool:
    """A private-network address: 10/8, 172.16/12, 192.168/16, fc00::/7, link-local, or a ``.local`` name.

    Only IP literals and mDNS names qualify: any other name could resolve to a public host.
    """
    if not host:
        return False
    host = host.strip("[]").lower()
    if host.endswith(".local"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in _PRIVATE_NETWORKS if network.version == address.version)


#: RFC 1918, IPv4 link-local, IPv6 unique-local and link-local (``is_private`` also counts the
#: documentation ranges, which are no one's LAN)
_PRIVATE_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "fc00::/7", "fe80::/10"))


def check_base_url(url: str, label: str, env_var: str, *, allow_private_http: bool = False) -> str:
    """Return ``url`` without trailing slash, or raise ConfigError if keys would travel unencrypted.

    ``allow_private_http``: the user ticked "Allow plain http on my local network" for a
    self-hosted server, so http to a private-network address is accepted too.
    """
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and is_loopback_host(parts.hostname):
        return url
    if parts.scheme == "http" and allow_private_http and is_private_network_host(parts.hostname):
        return url
    if allow_private_http:
        rule = "https://, or http:// only for this computer or a private-network address"
    else:
        rule = "https:// (plain http only for this computer)"
    raise ConfigError(
        f"The {label} base URL {parts.scheme}://{parts.hostname or ''} is not usable: it must start with "
        f"{rule}. Fix or unset {env_var}."
    )


def upload_host_choices() -> tuple[str, ...]:
    """``auto``, every registered vendor's upload host, then ``none``."""
    return ("auto", *(spec.upload_host for spec in upload_host_specs()), "none")


def _region_url(spec: VendorSpec, region: str) -> tuple[str, str]:
    urls = {choice.id: choice.url for choice in spec.regions}
    region = (region or spec.region_default).strip().lower()
    if region not in urls:
        raise ConfigError(
            f"Unknown {spec.label} region '{region}'. Choose one of {', '.join(urls)} in {PREFS_PATH} "
            f"({spec.region_pref})."
        )
    return region, urls[region]


def resolve_vendor(spec: VendorSpec, prefs: Mapping[str, str], environ: Mapping[str, str]) -> VendorSettings:
    """One vendor's settings from its spec; ConfigError for an unusable URL or region."""
    region, url = "", spec.default_url
    if spec.regions:
        region, url = _region_url(spec, str(prefs.get(spec.region_pref, "")))
    if spec.url_env:
        url = str(environ.get(spec.url_env, "") or url)
    fields: dict[str, Secret | str] = {}
    for credential in spec.credentials:
        raw = _pick(prefs, environ, credential.pref, credential.env)
        if not raw and credential.env_fallback:
            raw = str(environ.get(credential.env_fallback, "") or "").strip()
        raw = raw or credential.default
        fields[credential.name] = Secret(raw) if credential.secret else raw
    settings_class = SETTINGS_CLASSES.get(spec.id, VendorSettings)
    if spec.url_field and not (fields[spec.url_field] or url):
        pass  # not set up yet: ``require_url`` says which setting to fill
    elif spec.url_field:  # the address is the user's setting: a bad one troubles this vendor only
        field = spec.credential(spec.url_field)
        try:
            where = f"{field.env} or {PREFS_PATH} ▸ {field.label}"
            url = check_base_url(
                str(fields[spec.url_field] or url), spec.label, where,
                allow_private_http=bool(spec.lan_http_field and fields.get(spec.lan_http_field)),
            )
        except ConfigError as exc:
            return settings_class(spec=spec, base_url="", region=region, fields=fields, problem=str(exc))
    elif url:
        url = check_base_url(url, spec.label, spec.url_env or spec.id)
    return settings_class(spec=spec, base_url=url, region=region, fields=fields)


def resolve_settings(
    prefs: Mapping[str, str], environ: Mapping[str, str], tuning: HttpTuning | None = None
) -> FoleySettings:
    """Resolve all vendors' settings; raises ConfigError only for unusable URLs or choices."""
    vendors = {spec.id: resolve_vendor(spec, prefs, environ) for spec in VENDOR_SPECS}
    upload_host = (str(prefs.get("upload_host", "") or "auto")).strip().lower()
    choices = upload_host_choices()
    if upload_host not in choices:
        raise ConfigError(
            f"Unknown upload host '{upload_host}'. Choose one of {', '.join(choices)} in "
            f"{PREFS_PATH} (upload_host)."
        )
    return FoleySettings(vendors=vendors, upload_host=upload_host, tuning=tuning or HttpTuning())


def provider_pref_names() -> tuple[str, ...]:
    """Every preference the settings read: each vendor's credentials and region, and the upload host."""
    return (*(name for spec in VENDOR_SPECS for name in spec.pref_names()), "upload_host")

# -- per-account limits (issue 9) -----------------------------------------------------------------

#: The preference fields of each vendor account's limits; 0 keeps the documented default.
ACCOUNT_LIMIT_FIELDS = ("tasks_at_once", "submits_per_minute")


def account_limit_pref_names() -> tuple[str, ...]:
    return tuple(f"{account}_{name}" for account in ACCOUNT_LIMITS for name in ACCOUNT_LIMIT_FIELDS)


def account_limits(prefs: Mapping[str, object]) -> dict[str, AccountLimits]:
    """Each account's limits: the catalog's documented defaults, raised (or lowered) by preferences.

    ``<account>_tasks_at_once`` and ``<account>_submits_per_minute`` (e.g.
    ``wavespeed_tasks_at_once``); a missing, invalid or 0 value keeps the default.
    """
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
