"""Long ranges: when one chunk fails for a reason a retry will not fix, its unsent siblings wait.

A joined strip needs every chunk, so paying for the other chunks of a range whose
chunk 2 was refused (moderation, a bad request, no credits) spends money on a
result that cannot be assembled. Those siblings are *held*: not sent until the
failed chunk is retried and accepted by the vendor, or dropped by Cancel. Chunks
already sent finish and are kept. Pure functions over job snapshots; the engine
applies them.
"""

from __future__ import annotations

from collections.abc import Sequence

from .jobs import Job, JobState

#: Failures that the same request will meet again: hold the siblings. Timeouts, lost
#: connections, busy vendors and plain task failures may pass on a retry: not held.
RETRY_WONT_FIX = frozenset({"InputError", "ModerationError", "CreditsError", "AuthError", "ConfigError"})


def blocks_siblings(job: Job) -> bool:
    """This chunk failed in a way that a retry of the same request will not fix."""
    return job.state == JobState.FAILED and job.error_kind in RETRY_WONT_FIX


def unsent(job: Job) -> bool:
    """Nothing of this chunk has left yet (it may be rendering or uploading)."""
    return not job.settled and not job.submit_attempted and job.task is None


def to_hold(children: Sequence[Job]) -> list[Job]:
    """The unsent chunks to hold now, when a sibling failed unfixably."""
    if not any(blocks_siblings(child) for child in children):
        return []
    return [child for child in children if unsent(child) and not child.held]


def to_release(children: Sequence[Job]) -> list[Job]:
    """Held chunks that may go: no chunk blocks, and every other chunk was accepted or finished.

    So Retry sends the failed chunk alone first; its siblings go once the vendor took it.
    """
    held = [child for child in children if child.held]
    if not held or any(blocks_siblings(child) for child in children):
        return []
    waiting = [child for child in children if not child.held and not child.settled and child.task is None]
    return [] if waiting else held


def failure_sentence(index: int, count: int, reason: str, held: int) -> str:
    """The parent's error when chunk ``index`` (0-based) failed and ``held`` chunks were held."""
    head = f"Chunk {index + 1} of {count} failed: {reason}".rstrip()
    if held:
        plural = "chunk not sent yet is" if held == 1 else f"{held} chunks not sent yet are"
        pronoun = "it" if held == 1 else "them"
        return (
            f"{head} The {plural} held (nothing was sent or charged for {pronoun}); chunks already sent "
            "finish and are kept. Retry sends the failed chunk alone, then the held ones; Cancel drops "
            "the held ones."
        )
    return f"{head} Retry it alone; the other chunks are kept."
