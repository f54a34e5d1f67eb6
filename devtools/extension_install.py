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
    scripts = bpy.utils.system_resource("SCRIPTS")  # type: ignore[attr-defined]  # real, missing from the stubs
    return Path(scripts) / "addons_core" / "bl_pkg" / "cli" / "blender_ext.py"


def platform_tag() -> str:
    machine = "arm64" if os.uname().machine in ("arm64", "aarch64") else "x64"
    system = {"linux": "linux", "darwin": "macos", "win32": "windows"}[sys.platform]
    return f"{system}_{machine}"


def build_zip(output_dir: Path, *, source: Path | None = None, split_platforms: bool = True) -> Path:
    """``blender_ext.py build [--split-platforms]``; returns the zip for this platform.

    Without ``source``, the extension is staged first (byte-compiled, see
    ``stage_extension``), exactly as ``make build`` packages it.
    """
    from devtools.stage_extension import stage

    output_dir.mkdir(parents=True, exist_ok=True)
    if source is None:
        source = stage(output_dir / "stage")
    command = [sys.executable, str(blender_ext_tool()), "build", "--source-dir", str(source), "--output-dir",
               str(output_dir)]
    built = subprocess.run(command + (["--split-platforms"] if split_platforms else []),
                           capture_output=True, text=True, check=False)
    # The tool prints FATAL_ERROR but may still exit 0, so look for the zip too.
    pattern = f"*-{platform_tag()}.zip" if split_platforms else "*.zip"
    zips = sorted(output_dir.glob(pattern))
    if built.returncode != 0 or "FATAL_ERROR" in built.stdout or not zips:
        raise RuntimeError(f"building {source.name} failed:\n{built.stdout}{built.stderr}")
    return zips[-1]


def install_zip(zip_path: Path) -> str:
    """Install and enable, as Edit > Preferences > Get Extensions > Install from Disk does."""
    result = bpy.ops.extensions.package_install_files(filepath=str(zip_path), repo=REPO,
                                                      enable_on_install=True)
    if result != {"FINISHED"}:
        raise RuntimeError(f"installing {zip_path.name} failed: {result}")
    return MODULE


def disable() -> None:
    preferences = bpy.context.preferences
    if preferences is not None and MODULE in {addon.module for addon in preferences.addons}:
        bpy.ops.preferences.addon_disable(module=MODULE)
