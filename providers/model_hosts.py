"""Which providers run the same model on different hosts (issue 14 item 6); stdlib only, no bpy.

A provider is one model on one host (``wavespeed.mmaudio-v2`` is MMAudio v2 on WaveSpeed).
Providers whose ``ProviderInfo.model`` is the same are *hosts* of one model: the provider
menu lists them together under the model's name, and a job with "any host" on may move to
another host of its model when the chosen one proves it made nothing (core/host_fallback.py).

Grouped only where the model and its version are the same on every host (docs/vendors/fal.md,
../shared/vendors.md): MMAudio v2 (``wavespeed-ai/mmaudio-v2``, ``fal-ai/mmaudio-v2``),
ThinkSound (``wavespeed-ai/think-sound``, ``fal-ai/thinksound``) and Kling video-to-audio
(Kling's own API, ``kwaivgi/kling-video-to-audio`` on WaveSpeed,
``fal-ai/kling-video/video-to-audio`` on fal). Not grouped: Mirelo (WaveSpeed hosts SFX 2.0
and 1.6, fal hosts SFX 1.5: other versions, other limits) and HunyuanVideo-Foley and MMAudio on
your own ComfyUI server (the checkpoint a cloud host runs is not published, and a job should
never move from a paid host onto the editor's GPU, or back, without being asked).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .catalog import INFOS, PROVIDER_IDS
from .vendor_spec import vendor_spec

#: model id -> the name the provider menu shows above its hosts
MODEL_LABELS: dict[str, str] = {
    "mmaudio-v2": "MMAudio v2",
    "thinksound": "ThinkSound",
    "kling-video-to-audio": "Kling video-to-audio",
}


def model_of(provider_id: str) -> str:
    """The model ``provider_id`` runs: its ``model``, or its own id when no other host has it."""
    info = INFOS[provider_id]
    return info.model or info.id


def model_label(provider_id: str) -> str:
    """The model's name ("MMAudio v2"); a provider of its own model: its label."""
    model = model_of(provider_id)
    return MODEL_LABELS.get(model, INFOS[provider_id].label)


def host_label(provider_id: str) -> str:
    """The host's name as a sentence says it ("fal.ai", "WaveSpeed")."""
    info = INFOS[provider_id]
    try:
        return vendor_spec(info.vendor).label
    except KeyError:
        return info.vendor


def hosts_of(provider_id: str) -> tuple[str, ...]:
    """Every host of ``provider_id``'s model, in menu order (``provider_id`` itself included)."""
    model = model_of(provider_id)
    return tuple(pid for pid in PROVIDER_IDS if model_of(pid) == model)


def usable_hosts(provider_id: str, is_ready: Callable[[str], bool]) -> tuple[str, ...]:
    """The hosts a job of ``provider_id`` may use: the chosen one first, then each other host of
    its model that ``is_ready`` (its key, and upload host where needed, are set), in menu order."""
    return (provider_id, *(pid for pid in hosts_of(provider_id) if pid != provider_id and is_ready(pid)))


def menu_groups(provider_ids: Sequence[str] | None = None) -> list[tuple[str, tuple[str, ...]]]:
    """(model name, its hosts) in menu order: a model sits where its first host is registered.

    The name is "" for a model only one of ``provider_ids`` runs (it needs no heading).
    """
    ids = list(PROVIDER_IDS if provider_ids is None else provider_ids)
    groups: dict[str, list[str]] = {}
    for pid in ids:
        groups.setdefault(model_of(pid), []).append(pid)
    return [(model_label(hosts[0]) if len(hosts) > 1 else "", tuple(hosts)) for hosts in groups.values()]
