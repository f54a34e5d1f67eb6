"""Fixtures for the provider contract tests: one loopback emulator, fast tuning, real MP4 clips."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from providers_testkit import FAST, make_mp4

from devtools.emulator import EmulatorKeys, VendorEmulator
from vse_foley.providers import create_provider
from vse_foley.providers.base import Provider
from vse_foley.providers.settings import HttpTuning


@pytest.fixture(scope="session", autouse=True)
def _cached_emulator_audio() -> Iterator[None]:
    """Work around the emulator caching its tone block per task (crc32 voice), ~0.2 s per task.

    Its cache key is the raw voice number although only ``voice % len(_VOICES)`` matters;
    normalising it here keeps the suite in seconds. Remove once the emulator does it.
    """
    from devtools.emulator import audio

    original = audio._one_second_block
    voices = len(audio._VOICES)

    def block(sample_rate: int, channels: int, voice: int) -> bytes:
        return original(sample_rate, channels, voice % voices)

    audio._one_second_block = block  # type: ignore[assignment]
    yield
    audio._one_second_block = original


@pytest.fixture(scope="session", autouse=True)
def _emulator_without_nagle() -> Iterator[None]:
    """Work around ~40 ms per request: the emulator writes headers and body separately and
    Nagle + delayed ACK hold the body back on keep-alive connections. Remove once its
    handler sets ``disable_nagle_algorithm`` itself.
    """
    from devtools.emulator import server

    before = getattr(server._Handler, "disable_nagle_algorithm", False)
    server._Handler.disable_nagle_algorithm = True
    yield
    server._Handler.disable_nagle_algorithm = before


@pytest.fixture(scope="session")
def emu_server() -> Iterator[VendorEmulator]:
    with VendorEmulator(keys=EmulatorKeys(), task_seconds=0.0, min_polls=1) as server:
        yield server


@pytest.fixture
def emu(emu_server: VendorEmulator) -> Iterator[VendorEmulator]:
    emu_server.reset()
    emu_server.task_seconds = 0.0
    emu_server.min_polls = 1
    emu_server.flexstack_result_shape = "celery"
    yield emu_server
    emu_server.reset()


@pytest.fixture
def clip(tmp_path: Path) -> Callable[..., Path]:
    def make(seconds: float = 5.0, name: str = "clip.mp4", **kwargs: Any) -> Path:
        return make_mp4(tmp_path / name, seconds, **kwargs)

    return make


ProviderFactory = Callable[..., Provider]


@pytest.fixture
def provider(emu: VendorEmulator) -> Iterator[ProviderFactory]:
    made: list[Provider] = []

    def make(
        provider_id: str,
        prefs: dict[str, str] | None = None,
        environ: dict[str, str] | None = None,
        tuning: HttpTuning = FAST,
    ) -> Provider:
        env = emu.environ() if environ is None else environ
        created = create_provider(provider_id, prefs or {}, env, tuning=tuning)
        made.append(created)
        return created

    yield make
    for created in made:
        created.close()
