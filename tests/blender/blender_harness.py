"""What every Blender test shares: an isolated Blender user folder set up
before bpy is first imported, the extension's module name, version facts."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# tests/conftest.py points BLENDER_USER_RESOURCES at a temporary folder before this runs.
assert "vse-foley-user-" in os.environ.get("BLENDER_USER_RESOURCES", ""), "import bpy only after conftest"

import bpy  # noqa: E402

REPO = "user_default"
MODULE = f"bl_ext.{REPO}.vse_foley"
HAS_AUDASPACE = bpy.app.version >= (4, 3, 0)  # the 4.2 wheel is built without audaspace

requires_audaspace = pytest.mark.skipif(
    not HAS_AUDASPACE,
    reason="the bpy 4.2 wheel is built without audaspace (sound strips); real Blender 4.2 has it",
)


def platform_tag() -> str:
    machine = "arm64" if os.uname().machine in ("arm64", "aarch64") else "x64"
    system = {"linux": "linux", "darwin": "macos", "win32": "windows"}[sys.platform]
    return f"{system}-{machine}"


def enabled_modules() -> set[str]:
    return {addon.module for addon in bpy.context.preferences.addons}
