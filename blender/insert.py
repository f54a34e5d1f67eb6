"""Lay a finished job's audio on the timeline, under the picture it was made from."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bpy

from .. import compat
from ..core.host_fallback import host_sentence
from ..core.jobs import Job
from ..core.naming import provider_short
from ..core.timeline import FrameRange
from ..providers.errors import FoleyError
from .loudness import level_for
from .strip_metadata import EDIT_ID_KEY, INSERTED_NAME_KEY, METADATA_KEY

MAX_CHANNEL = 128


@dataclass
class Inserted:
    strip_name: str
    channel: int
    frame_start: int
    frame_end: int  # exclusive
    warnings: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # what the analysis saw (silence, clipping, mono...)
    level_warning: str = ""  # the loudness match stopped short of its target


def strip_span(strip: Any) -> FrameRange:
    return FrameRange(compat.strip_start(strip), compat.strip_end(strip) - 1)


NO_FREE_CHANNEL = "no free channel: free one or choose a channel"


def channel_is_closed(editor: Any, channel: int) -> bool:
    """A muted channel would make the new sound silent; a locked one refuses edits."""
    channels = getattr(editor, "channels", None) if editor is not None else None
    if channels is None or channel >= len(channels):
        return False
    settings = channels[channel]  # index n is channel n (index 0 is an unused channel 0)
    return bool(settings.mute or settings.lock)


def channel_is_free(scene: Any, channel: int, frames: FrameRange,
                    extra_busy: Iterable[tuple[int, FrameRange]] = ()) -> bool:
    editor = scene.sequence_editor
    busy: list[tuple[int, FrameRange]] = list(extra_busy)
    if editor is not None:
        busy += [(strip.channel, strip_span(strip)) for strip in compat.top_level_strips(editor)]
    return not any(c == channel and span.overlaps(frames) for c, span in busy)


def free_channel(scene: Any, frames: FrameRange, above: int,
                 extra_busy: Iterable[tuple[int, FrameRange]] = ()) -> int:
    """The lowest channel > ``above`` that is neither muted nor locked and is empty during ``frames``."""
    editor = scene.sequence_editor
    busy: list[tuple[int, FrameRange]] = list(extra_busy)
    if editor is not None:
        busy += [(strip.channel, strip_span(strip)) for strip in compat.top_level_strips(editor)]
    for channel in range(max(1, above + 1), MAX_CHANNEL + 1):
        if channel_is_closed(editor, channel):
            continue
        if not any(c == channel and span.overlaps(frames) for c, span in busy):
            return channel
    raise FoleyError(
        f"{NO_FREE_CHANNEL.capitalize()} (no channel above {above} is free, unmuted and unlocked for frames "
        f"{frames.start}–{frames.end}); the audio is kept: free or unlock a channel and use Retry "
        "Insert on the job, where you can also choose the channel."
    )


def source_channel(scene: Any, frames: FrameRange, strip_names: list[str]) -> int:
    """Highest channel among the source strips (the named ones, else all overlapping)."""
    editor = scene.sequence_editor
    if editor is None:
        return 0
    strips = list(compat.top_level_strips(editor))
    chosen = [s for s in strips if s.name in strip_names] if strip_names else []
    if not chosen:
        chosen = [s for s in strips if strip_span(s).overlaps(frames) and s.type != "SOUND"]
    return max((s.channel for s in chosen), default=0)


def strip_label(job: Job) -> str:
    source = job.prompt or job.label
    prompt = source.strip().splitlines()[0] if source else "sound"
    return f"{provider_short(job.provider_id)}: {prompt}"[:60]


def metadata(job: Job) -> dict[str, Any]:
    request = job.request
    task = job.vendor_task or {}
    return {
        "job_id": job.id,
        "provider": job.provider_id,
        "prompt": str(request.get("prompt", "")),
        "bgm_prompt": str(request.get("bgm_prompt", "")),
        "negative_prompt": str(request.get("negative_prompt", "")),
        "seed": int(request.get("seed", -1)),
        "options": json.dumps(request.get("options", {}), sort_keys=True),
        "vendor_task_id": str(task.get("task_id", "")),
        "frame_start": job.frame_start,
        "frame_end": job.frame_end,
        "group_id": job.group_id,
        "take_index": job.take_index,
        "take_label": job.take_label,
        # issue 14 item 6: the host that made it ("provider" above) and why it is not the one chosen
        "made_by": host_sentence(job),
    }


def blend_relative(path: str) -> str:
    """``//foley/x.wav`` when the file sits next to a saved .blend, else absolute."""
    if bpy.data.filepath:
        try:
            return str(bpy.path.relpath(path))
        except ValueError:  # another drive on Windows
            return path
    return path


