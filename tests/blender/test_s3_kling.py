"""Direct Kling with only Kling keys and the user's own S3 bucket, in real Blender (issue 14 item 1).

The Kling emulator fetches the clip through the presigned link (at submit and again when the
task starts), the S3 server (nanio, verifying SigV4) refuses anything unsigned, and the
object is gone once the task left the queue.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import bpy
import pytest
from blender_harness import foley_strips, handles, requires_audaspace, strips_of

from devtools.emulator import VendorEmulator
from devtools.s3_server import SECRET_ACCESS_KEY, S3Server
from devtools.sample_edit import build_edit, render_footage

KLING_ONLY = ("KLING_ACCESS_KEY", "KLING_SECRET_KEY", "VSE_FOLEY_KLING_URL")


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_footage(tmp_path_factory.mktemp("footage") / "shot.mp4", seconds=5.0, fps=25.0,
                          width=320, height=180)


@pytest.fixture()
def kling_and_s3_only(emulator: VendorEmulator, s3_server: S3Server,
                      monkeypatch: pytest.MonkeyPatch) -> tuple[S3Server, str]:
    """The environment of a user with Kling keys and an S3 bucket, and no WaveSpeed key."""
    for name in emulator.environ():
        if name not in KLING_ONLY:
            monkeypatch.delenv(name, raising=False)
    prefix = f"blender-{os.getpid()}/"
    for name, value in s3_server.environ(VSE_FOLEY_S3_PREFIX=prefix).items():
        monkeypatch.setenv(name, value)
    return s3_server, prefix


@requires_audaspace
def test_direct_kling_with_kling_keys_and_s3_only(extension: Any, online: None, emulator: VendorEmulator,
                                                   kling_and_s3_only: tuple[S3Server, str], footage: Path,
                                                   tmp_path: Path) -> None:
    server, prefix = kling_and_s3_only
    edit = build_edit(footage, fps=25.0, width=320, height=180, start_frame=11)
    scene = bpy.data.scenes[edit.scene_name]
    for strip in strips_of(scene):
        strip.select = strip.name == edit.movie_strip
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    scene = bpy.context.scene
    scene.foley.provider = "kling.video-to-audio"
    scene.foley.prompt = "footsteps on gravel"
    emulator.reset()

    assert bpy.ops.foley.generate() == {"FINISHED"}

    [strip] = foley_strips(scene)
    assert handles(strip)[0] == edit.frame_start
    assert Path(bpy.path.abspath(strip.sound.filepath)).is_file()
    (task,) = emulator.vendor_tasks("kling")
    link = task.request["video_url"]
    assert link.startswith(f"{server.endpoint}/{server.bucket}/{prefix}clip-") and "X-Amz-Signature=" in link
    assert task.extra["clip_fetches"] == 2 and task.extra["clip_bytes"][4:8] == b"ftyp"  # a real MP4
    assert not any(r.vendor == "wavespeed" for r in emulator.requests)  # no second vendor needed
    assert server.keys(prefix) == []  # the clip was deleted once the task left the queue

    bpy.ops.wm.save_mainfile()
    saved = Path(bpy.data.filepath).read_bytes()
    user_files = [p for p in Path(os.environ["BLENDER_USER_RESOURCES"]).rglob("*.jsonl") if p.is_file()]
    assert user_files, "no job ledger found: the check below would prove nothing"
    ledgers = b"".join(p.read_bytes() for p in user_files)
    for form in (SECRET_ACCESS_KEY, quote(SECRET_ACCESS_KEY, safe="")):
        assert form.encode() not in saved and form.encode() not in ledgers
    assert b"X-Amz-Signature" not in ledgers  # only the object's address is recorded
