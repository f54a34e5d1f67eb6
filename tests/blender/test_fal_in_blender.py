"""fal.ai in real Blender: a model that answers with the clip and its new sound lands as a WAV strip.

The emulator answers MMAudio with a real MP4 (a picture track and a PCM sound track,
devtools/emulator/movie.py); the worker reads its sound with Blender's ``aud`` and writes
it beside the kept movie (providers/soundtrack.py), and the pump inserts the WAV.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import bpy
from blender_harness import MODULE, foley_strips, handles, requires_audaspace, strips_of
from test_pipeline import footage, make_saved_edit

from devtools.emulator import VendorEmulator

__all__ = ["footage"]  # the footage fixture, shared with the pipeline tests


@requires_audaspace
def test_a_fal_movie_answer_lands_as_its_sound_track(extension: Any, online: None, emulator: VendorEmulator,
                                                      footage: dict[float, Path], tmp_path: Path) -> None:
    emulator.reset()
    edit = make_saved_edit(tmp_path, footage[25.0])
    scene = bpy.context.scene
    scene.foley.provider = "fal.mmaudio-v2"
    scene.foley.prompt = "footsteps on gravel"

    assert bpy.ops.foley.generate() == {"FINISHED"}

    [strip] = foley_strips(scene)
    start, end = handles(strip)
    assert start == edit.frame_start and end - start == edit.frame_end - edit.frame_start + 1
    assert strip.channel > strips_of(scene)[edit.movie_strip].channel
    sound = Path(bpy.path.abspath(strip.sound.filepath))
    assert sound.suffix == ".wav" and sound.is_file()
    movie = sound.with_suffix(".mp4")
    assert movie.is_file() and movie.read_bytes()[4:8] == b"ftyp"  # the paid movie is kept
    pcm = importlib.import_module(MODULE + ".core.conform").read_wav(sound)  # a 24-bit PCM WAV
    assert pcm.sample_format == "pcm24" and pcm.samples.shape[1] == 2
    assert abs(pcm.duration - (end - start) / 25.0) < 0.05
    assert float(abs(pcm.samples).max()) > 0.1  # the emulator's tones, not silence
    assert strip["vse_foley"]["provider"] == "fal.mmaudio-v2"
    submits = [r for r in emulator.requests if r.vendor == "fal" and r.kind == "submit"]
    assert len(submits) == 1 and submits[0].path == "/fal-ai/mmaudio-v2"
    assert submits[0].json["video_url"].startswith(emulator.root_url + "/files/fal-upload-")
