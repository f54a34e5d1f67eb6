"""Long ranges: chunk jobs under a parent — make them, derive the parent, join their audio.

A mixin of ``JobEngine`` (core/engine.py). A chunked parent lists child jobs (one per
chunk) that run like any other job; ``_refresh_parent`` derives the parent's state
from them (a failed chunk fails the parent and holds the unsent ones), and when every
child is ready the parent joins their audio with equal-power crossfades
(``assemble``, on a thread of its own) and becomes ready itself. A join that fails on
one chunk's file remembers it, so Retry downloads that chunk again at no charge.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ..providers.errors import DownloadError
from . import filling, holding, naming
from .chunk_repair import DAMAGED_CHUNK_KEY, ChunkAudioError, refetch_chunk
from .engine_parts import EngineParts
from .jobs import Job, JobState, new_job_id
from .timeline import FrameRange, clip_events

log = logging.getLogger(__name__)


def assemble_wav_chunks(parent: Job, children: Sequence[Job], stem: Path) -> Path:
    """Default join: WAV chunks only (numpy); Blender passes an ``aud``-based one for MP3/M4A."""
    from .conform import AudioFormatError, join_wav_files, read_wav  # numpy loads only for a join

    for child in children:  # a damaged chunk file is named, so Retry fetches that chunk again
        try:
            read_wav(child.audio_path)
        except (AudioFormatError, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ChunkAudioError(
                f"Chunk {child.chunk_index + 1} of {len(children)} could not be joined: {reason} "
                "Retry downloads that chunk again at no new charge and joins again.",
                child.id,
            ) from None
    try:
        report = join_wav_files(
            [child.audio_path for child in children],
            [parent.frame_range.offset_seconds(child.frame_start, parent.fps) for child in children],
            [child.seconds for child in children],
            parent.seconds,
            stem.with_suffix(".wav"),
            parent.fps,
        )
    except AudioFormatError as exc:
        raise DownloadError(f"The chunks could not be joined: {exc}") from exc
    return report.path


class ChunkParentsMixin(EngineParts):
    """Make chunk jobs, derive their parent's state, and join their audio (see the module docstring)."""

    def _refetch_damaged_chunk(self, parent: Job) -> Job:
        """Retry of a join that failed on one chunk's file: download that chunk again (free), then join."""
        damaged_id = str(parent.extra[DAMAGED_CHUNK_KEY])
        damaged = self._jobs.get(damaged_id) or self._load(damaged_id)
        if damaged is None or damaged.task is None:
            raise ValueError("The damaged chunk has no vendor task to fetch again; generate the range again.")
        fresh = refetch_chunk(damaged, self._clock())
        self._ownership.claim(fresh.id, new=True)
        extra = {k: v for k, v in parent.extra.items() if k != DAMAGED_CHUNK_KEY}
        chunk_ids = [fresh.id if c == damaged.id else c for c in parent.chunk_ids]
        # the parent first: it must never see the old, damaged set as complete again
        self._update(parent.id, JobState.GENERATING, error="", error_kind="", progress=None,
                     chunk_ids=chunk_ids, extra=extra)
        self._save(fresh)
        if damaged.state == JobState.READY:
            self._update(damaged.id, JobState.CANCELLED,
                         note=f"Its audio file was damaged; it was downloaded again as job {fresh.id}.")
        self._schedule(fresh.id)
        return self._jobs[parent.id].copy()

    def _refresh_parent(self, parent_id: str) -> None:
        """Derive a chunked parent's state from its children; join them when all are ready."""
        parent = self._jobs.get(parent_id)
        if parent is None or parent.state in (JobState.CANCELLED, JobState.INSERTED, JobState.READY):
            return
        children = [self._jobs.get(child_id) for child_id in parent.chunk_ids]
        if any(child is None for child in children):
            return
        kids = [child for child in children if child is not None]
        self._hold_or_release(kids)
        bad = [child for child in kids if child.state in (JobState.FAILED, JobState.CANCELLED)]
        if bad:
            if parent.state != JobState.FAILED and not self._settle_on_first_result(parent, kids):
                first = next((c for c in bad if holding.blocks_siblings(c)), bad[0])
                reason = first.error or first.note
                if first.state == JobState.FAILED:
                    held = sum(1 for c in self._children(parent) if c.held)
                    error = holding.failure_sentence(first.chunk_index, len(kids), reason, held)
                else:
                    error = (
                        f"Chunk {first.chunk_index + 1} of {len(kids)} was cancelled: {reason} "
                        "Retry it alone; the other chunks are kept."
                    )
                self._update(
                    parent_id, JobState.FAILED, error=error, error_kind=first.error_kind or "CancelledError"
                )
            return
        ready = sum(1 for child in kids if child.state == JobState.READY)
        progress = ready / len(kids)
        if parent.state == JobState.FAILED or (
            parent.state == JobState.QUEUED and any(c.state != JobState.QUEUED for c in kids)
        ):
            self._update(parent_id, JobState.GENERATING, error="", error_kind="", progress=progress)
            parent = self._jobs[parent_id]
        if ready == len(kids):
            if parent_id in self._assembling or self._stop.is_set():
                return
            if parent.state != JobState.DOWNLOADING:
                self._update(parent_id, JobState.DOWNLOADING, progress=1.0)
            self._assembling.add(parent_id)
            threading.Thread(
                target=self._assemble_parent, args=(parent_id,), name=f"foley-join-{parent_id}", daemon=True
            ).start()
        elif progress != parent.progress:
            updated = parent.copy()
            updated.progress = progress
            self._jobs[parent_id] = updated  # progress only: not worth an fsync
            self._publish(updated)

    def _settle_on_first_result(self, parent: Job, kids: list[Job]) -> bool:
        """A short result's tail failed or was cancelled alone: the first, paid result is the job's result."""
        if not filling.keeps_first_result(parent, kids):
            return False
        if parent.state != JobState.DOWNLOADING:
            self._update(parent.id, JobState.DOWNLOADING)
        self._update(parent.id, JobState.READY, **filling.fallback_changes(parent, kids[0], kids[-1]))
        return True

    def _make_chunk(self, parent: Job, index: int, frames: FrameRange, count: int) -> Job:
        request = parent.generation_request
        offset = float(parent.frame_range.offset_seconds(frames.start, parent.fps))
        seconds = float(frames.seconds(parent.fps))
        chunk_request = replace(
            request, duration=seconds, events=clip_events(request.events, offset, offset + seconds)
        )
        now = self._clock()
        return Job(
            id=new_job_id(),
            provider_id=parent.provider_id,
            request=chunk_request.to_dict(),
            blend_path=parent.blend_path,
            scene_name=parent.scene_name,
            frame_start=frames.start,
            frame_end=frames.end,
            fps_num=parent.fps_num,
            fps_den=parent.fps_den,
            channel=parent.channel,
            created_at=now,
            updated_at=now,
            timings={JobState.QUEUED.value: now},
            label=f"{parent.label or parent.prompt} (chunk {index + 1}/{count})",
            prompt=parent.prompt,
            parent_id=parent.id,
            chunk_index=index,
            hosts=list(parent.hosts),  # each chunk may move to another host of the model on its own
        )

    def _assemble_parent(self, parent_id: str) -> None:
        try:
            parent = self._snapshot(parent_id)
            with self._lock:
                children = [self._jobs[child_id].copy() for child_id in parent.chunk_ids]
            directory = Path(self._output_dir_for(parent))
            directory.mkdir(parents=True, exist_ok=True)
            stem = naming.unique_stem(
                directory, naming.audio_stem(parent.provider_id, parent.prompt or parent.label, parent.id)
            )
            path = self._assemble(parent, children, stem)
            info = {"analysis": self._look_at(parent, Path(path))}
            warnings = [f"Chunk {c.chunk_index + 1}: {w}" for c in children for w in c.warnings]
            with self._lock:
                if self._jobs[parent_id].state == JobState.CANCELLED:
                    return
                self._update(
                    parent_id, JobState.READY, files={"audio": str(path)}, audio_info=info, warnings=warnings,
                    progress=1.0, note=filling.done_note(self._jobs[parent_id]),
                )
        except ChunkAudioError as exc:
            with self._lock:  # remembered, so Retry fetches that chunk instead of joining the same file
                parent = self._jobs[parent_id]
                self._update(parent_id, extra={**parent.extra, DAMAGED_CHUNK_KEY: exc.chunk_id})
            self._fail(parent_id, exc)
        except Exception as exc:
            with self._lock:
                parent = self._jobs[parent_id]
                if filling.is_fill_parent(parent) and parent.state != JobState.CANCELLED:
                    first, tail = (self._jobs[c] for c in parent.chunk_ids)  # the paid first result is kept
                    self._update(parent_id, JobState.READY,
                                 **filling.fallback_changes(parent, first, replace(tail, error=str(exc))))
                    return
            self._fail(parent_id, exc)
        finally:
            with self._lock:
                self._assembling.discard(parent_id)
                self._changed.notify_all()
