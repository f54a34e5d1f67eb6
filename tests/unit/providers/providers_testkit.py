"""Helpers shared by the provider contract tests: fast tuning, minimal MP4 clips, one-call generation,
and a real JobEngine on the emulator (``EngineRun``)."""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.unit.core.core_fakes import Changes, ObservedLedger
from vse_foley.core.engine import JobEngine
from vse_foley.core.jobs import Job
from vse_foley.core.ledger import JobLedger
from vse_foley.core.timeline import FrameRange
from vse_foley.providers.base import AudioFile, GenerationRequest, Provider, TimedEvent
from vse_foley.providers.one_shot import run_generation
from vse_foley.providers.polling import PollSchedule
from vse_foley.providers.settings import HttpTuning

if TYPE_CHECKING:
    from devtools.emulator import VendorEmulator

#: Real waits shrunk so the whole suite runs in seconds; the logic is unchanged.
FAST = HttpTuning(
    connect_timeout=2.0,
    read_timeout=3.0,
    upload_read_timeout=3.0,
    retries=3,
    submit_retries=2,
    backoff=0.01,
    max_backoff=0.05,
    max_retry_after=0.15,
    recover_delay=0.01,
)
FAST_POLLS = PollSchedule(initial=0.005, factor=1.5, maximum=0.03)


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def make_mp4(
    path: Path,
    seconds: float,
    *,
    width: int = 640,
    height: int = 360,
    padding: int = 2048,
    brand: bytes = b"isom",
) -> Path:
    """A minimal, structurally valid MP4: ftyp + moov(mvhd, trak/tkhd) + mdat."""
    timescale = 1000
    ftyp = _box(b"ftyp", brand + struct.pack(">I", 512) + b"isomiso2mp41")
    mvhd = _box(
        b"mvhd",
        struct.pack(">B3xIIII", 0, 0, 0, timescale, round(seconds * timescale))
        + struct.pack(">IH10x", 0x00010000, 0x0100)
        + struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
        + b"\0" * 24
        + struct.pack(">I", 2),
    )
    tkhd = _box(
        b"tkhd",
        struct.pack(">IIII4xI8xhhH2x", 3, 0, 0, 1, round(seconds * timescale), 0, 0, 0)
        + struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
        + struct.pack(">II", width << 16, height << 16),
    )
    moov = _box(b"moov", mvhd + _box(b"trak", tkhd))
    mdat = _box(b"mdat", b"\0" * padding)
    path.write_bytes(ftyp + moov + mdat)
    return path


def request_for(
    provider_id: str, clip_path: Path | None = None, duration: float = 5.0, **kwargs: Any
) -> GenerationRequest:
    """A valid request for any provider (video, text or timeline)."""
    defaults: dict[str, Any] = {"prompt": "footsteps on gravel"}
    if provider_id == "vidu.timing2audio":
        defaults = {"events": (TimedEvent(0.0, 1.5, "door slam"), TimedEvent(1.0, duration, "rain"))}
    if provider_id == "elevenlabs.sound-effects":  # answers in the format asked; WAV like the others
        defaults["options"] = {"output_format": "wav_44100"}
    defaults.update(kwargs)
    return GenerationRequest(
        provider_id=provider_id,
        duration=duration,
        video_path=str(clip_path) if clip_path is not None else None,
        **defaults,
    )


