"""A join that failed because one chunk's audio file is damaged: Retry fetches that chunk again.

The vendor task of the chunk is finished and paid, so fetching its result again
is free: a replacement chunk job starts at "generating" with the same vendor
task (it polls once and downloads), takes the damaged chunk's place in the
parent, and the parent joins again. A join that failed for any other reason is
simply joined again by Retry (issue 11).
"""

from __future__ import annotations

from ..providers.errors import DownloadError
from .jobs import Job, JobState, new_attempt

#: the parent's ``extra`` key naming the chunk whose file could not be read
DAMAGED_CHUNK_KEY = "damaged_chunk"


class ChunkAudioError(DownloadError):
    """One chunk's audio could not be read for the join; ``chunk_id`` says which."""

    def __init__(self, message: str, chunk_id: str) -> None:
        super().__init__(message)
        self.chunk_id = chunk_id


def refetch_chunk(damaged: Job, now: float) -> Job:
    """A new chunk job that downloads the damaged chunk's paid result again (no new submit)."""
    files = {key: value for key, value in damaged.files.items() if key != "audio"}
    return new_attempt(damaged, JobState.GENERATING, now, files)
