"""Readiness for the panels: the pure checks of ``core.checks`` fed with this Blender's values.

Credentials are judged by the same code the providers use, from each vendor's
``VendorSpec``; this module only reads the preferences and Blender's online
switch. Nothing here touches the network.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import bpy

from .. import preferences
from ..core.checks import ONLINE_ACCESS_PATH, credential_problem, env_is_set, provider_problem, upload_problem
from ..preferences import offline_sentence

__all__ = ["ONLINE_ACCESS_PATH", "credential_problem", "env_is_set", "offline_sentence", "online_access",
           "preference_values", "provider_problem", "ready_providers", "upload_problem"]


def online_access() -> bool:
    return bool(bpy.app.online_access)


def preference_values(context: Any) -> dict[str, str]:
    """The preference values the providers read (empty when the add-on is not enabled)."""
    return preferences.provider_prefs(context)


def ready_providers(context: Any, provider_ids: list[str],
                    environ: Mapping[str, str] | None = None) -> list[str]:
    """The ids among ``provider_ids`` whose credentials are set."""
    prefs = preference_values(context)
    return [pid for pid in provider_ids if not provider_problem(pid, prefs, environ)]
