"""How loud a result is played: the gain the strip's volume gets, decided from its measured figures.

Nothing here touches a file: loudness is matched by the strip's volume only.

Modes (the preference "Loudness", or ``scene.foley.loudness`` for one scene):
- OFF: volume 1.0.
- MATCH_TAKES: every take of a comparison group (variations, or several vendors for
  one range) plays at the level of the group's reference take, the first take that
  landed (lowest take index among those on the timeline); the reference itself keeps
  volume 1.0. A result outside a group is left at 1.0.
- TARGET: every result plays at ``target_lufs`` (−23 broadcast, −16 web, or a number).

The gain never lifts the sample peak above PEAK_CEILING_DBFS; when it had to stop
short, ``Gain.warning`` says by how much. A silent or unmeasured result is not matched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

PEAK_CEILING_DBFS = -1.0
#: Blender's sound strip volume tops out at 100 (+40 dB)
MAX_GAIN_DB = 40.0
MODES = ("OFF", "MATCH_TAKES", "TARGET")
#: preference choices: the two named targets are TARGET with a fixed number
PRESET_TARGETS = {"BROADCAST": -23.0, "WEB": -16.0}


@dataclass(frozen=True)
class LevelSetting:
    mode: str = "OFF"
    target_lufs: float = -23.0


def resolve(preference_mode: str, preference_target: float, scene_mode: str | None = None,
            scene_target: float | None = None) -> LevelSetting:
    """The scene's own setting wins when a script or the sidebar set it; else the preference."""
    if scene_mode in MODES:
        target = preference_target if scene_target is None else scene_target
        return LevelSetting(str(scene_mode), float(target))
    if preference_mode in PRESET_TARGETS:
        return LevelSetting("TARGET", PRESET_TARGETS[preference_mode])
    if preference_mode in MODES:
        return LevelSetting(preference_mode, float(preference_target))
    return LevelSetting()


@dataclass(frozen=True)
class Gain:
    gain_db: float
    wanted_db: float
    lufs: float  # the file's own integrated loudness

    @property
    def volume(self) -> float:
        return 10.0 ** (self.gain_db / 20.0)

    @property
    def effective_lufs(self) -> float:
        return self.lufs + self.gain_db

    @property
    def short_by_db(self) -> float:
        return max(0.0, self.wanted_db - self.gain_db)

    @property
    def warning(self) -> str:
        if self.short_by_db < 0.05:
            return ""
        return (f"Loudness stopped {self.short_by_db:.1f} dB short of its target so that its peaks stay "
                f"under {PEAK_CEILING_DBFS:.0f} dBFS; raise it by hand if a limiter follows.")


def gain_for(
    analysis: dict[str, Any], setting: LevelSetting, reference_lufs: float | None = None
) -> Gain | None:
    """The gain for a result, or None when it is left alone (off, silent, unmeasured, the reference)."""
    lufs = analysis.get("lufs") if analysis else None
    if setting.mode == "OFF" or lufs is None or not math.isfinite(lufs):
        return None
    if setting.mode == "TARGET":
        wanted = setting.target_lufs - lufs
    elif reference_lufs is not None:
        wanted = reference_lufs - lufs
    else:
        return None
    gain = min(wanted, MAX_GAIN_DB)
    peak = analysis.get("sample_peak_dbfs")
    if peak is not None and gain > 0.0:
        # only a boost can push the peak up; a file already above the ceiling is not boosted at all
        gain = min(gain, max(0.0, PEAK_CEILING_DBFS - peak))
    return Gain(round(gain, 3), round(wanted, 3), float(lufs))
