"""The "Any host" switch beside the provider (issue 14 item 6), shown only when it can matter.

Drawn by the sidebar's Generate panel and the Generate dialog (right-click menu): when the
chosen provider's model has another host whose key is set, ``scene.foley.any_host`` lets a
job move there if the chosen host proves it made nothing (core/host_fallback.py).
"""

from __future__ import annotations

from typing import Any

from ..core.host_fallback import job_hosts
from ..providers.model_hosts import host_label
from .readiness import preference_values


def other_hosts(context: Any, provider_id: str) -> list[str]:
    """The other hosts of ``provider_id``'s model usable now (their keys are set), in menu order."""
    try:
        return job_hosts(provider_id, preference_values(context))[1:]
    except KeyError:  # an unknown id: the panel says so elsewhere
        return []


def draw_any_host(layout: Any, context: Any, settings: Any) -> None:
    """``Any host (also fal.ai)`` under the provider, or nothing when the model has no other usable host."""
    provider_id = str(getattr(settings, "provider", ""))
    others = other_hosts(context, provider_id)
    if not others:
        return
    names = ", ".join(host_label(pid) for pid in others)
    layout.prop(settings, "any_host", text=f"Any host (also {names})")
