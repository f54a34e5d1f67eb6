"""Download exactly the wheels blender_manifest.toml lists into ./wheels.

The manifest is the single source of truth: each file name says the package,
version, Python and platform, and pip fetches that one file unmodified from
the package index (Blender's rule for bundled wheels).
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def manifest_wheels() -> list[Path]:
    manifest = tomllib.loads((ROOT / "blender_manifest.toml").read_text(encoding="utf-8"))
    return [ROOT / entry for entry in manifest.get("wheels", [])]


def pip_download_args(wheel: Path) -> list[str]:
    # name-version-pytag-abitag-platformtag.whl (no build tag in our pins)
    name, version, python_tag, abi_tag, platform_tag = wheel.stem.split("-")
    args = [f"{name}=={version}", "--no-deps", "--only-binary=:all:", "--dest", str(wheel.parent)]
    if platform_tag != "any":
        python_version = f"{python_tag[2]}.{python_tag[3:]}"
        args += ["--python-version", python_version, "--implementation", "cp", "--abi", abi_tag]
        # A compound tag (manylinux_2_17_x86_64.manylinux2014_x86_64) matches any of its parts.
        args += ["--platform", platform_tag.split(".")[0]]
    return args


def main() -> int:
    wanted = manifest_wheels()
    missing = [wheel for wheel in wanted if not wheel.exists()]
    for wheel in missing:
        wheel.parent.mkdir(parents=True, exist_ok=True)
        print(f"fetching {wheel.name}", flush=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", *pip_download_args(wheel)], check=True
        )
        if not wheel.exists():
            print(f"error: pip did not produce {wheel.name}; check the pin in blender_manifest.toml")
            return 1
    stray = sorted(set((ROOT / "wheels").glob("*.whl")) - set(wanted))
    for extra in stray:
        # Old pins would otherwise be packed into the zip by nobody's choice.
        extra.unlink()
        print(f"removed {extra.name} (not in the manifest)")
    print(f"{len(wanted)} wheels ready in wheels/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
