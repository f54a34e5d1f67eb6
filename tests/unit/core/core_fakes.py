"""In-memory fakes for the core tests: a vendor, providers on it, a renderer, a clock.

The vendor outlives engines, so a "restart" (a new engine on the same ledger
file) talks to the same tasks. Hooks let a test block or observe any step.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from vse_foley.core.conform import PcmAudio, write_wav
from vse_foley.core.engine import JobEngine, JobReady, PollSchedule
from vse_foley.core.jobs import Job
from vse_foley.core.ledger import JobLedger
from vse_foley.providers.base import (
    AccountLimits,
    AudioFile,
    FieldKind,
    FieldSpec,
    GenerationRequest,
    PriceEstimate,
    Provider,
    ProviderInfo,
    TaskState,
    TaskStatus,
    VendorTask,
)
from vse_foley.providers.errors import CancelledError, InputError

SAMPLE_RATE = 8000


def rms(samples: np.ndarray) -> float:
    """Root mean square level of ``samples`` (0 for none)."""
    return float(np.sqrt(np.mean(np.square(samples)))) if samples.size else 0.0


def make_info(
    provider_id: str = "fake.video",
    *,
    input: str = "video",
    min_seconds: float = 1.0,
    max_seconds: float = 20.0,
    best_seconds: float | None = None,
    concurrency: int = 3,
    price: PriceEstimate | None = None,
    vendor: str = "fakevendor",
    account: str = "",
) -> ProviderInfo:
    return ProviderInfo(
        id=provider_id,
        label=provider_id.title(),
        vendor=vendor,
        description="fake",
        input=input,  # type: ignore[arg-type]
        fields=(FieldSpec("prompt", "Prompt", FieldKind.TEXT),),
        min_seconds=min_seconds,
        max_seconds=max_seconds,
        best_seconds=best_seconds,
        default_concurrency=concurrency,
        price=price,
        account=account,
    )


class FakeVendor:
    """Tasks, counters and hooks shared by every FakeProvider instance."""

    def __init__(self, polls_until_done: int = 2, poll_latency: float = 0.0) -> None:
        self.lock = threading.Lock()
        self.polls_until_done = polls_until_done
        self.poll_latency = poll_latency
        self.tasks: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, str] = {}
        self.submits = 0
        self.downloads = 0
        self.alive = 0
        self.peak_alive = 0
        self.fail_tasks: set[int] = set()  # 1-based submit numbers whose task fails
        self.submit_errors: list[Exception] = []  # raised by the next submits, in order
        self.poll_errors: list[Exception] = []  # raised by the next polls, in order
        self.clock: Callable[[], float] = time.time  # the harness sets its fake clock
        self.submit_log: list[tuple[str, float]] = []  # (prompt, time) of every submit attempt
        self.poll_log: list[tuple[str, float]] = []  # (task id, time) of every poll
        self.running = 0  # tasks submitted and not yet reported done (per this one fake account)
        self.peak_running = 0
        self.invalid = False
        self.audio_seconds: float | None = None  # None: the requested duration
        self.short_submits: dict[int, float] = {}  # 1-based submit number → seconds its result lasts
        self.hooks: dict[str, Callable[[dict[str, Any]], None]] = {}
        self.changes = Changes()  # bumped after each submit, and by the harness's ledger

    def hook(self, name: str, **context: Any) -> None:
        fn = self.hooks.get(name)
        if fn is not None:
            fn(context)

    def finish_all(self) -> None:
        with self.lock:
            self.polls_until_done = 0


class FakeProvider(Provider):
    def __init__(self, vendor: FakeVendor, info: ProviderInfo, supports_recovery: bool = False) -> None:
        self.vendor = vendor
        self.info = info  # type: ignore[misc]
        self.supports_recovery = supports_recovery  # type: ignore[misc]
        with vendor.lock:
            vendor.alive += 1
            vendor.peak_alive = max(vendor.peak_alive, vendor.alive)
        self.closed = False

    def validate(self, request: GenerationRequest) -> None:
        if self.vendor.invalid or request.prompt == "invalid":
            raise InputError("The prompt is invalid; change it and try again.")

    def preflight(self, cancel: threading.Event | None = None) -> None:
        self.vendor.hook("preflight", cancel=cancel)

    def upload_clip(self, request: GenerationRequest, cancel: threading.Event | None = None) -> str | None:
        self.vendor.hook("upload", request=request, cancel=cancel)
        if cancel is not None and cancel.is_set():
            raise CancelledError("Cancelled while uploading; nothing was sent.")
        if not self.info.needs_video:
            return None
        assert request.video_path and Path(request.video_path).is_file()
        return f"https://fake.invalid/{Path(request.video_path).name}"

    def submit(
        self, request: GenerationRequest, clip_url: str | None, cancel: threading.Event | None = None
    ) -> VendorTask:
        try:
            return self._submit(request)
        finally:
            self.vendor.changes.bump()  # a test may wait for the submit count

    def _submit(self, request: GenerationRequest) -> VendorTask:
        self.vendor.hook("submit", request=request)
        with self.vendor.lock:
            self.vendor.submits += 1
            number = self.vendor.submits
            self.vendor.submit_log.append((request.prompt, self.vendor.clock()))
            if self.vendor.submit_errors:
                raise self.vendor.submit_errors.pop(0)
            self.vendor.running += 1
            self.vendor.peak_running = max(self.vendor.peak_running, self.vendor.running)
            task_id = f"task-{number}"
            self.vendor.tasks[task_id] = {
                "polls": 0,
                "duration": request.duration,
                "fail": number in self.vendor.fail_tasks,
                "seed": number,
                "seconds": self.vendor.short_submits.get(number),
            }
            key = request.options.get("external_task_id")
            if key:
                self.vendor.by_key[str(key)] = task_id
        return VendorTask(task_id, {"n": number})

    def recover_submit(self, request: GenerationRequest, external_task_id: str) -> VendorTask | None:
        with self.vendor.lock:
            task_id = self.vendor.by_key.get(external_task_id)
        return VendorTask(task_id, {"recovered": True}) if task_id else None

    def poll(self, task: VendorTask) -> TaskStatus:
        self.vendor.hook("poll", task=task)
        if self.vendor.poll_latency:
            time.sleep(self.vendor.poll_latency)
        with self.vendor.lock:
            self.vendor.poll_log.append((task.task_id, self.vendor.clock()))
            if self.vendor.poll_errors:
                raise self.vendor.poll_errors.pop(0)
            record = self.vendor.tasks[task.task_id]
            record["polls"] += 1
            if record["polls"] <= self.vendor.polls_until_done:
                return TaskStatus(TaskState.RUNNING, progress=min(0.9, record["polls"] / 10))
            if not record.get("done"):
                record["done"] = True
                self.vendor.running -= 1
            if record["fail"]:
                return TaskStatus(
                    TaskState.FAILED, message="The vendor could not generate audio for this clip."
                )
            return TaskStatus(TaskState.SUCCEEDED, audio_urls=(f"fake://{task.task_id}",))

    def download(self, status: TaskStatus, dest_stem: Path) -> AudioFile:
        task_id = status.audio_urls[0].removeprefix("fake://")
        self.vendor.hook("download", task_id=task_id, dest_stem=dest_stem)
        with self.vendor.lock:
            record = self.vendor.tasks[task_id]
            self.vendor.downloads += 1
        seconds = self.vendor.audio_seconds if self.vendor.audio_seconds is not None else record["duration"]
        if record.get("seconds") is not None:
            seconds = record["seconds"]
        rng = np.random.default_rng(record["seed"])
        samples = rng.normal(0.0, 0.1, (round(seconds * SAMPLE_RATE), 1))
        path = dest_stem.with_name(dest_stem.name + ".wav")
        assert not path.exists(), "never overwrite"
        write_wav(path, PcmAudio(samples, SAMPLE_RATE, "pcm16"))
        return AudioFile(path, "wav", path.stat().st_size, seconds)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            with self.vendor.lock:
                self.vendor.alive -= 1


class FakeRenderer:
    """render_clip: writes a stand-in clip; ``gate`` (when set) holds it until released or aborted."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.calls = 0
        self.gate: threading.Event | None = None
        self.started = threading.Event()
        self.on_render: Callable[[Job], None] | None = None

    def __call__(self, job: Job, abort: threading.Event) -> str:
        self.calls += 1
        self.started.set()
        if self.on_render is not None:
            self.on_render(job)
        if self.gate is not None:
            for _ in range(10_000):  # bounded (10 s): held until released, or the engine aborts it
                if self.gate.wait(0.001) or abort.is_set():
                    break
        if abort.is_set():
            raise CancelledError("Rendering stopped.")
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{job.id}-{self.calls}.mp4"
        path.write_bytes(b"not really an mp4")
        return str(path)


