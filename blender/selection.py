"""Which frames to make sound for, and what the timeline says about them.

Rule: the selected strips' visible spans (handles, not content); else the
preview range when set; else the scene range. Explicit frames win over all.

With "one sound per strip" (``scene.foley.each_strip``) every selected picture
strip is a range of its own (``choose_shots``). Every range knows the edit's cuts
inside it (``edit_cuts``), where a long range is split into chunks (``core.shots``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from .. import compat
from ..core.shots import cuts_inside
from ..core.timeline import FrameRange, covering_range, events_from_markers, events_from_spans, fps_fraction
from ..providers.base import TimedEvent

#: strips whose edges are cuts of the picture: shots, not overlays (text, adjustment) or transitions
SHOT_TYPES = frozenset({"MOVIE", "IMAGE", "SCENE", "META", "COLOR", "MOVIECLIP", "MASK"})


@dataclass(frozen=True)
class ChosenRange:
    frames: FrameRange
    source: str  # "selection", "preview", "scene", "frames" or "strip" (one sound per strip)
    strip_names: tuple[str, ...]  # the selected strips the sound belongs to
    fps: Fraction
    cuts: tuple[int, ...] = ()  # first frames of the shots that start inside ``frames``

    @property
    def seconds(self) -> float:
        return float(self.frames.seconds(self.fps))

    def describe(self) -> str:
        where = {"selection": "selected strips", "preview": "preview range", "scene": "scene range",
                 "frames": "given frames", "strip": f"strip {', '.join(self.strip_names)}"}[self.source]
        return f"{self.frames.start}–{self.frames.end} ({self.seconds:.2f} s, {where})"


def scene_fps(scene: Any) -> Fraction:
    return fps_fraction(scene.render.fps, scene.render.fps_base)


def edit_cuts(scene: Any, frames: FrameRange) -> tuple[int, ...]:
    """Frames inside ``frames`` where a shot starts or ends: the edges of top-level shot strips
    (``SHOT_TYPES``) on any channel, unless they or their channel are muted; text, adjustment and
    effect strips are not cuts."""
    editor = scene.sequence_editor
    if editor is None:
        return ()
    channels = getattr(editor, "channels", None)  # index n is channel n; a muted channel shows nothing
    muted = {n for n in range(len(channels)) if channels[n].mute} if channels is not None else set()
    edges: list[int] = []
    for strip in compat.top_level_strips(editor):
        if strip.type in SHOT_TYPES and not strip.mute and strip.channel not in muted:
            edges += [compat.strip_start(strip), compat.strip_end(strip)]
    return tuple(cuts_inside(frames, edges))


def choose_range(scene: Any, selected: list[Any], frame_start: int = 0, frame_end: int = 0) -> ChosenRange:
    fps = scene_fps(scene)
    if frame_start or frame_end:
        if frame_end < frame_start:
            raise ValueError(f"frame_end ({frame_end}) is before frame_start ({frame_start}); "
                             "give an inclusive range like the scene's.")
        chosen = ChosenRange(FrameRange(frame_start, frame_end), "frames", (), fps)
    elif spans := [FrameRange(compat.strip_start(s), compat.strip_end(s) - 1) for s in selected
                   if compat.strip_end(s) > compat.strip_start(s)]:
        chosen = ChosenRange(covering_range(spans), "selection", tuple(s.name for s in selected), fps)
    elif scene.use_preview_range:
        preview = FrameRange(scene.frame_preview_start, scene.frame_preview_end)
        chosen = ChosenRange(preview, "preview", (), fps)
    else:
        chosen = ChosenRange(FrameRange(scene.frame_start, scene.frame_end), "scene", (), fps)
    return replace(chosen, cuts=edit_cuts(scene, chosen.frames))


NO_PICTURE_STRIP = ("One sound per strip is on, but no picture strip is selected (sound strips are ignored); "
                    "select the shots to make sound for, or turn One sound per strip off.")


def choose_shots(scene: Any, selected: list[Any]) -> list[ChosenRange]:
    """One range per selected picture strip (any type but sound), over its visible span, in timeline
    order. Touching strips on one channel are separate shots; overlapping ones each their own span.
    Raises ValueError with a sentence when no picture strip is selected."""
    fps = scene_fps(scene)
    pictures = [s for s in selected if s.type != "SOUND" and compat.strip_end(s) > compat.strip_start(s)]
    if not pictures:
        raise ValueError(NO_PICTURE_STRIP)
    pictures.sort(key=lambda s: (compat.strip_start(s), s.channel, s.name))
    shots = []
    for strip in pictures:
        frames = FrameRange(compat.strip_start(strip), compat.strip_end(strip) - 1)
        shots.append(ChosenRange(frames, "strip", (strip.name,), fps, edit_cuts(scene, frames)))
    return shots


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
