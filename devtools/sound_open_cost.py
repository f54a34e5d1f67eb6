"""What ``strips.new_sound`` costs per file format (the numbers behind ``core/playback_copy.py``).

    .venv/bin/python -m devtools.sound_open_cost [seconds]

Writes one file per format the vendors answer (WAV in 16/24/32-bit and float, FLAC,
MP3, Ogg, AAC; the 4.5 bpy wheel's ``aud`` cannot write MP4/M4A) from the emulator's
16-bit tone, plus the 24-bit copy the extension plays, then prints the median and the
minimum of seven ``new_sound`` + ``remove`` calls for each, in milliseconds. Needs a bpy
build with audaspace (not the 4.2 wheel).
"""

from __future__ import annotations

import importlib
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def main(seconds: float = 10.0) -> None:
    # Any: the stubs know neither write()'s optional arguments nor that a scene is there
    bpy: Any = importlib.import_module("bpy")
    aud: Any = importlib.import_module("aud")  # the bpy module brings it
    from devtools.emulator.audio import synth_wav
    from vse_foley.core.playback_copy import make_playback_copy

    folder = Path(tempfile.mkdtemp(prefix="vse-foley-open-cost-"))
    pcm16 = folder / "pcm16.wav"
    pcm16.write_bytes(synth_wav(seconds, sample_rate=44100, channels=2))
    make_playback_copy(pcm16)  # pcm16.pcm24.wav
    source = aud.Sound.file(str(pcm16))
    for name, container, codec, sample_format in (
        ("pcm32.wav", aud.CONTAINER_WAV, aud.CODEC_PCM, aud.FORMAT_S32),
        ("float32.wav", aud.CONTAINER_WAV, aud.CODEC_PCM, aud.FORMAT_FLOAT32),
        ("a.flac", aud.CONTAINER_FLAC, aud.CODEC_FLAC, aud.FORMAT_S16),
        ("a.mp3", aud.CONTAINER_MP3, aud.CODEC_MP3, aud.FORMAT_S16),
        ("a.ogg", aud.CONTAINER_OGG, aud.CODEC_VORBIS, aud.FORMAT_FLOAT32),
        ("a.aac", aud.CONTAINER_AAC, aud.CODEC_AAC, aud.FORMAT_FLOAT32),
    ):
        source.write(str(folder / name), rate=44100, channels=aud.CHANNELS_STEREO, format=sample_format,
                     container=container, codec=codec)
    editor = bpy.context.scene.sequence_editor_create()
    strips = editor.strips if hasattr(editor, "strips") else editor.sequences
    for path in sorted(folder.iterdir()):
        costs = []
        for _ in range(7):
            started = time.perf_counter()
            strip = strips.new_sound(name="probe", filepath=str(path), channel=2, frame_start=1)
            costs.append((time.perf_counter() - started) * 1000)
            strips.remove(strip)
        size_mb = path.stat().st_size / 1e6
        print(f"{path.name:20} {size_mb:6.2f} MB  new_sound median {statistics.median(costs):7.1f} ms  "
              f"min {min(costs):7.1f} ms")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0)
