"""Every package in the test environment is pinned, at the version installed (requirements/).

``requirements/dev.txt`` promises that a fresh machine gets exactly what CI got; that holds
only when pip has nothing left to choose, dependencies of dependencies included (pytest's
pluggy, iniconfig and packaging; mypy's mypy-extensions were once left free). The venv
that runs this test was made by ``make venv`` from dev.txt and the Blender version's file,
so anything installed but unpinned, or installed at another version, is a gap.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements"
#: the installer's own tools, which a venv brings and no requirement file names
TOOLS = frozenset({"pip", "setuptools", "wheel"})
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==(\S+)$")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """name -> version of every ``name==version`` line, following ``-r other.txt``."""
    found: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            found.update(pins(path.parent / line[3:].strip()))
            continue
        match = _PIN.match(line)
        assert match, f"{path.name}: {raw!r} is not pinned with =="
        found[canonical(match.group(1))] = match.group(3)
    return found


def installed() -> dict[str, str]:
    return {canonical(dist.metadata["Name"]): dist.version for dist in metadata.distributions()}


def test_every_installed_package_is_pinned_at_its_version():
    have = installed()
    blender = ".".join(have["bpy"].split(".")[:2])
    wanted = {**pins(REQUIREMENTS / "dev.txt"), **pins(REQUIREMENTS / f"blender-{blender}.txt")}
    unpinned = {name: version for name, version in have.items() if name not in wanted and name not in TOOLS}
    assert unpinned == {}, f"installed but not pinned in dev.txt or blender-{blender}.txt"
    moved = {name: (version, have[name]) for name, version in wanted.items() if have.get(name) != version}
    assert moved == {}, "pinned (version) but installed at another (or not at all)"


def test_every_requirement_line_is_an_exact_pin():
    for path in sorted(REQUIREMENTS.glob("*.txt")):
        assert pins(path), path.name  # pins() asserts each line is name==version or -r
