"""One job in the sidebar: what it is, where it stands, and what the user can do with it.

``draw_job`` takes a plain ``Job`` (a snapshot from the engine), never the engine
itself, so it can be drawn and tested without threads or a ledger. A batch (one
sound per strip) is one row, ``draw_batch``, that opens to its jobs.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.host_fallback import host_sentence, moved_note
from ..core.jobs import FINISHED_STATES, Job, JobState
from ..providers import provider_info
from ..providers.errors import ConfigError
from .result_look import draw_result_look
from .wrapping import DEFAULT_WIDTH, draw_wrapped

S = JobState

STATE_ICONS: Mapping[JobState, str] = {
    S.QUEUED: "SORTTIME",
    S.RENDERING: "RENDER_ANIMATION",
    S.UPLOADING: "EXPORT",
    S.SUBMITTED: "URL",
    S.GENERATING: "PLAY_SOUND",
    S.DOWNLOADING: "IMPORT",
    S.READY: "CHECKMARK",
    S.INSERTED: "SOUND",
    S.FAILED: "ERROR",
    S.CANCELLED: "CANCEL",
}

STATE_TEXT: Mapping[JobState, str] = {
    S.QUEUED: "Queued",
    S.RENDERING: "Rendering clip",
    S.UPLOADING: "Uploading clip",
    S.SUBMITTED: "Sent",
    S.GENERATING: "Generating",
    S.DOWNLOADING: "Downloading",
    S.READY: "Ready to insert",
    S.INSERTED: "Inserted",
    S.FAILED: "Failed",
    S.CANCELLED: "Cancelled",
}

#: Where each step sits on one bar, so a job without vendor progress still moves.
STATE_PROGRESS: Mapping[JobState, float] = {
    S.QUEUED: 0.0,
    S.RENDERING: 0.05,
    S.UPLOADING: 0.15,
    S.SUBMITTED: 0.25,
    S.GENERATING: 0.3,
    S.DOWNLOADING: 0.9,
    S.READY: 1.0,
    S.INSERTED: 1.0,
}
_GENERATING_SPAN = STATE_PROGRESS[S.DOWNLOADING] - STATE_PROGRESS[S.GENERATING]


def provider_label(provider_id: str) -> str:
    """The provider's name; the raw id for one this version does not know (an old ledger)."""
    try:
        return provider_info(provider_id).label
    except ConfigError:
        return provider_id


def is_active(job: Job) -> bool:
    """Work is still going on (a ready job waits only for the main thread): ``Job.in_progress``."""
    return job.in_progress


def progress_factor(job: Job) -> float:
    """0..1 for the bar: the step reached, refined by the vendor's own progress while generating."""
    base = STATE_PROGRESS.get(job.state, 0.0)
    if job.state is S.GENERATING and job.progress is not None:
        return min(1.0, base + _GENERATING_SPAN * max(0.0, min(1.0, job.progress)))
    return base


def elapsed_seconds(job: Job, now: float | None = None) -> float:
    """Time since the job was created; frozen at its last change once it has settled."""
    end = time.time() if now is None else now
    if not is_active(job):
        end = job.updated_at or end
    return max(0.0, end - job.created_at) if job.created_at else 0.0


def format_elapsed(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}:{secs:02d}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def seconds_left(job: Job, now: float | None = None) -> int:
    """Whole seconds until the job tries again (a busy vendor, a submit rate, Retry-After); 0: none."""
    if not job.retry_at or not is_active(job):
        return 0
    left = job.retry_at - (time.time() if now is None else now)
    return max(0, int(left + 0.999))


def state_text(job: Job, now: float | None = None) -> str:
    """What the job is doing: its state, or why it waits and for how long."""
    if job.held and job.state is S.QUEUED:
        return "Held"
    left = seconds_left(job, now)
    if job.state is S.QUEUED and job.waiting_since:
        text = "Waiting for a free slot"
        return f"{text} · {format_elapsed(left)}" if left else text
    text = STATE_TEXT.get(job.state, job.state.value)
    return f"{text} · next try in {format_elapsed(left)}" if left else text


def holds_chunks(job: Job, chunks: Sequence[Job]) -> bool:
    """A failed long job whose other chunks were held (or not sent yet): Cancel drops them."""
    return job.state is S.FAILED and any(not c.settled and not c.submit_attempted for c in chunks)


def job_title(job: Job) -> str:
    """"Provider: prompt" (or the take label), short enough for one sidebar line."""
    what = (job.prompt or "").strip().splitlines()[0] if (job.prompt or "").strip() else ""
    if not what:
        what = job.take_label or job.label or "(no prompt)"
    elif job.take_label:
        what = f"{what} · {job.take_label}"
    return f"{provider_label(job.provider_id)}: {what}"


