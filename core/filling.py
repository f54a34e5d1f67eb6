"""Short results filled: one follow-up request for the missing tail, joined by crossfade (issue 15).

Several models return less audio than asked for (MMAudio at non-25 fps,
HunyuanVideo-Foley 15 s for a 20 s video, ThinkSound's VAE rounding). When a
top-level, single-call job comes back shorter than its range by more than a
frame, the engine turns it into a chunked parent on the fly:

* chunk 1 is a copy of the job holding the first, paid result (already ready);
  its range is cut to the frames that result covers, up to the overlap;
* chunk 2 is a new, normal paid job for the tail ``[end − max(min length,
  missing + overlap), end]`` (the provider's minimum length may make it start
  earlier, so it overlaps more of the first result);

and the usual chunk join (equal-power crossfade over ``overlap`` frames) makes
the strip cover the range. Chunk 2 is an ordinary job of the same account: it
waits for a free slot, is recorded before it is sent, is never resent after a
lost answer, resumes after a restart and is cancelled with its parent.

Never more than one follow-up: only top-level jobs that are not chunked are
filled, and chunk 2 is a chunk. When the tail cannot be made (it would be
longer than the range, i.e. the range is shorter than the provider's minimum,
or the first result covers less than one frame) or the preference is off, the
"shorter than the range" flag stays. Text-only and timeline providers are
filled too: their tail request is the same prompt for the tail's length (the
timeline's events clipped to the tail), exactly as their long ranges are
chunked. A tail that fails or is cancelled on its own leaves the first result:
the parent becomes ready with it and the flag. Pure functions; the engine
applies them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from .jobs import Job, JobState, new_job_id
from .timeline import FrameRange

#: the parent's ``extra`` keys: how many seconds were missing, and the flag kept if the tail fails
FILL_KEY = "filled_short_s"
FLAG_KEY = "short_flag"


@dataclass(frozen=True)
class TailPlan:
    first: FrameRange  # the part of the range the first result keeps
    tail: FrameRange  # the follow-up request's range (it overlaps ``first``)
    missing_s: float  # seconds the first result lacked

    @property
    def note(self) -> str:
        return f"The result was {self.missing_s:.1f} s short: filling the last {self.missing_s:.1f} s " \
            "with one more request (it is charged like any other)."


def is_fill_parent(job: Job) -> bool:
    """A job whose short result is being (or was) filled by a follow-up chunk."""
    return FILL_KEY in job.extra and job.is_chunked


#: formats the chunk join reads (``assemble_wav_chunks``): a tail that could not be joined is not paid for
JOINABLE_FORMATS = frozenset({"wav"})


def may_fill(job: Job, audio_format: str) -> bool:
    """Only a top-level single-call job is filled; a chunk (a follow-up too) never is."""
    return (not job.parent_id and not job.is_chunked and FILL_KEY not in job.extra
            and audio_format in JOINABLE_FORMATS)


def plan_tail(
    frame_range: FrameRange,
    fps: Fraction,
    actual_seconds: float,
    min_seconds: float,
    max_seconds: float,
    overlap_seconds: float,
) -> TailPlan | str:
    """The follow-up for a result of ``actual_seconds``, or the sentence why there is none."""
    total = frame_range.frame_count
    covered = min(total, math.floor(Fraction(actual_seconds) * fps + Fraction(1, 1000)))
    missing_s = float(frame_range.seconds(fps)) - actual_seconds
    if covered < 1:
        return "The result is too short to be continued; generate another take or pick another provider."
    overlap = min(max(1, round(Fraction(overlap_seconds) * fps)), covered)
    shortest = math.ceil(Fraction(min_seconds) * fps)
    longest = math.floor(Fraction(max_seconds) * fps)
    tail_frames = max(shortest, total - covered + overlap)
    if tail_frames > total or tail_frames > longest:
        return (
            f"The missing {missing_s:.1f} s could not be filled: the provider's shortest request "
            f"({min_seconds:g} s) is longer than the range."
        )
    tail = FrameRange(frame_range.end - tail_frames + 1, frame_range.end)
    # the first result is kept up to ``overlap`` frames into the tail: a short crossfade, not a long blur
    first = FrameRange(frame_range.start, min(frame_range.start + covered, tail.start + overlap) - 1)
    return TailPlan(first, tail, missing_s)


def first_part(job: Job, plan: TailPlan, now: float) -> Job:
    """Chunk 1: a ready copy of the job holding the paid first result, cut to ``plan.first``."""
    return replace(
        job.copy(),
        id=new_job_id(),
        state=JobState.READY,
        frame_start=plan.first.start,
        frame_end=plan.first.end,
        parent_id=job.id,
        chunk_index=0,
        label=f"{job.label or job.prompt} (first result)",
        timings={**job.timings, JobState.READY.value: now},
        updated_at=now,
        progress=1.0,
        note="",
        strip_name="",
        group_id="",
        take_index=0,
        take_label="",
        edit_id="",
    )


def as_parent(job: Job, chunk_ids: list[str], plan: TailPlan, flag: str) -> Job:
    """The job itself becomes the parent that joins the first result and the tail."""
    parent = job.copy()
    parent.chunk_ids = list(chunk_ids)
    parent.note = plan.note
    parent.extra = {**parent.extra, FILL_KEY: round(plan.missing_s, 3), FLAG_KEY: flag}
    return parent


def done_note(parent: Job) -> str:
    """The parent's note once the first result and the tail are joined."""
    if not is_fill_parent(parent):
        return parent.note
    missing = float(parent.extra[FILL_KEY])
    return f"The result was {missing:.1f} s short; the last {missing:.1f} s was filled by one more request."


def keeps_first_result(parent: Job, children: list[Job]) -> bool:
    """A failed or cancelled tail of a fill parent: the parent becomes ready with the first result."""
    return (is_fill_parent(parent) and parent.state != JobState.FAILED and len(children) == 2
            and children[0].state == JobState.READY)


TOO_LATE = ("The job already has its result (the first one, flagged as short); this follow-up can no longer "
            "be joined. Generate the range again for a full-length take.")


def refuse_late_retry(job: Job, parent: Job | None) -> None:
    """Retry of a failed tail after its parent settled on the first result would pay for nothing."""
    if (parent is not None and is_fill_parent(parent) and job.chunk_index == 1
            and parent.state in (JobState.READY, JobState.INSERTED, JobState.CANCELLED)):
        raise ValueError(TOO_LATE)


def fallback_changes(parent: Job, first: Job, tail: Job) -> dict[str, Any]:
    """The parent ready with the first result and the flag, when the tail failed or was cancelled."""
    flag = str(parent.extra.get(FLAG_KEY, ""))
    why = tail.error or tail.note or f"the follow-up was {tail.state.value}"
    return {
        "files": {**parent.files, "audio": first.audio_path},
        "audio_info": dict(first.audio_info),
        "warnings": [*first.warnings, *([flag] if flag and flag not in first.warnings else [])],
        "note": f"The missing end could not be filled ({why.rstrip('.')}); the first result is kept.",
        "progress": 1.0,
    }


ORPHAN_NOTE = ("Interrupted while a short result's follow-up was being created; the job fetches its paid "
               "result again at no new charge and continues.")


def orphaned(job: Job, parent: Job | None) -> bool:
    """A chunk its parent does not list (a kill came between saving the chunks and the parent).

    Only an unsent one, or a ready first result (its parent fetches that again for free):
    a chunk that may have been sent is never dropped.
    """
    if not job.parent_id or parent is None or job.id in parent.chunk_ids:
        return False
    return job.state == JobState.READY or not (job.submit_attempted or job.task is not None)
