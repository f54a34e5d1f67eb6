"""Add-on preferences: vendor keys (stored only in Blender's preferences, never
in a .blend), regions, the upload host and how jobs run.

Empty key fields fall back to the environment variables named in each tooltip.
"""

from collections.abc import Callable
from typing import Any

import bpy

from .providers.vendor_spec import ONLINE_ACCESS_PATH, VENDOR_SPECS, Credential, VendorSpec, upload_host_specs

__all__ = ["ONLINE_ACCESS_PATH", "FOLEY_AddonPreferences", "addon_preferences", "offline_sentence", "prepare"]


def offline_sentence() -> str:
    return f"Online access is off, so nothing can be sent. Turn on {ONLINE_ACCESS_PATH}."


class _Hooks:
    """What the Blender layer plugs in at registration (this module imports neither it nor the panels)."""

    def __init__(self) -> None:  # a plain class: one dataclass less to build at registration
        self.draw: Callable[[Any, Any, Any], None] | None = None
        self.limits_changed: Callable[[], None] | None = None
        self.fill_changed: Callable[[], None] | None = None


_hooks = _Hooks()


def _limits_changed(_prefs: Any, _context: Any) -> None:
    if _hooks.limits_changed is not None:
        _hooks.limits_changed()


def _fill_changed(_prefs: Any, _context: Any) -> None:
    if _hooks.fill_changed is not None:
        _hooks.fill_changed()


def fill_short_results(context: Any = None) -> bool:
    """The "Fill short results" preference (main thread only; on when the add-on has none)."""
    prefs = addon_preferences(context)
    return bool(getattr(prefs, "fill_short_results", True)) if prefs is not None else True


# -- the vendor preferences, derived from the vendor specs (providers/vendor_spec.py) -------------

KEY_NOTE = "Stored in Blender's preferences only, never in .blend files."


def _credential_property(credential: Credential) -> Any:
    fallback = f"Empty: uses ${credential.env}"
    if credential.kind == "bool":  # off falls back to the environment ("1" turns it on)
        off = f"Off: uses ${credential.env}"
        description = " ".join(part for part in (credential.description, off) if part)
        return bpy.props.BoolProperty(name=credential.label, description=description)
    if credential.kind == "file":
        description = " ".join(part for part in (credential.description, fallback) if part)
        return bpy.props.StringProperty(name=credential.label, subtype="FILE_PATH", description=description)
    if credential.secret:
        description = " ".join(part for part in (credential.description, KEY_NOTE, fallback) if part)
        return bpy.props.StringProperty(name=credential.label, subtype="PASSWORD", description=description)
    description = " ".join(part for part in (credential.description, fallback) if part)
    return bpy.props.StringProperty(name=credential.label, description=description)


def _region_property(spec: VendorSpec) -> Any:
    return bpy.props.EnumProperty(
        name=f"{spec.label} region", default=spec.region_default,
        items=[(region.id, region.label, region.host) for region in spec.regions])


def _tasks_at_once(spec: VendorSpec) -> Any:
    assert spec.limits is not None
    label = spec.limits.label
    return bpy.props.IntProperty(
        name=f"{label} tasks at once", default=spec.limits.concurrency, min=1, max=64,
        update=_limits_changed,
        description=f"Tasks running at once on one {label} account (key), shared by all its models. "
                    f"{spec.tasks_note} Raise it on a higher tier")


def _submits_per_minute(spec: VendorSpec) -> Any:
    assert spec.limits is not None
    label = spec.limits.label
    return bpy.props.IntProperty(
        name=f"{label} submits a minute", default=int(spec.limits.submits_per_minute), min=1, max=600,
        update=_limits_changed,
        description=f"New tasks sent a minute to one {label} account. {spec.submits_note}")


def _upload_host_property() -> Any:
    hosts = upload_host_specs()
    direct = [f"{spec.label} direct" for spec in VENDOR_SPECS if spec.needs_upload]
    automatic = "; else ".join(f"{spec.upload_label} when a {spec.label} key is set" for spec in hosts)
    items = [("auto", "Automatic", automatic or "The first upload host whose key is set")]
    items += [(spec.upload_host, spec.upload_label or spec.upload_host, f"Needs a {spec.label} key")
              for spec in hosts]
    items.append(("none", "None", "Never upload clips to a third party"))
    # the same choices as ``providers.settings.upload_host_choices`` (a test holds them equal; the
    # settings module is not imported at registration)
    return bpy.props.EnumProperty(
        name="Clip upload host", default="auto",
        description=f"Where clips go for vendors that need a URL ({', '.join(direct)})" if direct
        else "Where clips go for vendors that need a URL",
        items=items)


def vendor_properties() -> dict[str, Any]:
    """Every vendor preference, from the registered specs: keys (PASSWORD), regions, the upload
    host, and each account's ``<account>_tasks_at_once`` / ``<account>_submits_per_minute``."""
    properties: dict[str, Any] = {}
    for spec in VENDOR_SPECS:
        for credential in spec.credentials:
            properties[credential.pref] = _credential_property(credential)
        if spec.regions:
            properties[spec.region_pref] = _region_property(spec)
    properties["upload_host"] = _upload_host_property()
    accounts: set[str] = set()
    for spec in VENDOR_SPECS:
        if spec.limits is None or spec.account_id in accounts:
            continue
        accounts.add(spec.account_id)
        tasks, submits = spec.limit_prefs
        properties[tasks] = _tasks_at_once(spec)
        properties[submits] = _submits_per_minute(spec)
    return properties


