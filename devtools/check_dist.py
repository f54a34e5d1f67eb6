"""Check the release folder `make build` wrote: one zip per manifest platform,
each holding only the extension and the wheels for its own platform (both
Pythons), no test/dev files, plus the repository index."""

from __future__ import annotations

import json
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WHEEL_PLATFORM = {  # manifest platform → pydantic-core wheel tag fragment
    "linux-x64": "manylinux",
    "windows-x64": "win_amd64",
    "windows-arm64": "win_arm64",
    "macos-x64": "macosx_10_12_x86_64",
    "macos-arm64": "macosx_11_0_arm64",
}
# Everything a zip may hold at its top level: the extension and its wheels, nothing else.
ALLOWED_TOP_LEVEL = {"__init__.py", "blender_manifest.toml", "compat.py", "properties.py", "preferences.py",
                     "cli.py", "README.md", "blender", "core", "operators", "panels", "providers", "wheels",
                     "__pycache__"}


def check_zip(path: Path, platform: str) -> list[str]:
    problems = []
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    for name in names:
        if name.split("/")[0] not in ALLOWED_TOP_LEVEL:
            problems.append(f"{path.name}: holds a file that is not the extension: {name}")
    for python in ("cpython-311", "cpython-313"):  # Blender would compile at every start without these
        if f"operators/__pycache__/generate.{python}.pyc" not in names:
            problems.append(f"{path.name}: no {python} bytecode (build from devtools/stage_extension)")
    compiled = [n for n in names if n.startswith("wheels/pydantic_core-")]
    for python in ("cp311", "cp313"):
        wanted = [n for n in compiled if f"-{python}-" in n and WHEEL_PLATFORM[platform] in n]
        if len(wanted) != 1:
            problems.append(f"{path.name}: expected one pydantic-core wheel for {python}/{platform}, "
                            f"found {wanted}")
    strays = [n for n in compiled if WHEEL_PLATFORM[platform] not in n]
    if strays:
        problems.append(f"{path.name}: wheels for other platforms: {strays}")
    required_files = ("blender_manifest.toml", "__init__.py", "providers/kling.py",
                      "blender/render_process.py")
    for required in required_files:
        if required not in names:
            problems.append(f"{path.name}: missing {required}")
    return problems


def main(dist: Path) -> int:
    manifest = tomllib.loads((ROOT / "blender_manifest.toml").read_text(encoding="utf-8"))
    problems = []
    for platform in manifest["platforms"]:
        zip_path = dist / f"vse_foley-{manifest['version']}-{platform.replace('-', '_')}.zip"
        if not zip_path.exists():
            problems.append(f"missing {zip_path.name}")
            continue
        problems += check_zip(zip_path, platform)
    index = dist / "index.json"
    if not index.exists():
        problems.append("missing index.json (the repository index)")
    else:
        listed = {entry.get("archive_url", "") for entry in json.loads(index.read_text())["data"]}
        if len(listed) != len(manifest["platforms"]):
            problems.append(f"index.json lists {len(listed)} archives, expected {len(manifest['platforms'])}")
    for problem in problems:
        print(f"error: {problem}")
    if not problems:
        print(f"dist ok: {len(manifest['platforms'])} platform zips, each with only its own wheels, "
              "and index.json")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "dist")))