def task_id(job: Job) -> str:
    return str((job.vendor_task or {}).get("task_id", ""))


def _set_job(operator: Any, job: Job) -> None:
    operator.job_id = job.id


def draw_job(layout: Any, job: Job, chunks: Sequence[Job] = (), *, now: float | None = None,
             width: int = DEFAULT_WIDTH, history: bool = False) -> None:
    """A box for ``job``: title, state, progress bar, elapsed time, messages and actions.

    ``chunks`` are the child jobs of a long range (shown with their own progress,
    each failed one retryable alone). ``history`` draws the compact recent-result form.
    """
    box = layout.box()
    head = box.row()
    head.label(text=job_title(job), icon=STATE_ICONS.get(job.state, "QUESTION"))

    status = box.row()
    status.label(text=state_text(job, now))
    detail = status.row()
    detail.alignment = "RIGHT"
    detail.label(text=f"{job.frame_start}–{job.frame_end} · {format_elapsed(elapsed_seconds(job, now))}")

    if is_active(job):
        _draw_progress(box, job)
    draw_result_look(box, job)

    if job.error:
        draw_wrapped(box, job.error, icon="ERROR", width=width, alert=True)
    for warning in job.warnings:
        draw_wrapped(box, warning, icon="INFO", width=width)
    made_by = host_sentence(job)  # "Made by fal.ai; WaveSpeed was unavailable ..." (issue 14 item 6)
    if made_by:
        draw_wrapped(box, made_by, icon="INFO", width=width)
    if job.note and job.note != moved_note(job):  # the move's own note is the sentence above
        draw_wrapped(box, job.note, icon="INFO", width=width)

    for chunk in chunks:
        _draw_chunk(box, chunk, len(chunks))
        moved = host_sentence(chunk)  # a chunk made by another host of the model says so on its own
        if moved:
            draw_wrapped(box, f"Chunk {chunk.chunk_index + 1}: {moved}", icon="INFO", width=width)

    _draw_actions(box, job, history=history, chunks=chunks)


def _draw_progress(layout: Any, job: Job) -> None:
    factor = progress_factor(job)
    text = STATE_TEXT.get(job.state, job.state.value)
    if job.state is S.GENERATING and job.progress is not None:
        text = f"{text} {round(job.progress * 100)}%"
    if hasattr(layout, "progress"):  # UILayout.progress exists on 4.2+, guard for odd builds
        layout.progress(factor=factor, type="BAR", text=text)
    else:
        layout.label(text=f"{text} ({round(factor * 100)}%)")


def _draw_chunk(layout: Any, chunk: Job, count: int) -> None:
    row = layout.row(align=True)
    index = chunk.chunk_index + 1 if chunk.chunk_index >= 0 else 0
    label = f"Chunk {index}/{count}: {chunk.frame_start}–{chunk.frame_end}"
    row.label(text=label, icon=STATE_ICONS.get(chunk.state, "QUESTION"))
    if chunk.held:
        row.label(text="Held")
    elif is_active(chunk) and hasattr(row, "progress"):
        row.progress(factor=progress_factor(chunk), type="BAR", text=state_text(chunk))
    else:
        row.label(text=STATE_TEXT.get(chunk.state, chunk.state.value))
    if chunk.state is S.FAILED:
        _set_job(row.operator("foley.retry", text="", icon="FILE_REFRESH"), chunk)


def _draw_insert_failure(layout: Any, job: Job) -> None:
    """A ready job whose insertion failed: the pump waits for one of these."""
    row = layout.row(align=True)
    _set_job(row.operator("foley.insert", text="Retry Insert", icon="FILE_REFRESH"), job)
    _set_job(row.operator("foley.reveal", text="Reveal File", icon="FILEBROWSER"), job)
    _set_job(row.operator("foley.dismiss", text="Dismiss", icon="X"), job)


