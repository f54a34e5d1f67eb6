"""The engine's side of render-ahead (``core/render_ahead.py`` decides; this runs it).

A mixin of ``JobEngine``: ``_render_ahead_now`` (called under the engine's lock at the end of
every dispatch and whenever a render inside a job's slot ends) starts a short thread per
chosen clip; the thread records the clip on the still-queued job and dispatches again, so a
free slot takes that job with its clip ready. A job that starts while its clip is still being
rendered ahead waits for that render instead of starting a second one (``_await_clip_ahead``).
A failed render ahead is only logged: the job renders in its slot when it starts, and reports a
failure there with its sentence.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from . import render_ahead
from .engine_parts import EngineParts
from .jobs import JobState

log = logging.getLogger(__name__)


class RenderAheadMixin(EngineParts):
    """Clips of queued jobs rendered while their account's slots are full."""

    _render_budget: int  # renders at once on this machine; 0: no rendering ahead
    _ahead: dict[str, threading.Event]  # job id → set when its render ahead has ended
    _ahead_tried: set[str]
    _renders_running: int
    _peak_renders: int
    _rendering_in_slot: set[str]  # started jobs rendering their own clip now (counted in _renders_running)

    def _init_render_ahead(self, budget: int) -> None:
        self._render_budget = max(0, int(budget))
        self._ahead = {}
        self._ahead_tried = set()
        self._renders_running = 0
        self._peak_renders = 0
        self._rendering_in_slot = set()

    def peak_renders(self) -> int:
        """Most clip renders that ran at once, ahead and inside jobs (tests and the bench)."""
        with self._lock:
            return self._peak_renders

    def _needs_clip(self, provider_id: str) -> bool:
        if self._provider_info is None:
            return False
        try:
            return bool(self._provider_info(provider_id).needs_video)
        except Exception:  # an unknown id fails in its worker, with a sentence
            return False

    def _clip_ready(self, job_ids: list[str]) -> dict[str, bool]:
        """For ``start_order``: False for queued jobs whose clip is still to come from a render ahead.

        A job whose render ahead failed is not waited for: it gets no second render ahead, so
        behind every ready job it would start last in the batch; in queue order it renders in its
        slot and reports what went wrong while the editor still looks at the batch.
        """
        if not self._render_budget:
            return {}
        return {job_id: False for job_id in job_ids
                if (job := self._jobs.get(job_id)) is not None and not job.files.get("clip")
                and self._needs_clip(job.provider_id)
                and (job_id not in self._ahead_tried or job_id in self._ahead)}

    def _render_ahead_now(self) -> None:
        """Under the lock: start renders ahead the policy chooses for jobs still waiting for a slot."""
        if not self._render_budget or self._render_clip is None or self._stop.is_set():
            return
        waiting: list[render_ahead.Waiting] = []
        ready: dict[str, int] = {}
        for account, queued in self._pending.items():
            for job_id in queued:
                job = self._jobs.get(job_id)
                if job is None or job.settled or job_id in self._workers:
                    continue
                if not self._needs_clip(job.provider_id):
                    continue
                if job.files.get("clip"):
                    ready[account] = ready.get(account, 0) + 1
                    continue
                waiting.append(render_ahead.Waiting(
                    job_id, account, needs_clip=job_id not in self._ahead_tried,
                    may_start_later=job.state is JobState.QUEUED and not job.held))
        if not waiting:
            return
        slots = {account: self._accounts.limits(account).concurrency for account in self._pending}
        chosen = render_ahead.clips_to_render(
            waiting, rendering=self._ahead, ready_ahead=ready,
            renders_running=self._renders_running + self._slot_renders_due(),
            budget=self._render_budget, slots=slots,
        )
        for job_id in chosen:
            done = self._ahead[job_id] = threading.Event()
            self._ahead_tried.add(job_id)
            self._count_render(+1)
            threading.Thread(target=self._render_one_ahead, args=(job_id, done),
                             name=f"foley-render-ahead-{job_id}", daemon=True).start()

    def _slot_renders_due(self) -> int:
        """Under the lock: started jobs that will render their own clip but have not begun.

        Counted as running renders: a worker takes a moment to reach its render (validation, a
        server's preflight), and a render ahead chosen in that moment would go first in the
        render processes' queue, holding up a job that already holds a vendor slot (seen in the
        batch bench: a slot's render started 7 ms after a render ahead and waited for it).
        """
        due = 0
        for job_id in self._workers:
            if job_id in self._rendering_in_slot or job_id in self._ahead:
                continue
            job = self._jobs.get(job_id)
            if (job is not None and not job.settled and job.vendor_task is None
                    and not job.files.get("clip") and self._needs_clip(job.provider_id)):
                due += 1
        return due

    def _count_render(self, step: int) -> None:
        self._renders_running += step
        self._peak_renders = max(self._peak_renders, self._renders_running)

    def _render_one_ahead(self, job_id: str, done: threading.Event) -> None:
        assert self._render_clip is not None
        try:
            with self._lock:
                job = self._jobs[job_id].copy()
                abort = self._aborts.setdefault(job_id, threading.Event())  # Cancel stops the render
            clip = self._render_clip(job, abort)
            with self._lock:
                current = self._jobs.get(job_id)
                if current is not None and not current.settled and not current.files.get("clip"):
                    self._update(job_id, files={**current.files, "clip": str(clip)})
        except Exception as exc:
            log.info("Rendering the clip of job %s ahead failed; it renders when it starts: %s", job_id, exc)
        finally:
            with self._lock:
                self._count_render(-1)
                self._ahead.pop(job_id, None)
                done.set()
                self._dispatch()  # a free slot may take it now, and the next clip may start
                self._changed.notify_all()

    def _await_clip_ahead(self, job_id: str) -> None:
        """Worker: a render ahead of this job's clip is running: wait for it, never render twice."""
        with self._lock:
            done = self._ahead.get(job_id)
        while done is not None and not done.wait(0.05):
            self._check(job_id)  # shutdown or cancel

    @contextlib.contextmanager
    def _render_in_slot(self, job_id: str) -> Iterator[None]:
        """Count a render inside a running job, so renders ahead leave the machine room for it.

        When it ends, the machine has room for the next clip ahead at once: waiting for the next
        dispatch (a slot freeing) would leave the renderer idle for a whole vendor latency, and on
        a 2-core machine (a budget of one render) that idle time bounded a whole batch.
        """
        with self._lock:
            self._count_render(+1)
            self._rendering_in_slot.add(job_id)
        try:
            yield
        finally:
            with self._lock:
                self._count_render(-1)
                self._rendering_in_slot.discard(job_id)
                self._render_ahead_now()
