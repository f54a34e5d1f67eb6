"""The provider registry: ids in UI order, their capabilities, and a factory.

Importing this package is cheap (no requests, pydantic or jwt): capabilities
come from ``catalog``; a vendor module and its dependencies load only when
``create_provider`` is called.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .capabilities import ProviderInfo
from .catalog import IMPLEMENTATIONS, INFOS, PROVIDER_IDS, register_vendor, unregister_vendor
from .vendor_spec import VENDOR_SPECS, Credential, Region, VendorSpec, vendor_spec

if TYPE_CHECKING:
    from .base import Provider
    from .settings import HttpTuning
    from .vendor_client import VendorClient

__all__ = [
    "PROVIDER_IDS",
    "VENDOR_SPECS",
    "Credential",
    "Region",
    "VendorSpec",
    "all_provider_infos",
    "create_provider",
    "provider_info",
    "register_vendor",
    "unregister_vendor",
    "vendor_spec",
]


def provider_info(provider_id: str) -> ProviderInfo:
    """Capabilities of one provider; ConfigError for an unknown id."""
    try:
        return INFOS[provider_id]
    except KeyError:
        from .errors import ConfigError  # not at registration, which imports this package

        raise ConfigError(
            f"Unknown provider '{provider_id}'. Choose one of: {', '.join(PROVIDER_IDS)}."
        ) from None


def all_provider_infos() -> tuple[ProviderInfo, ...]:
    """Every provider's capabilities, in UI order."""
    return tuple(INFOS[provider_id] for provider_id in PROVIDER_IDS)


def create_provider(
    provider_id: str,
    prefs: Mapping[str, str] | None = None,
    environ: Mapping[str, str] = os.environ,
    *,
    tuning: HttpTuning | None = None,
) -> Provider:
    """A ready client for ``provider_id`` with settings from ``prefs``, falling back to ``environ``.

    Missing keys are reported by ``validate`` (before anything is sent), not here,
    so the UI can create a provider to show its fields. ``tuning`` overrides
    timeouts and retry waits (tests).
    """
    provider_info(provider_id)
    from .settings import resolve_settings

    settings = resolve_settings(prefs or {}, environ, tuning)
    implementation = IMPLEMENTATIONS[provider_id]
    if not isinstance(implementation, tuple):
        return implementation(settings)  # a factory registered with the vendor
    module_name, class_name = implementation
    try:
        module = importlib.import_module(f".{module_name}", __name__)
    except ImportError as error:
        from .errors import ConfigError

        # Extensions share one site-packages: another one may ship an incompatible pydantic.
        raise ConfigError(
            f"VSE Foley could not load its bundled libraries ({error}). Another extension may bundle an "
            "incompatible version of pydantic or PyJWT: disable it, or reinstall VSE Foley."
        ) from error
    provider_class: type[VendorClient] = getattr(module, class_name)
    return provider_class(settings)
