"""Helpers shared by the provider contract tests: fast tuning, minimal MP4 clips, one-call generation."""

from __future__ import annotations

import struct
import time
from pathlib import Path
from typing import Any

from vse_foley.providers.base import AudioFile, GenerationRequest, Provider, TimedEvent
from vse_foley.providers.one_shot import run_generation
from vse_foley.providers.polling import PollSchedule
from vse_foley.providers.settings import HttpTuning

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
