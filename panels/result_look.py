"""The line under a finished job: its waveform icon, loudness and what the analysis saw."""

from __future__ import annotations

from typing import Any

from ..core.analysis import flags, summary
from ..core.jobs import Job


def look_text(job: Job) -> str:
    """"-18.2 LUFS, peak -3.1 dBTP · silent for 3.2 s from 00:04 · clips at 0 dBFS" (or "")."""
    analysis = job.audio_info.get("analysis") or {}
    parts = [summary(analysis), *flags(analysis)] if analysis else []
    return " · ".join(part for part in parts if part)


def draw_result_look(layout: Any, job: Job) -> None:
    text = look_text(job)
    if not text:
        return
    from ..blender.previews import icon_id  # loads the PNG once per job; 0 when there is none

    icon = icon_id(job)
    if icon:
        layout.label(text=text, icon_value=icon)
    else:
        layout.label(text=text, icon="SOUND")