class LookupClock:
    """The waits of a lost-submit lookup, recorded and shortened to a token real pause."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        time.sleep(min(seconds, 0.002))

    @property
    def waited(self) -> float:
        return sum(self.waits)


def generate(provider: Provider, request: GenerationRequest, dest_stem: Path, **kwargs: Any) -> AudioFile:
    kwargs.setdefault("schedule", FAST_POLLS)
    kwargs.setdefault("deadline_s", 20.0)
    kwargs.setdefault("sleep", LookupClock().sleep)
    return run_generation(provider, request, dest_stem, **kwargs)


class EngineClock:
    """Wall and monotonic time for a JobEngine that moves only when a worker sleeps.

    ``real`` is the token real pause per sleep (other threads and the emulator run meanwhile);
    a test of a lag measured in real seconds raises it.
    """

    def __init__(self, real: float = 0.0005) -> None:
        self.now = 1_800_000_000.0
        self.real = real
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        time.sleep(min(seconds, self.real))


FIVE_SECONDS = FrameRange(1, 125)  # at 25 fps
#: the engine's own poll schedule; with ``EngineClock`` its waits cost no real time
ENGINE_POLLS = PollSchedule(initial=0.5, factor=1.5, maximum=2.0, deadline=600.0)


class EngineRun:
    """A JobEngine on a ledger file, the real providers pointed at the emulator (``environ``).

    ``real`` is the clock's token real pause per sleep (``EngineClock``); ``ledger`` reopens
    another run's ledger (a restarted or second Blender); ``environ`` replaces the emulator's
    keys and URLs (a vendor left out, a dead port). Every ledger write wakes ``until``, so a
    test waits for a job's state without polling.
    """

    def __init__(
        self,
        emu: VendorEmulator,
        tmp: Path,
        *,
        environ: dict[str, str] | None = None,
        ledger: Path | None = None,
        real: float = 0.0005,
        tuning: HttpTuning = FAST,
    ) -> None:
        tmp.mkdir(parents=True, exist_ok=True)
        self.emu = emu
        self.environ = environ or emu.environ()
        self.clock = EngineClock(real)
        self.ledger_path = ledger or tmp / "jobs.jsonl"
        self.changes = Changes()
        self.ledger: JobLedger = ObservedLedger(self.ledger_path, self.changes)
        env = self.environ
        from vse_foley.providers import create_provider, provider_info

        self.engine = JobEngine(
            self.ledger,
            lambda pid: create_provider(pid, {}, env, tuning=tuning),
            lambda job, abort: str(make_mp4(tmp / f"clip-{job.id}.mp4", float(job.seconds))),
            lambda job: tmp / "library",
            provider_info=provider_info,
            poll_schedule=ENGINE_POLLS,
            clock=self.clock.time,
            monotonic=self.clock.time,
            sleep=self.clock.sleep,
        )

    def ready(self, provider_id: str) -> bool:
        from vse_foley.core.checks import provider_problem

        return not provider_problem(provider_id, {}, self.environ)

    def job(self, provider_id: str, frames: FrameRange = FIVE_SECONDS, *, any_host: bool = False,
            **request: Any) -> Job:
        """Enqueue a job of ``frames`` at 25 fps; ``any_host`` lets it move to the model's other hosts."""
        from vse_foley.providers.model_hosts import usable_hosts

        fps = Fraction(25)
        asked = GenerationRequest(
            provider_id, float(frames.seconds(fps)), prompt="footsteps on gravel", **request
        )
        hosts = list(usable_hosts(provider_id, self.ready)) if any_host else []
        return self.engine.enqueue(
            Job.create(asked, frames, fps, blend_path="/p/e.blend", scene_name="S", hosts=hosts)
        )

    def until(self, job: Job, reached: Callable[[Job], bool], timeout: float = 30.0) -> Job:
        """The engine's copy of ``job`` once ``reached`` holds for it (checked after every ledger
        write, which the engine makes for every change); AssertionError at ``timeout`` s."""

        def seen() -> bool:
            current = self.engine.get(job.id)
            return current is not None and reached(current)

        self.changes.wait_for(seen, timeout)
        current = self.engine.get(job.id)
        assert current is not None
        return current

    def finish(self, job: Job) -> Job:
        assert self.engine.wait([job.id], timeout=60)
        final = self.engine.get(job.id)
        assert final is not None
        return final

    def close(self) -> None:
        self.engine.shutdown(timeout=5)
        self.ledger.close()


def submits_sent(emu: VendorEmulator, vendor: str) -> int:
    """Paid submits the client SENT to ``vendor``, answered or not (``emu.submit_count``: tasks made)."""
    return sum(1 for r in emu.requests if r.vendor == vendor and r.kind == "submit")


def _emulated_provider_ids() -> tuple[str, ...]:
    from vse_foley.providers import PROVIDER_IDS, provider_info

    return tuple(p for p in PROVIDER_IDS if provider_info(p).vendor not in SELF_HOSTED_VENDORS)


#: Vendors with an emulator of their own instead of the shared VendorEmulator (a ComfyUI server:
#: tests/unit/providers/test_comfyui.py covers its happy path and faults).
SELF_HOSTED_VENDORS = frozenset({"comfyui"})
#: Every provider the shared VendorEmulator speaks.
EMULATED_PROVIDER_IDS = _emulated_provider_ids()


#: fal.ai models that answer with the clip and its new sound track (issue 14). With Blender's ``aud``
#: (importable once ``bpy`` is: ``make test-blender``) the sound track lands as a WAV beside the movie;
#: without it (the pure run) the movie itself is the result.
MOVIE_ANSWERS = frozenset({"fal.mmaudio-v2", "fal.thinksound"})


def aud_available() -> bool:
    try:
        import aud  # noqa: F401 - Blender's audaspace; only there when bpy was imported
    except ImportError:
        return False
    return True


def expected_format(provider_id: str) -> str:
    """The emulator serves WAV audio, and a movie with a WAV-made sound track for ``MOVIE_ANSWERS``."""
    return "mp4" if provider_id in MOVIE_ANSWERS and not aud_available() else "wav"
