"""A vendor's streamed WAV (RIFF and data sizes left as 0 or 0xFFFFFFFF) lands as a whole strip.

The pure tests (``tests/unit/providers/test_streamed_wav_results.py``) follow such a result
through download, checks, length, analysis and joins; here the last step: Blender opens the
file (or its 24-bit playback copy) and the strip covers the whole range. Blender reads WAV
through FFmpeg, which takes both placeholders as "to the end of the file"
(``libavformat/wavdec.c``, ``wav_read_header``), the rule ``providers/riff.py`` follows.
"""

from __future__ import annotations

import importlib
import struct
from pathlib import Path
from typing import Any

import bpy
import pytest
from blender_harness import MODULE, foley_strips, handles, requires_audaspace

from devtools.emulator import VendorEmulator, audio
from devtools.sample_edit import build_edit, render_footage

pytestmark = requires_audaspace
PLACEHOLDERS = pytest.mark.parametrize("placeholder", [0xFFFFFFFF, 0], ids=["ffffffff", "zero"])


def streamed(whole: bytes, placeholder: int) -> bytes:
    """``whole`` (a plain 44-byte-header WAV) as a streaming writer leaves it."""
    assert whole[36:40] == b"data"
    size = struct.pack("<I", placeholder)
    return b"RIFF" + size + whole[8:40] + size + whole[44:]


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_footage(tmp_path_factory.mktemp("streamed") / "shot.mp4", seconds=3.0, fps=25, width=320,
                          height=180)


@PLACEHOLDERS
def test_a_streamed_result_is_inserted_over_the_whole_range(
        extension: Any, online: None, emulator: VendorEmulator, shot: Path, tmp_path: Path, placeholder: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    made = audio.synth_wav
    monkeypatch.setattr(audio, "synth_wav", lambda *a, **k: streamed(made(*a, **k), placeholder))
    edit = build_edit(shot, fps=25, width=320, height=180, start_frame=1)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "streamed.blend"))
    scene = bpy.context.scene
    scene.foley.provider = "vidu.text2audio"
    scene.foley.prompt = "rain on a tin roof"
    scene.foley.variations = 1
    emulator.reset()

    assert bpy.ops.foley.generate() == {"FINISHED"}

    [strip] = foley_strips(scene)
    assert handles(strip) == (edit.frame_start, edit.frame_end + 1)
    meta = strip["vse_foley"]
    assert "shorter" not in meta["warnings"], meta["warnings"]
    paid = Path(meta["original_file"])
    assert struct.unpack_from("<I", paid.read_bytes(), 40)[0] == placeholder  # the paid file, as sent
    assert bpy.path.abspath(strip.sound.filepath).endswith(".pcm24.wav")  # plays its whole copy
    assert emulator.tasks_created("vidu") == 1  # measured whole: no paid fill


@PLACEHOLDERS
def test_blender_reads_a_streamed_24_bit_wav_to_its_end(extension: Any, tmp_path: Path,
                                                        placeholder: int) -> None:
    # 24-bit needs no playback copy: Blender opens the streamed file itself
    conform = importlib.import_module(MODULE + ".core.conform")
    compat = importlib.import_module(MODULE + ".compat")
    honest = conform.write_wav(tmp_path / "honest.wav", conform.read_wav(_two_seconds(tmp_path)), "pcm24")
    path = tmp_path / "streamed.wav"
    path.write_bytes(streamed(honest.read_bytes(), placeholder))
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 25, 1.0

    strip = compat.new_sound_strip(scene, "streamed", str(path), 1, 1)
    try:
        assert handles(strip) == (1, 1 + 50)  # 2 s at 25 fps, as the honest file
        assert conform.read_wav(path).frame_count == 2 * 48000
    finally:
        compat.remove_strip(scene, strip)


def _two_seconds(tmp_path: Path) -> Path:
    path = tmp_path / "source.wav"
    path.write_bytes(audio.synth_wav(2.0, sample_rate=48000, channels=2))
    return path
