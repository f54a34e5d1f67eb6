"""A vendor that streams its WAV (sizes left as placeholders) is paid-for audio, measured whole.

A streaming encoder (FFmpeg writing to a pipe) cannot seek back to patch the header: the
RIFF and data sizes stay 0xFFFFFFFF (or 0). Every reader takes the one rule in
``providers/riff.py``: the audio runs to the end of the file. Here the emulator's results
are rewritten that way (the unkind reading of the vendor documents, which promise a WAV
and say nothing of its header) and the job goes through the real JobEngine and providers:
download -> check -> length -> analysis -> chunk join -> playback copy. A mis-measured
length would be a short-result warning and a paid fill request; a zero-frame read a
silent join.
"""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import pytest
from providers_testkit import EngineRun

from devtools.emulator import VendorEmulator, audio
from vse_foley.core.conform import read_wav
from vse_foley.core.jobs import Job, JobState
from vse_foley.core.playback_copy import make_playback_copy
from vse_foley.core.timeline import FrameRange
from vse_foley.providers.base import GenerationRequest

PROVIDER = "vidu.text2audio"  # answers with a WAV of the asked duration, 44.1 kHz stereo
RATE = 44100


@pytest.fixture(params=[0xFFFFFFFF, 0], ids=["ffffffff", "zero"])
def streamed(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Every WAV the emulator makes has the placeholder as its RIFF and data sizes."""
    placeholder: int = request.param
    made = audio.synth_wav
    size = struct.pack("<I", placeholder)

    def streamed_wav(*args: object, **kwargs: object) -> bytes:
        whole = made(*args, **kwargs)  # type: ignore[arg-type]
        assert whole[36:40] == b"data"  # a plain 44-byte header: sizes at 4 and 40
        return b"RIFF" + size + whole[8:40] + size + whole[44:]

    monkeypatch.setattr(audio, "synth_wav", streamed_wav)
    return placeholder


def test_a_streamed_result_lands_whole_measured_and_not_filled(streamed: int, emu: VendorEmulator,
                                                               run: EngineRun) -> None:
    final = run.finish(run.job(PROVIDER))  # 5 s at 25 fps

    assert final.state is JobState.READY, final.error
    paid = Path(final.audio_path)
    assert struct.unpack_from("<I", paid.read_bytes(), 40)[0] == streamed  # kept exactly as sent
    assert final.audio_info["duration"] == pytest.approx(5.0)
    assert final.audio_info["analysis"]["measured"] and final.audio_info["analysis"]["seconds"] == 5.0
    assert not any("short" in warning for warning in final.warnings), final.warnings
    assert emu.tasks_created("vidu") == 1  # no paid request to fill a tail that is not missing
    assert read_wav(paid).frame_count == 5 * RATE
    copy = make_playback_copy(paid)  # what the strip plays (the copy's header has real sizes)
    assert copy is not None and read_wav(copy).frame_count == 5 * RATE


def test_streamed_chunks_join_into_the_whole_range(streamed: int, emu: VendorEmulator,
                                                   run: EngineRun) -> None:
    frames, fps = FrameRange(1, 250), Fraction(25)  # 10 s in two 5 s chunks
    request = GenerationRequest(PROVIDER, float(frames.seconds(fps)), prompt="rain on a tin roof")
    parent = run.engine.enqueue(Job.create(request, frames, fps, blend_path="/p/e.blend", scene_name="S"),
                                chunk_ranges=[FrameRange(1, 125), FrameRange(126, 250)])
    final = run.finish(parent)

    assert final.state is JobState.READY, final.error
    assert emu.tasks_created("vidu") == 2
    joined = read_wav(final.audio_path)
    assert joined.frame_count == 10 * RATE
    quiet = abs(joined.samples).max(axis=1) < 1e-6
    assert quiet.mean() < 0.01  # both halves hold their sound, neither is read as zero frames
