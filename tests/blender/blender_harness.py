"""What every Blender test shares: an isolated Blender user folder set up
before bpy is first imported, the extension's module name, version facts."""

from __future__ import annotations

import importlib
import os
from typing import Any

import pytest

# tests/conftest.py points BLENDER_USER_RESOURCES at a temporary folder before this runs.
assert "vse-foley-user-" in os.environ.get("BLENDER_USER_RESOURCES", ""), "import bpy only after conftest"

import bpy  # noqa: E402

from devtools.extension_install import MODULE, ROOT  # noqa: E402,F401 - shared names for the tests

# Asked of the build, not the version: only the 4.2 bpy wheel lacks it (real Blender 4.2 has it).
HAS_AUDASPACE = bool(bpy.app.build_options.audaspace)

requires_audaspace = pytest.mark.skipif(
    not HAS_AUDASPACE,
    reason="the bpy 4.2 wheel is built without audaspace (sound strips); real Blender 4.2 has it",
)


def handles(strip: Any) -> tuple[int, int]:
    """(first visible frame, one past the last): ``left_handle``/``right_handle`` on 5.2+,
    ``frame_final_start``/``frame_final_end`` (deprecated there) before."""
    if hasattr(strip, "left_handle"):
        return int(strip.left_handle), int(strip.right_handle)
    return int(strip.frame_final_start), int(strip.frame_final_end)


def show_in_sequencer(scene: Any) -> None:
    """5.x: make ``scene`` the workspace's sequencer scene, as picking it in the Sequencer
    header does (the home file has none; 4.x files opened in 5.x get their scene)."""
    workspace = bpy.context.workspace
    if workspace is not None and hasattr(workspace, "sequencer_scene"):
        workspace.sequencer_scene = scene


def enabled_modules() -> set[str]:
    return {addon.module for addon in bpy.context.preferences.addons}


def strips_of(scene: Any) -> Any:
    """The scene's top-level strips, through the installed extension's compat module."""
    return importlib.import_module(MODULE + ".compat").top_level_strips(scene.sequence_editor)


def foley_strips(scene: Any) -> list[Any]:
    """Sound strips made by VSE Foley, by channel."""
    return sorted((s for s in strips_of(scene) if s.type == "SOUND" and "vse_foley" in s),
                  key=lambda s: s.channel)


def pump_ticks(rt: Any, limit: int = 64) -> int:
    """Pump as the timer does: one tick, then the next ones while a tick carried ready strips
    over (``pump.INSERTS_PER_TICK``); returns how many ticks ran (bounded by ``limit``)."""
    pump = importlib.import_module(MODULE + ".blender.pump")
    rt.pump()
    ticks = 1
    while pump.inserts_carried(rt.current()) and ticks < limit:
        rt.pump()
        ticks += 1
    return ticks