def _draw_actions(layout: Any, job: Job, *, history: bool, chunks: Sequence[Job] = ()) -> None:
    if job.state is S.READY and job.insert_error:
        draw_wrapped(layout, job.insert_error, icon="ERROR", alert=True)
        _draw_insert_failure(layout, job)
        return
    row = layout.row(align=True)
    if job.state is S.READY:
        _set_job(row.operator("foley.insert", text="Insert", icon="IMPORT"), job)
    elif job.audio_path and job.state in (S.INSERTED, S.CANCELLED):
        text = "Insert Again" if job.state is S.INSERTED else "Insert"
        _set_job(row.operator("foley.insert", text=text, icon="IMPORT"), job)
    if job.state is S.FAILED:
        _set_job(row.operator("foley.retry", text="Retry", icon="FILE_REFRESH"), job)
    if job.state not in FINISHED_STATES and not history:
        _set_job(row.operator("foley.cancel", text="Cancel", icon="CANCEL"), job)
    elif holds_chunks(job, chunks) and not history:  # drops the held chunks; sent ones finish
        _set_job(row.operator("foley.cancel", text="Cancel Held", icon="CANCEL"), job)
    if job.audio_path:
        _set_job(row.operator("foley.reveal", text="", icon="FILEBROWSER"), job)
    if task_id(job):
        _set_job(row.operator("foley.copy_task_id", text="", icon="COPYDOWN"), job)


# -- a batch (one sound per strip): one row that opens to its jobs ---------------------------

#: batches the editor opened in the job list (this session only; ``foley.toggle_batch``)
OPEN_BATCHES: set[str] = set()


@dataclass(frozen=True)
class BatchSummary:
    """What a batch's row says: ``done`` of ``total`` jobs done, failures, overall progress."""

    batch_id: str
    total: int
    done: int  # ready or inserted: its sound is here
    failed: int
    cancelled: int
    active: int
    progress: float  # 0..1 over the whole batch

    @property
    def text(self) -> str:
        parts = [f"{self.done} of {self.total} done"]
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.cancelled:
            parts.append(f"{self.cancelled} cancelled")
        return " · ".join(parts)


def current_attempts(jobs: Sequence[Job]) -> list[Job]:
    """Leave out the jobs a Retry replaced by a new attempt (``retry_of``): the new one counts."""
    replaced = {job.retry_of for job in jobs if job.retry_of}
    return [job for job in jobs if job.id not in replaced]


def summarize_batch(jobs: Sequence[Job]) -> BatchSummary:
    """A batch's row from its top-level jobs (a long strip counts once, as its joined parent)."""
    jobs = current_attempts(jobs)
    ended = (S.FAILED, S.CANCELLED)
    progress = [1.0 if job.state in ended else progress_factor(job) for job in jobs]
    return BatchSummary(
        batch_id=jobs[0].batch_id if jobs else "",
        total=len(jobs),
        done=sum(1 for job in jobs if job.state in (S.READY, S.INSERTED)),
        failed=sum(1 for job in jobs if job.state is S.FAILED),
        cancelled=sum(1 for job in jobs if job.state is S.CANCELLED),
        active=sum(1 for job in jobs if is_active(job)),
        progress=sum(progress) / len(progress) if progress else 0.0,
    )


def draw_batch(layout: Any, rows: Sequence[tuple[Job, Sequence[Job]]], *, now: float | None = None,
               width: int = DEFAULT_WIDTH, is_open: bool | None = None) -> None:
    """One row for a batch: its count, progress, Cancel All / Retry Failed; open, each of its jobs."""
    current = {job.id for job in current_attempts([job for job, _chunks in rows])}
    rows = [(job, chunks) for job, chunks in rows if job.id in current]
    jobs = [job for job, _chunks in rows]
    summary = summarize_batch(jobs)
    opened = summary.batch_id in OPEN_BATCHES if is_open is None else is_open
    box = layout.box()
    head = box.row(align=True)
    toggle = head.operator("foley.toggle_batch", text="", icon="TRIA_DOWN" if opened else "TRIA_RIGHT",
                           emboss=False)
    toggle.batch_id = summary.batch_id
    strips = len({tuple(job.extra.get("source_strips", ())) for job in jobs})
    icon = "SORTTIME" if summary.active else ("ERROR" if summary.failed else "SOUND")
    head.label(text=f"One sound per strip: {strips} strip{'s' if strips != 1 else ''}", icon=icon)
    status = box.row()
    status.label(text=summary.text)
    if summary.active and hasattr(box, "progress"):
        box.progress(factor=summary.progress, type="BAR", text=f"{round(summary.progress * 100)}%")
    actions = box.row(align=True)
    if summary.active:
        actions.operator("foley.cancel_batch", text="Cancel All", icon="CANCEL").batch_id = summary.batch_id
    if summary.failed:
        actions.operator("foley.retry_batch", text="Retry Failed",
                         icon="FILE_REFRESH").batch_id = summary.batch_id
    if opened:
        for job, chunks in rows:
            draw_job(box, job, chunks, now=now, width=width)
