"""Which frames to make sound for, and what the timeline says about them.

Rule: the selected strips' visible spans (handles, not content); else the
preview range when set; else the scene range. Explicit frames win over all.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .. import compat
from ..core.timeline import FrameRange, covering_range, events_from_markers, events_from_spans, fps_fraction
from ..providers.base import TimedEvent


@dataclass(frozen=True)
class ChosenRange:
    frames: FrameRange
    source: str  # "selection", "preview", "scene" or "frames"
    strip_names: tuple[str, ...]  # the selected strips the sound belongs to
    fps: Fraction

    @property
    def seconds(self) -> float:
        return float(self.frames.seconds(self.fps))

    def describe(self) -> str:
        where = {"selection": "selected strips", "preview": "preview range", "scene": "scene range",
                 "frames": "given frames"}[self.source]
        return f"{self.frames.start}–{self.frames.end} ({self.seconds:.2f} s, {where})"


def scene_fps(scene: Any) -> Fraction:
    return fps_fraction(scene.render.fps, scene.render.fps_base)


def choose_range(scene: Any, selected: list[Any], frame_start: int = 0, frame_end: int = 0) -> ChosenRange:
    fps = scene_fps(scene)
    if frame_start or frame_end:
        if frame_end < frame_start:
            raise ValueError(f"frame_end ({frame_end}) is before frame_start ({frame_start}); "
                             "give an inclusive range like the scene's.")
        return ChosenRange(FrameRange(frame_start, frame_end), "frames", (), fps)
    spans = [FrameRange(compat.strip_start(s), compat.strip_end(s) - 1) for s in selected
             if compat.strip_end(s) > compat.strip_start(s)]
    if spans:
        return ChosenRange(covering_range(spans), "selection", tuple(s.name for s in selected), fps)
    if scene.use_preview_range:
        return ChosenRange(FrameRange(scene.frame_preview_start, scene.frame_preview_end), "preview", (), fps)
    return ChosenRange(FrameRange(scene.frame_start, scene.frame_end), "scene", (), fps)


def timed_events(scene: Any, chosen: ChosenRange) -> tuple[TimedEvent, ...]:
    """Text strips inside the range (text = prompt, span = when) and markers
    (name = prompt, lasting until the next marker or the range end)."""
    editor = scene.sequence_editor
    spans: list[tuple[FrameRange, str]] = []
    if editor is not None:
        for strip in compat.all_strips(editor):
            if strip.type == "TEXT" and not strip.mute:
                spans.append((FrameRange(compat.strip_start(strip), compat.strip_end(strip) - 1), strip.text))
    markers = [(marker.frame, marker.name) for marker in scene.timeline_markers]
    events = events_from_spans(spans, chosen.frames, chosen.fps) + events_from_markers(
        markers, chosen.frames, chosen.fps)
    return tuple(sorted(events, key=lambda e: (e.start, e.end)))
