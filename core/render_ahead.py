"""Render ahead: clips of queued jobs are rendered while the vendor slots are full (issue 13 item 3).

A job holds one of its vendor account's slots from the moment it starts until its result
is in; if it rendered its clip only then, every slot would sit idle for a whole render
per job. So while jobs wait for a slot, their clips are rendered ahead, and a slot that
frees goes to the first waiting job whose clip is ready: the account's limits are then
the only thing that holds a batch back.

A render is a Blender process, so the machine bounds how many run at once
(``machine_render_budget``: half the processors, so playback keeps the other half, and
no more than free memory holds), counting renders inside running jobs too. One render
may still keep several processors busy (its threads); it runs below the editor's Blender
in CPU priority (``blender/render_priority.py``), so playback gets them first. Only as many
clips are rendered ahead for an account as it has slots: more would spend the machine on
clips no slot can take yet. Pure decisions here; the engine (``core/engine.py``) runs them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

#: what one clip render takes in memory (a background Blender with one scene and FFmpeg), generously
RENDER_MEMORY_BYTES = 700 * 1024 * 1024
MEMINFO = Path("/proc/meminfo")


def available_memory_bytes(meminfo: Path = MEMINFO) -> int | None:
    """Memory the kernel says is available without swapping (Linux ``MemAvailable``), else None.

    Read from /proc, no native dependency (Blender ships no psutil); other systems give None
    and the budget follows the processors alone.
    """
    try:
        text = meminfo.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "MemAvailable":
            parts = value.split()
            try:
                return int(parts[0]) * (1024 if parts[1:2] == ["kB"] else 1)
            except (IndexError, ValueError):
                return None
    return None


def machine_render_budget(cpu_count: int | None = None, free_memory: int | None = None) -> int:
    """How many clip renders may run at once: half the processors (at least one), and no more than
    free memory holds. At least 1: a job that holds a slot always renders its own clip."""
    processors = os.cpu_count() if cpu_count is None else cpu_count
    by_cpu = max(1, (processors or 1) // 2)
    if free_memory is None:
        return by_cpu
    return max(1, min(by_cpu, free_memory // RENDER_MEMORY_BYTES))


@dataclass(frozen=True)
class Waiting:
    """A queued job as render-ahead sees it."""

    job_id: str
    account: str
    needs_clip: bool  # its provider needs a video clip and it has none yet
    may_start_later: bool = True  # False: held or cancelled, no clip is worth rendering for it


def clips_to_render(
    waiting: Sequence[Waiting],
    *,
    rendering: Iterable[str],
    ready_ahead: Mapping[str, int],
    renders_running: int,
    budget: int,
    slots: Mapping[str, int],
) -> list[str]:
    """Which waiting jobs' clips to start rendering now, in queue order.

    ``rendering``: jobs whose clip is being rendered ahead already; ``ready_ahead``: per
    account, waiting jobs whose clip is ready; ``renders_running``: every clip render on the
    machine (ahead and inside running jobs); ``budget``: the machine's bound; ``slots``: each
    account's tasks at once, the most clips worth having ready or on the way for it.
    """
    busy = set(rendering)
    free = budget - renders_running
    lined_up = dict(ready_ahead)
    for job in waiting:
        if job.job_id in busy:
            lined_up[job.account] = lined_up.get(job.account, 0) + 1
    chosen: list[str] = []
    for job in waiting:
        if free <= 0:
            break
        if job.job_id in busy or not job.needs_clip or not job.may_start_later:
            continue
        if lined_up.get(job.account, 0) >= max(1, slots.get(job.account, 1)):
            continue
        chosen.append(job.job_id)
        lined_up[job.account] = lined_up.get(job.account, 0) + 1
        free -= 1
    return chosen


def start_order(queued: Sequence[str], clip_ready: Mapping[str, bool]) -> list[str]:
    """The order a freed slot looks at queued jobs: those that need no render first (clip ready,
    or no clip needed), then the others; each group keeps the queue's order."""
    ready = [job_id for job_id in queued if clip_ready.get(job_id, True)]
    later = [job_id for job_id in queued if not clip_ready.get(job_id, True)]
    return ready + later
