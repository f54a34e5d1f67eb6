"""Add-on preferences: vendor keys (stored only in Blender's preferences, never
in a .blend), regions, the upload host and how jobs run.

Empty key fields fall back to the environment variables named in each tooltip.
"""

from __future__ import annotations

from typing import Any

import bpy

from .providers.catalog import ACCOUNT_LIMITS as _LIMITS

ONLINE_ACCESS_PATH = "Edit ▸ Preferences ▸ System ▸ Network ▸ Allow Online Access"


def offline_sentence() -> str:
    return f"Online access is off, so nothing can be sent. Turn on {ONLINE_ACCESS_PATH}."


# Preference names that the provider settings read (see providers/settings.py).
PROVIDER_PREF_NAMES = (
    "wavespeed_api_key", "kling_access_key", "kling_secret_key", "kling_region", "vidu_api_key",
    "vidu_region", "flexstack_access_token", "flexstack_username", "flexstack_password", "upload_host",
    "elevenlabs_api_key",  # issue 14, until the preferences are derived from the VendorSpecs
)


def _limits_changed(_prefs: Any, _context: Any) -> None:
    from .blender import runtime

    runtime.apply_account_limits()


def _fill_changed(_prefs: Any, _context: Any) -> None:
    from .blender import runtime

    runtime.apply_fill_short()


def fill_short_results(context: Any = None) -> bool:
    """The "Fill short results" preference (main thread only; on when the add-on has none)."""
    prefs = addon_preferences(context)
    return bool(getattr(prefs, "fill_short_results", True)) if prefs is not None else True


def _tasks_at_once(account: str, documented: str) -> Any:
    label = _LIMITS[account].label
    return bpy.props.IntProperty(
        name=f"{label} tasks at once", default=_LIMITS[account].concurrency, min=1, max=64,
        update=_limits_changed,
        description=f"Tasks running at once on one {label} account (key), shared by all its models. "
                    f"{documented} Raise it on a higher tier")


def _submits_per_minute(account: str, documented: str) -> Any:
    label = _LIMITS[account].label
    return bpy.props.IntProperty(
        name=f"{label} submits a minute", default=int(_LIMITS[account].submits_per_minute), min=1, max=600,
        update=_limits_changed,
        description=f"New tasks sent a minute to one {label} account. {documented}")


def _key(name: str, env: str) -> Any:
    return bpy.props.StringProperty(
        name=name, subtype="PASSWORD",
        description=f"Stored in Blender's preferences only, never in .blend files. Empty: uses ${env}")


class FOLEY_AddonPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    wavespeed_api_key: _key("WaveSpeed API key", "WAVESPEED_API_KEY")  # type: ignore[valid-type]
    kling_access_key: _key("Kling access key", "KLING_ACCESS_KEY")  # type: ignore[valid-type]
    kling_secret_key: _key("Kling secret key", "KLING_SECRET_KEY")  # type: ignore[valid-type]
    kling_region: bpy.props.EnumProperty(  # type: ignore[valid-type]
        name="Kling region", default="singapore",
        items=[("singapore", "Global (Singapore)", "api-singapore.klingai.com"),
               ("beijing", "Mainland China (Beijing)", "api-beijing.klingai.com"),
               ("legacy", "Legacy", "api.klingai.com")])
    vidu_api_key: _key("Vidu API key", "VIDU_API_KEY")  # type: ignore[valid-type]
    vidu_region: bpy.props.EnumProperty(  # type: ignore[valid-type]
        name="Vidu region", default="global",
        items=[("global", "Global (vidu.com)", "api.vidu.com"), ("china", "China (vidu.cn)", "api.vidu.cn")])
    flexstack_access_token: _key("FlexStack access token", "FLEXSTACK_ACCESS_TOKEN")  # type: ignore[valid-type]
    flexstack_username: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="FlexStack username", description="Empty: uses $FLEXSTACK_USERNAME")
    flexstack_password: _key("FlexStack password", "FLEXSTACK_PASSWORD")  # type: ignore[valid-type]
    upload_host: bpy.props.EnumProperty(  # type: ignore[valid-type]
        name="Clip upload host", default="auto",
        description="Where clips go for vendors that need a URL (Kling direct)",
        items=[("auto", "Automatic", "WaveSpeed's media upload when a WaveSpeed key is set"),
               ("wavespeed", "WaveSpeed media upload", "Needs a WaveSpeed key"),
               ("none", "None", "Never upload clips to a third party")])
    clip_short_side: bpy.props.IntProperty(  # type: ignore[valid-type]
        name="Clip size", description="Short side in pixels of the clips sent to video providers",
        default=360, min=128, max=1080, subtype="PIXEL")
    concurrency: bpy.props.IntProperty(  # type: ignore[valid-type]
        name="Jobs at once per model",
        description="An extra cap per model; 0: none. The account limits below always apply",
        default=0, min=0, max=16)
    # Per vendor ACCOUNT (issue 9); defaults are the documented default tiers (providers/catalog.py).
    wavespeed_tasks_at_once: _tasks_at_once("wavespeed", "Default tier: 3.")  # type: ignore[valid-type]
    wavespeed_submits_per_minute: _submits_per_minute(  # type: ignore[valid-type]
        "wavespeed", "Default tier: 5 video tasks a minute.")
    kling_tasks_at_once: _tasks_at_once("kling", "Kling documents no number.")  # type: ignore[valid-type]
    kling_submits_per_minute: _submits_per_minute(  # type: ignore[valid-type]
        "kling", "Kling documents no number: this is our bound.")
    vidu_tasks_at_once: _tasks_at_once("vidu", "Vidu: 5 per organisation.")  # type: ignore[valid-type]
    vidu_submits_per_minute: _submits_per_minute(  # type: ignore[valid-type]
        "vidu", "Vidu documents no number: this is our bound.")
    flexstack_tasks_at_once: _tasks_at_once(  # type: ignore[valid-type]
        "flexstack", "FlexStack documents no number.")
    flexstack_submits_per_minute: _submits_per_minute(  # type: ignore[valid-type]
        "flexstack", "FlexStack documents no number: this is our bound.")
    # issue 14: ElevenLabs (its VendorSpec says the same; derived once the preferences are)
    elevenlabs_api_key: _key("ElevenLabs API key", "ELEVENLABS_API_KEY")  # type: ignore[valid-type]
    elevenlabs_tasks_at_once: _tasks_at_once(  # type: ignore[valid-type]
        "elevenlabs", "ElevenLabs limits requests at once by plan; 2 is the smallest plan's.")
    elevenlabs_submits_per_minute: _submits_per_minute(  # type: ignore[valid-type]
        "elevenlabs", "ElevenLabs documents no number: this is our bound.")
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
        from .panels.preferences_ui import draw_preferences

        draw_preferences(self, context, self.layout)


def provider_prefs(context: Any = None) -> dict[str, str]:
    """The preference values the provider settings read (main thread only)."""
    prefs = addon_preferences(context)
    if prefs is None:
        return {}
    return {name: str(getattr(prefs, name)) for name in PROVIDER_PREF_NAMES}


def account_limit_prefs(context: Any = None) -> dict[str, int]:
    """The per-account limit preferences (main thread only); settings.account_limits reads them."""
    from .providers.settings import account_limit_pref_names

    prefs = addon_preferences(context)
    if prefs is None:
        return {}
    return {name: int(getattr(prefs, name)) for name in account_limit_pref_names()}


def addon_preferences(context: Any = None) -> Any:
    context = context or bpy.context
    addon = context.preferences.addons.get(__package__ or "")
    return addon.preferences if addon else None


classes = (FOLEY_AddonPreferences,)
