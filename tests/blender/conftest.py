"""Fixtures that run the extension inside a real Blender (the ``bpy`` wheel),
installed the way Blender installs extensions: from the built zip, into a
temporary user folder."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from blender_harness import MODULE, REPO, ROOT, enabled_modules, platform_tag

import bpy


def blender_ext_tool() -> Path:
    return Path(bpy.utils.system_resource("SCRIPTS")) / "addons_core" / "bl_pkg" / "cli" / "blender_ext.py"


@pytest.fixture(scope="session")
def extension_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The extension built by Blender's own tool, for this platform."""
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [sys.executable, str(blender_ext_tool()), "build", "--source-dir", str(ROOT), "--output-dir", str(out),
         "--split-platforms"],
        capture_output=True, text=True,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    return next(out.glob(f"vse_foley-*-{platform_tag().replace('-', '_')}.zip"))


@pytest.fixture(scope="session")
def installed_extension(extension_zip: Path) -> Iterator[str]:
    """Install from the zip like a user would, enabled; disabled again at the end."""
    result = bpy.ops.extensions.package_install_files(filepath=str(extension_zip), repo=REPO,
                                                      enable_on_install=True)
    assert result == {"FINISHED"}, result
    assert MODULE in enabled_modules()
    yield MODULE
    if MODULE in enabled_modules():
        bpy.ops.preferences.addon_disable(module=MODULE)


@pytest.fixture()
def extension(installed_extension: str) -> Iterator[object]:
    """The enabled extension's package, on an empty new file."""
    import importlib

    bpy.ops.wm.read_homefile(use_empty=True)
    yield importlib.import_module(installed_extension)


@pytest.fixture()
def online() -> Iterator[None]:
    system = bpy.context.preferences.system
    before = system.use_online_access
    system.use_online_access = True
    yield
    system.use_online_access = before
