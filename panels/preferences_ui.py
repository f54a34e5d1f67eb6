"""The add-on preferences page: vendor keys, regions, how jobs run, and the shortcut.

Called from ``FOLEY_AddonPreferences.draw``. Environment variables are reported
as set or not set, never shown.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from ..blender import keymaps
from ..core.checks import env_is_set
from ..providers import all_provider_infos
from ..providers.catalog import ACCOUNT_LIMITS, VENDOR_NEEDS
from ..providers.settings import provider_pref_names
from ..providers.vendor_spec import VENDOR_SPECS, VendorSpec
from .readiness import ONLINE_ACCESS_PATH, credential_problem, online_access, upload_problem
from .wrapping import draw_wrapped

#: Preferences are wide: wrap later than in the sidebar.
PREFS_WIDTH = 90


def _pref_values(prefs: Any) -> dict[str, str]:
    return {name: str(getattr(prefs, name, "") or "") for name in provider_pref_names()}


def env_note(pref_value: str, env: str) -> str:
    """Which source a credential comes from, without showing any value."""
    state = "set" if env_is_set(env) else "not set"
    if pref_value.strip():
        return f"Uses this field (${env} is {state} and ignored)"
    return f"Empty: uses ${env} ({state} in this environment)"


def draw_preferences(prefs: Any, context: Any, layout: Any) -> None:
    """The whole preferences page."""
    values = _pref_values(prefs)
    column = layout.column()
    column.label(text="Keys are stored only in Blender's preferences, never in .blend files.", icon="LOCKED")
    if not online_access():
        draw_wrapped(column, f"Online access is off: nothing is sent and Test Connection is unavailable. "
                             f"Turn on {ONLINE_ACCESS_PATH}.", icon="INTERNET", width=PREFS_WIDTH, alert=True)
    for spec in VENDOR_SPECS:
        draw_vendor_box(column, prefs, spec, values)
    draw_jobs_box(column, prefs)
    draw_keymap_box(column, context)


def draw_vendor_box(layout: Any, prefs: Any, spec: VendorSpec, values: dict[str, str]) -> None:
    """Key fields with their environment fallback, region, readiness and Test Connection."""
    vendor = spec.id
    box = layout.box()
    problem = credential_problem(vendor, values)
    header = box.row()
    header.label(text=spec.label, icon="CHECKMARK" if not problem else "ERROR")
    if spec.probe_provider or spec.probe:
        test = header.row()
        test.enabled = online_access() and not problem  # an unauthenticated test call proves nothing
        test.operator("foley.test_connection", text="Test Connection", icon="URL").vendor = vendor

    users = [info.label for info in all_provider_infos() if info.vendor == vendor]
    if users:
        draw_wrapped(box, f"Used by: {', '.join(users)}", width=PREFS_WIDTH)
    draw_wrapped(box, f"Needs: {VENDOR_NEEDS.get(vendor, 'a key')}", width=PREFS_WIDTH)
    if spec.credentials_hint:
        draw_wrapped(box, spec.credentials_hint, width=PREFS_WIDTH)

    for field in spec.credentials:
        column = box.column(align=True)
        column.prop(prefs, field.pref)
        note = column.row()
        note.alignment = "RIGHT"
        note.label(text=env_note(values.get(field.pref, ""), field.env))

    if spec.regions:
        box.prop(prefs, spec.region_pref)
    url_env = spec.url_env
    if url_env and env_is_set(url_env):
        host = urlsplit(os.environ.get(url_env, "")).hostname or "?"
        # the host only: a URL could carry user:password
        ignored = " (the region is ignored)" if spec.regions else ""
        box.label(text=f"${url_env} points this vendor at {host}{ignored}", icon="INFO")

    if spec.needs_upload:
        upload = upload_problem(vendor, values)
        if upload and not problem:
            draw_wrapped(box, upload, icon="ERROR", width=PREFS_WIDTH, alert=True)
    if problem:
        draw_wrapped(box, problem, icon="ERROR", width=PREFS_WIDTH, alert=True)


def draw_jobs_box(layout: Any, prefs: Any) -> None:
    box = layout.box()
    box.label(text="Jobs", icon="SORTTIME")
    column = box.column()
    column.prop(prefs, "upload_host")
    column.prop(prefs, "clip_short_side")
    column.prop(prefs, "clip_colour")
    column.prop(prefs, "concurrency")
    draw_account_limits(column, prefs)
    column.prop(prefs, "output_folder")
    draw_wrapped(column, f"Audio goes to //{prefs.output_folder or 'foley'}/ next to the saved .blend "
                         "(the extension's user folder for unsaved files).", width=PREFS_WIDTH)
    column.prop(prefs, "confirm_cost_above")
    column.prop(prefs, "ask_above_requests")

    column.prop(prefs, "fill_short_results")
    column.prop(prefs, "loudness")
    if prefs.loudness == "TARGET":
        column.prop(prefs, "loudness_target")


def draw_account_limits(layout: Any, prefs: Any) -> None:
    """Limits per vendor account (one key), shared by every model on it; defaults: default tiers."""
    draw_wrapped(layout, "Limits per vendor account (one key), shared by all its models. Raise them "
                         "if your tier allows more; a job over a limit waits for a free slot.",
                 width=PREFS_WIDTH)
    grid = layout.grid_flow(row_major=True, columns=2, even_columns=True)
    for account in ACCOUNT_LIMITS:
        grid.prop(prefs, f"{account}_tasks_at_once")
        grid.prop(prefs, f"{account}_submits_per_minute")


def draw_keymap_box(layout: Any, context: Any) -> None:
    """The shortcut, editable like Blender's own (the user keyconfig holds the user's changes)."""
    box = layout.box()
    box.label(text="Shortcut", icon="KEYINGSET")
    items = keymaps.registered_items()
    if not items:
        box.label(text="No shortcut: Blender runs without an add-on key configuration.", icon="INFO")
        return
    import rna_keymap_ui

    keyconfigs = context.window_manager.keyconfigs
    user_config = keyconfigs.user
    for keymap, item in items:
        user_keymap, user_item = _user_copy(user_config, keymap, item)
        # keyitem_restore needs the keymap in the context, like Blender's own keymap editor
        box.context_pointer_set("keymap", user_keymap)
        rna_keymap_ui.draw_kmi([], user_config or keyconfigs.addon, user_keymap, user_item, box, 0)


def _user_copy(user_config: Any, keymap: Any, item: Any) -> tuple[Any, Any]:
    """The user keyconfig's copy of an add-on item (edits there persist); the add-on item if none yet."""
    user_keymap = user_config.keymaps.get(keymap.name) if user_config is not None else None
    if user_keymap is None:
        return keymap, item
    for candidate in user_keymap.keymap_items:
        if candidate.idname == item.idname and _same_properties(candidate, item):
            return user_keymap, candidate
    return keymap, item


def _same_properties(first: Any, second: Any) -> bool:
    first_props, second_props = first.properties, second.properties
    if first_props is None or second_props is None:
        return first_props is second_props
    names = [name for name in second_props.keys() if name != "rna_type"]  # noqa: SIM118 - IDProperty group
    return all(getattr(first_props, name, None) == getattr(second_props, name, None) for name in names)
