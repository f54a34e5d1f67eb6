"""`make demo`: the whole pipeline end to end, with no keys and no network.

Builds a sample edit (a generated shot with motion, text strips as timed
events), starts the loopback vendor emulator, installs the built extension
into an isolated Blender user folder, generates sound with a video provider,
with vidu.timing2audio, as a take group and for a long range split into
chunks, then saves the .blend and a mixdown and prints what happened.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "demo-output"


def _prepare_environment() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    # Isolated Blender user folder: the demo never touches your own Blender setup.
    os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="vse-foley-demo-user-")


def main() -> int:
    _prepare_environment()
    import bpy

    from devtools.emulator import VendorEmulator
    from devtools.extension_install import MODULE, build_zip, disable, install_zip
    from devtools.sample_edit import build_edit, render_footage

    print("VSE Foley demo: every vendor below is a LOCAL EMULATOR on 127.0.0.1 (no keys, no network).\n")
    with VendorEmulator(task_seconds=1.0, min_polls=1) as emulator:
        os.environ.update(emulator.environ())
        install_zip(build_zip(OUT / "dist"))
        preferences = bpy.context.preferences
        assert preferences is not None
        preferences.system.use_online_access = True
        import importlib

        runtime = importlib.import_module(MODULE + ".blender.runtime")
        compat = importlib.import_module(MODULE + ".compat")
        try:
            shot = render_footage(OUT / "media" / "shot.mp4", seconds=6.0, fps=25, width=640, height=360)
            long_shot = render_footage(OUT / "media" / "long_shot.mp4", seconds=24.0, fps=25, width=320,
                                       height=180)
            edit = build_edit(shot, fps=25, width=640, height=360, start_frame=1,
                              text_events=((0.5, 2.0, "heavy door slams"), (3.0, 5.0, "glass shatters")))
            scene = bpy.data.scenes[edit.scene_name]
            strips = compat.top_level_strips(scene.sequence_editor)
            long_strip = strips.new_movie(name="long shot", filepath=str(long_shot), channel=1,
                                          frame_start=edit.frame_end + 1)
            scene.frame_end = compat.strip_end(long_strip) - 1
            bpy.ops.wm.save_as_mainfile(filepath=str(OUT / "demo_edit.blend"))

            def select(*names: str) -> None:
                for strip in strips:
                    strip.select = strip.name in names

            steps = [
                ("video → audio (ThinkSound) for the selected shot", "wavespeed.think-sound",
                 "footsteps and a door", 1, (edit.movie_strip,)),
                ("timed events from the text strips (Vidu timing2audio)", "vidu.timing2audio", "", 1,
                 (edit.movie_strip,)),
                ("a take group of 3 variations (Vidu text2audio)", "vidu.text2audio",
                 "rain on a tin roof", 3, (edit.movie_strip,)),
                ("a 24 s range split into chunks and joined (Kling)", "kling.video-to-audio",
                 "city street ambience", 1, (long_strip.name,)),
            ]
            settings = scene.foley  # type: ignore[attr-defined]  # Scene.foley is the extension's
            for title, provider, prompt, variations, selection in steps:
                select(*selection)
                settings.provider = provider
                settings.prompt = prompt
                settings.variations = variations
                started = time.perf_counter()
                result = bpy.ops.foley.generate()  # type: ignore[attr-defined]  # the extension's operator
                print(f"== {title}: {result.pop()} in {time.perf_counter() - started:.1f} s")

            _print_jobs(runtime.engine().jobs())
            _print_strips(compat, scene)
            bpy.ops.wm.save_mainfile()
            mixdown = OUT / "mixdown.wav"
            bpy.ops.sound.mixdown(filepath=str(mixdown), container="WAV", codec="PCM")
            print(f"\nSaved {bpy.data.filepath}\nMixdown {mixdown} ({mixdown.stat().st_size // 1024} KiB)")
            print("All vendor calls went to the local emulator; set real keys (see README) to use the "
                  "vendors.")
        finally:
            runtime.shutdown()
            disable()
    return 0


def _print_jobs(jobs: list) -> None:
    print("\nJobs (phase durations in seconds):")
    for job in jobs:
        if job.parent_id:
            continue
        phases = ", ".join(f"{name} {seconds:.2f}" for name, seconds in job.phase_durations().items())
        chunks = f" [{len(job.chunk_ids)} chunks]" if job.chunk_ids else ""
        print(f"  {job.id} {job.provider_id:<24} {job.state.value:<9}{chunks} {phases}")
        if job.error:
            print(f"      error: {job.error}")


def _print_strips(compat, scene) -> None:
    print("\nInserted sound strips:")
    sounds = [s for s in compat.top_level_strips(scene.sequence_editor) if s.type == "SOUND"]
    for strip in sorted(sounds, key=lambda s: (s.channel, compat.strip_start(s))):
        start = compat.strip_start(strip)
        length = compat.strip_end(strip) - start
        muted = " (muted take)" if strip.mute else ""
        print(f"  channel {strip.channel:>2}  start {start:>4}  length {length:>4}  "
              f"{strip.sound.filepath}{muted}")


if __name__ == "__main__":
    sys.exit(main())
