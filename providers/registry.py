"""The provider registry: which vendors and providers exist, and how each provider is made.

``register_vendor`` is the only way in (the built-ins in ``catalog``, ``catalog_fal`` and
``catalog_self_hosted`` use it too, as a test's own vendor does); everything else reads the
live views here (``INFOS``, ``PROVIDER_IDS``, ``VENDOR_NEEDS``, ``ACCOUNT_LIMITS``). Stdlib only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, overload

from .capabilities import AccountLimits, ProviderInfo
from .vendor_spec import VENDOR_SPECS, VendorSpec, add_spec, remove_spec, upload_host_specs, vendor_spec

if TYPE_CHECKING:  # the provider interface (``base``) is not loaded at registration
    from .base import Provider

#: Limits per vendor ACCOUNT (one key), shared by all its models; the preferences override them.
#: Filled from each ``VendorSpec.limits`` by ``register_vendor`` (updated in place: importers keep it).
ACCOUNT_LIMITS: dict[str, AccountLimits] = {}

#: provider id -> its capabilities, in UI order (filled by ``register_vendor``).
INFOS: dict[str, ProviderInfo] = {}

#: How a provider is made: (module, class) in this package, imported only when a provider is
#: created, or a factory taking the resolved ``FoleySettings`` (a vendor registered by a test).
Implementation: TypeAlias = "tuple[str, str] | Callable[[Any], Provider]"

#: provider id -> its implementation.
IMPLEMENTATIONS: dict[str, Implementation] = {}


class _ProviderIds(Sequence[str]):
    """Every provider id in UI order; a live view, so ids registered later appear everywhere."""

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return tuple(INFOS)[index]

    def __len__(self) -> int:
        return len(INFOS)

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(INFOS))

    def __contains__(self, item: object) -> bool:
        return item in INFOS

    def __repr__(self) -> str:
        return repr(tuple(INFOS))


PROVIDER_IDS: Sequence[str] = _ProviderIds()


def vendor_needs(vendor_id: str) -> str:
    """What a vendor needs configured ("KLING_ACCESS_KEY + KLING_SECRET_KEY, and ... for the clip upload")."""
    spec = vendor_spec(vendor_id)
    needs = spec.needs_text()
    if spec.needs_upload:
        hosts = [host.needs_text() for host in upload_host_specs()]
        if hosts:
            needs += f", and {' or '.join(hosts)} for the clip upload"
    return needs


class _VendorNeeds(Mapping[str, str]):
    """vendor id -> ``vendor_needs(id)``, for ``cli providers`` and the preferences panel."""

    def __getitem__(self, vendor_id: str) -> str:
        if vendor_id not in VENDOR_SPECS:
            raise KeyError(vendor_id)
        return vendor_needs(vendor_id)

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(spec.id for spec in VENDOR_SPECS))

    def __len__(self) -> int:
        return len(VENDOR_SPECS)


#: What each vendor needs configured, derived from the vendor specs.
VENDOR_NEEDS: Mapping[str, str] = _VendorNeeds()


def register_vendor(
    spec: VendorSpec,
    infos: Sequence[ProviderInfo] = (),
    implementations: Mapping[str, Implementation] | None = None,
) -> None:
    """Add a vendor: its description, its providers' capabilities and how each provider is made.

    ``implementations`` maps each provider id to ``(module, class)`` (a module of this
    package, imported on first use) or to a factory called with the resolved
    ``FoleySettings`` (e.g. a test's own provider class). The preferences, readiness, Test Connection and
    the CLI read the registry, so nothing else needs an edit; a registered add-on
    picks new preferences up at its next registration. The built-ins below are
    registered the same way.
    """
    implementations = dict(implementations or {})
    for info in infos:
        if info.vendor != spec.id:
            raise ValueError(f"{info.id} belongs to vendor {info.vendor}, not {spec.id}")
        if info.id not in implementations:
            raise ValueError(f"{info.id} has no implementation (module, class)")
    add_spec(spec)
    if spec.limits is not None:
        ACCOUNT_LIMITS[spec.account_id] = spec.limits
    for info in infos:
        INFOS[info.id] = info
        IMPLEMENTATIONS[info.id] = implementations[info.id]


def unregister_vendor(vendor_id: str) -> None:
    """Remove a vendor and its providers (tests that registered one of their own)."""
    spec = VENDOR_SPECS.get(vendor_id)
    if spec is None:
        return
    for provider_id in [pid for pid, info in INFOS.items() if info.vendor == vendor_id]:
        INFOS.pop(provider_id)
        IMPLEMENTATIONS.pop(provider_id, None)
    if not any(other.account_id == spec.account_id for other in VENDOR_SPECS if other.id != vendor_id):
        ACCOUNT_LIMITS.pop(spec.account_id, None)
    remove_spec(vendor_id)


def implementation_modules() -> tuple[str, ...]:
    """The provider modules of this package ("wavespeed", ...), once each, in registry order."""
    return tuple(dict.fromkeys(made[0] for made in IMPLEMENTATIONS.values() if isinstance(made, tuple)))
