"""Build the extension with Blender's own tool and install it like a user would.

Used by the tests, the demo and the bench (inside the ``bpy`` wheel).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import bpy

ROOT = Path(__file__).resolve().parent.parent
REPO = "user_default"
MODULE = f"bl_ext.{REPO}.vse_foley"


def blender_ext_tool() -> Path:
    return Path(bpy.utils.system_resource("SCRIPTS")) / "addons_core" / "bl_pkg" / "cli" / "blender_ext.py"


def platform_tag() -> str:
    machine = "arm64" if os.uname().machine in ("arm64", "aarch64") else "x64"
    system = {"linux": "linux", "darwin": "macos", "win32": "windows"}[sys.platform]
    return f"{system}_{machine}"


def build_zip(output_dir: Path) -> Path:
    """``blender_ext.py build --split-platforms``; returns this platform's zip."""
    output_dir.mkdir(parents=True, exist_ok=True)
    built = subprocess.run(
        [sys.executable, str(blender_ext_tool()), "build", "--source-dir", str(ROOT), "--output-dir",
         str(output_dir), "--split-platforms"],
        capture_output=True, text=True, check=False,
    )
    if built.returncode != 0:
        raise RuntimeError(f"building the extension failed:\n{built.stdout}{built.stderr}")
    return next(output_dir.glob(f"vse_foley-*-{platform_tag()}.zip"))


def install_zip(zip_path: Path) -> str:
    """Install and enable, as Edit > Preferences > Get Extensions > Install from Disk does."""
    result = bpy.ops.extensions.package_install_files(filepath=str(zip_path), repo=REPO, enable_on_install=True)
    if result != {"FINISHED"}:
        raise RuntimeError(f"installing {zip_path.name} failed: {result}")
    return MODULE


def disable() -> None:
    if MODULE in {addon.module for addon in bpy.context.preferences.addons}:
        bpy.ops.preferences.addon_disable(module=MODULE)