def add_fades(strip: Any, fade_frames: int) -> None:
    """Volume keyframes 0 → 1 → 1 → 0 so a take never clicks at its edges."""
    start, end = compat.strip_start(strip), compat.strip_end(strip)
    if fade_frames <= 0 or end - start < 4 * fade_frames:
        return
    level = strip.volume
    for frame, value in ((start, 0.0), (start + fade_frames, level), (end - fade_frames, level), (end, 0.0)):
        strip.volume = value
        strip.keyframe_insert("volume", frame=frame)
    strip.volume = level


def select_if_user_has_not_moved_on(scene: Any, strip: Any, ours: set[str]) -> bool:
    """Select the new strip and make it active, unless the user is busy with other strips.

    "Busy" means something is selected that is neither a source strip of this job
    nor one of its takes: then the user's selection and active strip stay as they are.
    """
    editor = scene.sequence_editor
    others = [s for s in compat.top_level_strips(editor) if s.name != strip.name]
    if any(s.select and s.name not in ours for s in others):
        strip.select = False
        return False
    for other in others:
        other.select = False
    strip.select = True
    compat.set_active_strip(scene, strip)
    return True


def insert_job_audio(scene: Any, job: Job, *, above_channel: int, fade_frames: int = 0, mute: bool = False,
                     extra_busy: list[tuple[int, FrameRange]] = (),  # type: ignore[assignment]
                     ours: set[str] | None = None, channel: int = 0,
                     takes: list[Any] | None = None) -> Inserted:
    """Add the sound strip for ``job`` at its range start, trimmed to the range.

    ``channel`` 0 picks the lowest free one above ``above_channel``; another value is
    the user's choice and must be free. If anything fails once the strip exists, the
    half-made strip is removed again before the error goes up. ``takes`` are the strips
    of the job's comparison group already on the timeline (loudness matching).
    """
    audio = job.audio_path
    if not audio or not Path(audio).is_file():
        raise FoleyError(f"The audio file of job {job.id} is missing ({audio or 'no path'}); put it "
                         "back and use Retry Insert, or Dismiss the job.")
    frames = job.frame_range
    if channel:
        if not 1 <= channel <= MAX_CHANNEL or not channel_is_free(scene, channel, frames, extra_busy):
            raise FoleyError(f"Channel {channel} is not free for frames {frames.start}–{frames.end}; "
                             "choose another channel (0 = the lowest free one).")
    else:
        channel = free_channel(scene, frames, above_channel, extra_busy)
    strip = compat.new_sound_strip(scene, strip_label(job), blend_relative(audio), channel, frames.start)
    try:
        return _finish_strip(scene, strip, job, channel, fade_frames=fade_frames, mute=mute, ours=ours,
                             takes=takes or [])
    except Exception:
        compat.remove_strip(scene, strip)
        raise


def _finish_strip(scene: Any, strip: Any, job: Job, channel: int, *, fade_frames: int, mute: bool,
                  ours: set[str] | None, takes: list[Any]) -> Inserted:
    frames = job.frame_range
    warnings: list[str] = []
    wanted_end = frames.end_exclusive
    if compat.strip_end(strip) > wanted_end:
        compat.set_strip_end(strip, wanted_end)
    elif compat.strip_end(strip) < wanted_end - 1:
        short_by = wanted_end - compat.strip_end(strip)
        warnings.append(f"The audio is {short_by} frames shorter than the range; it was kept as it is.")
    warnings = list(job.warnings) or warnings  # the engine's duration check, else ours
    level = level_for(scene, job, takes)  # figures measured on the worker; here only the volume is set
    if level.warning:
        warnings.append(level.warning)
    # The strip's own name is recorded: a Shift+D or pasted copy keeps the metadata but gets
    # another name, so it is never taken for the take itself (``strip_metadata.is_take``).
    strip[METADATA_KEY] = {**metadata(job), "warnings": " ".join(warnings), INSERTED_NAME_KEY: strip.name,
                           "edit_id": str(scene.get(EDIT_ID_KEY, "")), **level.figures}
    strip.mute = mute
    strip.volume = level.volume  # before the fades: their keyframes rise to this level, not to 1.0
    add_fades(strip, fade_frames)
    select_if_user_has_not_moved_on(scene, strip, set(job.extra.get("source_strips", ())) | (ours or set()))
    return Inserted(strip.name, channel, compat.strip_start(strip), compat.strip_end(strip), warnings,
                    flags=level.flags, level_warning=level.warning)
