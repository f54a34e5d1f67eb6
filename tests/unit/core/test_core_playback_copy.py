"""The 24-bit copy a 16-bit WAV result plays from (core/playback_copy.py)."""

import struct
from pathlib import Path

import numpy as np
import pytest

from devtools.emulator.audio import silent_mp3, synth_wav
from vse_foley.core.conform import PcmAudio, read_wav, write_wav
from vse_foley.core.playback_copy import PLAYBACK_KEY, copy_path, make_playback_copy, playable_path


def extensible_pcm16(frames: bytes, channels: int, rate: int) -> bytes:
    """A WAVE_FORMAT_EXTENSIBLE file whose sub-format is 16-bit integer PCM."""
    block = channels * 2
    guid_tail = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
    fmt = struct.pack("<HHIIHHHHI", 0xFFFE, channels, rate, rate * block, block, 16, 22, 16, 3)
    fmt += struct.pack("<H", 1) + guid_tail
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
            + b"data" + struct.pack("<I", len(frames)) + frames)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_a_16_bit_wav_gets_a_24_bit_copy_with_exactly_its_samples(tmp_path: Path) -> None:
    original = tmp_path / "wavespeed_steps_abc.wav"
    original.write_bytes(synth_wav(1.5, sample_rate=44100, channels=2))
    before = original.read_bytes()

    copy = make_playback_copy(original)

    assert copy == copy_path(original) == tmp_path / "wavespeed_steps_abc.pcm24.wav"
    assert original.read_bytes() == before  # the paid file is never touched
    source, played = read_wav(original), read_wav(copy)
    assert played.sample_format == "pcm24" and source.sample_format == "pcm16"
    assert played.sample_rate == 44100 and played.samples.shape == source.samples.shape
    assert np.array_equal(played.samples, source.samples)  # shifted by 8 bits: nothing rounded
    assert not list(tmp_path.glob("*.part"))


def test_an_extensible_16_bit_wav_gets_a_copy_too(tmp_path: Path) -> None:
    samples = np.array([[0, -32768], [32767, 1], [-2, 300]], dtype="<i2")
    original = tmp_path / "x.wav"
    original.write_bytes(extensible_pcm16(samples.tobytes(), channels=2, rate=48000))

    copy = make_playback_copy(original)

    assert copy is not None
    assert np.array_equal(read_wav(copy).samples, samples.astype(np.float64) / 32768.0)


@pytest.mark.parametrize("sample_format", ["pcm24", "pcm32", "float32"])
def test_a_wav_blender_opens_quickly_gets_no_copy(tmp_path: Path, sample_format: str) -> None:
    original = write_wav(tmp_path / "x.wav", PcmAudio(np.zeros((100, 2)), 48000), sample_format)  # type: ignore[arg-type]

    assert make_playback_copy(original) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.wav"]


def test_an_mp3_gets_no_copy(tmp_path: Path) -> None:
    original = tmp_path / "x.mp3"
    original.write_bytes(silent_mp3(1.0)[0])

    assert make_playback_copy(original) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.mp3"]


def test_a_cut_short_download_copies_the_frames_it_holds(tmp_path: Path) -> None:
    whole = synth_wav(1.0, sample_rate=8000, channels=1)
    original = tmp_path / "x.wav"
    original.write_bytes(whole[: 44 + 2 * 3000 + 1])  # 3000 frames and half of one more

    copy = make_playback_copy(original)

    assert copy is not None and read_wav(copy).frame_count == 3000


def test_the_strip_plays_the_recorded_copy_only_while_it_is_there(tmp_path: Path) -> None:
    original = tmp_path / "x.wav"
    original.write_bytes(synth_wav(0.2, sample_rate=8000))
    copy = make_playback_copy(original)
    assert copy is not None

    assert playable_path(str(original), {PLAYBACK_KEY: str(copy)}) == str(copy)
    assert playable_path(str(original), {}) == str(original)  # older jobs: no copy recorded
    copy.unlink()
    assert playable_path(str(original), {PLAYBACK_KEY: str(copy)}) == str(original)
    elsewhere = tmp_path / "other" / copy.name
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(b"RIFF")
    # never a file of another folder
    assert playable_path(str(original), {PLAYBACK_KEY: str(elsewhere)}) == str(original)


@pytest.mark.parametrize("placeholder", [0, 0xFFFFFFFF])
def test_a_streamed_16_bit_wav_is_copied_whole_with_honest_sizes(tmp_path: Path, placeholder: int) -> None:
    # a streaming writer's header: RIFF and data sizes left as the placeholder, the audio to the end
    whole = synth_wav(0.5, sample_rate=8000, channels=2)
    streamed = (b"RIFF" + struct.pack("<I", placeholder) + whole[8:40]
                + struct.pack("<I", placeholder) + whole[44:])
    original = tmp_path / "x.wav"
    original.write_bytes(streamed)

    copy = make_playback_copy(original)

    assert copy is not None
    played = read_wav(copy)
    assert played.frame_count == 4000 and np.array_equal(played.samples, read_wav(original).samples)
    header = copy.read_bytes()[:44]
    assert struct.unpack_from("<I", header, 40)[0] == 4000 * 2 * 3  # the copy's data size is real
    assert struct.unpack_from("<I", header, 4)[0] == len(copy.read_bytes()) - 8
