"""What every Blender test shares: an isolated Blender user folder set up
before bpy is first imported, the extension's module name, version facts."""

from __future__ import annotations

import os

import pytest

# tests/conftest.py points BLENDER_USER_RESOURCES at a temporary folder before this runs.
assert "vse-foley-user-" in os.environ.get("BLENDER_USER_RESOURCES", ""), "import bpy only after conftest"

import bpy  # noqa: E402

from devtools.extension_install import MODULE, ROOT  # noqa: E402,F401 - shared names for the tests
HAS_AUDASPACE = bpy.app.version >= (4, 3, 0)  # the 4.2 wheel is built without audaspace

requires_audaspace = pytest.mark.skipif(
    not HAS_AUDASPACE,
    reason="the bpy 4.2 wheel is built without audaspace (sound strips); real Blender 4.2 has it",
)


def enabled_modules() -> set[str]:
    return {addon.module for addon in bpy.context.preferences.addons}