class FOLEY_AddonPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    clip_short_side: bpy.props.IntProperty(  # type: ignore[valid-type]
        name="Clip size", description="Short side in pixels of the clips sent to video providers",
        default=360, min=128, max=1080, subtype="PIXEL")
    clip_colour: bpy.props.EnumProperty(  # type: ignore[valid-type]
        name="Clip colour",
        description="How the clips sent to video providers get their colours",
        items=(
            ("STANDARD", "Standard (fast)",
             "The Standard view transform: footage as it was recorded, about three times faster to "
             "render than AgX or Filmic (Blender's Video Editing template uses Standard for the "
             "same reason)"),
            ("SCENE", "As the preview",
             "The scene's own view transform and look: exactly what the preview shows, slower "
             "with AgX or Filmic"),
        ),
        default="STANDARD")
    concurrency: bpy.props.IntProperty(  # type: ignore[valid-type]
        name="Jobs at once per model",
        description="An extra cap per model; 0: none. The account limits below always apply",
        default=0, min=0, max=16)
    output_folder: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Audio folder", description="Folder next to the .blend for generated audio", default="foley")
    confirm_cost_above: bpy.props.FloatProperty(  # type: ignore[valid-type]
        name="Confirm above", description="Ask before a request estimated above this (USD); 0 never asks",
        default=1.0, min=0.0, soft_max=50.0, precision=2)
    ask_above_requests: bpy.props.IntProperty(  # type: ignore[valid-type]
        name="Ask above requests",
        description="Ask before one Generate makes more paid calls than this (chunks × takes × providers), "
                    "even when the price is unknown; scripts are refused above it unless they raise "
                    "scene.foley.max_requests",
        default=12, min=1, max=1000)
    loudness: bpy.props.EnumProperty(  # type: ignore[valid-type]
        name="Loudness", default="OFF",
        description="How loud new results play, set by the strip's volume (the file is never changed). "
                    "A scene's own setting (scene.foley.loudness) wins over this",
        items=[("OFF", "Off", "Play results as the vendor made them"),
               ("MATCH_TAKES", "Match takes",
                "Every take and vendor of a comparison sits at the first take's level"),
               ("BROADCAST", "-23 LUFS (broadcast)", "EBU R128 programme loudness"),
               ("WEB", "-16 LUFS (web)", "Streaming and web video"),
               ("TARGET", "Target", "The loudness given below")])
    fill_short_results: bpy.props.BoolProperty(  # type: ignore[valid-type]
        name="Fill short results", default=True, update=_fill_changed,
        description="A result shorter than its range gets one more paid request for the missing end, "
                    "joined by a crossfade (the estimate says it); off: the result is only flagged as short")
    loudness_target: bpy.props.FloatProperty(  # type: ignore[valid-type]
        name="Target", description="Integrated loudness (LUFS) for the Target choice",
        default=-23.0, min=-60.0, max=0.0, precision=1)

    def draw(self, context: bpy.types.Context) -> None:
        if _hooks.draw is not None:
            _hooks.draw(self, context, self.layout)


#: The preference names ``prepare`` added last time (removed again when a vendor goes away).
_vendor_names: set[str] = set()


def prepare(*, draw: Callable[[Any, Any, Any], None] | None = None,
            limits_changed: Callable[[], None] | None = None,
            fill_changed: Callable[[], None] | None = None) -> None:
    """Before ``FOLEY_AddonPreferences`` is registered: add the vendor preferences of every
    registered spec to it and plug in the drawing and the update callbacks.

    Blender reads the properties from ``__annotations__`` when the class is registered, so a
    vendor registered later appears at the next registration.
    """
    _hooks.draw, _hooks.limits_changed, _hooks.fill_changed = draw, limits_changed, fill_changed
    annotations = FOLEY_AddonPreferences.__annotations__
    for name in _vendor_names:
        annotations.pop(name, None)
    properties = vendor_properties()
    annotations.update(properties)
    _vendor_names.clear()
    _vendor_names.update(properties)


def provider_prefs(context: Any = None) -> dict[str, str]:
    """The preference values the provider settings read (main thread only)."""
    from .providers.settings import provider_pref_names  # not at registration

    prefs = addon_preferences(context)
    if prefs is None:
        return {}
    return {name: _setting_text(getattr(prefs, name)) for name in provider_pref_names()}


def _setting_text(value: Any) -> str:
    """A preference as the settings read it: a checkbox is "1" or "" (off falls back to the environment)."""
    if isinstance(value, bool):
        return "1" if value else ""
    return str(value)


def account_limit_prefs(context: Any = None) -> dict[str, int]:
    """The per-account limit preferences (main thread only); settings.account_limits reads them."""
    from .providers.settings import account_limit_pref_names  # not at registration

    prefs = addon_preferences(context)
    if prefs is None:
        return {}
    return {name: int(getattr(prefs, name)) for name in account_limit_pref_names()}


def addon_preferences(context: Any = None) -> Any:
    context = context or bpy.context
    addon = context.preferences.addons.get(__package__ or "")
    return addon.preferences if addon else None


classes = (FOLEY_AddonPreferences,)
