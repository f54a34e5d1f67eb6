"""Several variations from ONE paid request (Mirelo SFX 1.6's ``num_samples``) land as takes.

Takes are one job each (``Job.group_id`` / ``take_index``, inserted by ``blender/takes.py``).
When a provider says its outputs are takes (``ProviderInfo.outputs_are_takes``), the job keeps
the first output as its own result and every further output becomes a new job of the same
take group that is already *ready*: downloaded from the same finished task (free), recorded,
and inserted like any other take. A chunk keeps only its first output (its parent joins one
sound per chunk); the others are named in a warning, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from ..providers.base import AudioFile, Provider, TaskState, TaskStatus
from .jobs import Job, JobState, new_job_id

#: How one extra output is fetched: (its status, the stem to save it under) -> the saved file.
Fetch = Callable[[TaskStatus, Path], AudioFile]


def extra_outputs(provider: Provider, status: TaskStatus) -> tuple[str, ...]:
    """The outputs after the first, when the provider's outputs are takes."""
    if not provider.info.outputs_are_takes:
        return ()
    return tuple(status.audio_urls[1:])


def skipped_warning(count: int) -> str:
    return (f"The vendor made {count + 1} variations of this part; a long range joins one per part, so "
            f"{count} {'was' if count == 1 else 'were'} not kept. Use a range the provider makes in one "
            "request to get them as takes.")


def take_jobs(job: Job, urls: tuple[str, ...], fetch: Fetch, stem_for: Callable[[Job], Path],
              now: float) -> tuple[str, list[Job]]:
    """(the group id, one ready job per extra output); each file is downloaded before its job exists."""
    group = job.group_id or job.id
    made: list[Job] = []
    for number, url in enumerate(urls, 2):
        take = replace(
            job.copy(), id=new_job_id(), group_id=group, state=JobState.READY, files={},
            take_label=f"{job.take_label or 'take'} · variation {number}", updated_at=now,
            extra={**job.extra, "variation_of": job.id, "variation": number},
        )
        audio = fetch(TaskStatus(TaskState.SUCCEEDED, audio_urls=(url,), progress=1.0), stem_for(take))
        take.files = {"audio": str(audio.path)}
        take.audio_info = {"format": audio.format, "size": audio.size, "duration": audio.duration}
        take.progress = 1.0
        made.append(take)
    return group, made
