"""Test connection: one cheap authenticated request per vendor, nothing generated.

Each vendor's ``VendorSpec`` says how. With ``probe_provider`` the probe asks
that provider for the status of a task id that cannot exist: an authentication
failure comes back as AuthError (or ConfigError when no key is set); any other
answer from the vendor ("no such task") proves the address and the key work.
A vendor without task polling (an upload host) names a ``probe`` function
("module:function" in this package, or a dotted module) called as
``function(settings, spec) -> sentence``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator, Mapping

from . import create_provider
from .base import VendorTask
from .errors import AuthError, ConfigError, FoleyError, NetworkError, RateLimitError, VendorUnavailableError
from .settings import FoleySettings, resolve_settings
from .vendor_spec import VENDOR_SPECS, VendorSpec

PROBE_TASK_ID = "vse-foley-connection-test"


class _ProbeProviders(Mapping[str, str]):
    """vendor id -> the provider id its probe polls (vendors probed by polling only)."""

    def __getitem__(self, vendor: str) -> str:
        spec = VENDOR_SPECS.get(vendor)
        if spec is None or not spec.probe_provider:
            raise KeyError(vendor)
        return spec.probe_provider

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(spec.id for spec in VENDOR_SPECS if spec.probe_provider))

    def __len__(self) -> int:
        return sum(1 for _ in self)


#: vendor id -> provider id of its poll probe, derived from the vendor specs.
PROBE_PROVIDER: Mapping[str, str] = _ProbeProviders()


def vendors_to_probe() -> tuple[VendorSpec, ...]:
    """The vendors Test Connection can check, in registry order."""
    return tuple(spec for spec in VENDOR_SPECS if spec.probe_provider or spec.probe)


def check_connection(vendor: str, prefs: Mapping[str, str] | None = None,
                     environ: Mapping[str, str] = os.environ) -> str:
    """A sentence saying the vendor accepted the key; raises FoleyError otherwise."""
    spec = VENDOR_SPECS.get(vendor)
    if spec is None or not (spec.probe_provider or spec.probe):
        known = ", ".join(s.id for s in vendors_to_probe())
        raise ConfigError(f"Unknown vendor '{vendor}'; choose one of {known}.")
    if spec.probe:
        settings = resolve_settings(prefs or {}, environ)
        return _probe_function(spec.probe)(settings, spec)
    return _poll_probe(spec, prefs or {}, environ)


def _poll_probe(spec: VendorSpec, prefs: Mapping[str, str], environ: Mapping[str, str]) -> str:
    provider = create_provider(spec.probe_provider, prefs, environ)
    try:
        provider.poll(VendorTask(PROBE_TASK_ID))
    except (AuthError, ConfigError, NetworkError, RateLimitError, VendorUnavailableError):
        raise
    except FoleyError:
        pass  # the vendor answered an authenticated request about a task that does not exist
    finally:
        provider.close()
    return f"{spec.label}: connected, and the key was accepted."


def _probe_function(path: str) -> Callable[[FoleySettings, VendorSpec], str]:
    module_name, _, function_name = path.partition(":")
    package = __name__.rsplit(".", 1)[0]
    module = importlib.import_module(module_name if "." in module_name else f".{module_name}", package)
    function: Callable[[FoleySettings, VendorSpec], str] = getattr(module, function_name)
    return function
