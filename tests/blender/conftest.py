"""Fixtures that run the extension inside a real Blender (the ``bpy`` wheel),
installed the way Blender installs extensions: from the built zip, into a
temporary user folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import bpy
import pytest
from blender_harness import MODULE, enabled_modules, show_in_sequencer

from devtools.emulator import VendorEmulator
from devtools.extension_install import build_zip, disable, install_zip


@pytest.fixture(scope="session")
def extension_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The extension built by Blender's own tool, for this platform."""
    return build_zip(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="session")
def installed_extension(extension_zip: Path) -> Iterator[str]:
    """Install from the zip like a user would, enabled; disabled again at the end."""
    install_zip(extension_zip)
    assert MODULE in enabled_modules()
    yield MODULE
    disable()


@pytest.fixture(scope="session")
def fast_polls(installed_extension: str) -> Iterator[None]:
    """A test-only poll schedule (issue 12 item 8): the engine's default polls after 1 s, so every
    pipeline test would wait a real second per job; the emulator answers at once."""
    import importlib

    polling = importlib.import_module(f"{installed_extension}.providers.polling")
    saved = polling.DEFAULT_POLL_SCHEDULE
    polling.DEFAULT_POLL_SCHEDULE = polling.PollSchedule(initial=0.01, factor=1.5, maximum=0.05)
    yield
    polling.DEFAULT_POLL_SCHEDULE = saved


@pytest.fixture()
def extension(installed_extension: str, fast_polls: None) -> Iterator[object]:
    """The enabled extension's package, on an empty new file."""
    import importlib

    bpy.ops.wm.read_homefile(use_empty=True)
    show_in_sequencer(bpy.context.scene)
    yield importlib.import_module(installed_extension)


@pytest.fixture(scope="module")
def emulator() -> Iterator[VendorEmulator]:
    """The loopback vendor emulator, with the environment pointing the providers at it."""
    with VendorEmulator(task_seconds=0.0, min_polls=1) as emu:
        saved = {key: os.environ.get(key) for key in emu.environ()}
        os.environ.update(emu.environ())
        yield emu
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture()
def online() -> Iterator[None]:
    system = bpy.context.preferences.system
    before = system.use_online_access
    system.use_online_access = True
    yield
    system.use_online_access = before