class FakeClock:
    """Wall and monotonic time that only moves when a worker "sleeps"."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0
        self.lock = threading.Lock()

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds
        time.sleep(0.0002)  # let other threads run; never a real poll interval


class Changes:
    """A count of changes that the fakes bump: a test waits for a condition without polling.

    ``wait_for`` reads the count, then checks the condition, then sleeps until the count
    moves on, so a change between the check and the sleep is never missed.
    """

    def __init__(self) -> None:
        self._moved = threading.Condition()
        self._count = 0

    def bump(self) -> None:
        with self._moved:
            self._count += 1
            self._moved.notify_all()

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        end = time.monotonic() + timeout
        while True:  # bounded: each turn sees a new change or ends at the deadline
            with self._moved:
                seen = self._count
            if predicate():
                return
            with self._moved:
                moved_on = self._moved.wait_for(lambda seen=seen: self._count != seen, end - time.monotonic())
                if not moved_on:
                    raise AssertionError("condition not reached in time")


class ObservedLedger(JobLedger):
    """A JobLedger that bumps ``changes`` after every append, written or refused.

    The engine appends under its lock and updates its job table before releasing it, so
    a waiter woken here that reads the engine (``get``, ``jobs``: both take that lock)
    sees the new state.
    """

    def __init__(self, path: Path, changes: Changes) -> None:
        super().__init__(path)
        self.changes = changes
        #: (state, result file recorded, durable) of every append, in order
        self.appends: list[tuple[str, bool, bool]] = []

    def append(self, job: Job, *, durable: bool = True) -> None:
        self.appends.append((job.state.value, bool(job.files.get("audio")), durable))
        try:
            super().append(job, durable=durable)
        finally:
            self.changes.bump()


class Harness:
    """An engine on a ledger file with fake providers, a fake clock and a recording pump."""

    def __init__(
        self,
        tmp: Path,
        vendor: FakeVendor,
        infos: dict[str, ProviderInfo],
        *,
        ledger_path: Path | None = None,
        concurrency: dict[str, int] | None = None,
        account_limits: dict[str, AccountLimits] | None = None,
        recovery: bool = False,
        poll_schedule: PollSchedule | None = None,
        use_info: bool = True,
        fill_short: bool = True,
        render_ahead: int = 0,
    ) -> None:
        self.tmp = tmp
        self.vendor = vendor
        self.infos = infos
        self.clock = FakeClock()
        vendor.clock = self.clock.time
        self.renderer = FakeRenderer(tmp / "clips")
        self.ledger_path = ledger_path or tmp / "ledger.jsonl"
        self.changes = vendor.changes
        self.ledger = ObservedLedger(self.ledger_path, self.changes)
        self.out = tmp / "library"
        self.events: list[Any] = []
        self.inserted: list[str] = []
        self.engine = JobEngine(
            self.ledger,
            lambda pid: FakeProvider(vendor, infos[pid], recovery),
            self.renderer,
            lambda job: self.out,
            concurrency=concurrency,
            account_limits=account_limits,
            provider_info=infos.__getitem__ if use_info else None,
            poll_schedule=poll_schedule or PollSchedule(),
            clock=self.clock.time,
            monotonic=self.clock.time,
            sleep=self.clock.sleep,
            fill_short=fill_short,
            render_ahead=render_ahead,
        )

    def pump(self) -> None:
        """What the Blender timer does: drain, insert ready jobs, tell the engine."""
        for event in self.engine.drain(0.05):
            self.events.append(event)
            if isinstance(event, JobReady):
                self.inserted.append(event.job.id)
                self.engine.mark_inserted(event.job.id, f"strip-{event.job.id}")

    def wait(self, job_ids: list[str] | None = None, timeout: float = 5.0) -> bool:
        return self.engine.wait(job_ids, timeout=timeout, pump=self.pump, interval=0.002)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Block until ``predicate()`` holds, checked again after each job change or submit."""
        self.changes.wait_for(predicate, timeout)

    def records(self, job_id: str | None = None) -> list[dict[str, Any]]:
        lines = self.ledger_path.read_bytes().splitlines()
        records = [json.loads(line) for line in lines if line.strip()]
        return [r for r in records if job_id is None or r["id"] == job_id]

    def states(self, job_id: str) -> list[str]:
        states: list[str] = []
        for record in self.records(job_id):
            if not states or states[-1] != record["state"]:
                states.append(record["state"])
        return states

    def close(self) -> None:
        self.engine.shutdown(timeout=2.0)
        # every engine test doubles as a check that no vendor slot was given back twice
        assert self.engine._accounts.over_released() == 0, "a vendor slot was given back twice"
        self.ledger.close()
