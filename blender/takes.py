"""Take groups: variations (or several providers) for one range, stacked on
consecutive free channels at the same start frame, all muted but one."""

from __future__ import annotations

from typing import Any

from .. import compat
from ..core.jobs import Job
from .insert import Inserted, insert_job_audio
from .strip_metadata import METADATA_KEY, is_take


def group_strips(scene: Any, group_id: str) -> list[Any]:
    """The takes of a group, by take index: the strips inserted as takes, never copies of them."""
    editor = scene.sequence_editor
    if editor is None or not group_id:
        return []
    members = [s for s in compat.top_level_strips(editor)
               if s.type == "SOUND" and s.get(METADATA_KEY, {}).get("group_id") == group_id
               and is_take(scene, s)]
    return sorted(members, key=lambda s: (s[METADATA_KEY].get("take_index", 0), s.channel))


def insert_job(scene: Any, job: Job, channel: int = 0) -> Inserted:
    """Insert a ready job: alone, or as the next take of its group."""
    settings = getattr(scene, "foley", None)
    fade_frames = int(settings.fade_frames) if settings is not None else 0
    above = job.channel
    mute = False
    takes: list[Any] = []
    if job.group_id:
        takes = group_strips(scene, job.group_id)
        if takes:
            above = max(above, *(s.channel for s in takes))
            # Only one take is audible; the first to arrive until the user picks.
            mute = any(not s.mute for s in takes)
    return insert_job_audio(scene, job, above_channel=above, fade_frames=fade_frames, mute=mute,
                            ours={s.name for s in takes}, channel=channel, takes=takes)


def audible_take(takes: list[Any]) -> int:
    return next((i for i, s in enumerate(takes) if not s.mute), -1)


def cycle_takes(scene: Any, group_id: str, step: int = 1) -> Any:
    """Make the next take audible (and the others muted); returns it."""
    takes = group_strips(scene, group_id)
    if not takes:
        return None
    current = audible_take(takes)
    chosen = takes[(current + step) % len(takes)]
    for strip in takes:
        strip.mute = strip is not chosen
    return chosen


def keep_take(scene: Any, keep: Any) -> list[str]:
    """Remove the group's other takes from the timeline (their files stay in the library).

    Copies of takes elsewhere in the edit (Shift+D, copy/paste) are the user's strips: kept.
    """
    group_id = keep.get(METADATA_KEY, {}).get("group_id", "")
    removed = []
    for strip in group_strips(scene, group_id):
        if strip.name != keep.name:
            removed.append(strip.name)
            compat.remove_strip(scene, strip)
    keep.mute = False
    return removed
