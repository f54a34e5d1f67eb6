"""Set a landed strip's volume from its measured loudness (main thread; the figures are already there).

The measuring happened on the worker (``core.analysis``, stored in
``job.audio_info["analysis"]``); here we only decide the gain (``core.level``), set
``strip.volume`` and copy the figures into the strip's metadata. The file is never
rewritten.

Which setting applies: ``scene.foley.loudness`` once a script or the sidebar has set
it (``scene.foley.property_unset("loudness")`` hands the scene back to the
preference); otherwise the preference "Loudness".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.analysis import flags, summary
from ..core.jobs import Job
from ..core.level import LevelSetting, gain_for, resolve
from .strip_metadata import METADATA_KEY

#: metadata keys on the strip (inside ``strip["vse_foley"]``)
EFFECTIVE_LUFS_KEY = "effective_lufs"


@dataclass
class LevelResult:
    volume: float = 1.0
    figures: dict[str, Any] = field(default_factory=dict)  # flat, for the strip's metadata
    warning: str = ""
    flags: list[str] = field(default_factory=list)


def level_setting(scene: Any, context: Any = None) -> LevelSetting:
    from ..preferences import addon_preferences

    prefs = addon_preferences(context)
    pref_mode = str(getattr(prefs, "loudness", "OFF")) if prefs is not None else "OFF"
    pref_target = float(getattr(prefs, "loudness_target", -23.0)) if prefs is not None else -23.0
    settings = getattr(scene, "foley", None)
    scene_mode: str | None = None
    scene_target: float | None = None
    if settings is not None and hasattr(settings, "loudness") and settings.is_property_set("loudness"):
        scene_mode = str(settings.loudness)
        scene_target = float(settings.loudness_target)
    return resolve(pref_mode, pref_target, scene_mode, scene_target)


def reference_lufs(takes: list[Any]) -> float | None:
    """The level the group plays at: the effective loudness of its first measured take."""
    for strip in takes:  # ordered by take index
        value = strip.get(METADATA_KEY, {}).get(EFFECTIVE_LUFS_KEY)
        if value is not None and value != "":
            return float(value)
    return None


def scene_sample_rate(scene: Any) -> int:
    ffmpeg = getattr(getattr(scene, "render", None), "ffmpeg", None)
    return int(getattr(ffmpeg, "audio_mixrate", 0) or 0)


def _number(value: Any) -> float | str:
    """A figure for an ID property: the number, or "" (ID properties cannot hold None)."""
    return "" if value is None else float(value)


def level_for(scene: Any, job: Job, takes: list[Any]) -> LevelResult:
    """Volume, metadata figures, warning and flags for ``job``'s strip. Never raises on odd figures."""
    analysis = dict(job.audio_info.get("analysis") or {})
    result = LevelResult(flags=flags(analysis, scene_sample_rate(scene)))
    result.figures = {
        "loudness": summary(analysis),
        "lufs": _number(analysis.get("lufs")),
        "sample_peak_dbfs": _number(analysis.get("sample_peak_dbfs")),
        "true_peak_dbtp": _number(analysis.get("true_peak_dbtp")),
        "sample_rate": int(analysis.get("sample_rate", 0) or 0),
        "channels": int(analysis.get("channels", 0) or 0),
        "flags": "; ".join(result.flags),
        "gain_db": 0.0,
        EFFECTIVE_LUFS_KEY: _number(analysis.get("lufs")),
    }
    if not analysis.get("measured", False) and analysis.get("reason"):
        result.figures["loudness_note"] = str(analysis["reason"])
    setting = level_setting(scene)
    reference = reference_lufs(takes) if setting.mode == "MATCH_TAKES" and job.group_id else None
    gain = gain_for(analysis, setting, reference)
    if gain is not None:
        result.volume = gain.volume
        result.warning = gain.warning
        result.figures["gain_db"] = gain.gain_db
        result.figures[EFFECTIVE_LUFS_KEY] = round(gain.effective_lufs, 2)
    result.figures["loudness_mode"] = setting.mode
    return result
