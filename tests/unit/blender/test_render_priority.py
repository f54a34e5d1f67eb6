"""How a clip render is started below the editor's Blender (blender/render_priority.py); that the
started process and all its threads really run lowered is tests/blender/test_render_pool.py's."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vse_foley.blender import render_priority


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX: the nice command")
def test_posix_starts_the_command_through_nice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render_priority.shutil, "which", lambda name: f"/usr/bin/{name}")
    command, flags = render_priority.lowered(["blender", "-b"])
    assert command == ["/usr/bin/nice", "-n", str(render_priority.NICE_INCREMENT), "blender", "-b"]
    assert flags == 0


def test_without_nice_the_command_is_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render_priority.sys, "platform", "linux")
    monkeypatch.setattr(render_priority.shutil, "which", lambda name: None)
    assert render_priority.lowered(["blender", "-b"]) == (["blender", "-b"], 0)


def test_windows_starts_it_below_normal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render_priority.sys, "platform", "win32")
    monkeypatch.setattr(subprocess, "BELOW_NORMAL_PRIORITY_CLASS", 0x4000, raising=False)
    assert render_priority.lowered(["blender.exe", "-b"]) == (["blender.exe", "-b"], 0x4000)
