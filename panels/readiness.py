"""Why Generate cannot run right now, as sentences the panel shows next to the button.

Credentials are judged by the same code the providers use (``providers.settings``:
preference first, then the environment variable), so the panel and the request
never disagree. Nothing here touches the network.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import bpy

from .. import preferences
from ..preferences import ONLINE_ACCESS_PATH, offline_sentence
from ..providers import provider_info
from ..providers.catalog import VENDOR_NEEDS
from ..providers.errors import ConfigError
from ..providers.settings import FoleySettings, resolve_settings

__all__ = ["ONLINE_ACCESS_PATH", "credential_problem", "offline_sentence", "provider_problem"]

VENDOR_LABELS: Mapping[str, str] = {
    "wavespeed": "WaveSpeed",
    "kling": "Kling",
    "vidu": "Vidu",
    "flexstack": "FlexStack",
}


@dataclass(frozen=True)
class CredentialField:
    """One preference that holds (part of) a vendor credential, and its environment fallback."""

    pref: str
    env: str


#: vendor → its credential preferences, in the order the preferences draw them.
VENDOR_CREDENTIALS: Mapping[str, tuple[CredentialField, ...]] = {
    "wavespeed": (CredentialField("wavespeed_api_key", "WAVESPEED_API_KEY"),),
    "kling": (CredentialField("kling_access_key", "KLING_ACCESS_KEY"),
              CredentialField("kling_secret_key", "KLING_SECRET_KEY")),
    "vidu": (CredentialField("vidu_api_key", "VIDU_API_KEY"),),
    "flexstack": (CredentialField("flexstack_access_token", "FLEXSTACK_ACCESS_TOKEN"),
                  CredentialField("flexstack_username", "FLEXSTACK_USERNAME"),
                  CredentialField("flexstack_password", "FLEXSTACK_PASSWORD")),
}

#: vendor → the environment variable that points it at another host (tests, proxies).
VENDOR_URL_ENV: Mapping[str, str] = {
    "wavespeed": "VSE_FOLEY_WAVESPEED_URL",
    "kling": "VSE_FOLEY_KLING_URL",
    "vidu": "VSE_FOLEY_VIDU_URL",
    "flexstack": "VSE_FOLEY_FLEXSTACK_URL",
}


def online_access() -> bool:
    return bool(bpy.app.online_access)


def env_is_set(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether an environment variable holds a value (the value itself is never shown)."""
    environ = os.environ if environ is None else environ
    return bool(str(environ.get(name, "") or "").strip())


def _resolve(prefs: Mapping[str, str], environ: Mapping[str, str]) -> FoleySettings | str:
    try:
        return resolve_settings(prefs, environ)
    except ConfigError as error:  # an unusable base URL or region: the sentence says which
        return str(error)


def credential_problem(vendor: str, prefs: Mapping[str, str],
                       environ: Mapping[str, str] | None = None) -> str:
    """The sentence saying which key ``vendor`` lacks; "" when its credentials are set."""
    settings = _resolve(prefs, os.environ if environ is None else environ)
    if isinstance(settings, str):
        return settings
    try:
        if vendor == "wavespeed":
            settings.wavespeed.require_key()
        elif vendor == "kling":
            settings.kling.require_keys()
        elif vendor == "vidu":
            settings.vidu.require_key()
        elif vendor == "flexstack":
            settings.flexstack.require_credentials()
        else:
            return f"Unknown vendor '{vendor}'; it needs {VENDOR_NEEDS.get(vendor, 'a key')}."
    except ConfigError as error:
        return str(error)
    return ""


def upload_problem(prefs: Mapping[str, str], environ: Mapping[str, str] | None = None) -> str:
    """Direct Kling needs the clip at a public URL; "" when an upload host is usable.

    Mirrors ``providers.hosts.select_upload_host`` without creating an HTTP session.
    """
    settings = _resolve(prefs, os.environ if environ is None else environ)
    if isinstance(settings, str):
        return settings
    from ..providers.host_choice import upload_host_problem  # no HTTP: the same checks as the request

    return upload_host_problem(settings)


def provider_problem(provider_id: str, prefs: Mapping[str, str],
                     environ: Mapping[str, str] | None = None) -> str:
    """What ``provider_id`` is missing before it can run; "" when it is ready."""
    info = provider_info(provider_id)
    problem = credential_problem(info.vendor, prefs, environ)
    if not problem and info.vendor == "kling" and info.needs_video:
        problem = upload_problem(prefs, environ)
    return problem


def preference_values(context: Any) -> dict[str, str]:
    """The preference values the providers read (empty when the add-on is not enabled)."""
    return preferences.provider_prefs(context)


def ready_providers(context: Any, provider_ids: list[str]) -> list[str]:
    """The ids among ``provider_ids`` whose credentials are set."""
    prefs = preference_values(context)
    return [pid for pid in provider_ids if not provider_problem(pid, prefs)]
