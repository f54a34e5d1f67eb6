"""Fixtures for the provider contract tests: one loopback emulator, fast tuning, real MP4 clips."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from providers_testkit import FAST, EngineRun, make_mp4

from devtools.emulator import EmulatorKeys, VendorEmulator
from vse_foley.providers import create_provider
from vse_foley.providers.base import Provider
from vse_foley.providers.settings import HttpTuning


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
    emu_server.kling_duplicate_ids = "accept"
    emu_server.kling_page_size_cap = None
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


@pytest.fixture
def run(emu: VendorEmulator, tmp_path: Path) -> Iterator[EngineRun]:
    """A real JobEngine on the emulator (``providers_testkit.EngineRun``), closed after the test."""
    made = EngineRun(emu, tmp_path)
    yield made
    made.close()
