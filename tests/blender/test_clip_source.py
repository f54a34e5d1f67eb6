"""The copy of the edit the clip is rendered from: written with Blender's partial
writer, so it has no side effects on the user's session (no save handlers, no
"Saved copy" report, no auto-pack), and it renders exactly like the edit itself —
relative movie paths, an image sequence, a sound strip, a scene strip with a
packed font and a packed image the scene uses all come along."""

from __future__ import annotations

import importlib
import math
import struct
import time
import wave
from pathlib import Path
from typing import Any

import bpy
import pytest
from blender_harness import MODULE, requires_audaspace, strips_of

from devtools.sample_edit import render_footage, set_fps
from vse_foley import compat


def module(name: str) -> Any:
    return importlib.import_module(f"{MODULE}.{name}")


def write_png(path: Path, color: tuple[float, float, float]) -> None:
    image = bpy.data.images.new(path.stem, 64, 36)
    image.pixels[:] = [*color, 1.0] * (64 * 36)
    image.filepath_raw = str(path)
    image.file_format = "PNG"
    image.save()
    bpy.data.images.remove(image)


def write_wav(path: Path, seconds: float = 1.0, rate: int = 16000) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        samples = (round(8000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(int(seconds * rate)))
        out.writeframes(b"".join(struct.pack("<h", s) for s in samples))


def packed_font() -> Any:
    """One of Blender's own fonts, packed into the file."""
    fonts = Path(bpy.utils.system_resource("DATAFILES", path="fonts"))
    font = bpy.data.fonts.load(str(sorted(fonts.glob("*.woff2"))[0]))
    font.pack()
    return font


def edit_with_every_kind_of_media(root: Path, footage: Path, *, sound: bool) -> Any:
    """proj/edit.blend whose strips use media in ../media by relative paths."""
    media = root / "media"
    media.mkdir(parents=True, exist_ok=True)
    write_png(media / "seq_0001.png", (0.9, 0.2, 0.1))
    write_png(media / "seq_0002.png", (0.1, 0.9, 0.2))
    movie_path = media / "shot.mp4"
    movie_path.write_bytes(footage.read_bytes())
    (root / "proj").mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(root / "proj" / "edit.blend"))  # so "//" means proj/

    scene = bpy.context.scene
    set_fps(scene, 25)
    scene.render.resolution_x, scene.render.resolution_y = 320, 180
    scene.frame_start, scene.frame_end = 1, 20
    movie = compat.new_movie_strip(scene, "shot", str(movie_path), 1, 1)
    movie.filepath = "//../media/shot.mp4"
    images = compat.top_level_strips(scene.sequence_editor).new_image(
        name="seq", filepath=str(media / "seq_0001.png"), channel=2, frame_start=11)
    images.elements.append("seq_0002.png")
    images.directory = "//../media/"
    images.blend_type = "ALPHA_OVER"
    images.transform.scale_x = images.transform.scale_y = 0.5

    inner = bpy.data.scenes.new("Inner")
    inner.render.resolution_x, inner.render.resolution_y = 320, 180
    set_fps(inner, 25)
    inner.frame_start, inner.frame_end = 1, 20
    backdrop = compat.new_effect_strip(inner, "backdrop", "COLOR", 1, 1, 21)
    backdrop.color = (0.2, 0.1, 0.5)
    text = compat.new_effect_strip(inner, "title", "TEXT", 2, 1, 21)
    text.text = "PACKED FONT"
    text.font = packed_font()
    text.font_size = 40
    # A packed image the scene uses (through the inner scene's world): it must travel with the scene.
    picture = bpy.data.images.new("packed picture", 8, 8)
    picture.pixels[:] = [0.25, 0.5, 0.75, 1.0] * 64
    picture.pack()
    world = bpy.data.worlds.new("Inner world")
    if world.node_tree is None:  # 4.x makes the tree on use_nodes (deprecated in 5.0, which always has one)
        world.use_nodes = True
    node = world.node_tree.nodes.new("ShaderNodeTexEnvironment")
    node.image = picture
    inner.world = world
    scene_strip = compat.top_level_strips(scene.sequence_editor).new_scene(
        name="inner", scene=inner, channel=3, frame_start=5)
    scene_strip.scene_input = "SEQUENCER"
    scene_strip.blend_type = "ALPHA_OVER"
    scene_strip.transform.scale_x = scene_strip.transform.scale_y = 0.4
    scene_strip.transform.offset_x = 60
    if sound:
        write_wav(media / "tone.wav")
        tone = compat.new_sound_strip(scene, "tone", str(media / "tone.wav"), 4, 1)
        tone.sound.filepath = "//../media/tone.wav"
    bpy.ops.wm.save_mainfile()
    return scene


def encoded_frames(data: bytes) -> bytes:
    """The MP4's ``mdat`` box: the encoded pictures. (Two renders of one file differ in a
    byte of the container's metadata, so whole files are not compared.)"""
    offset = 0
    for _ in range(64):  # an MP4 from Blender has a handful of top-level boxes
        if offset + 8 > len(data):
            break
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if kind == b"mdat":
            return data[offset + 8:offset + size]
        offset += size
    raise AssertionError("no mdat box in the clip")


def media_paths(scene: Any) -> dict[str, str]:
    paths = {strip.name: strip.filepath for strip in strips_of(scene) if strip.type == "MOVIE"}
    paths.update({strip.name: strip.directory for strip in strips_of(scene) if strip.type == "IMAGE"})
    return paths


def render(blend: str, scene_name: str, out: Path) -> bytes:
    clip = module("blender.clip")
    spec = clip.ClipSpec(blend, scene_name, 1, 20, 180, str(out), "clip")
    result = clip.render_clip_in_subprocess(clip.render_command(spec))
    return encoded_frames(Path(str(result["path"])).read_bytes())


@pytest.fixture(scope="module")
def footage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_footage(tmp_path_factory.mktemp("footage") / "shot.mp4", seconds=1.0, fps=25,
                          width=320, height=180)


def test_the_copy_renders_exactly_like_the_edit(extension: Any, footage: Path, tmp_path: Path) -> None:
    scene = edit_with_every_kind_of_media(tmp_path, footage, sound=False)
    copy_dir = tmp_path / "elsewhere" / "deeper" / "still"  # "//../media" would not resolve from here

    copy = module("blender.clip").prepare_clip_source(scene.name, copy_dir)

    from_edit = render(bpy.data.filepath, scene.name, tmp_path / "from_edit")
    from_copy = render(copy, scene.name, tmp_path / "from_copy")
    assert len(from_copy) > 1000 and from_copy == from_edit  # byte for byte the same encoded frames
    # and the comparison can fail: a copy whose "//" paths were not rebased misses the media
    unmapped = copy_dir / "unmapped.blend"
    bpy.data.libraries.write(str(unmapped), {scene}, path_remap="NONE")
    try:
        from_unmapped = render(str(unmapped), scene.name, tmp_path / "from_unmapped")
    except module("providers.errors").FoleyError:  # 5.2's render process dies on the missing media
        from_unmapped = b""
    assert from_unmapped != from_edit


def test_the_copy_holds_the_sound_the_font_and_the_packed_image(extension: Any, footage: Path,
                                                                tmp_path: Path) -> None:
    sound = bool(bpy.app.build_options.audaspace)  # the 4.2 wheel cannot make sound strips
    scene = edit_with_every_kind_of_media(tmp_path, footage, sound=sound)
    edit = bpy.data.filepath
    pixels = list(bpy.data.images["packed picture"].pixels[:4])
    scene_name = scene.name
    copy = module("blender.clip").prepare_clip_source(scene_name, tmp_path / "a" / "b" / "c")
    live_paths = media_paths(scene)
    assert all(path.startswith("//") for path in live_paths.values())  # the live file is not remapped

    bpy.ops.wm.open_mainfile(filepath=copy)
    copied = bpy.data.scenes[scene_name]
    strips = {strip.name: strip for strip in strips_of(copied)}
    assert Path(bpy.path.abspath(strips["shot"].filepath)).is_file()
    sequence = strips["seq"]
    assert [Path(bpy.path.abspath(sequence.directory), e.filename).is_file() for e in sequence.elements] \
        == [True, True]
    assert strips["inner"].scene.name == "Inner"
    assert bpy.data.fonts[0].packed_file is not None
    picture = bpy.data.images["packed picture"]
    assert picture.packed_file is not None and list(picture.pixels[:4]) == pytest.approx(pixels)
    if sound:
        assert Path(bpy.path.abspath(strips["tone"].sound.filepath)).is_file()

    bpy.ops.wm.open_mainfile(filepath=edit)  # the edit itself kept its relative paths on disk too
    assert media_paths(bpy.data.scenes[scene_name]) == live_paths


@requires_audaspace
def test_making_the_copy_has_no_side_effects(extension: Any, footage: Path, tmp_path: Path,
                                             capfd: pytest.CaptureFixture[str]) -> None:
    scene = edit_with_every_kind_of_media(tmp_path, footage, sound=True)
    calls: list[str] = []

    def other_addons_save_handler(*_args: Any) -> None:
        calls.append("save")

    handlers = (bpy.app.handlers.save_pre, bpy.app.handlers.save_post)
    for handler_list in handlers:
        handler_list.append(other_addons_save_handler)
    bpy.data.use_autopack = True
    scene.frame_current = 7  # an unsaved change
    bpy.ops.ed.undo_push(message="an unsaved change")  # as an operator does (5.2 marks it dirty then)
    tone = bpy.data.sounds[0]
    capfd.readouterr()
    try:
        module("blender.clip").prepare_clip_source(scene.name, tmp_path / "copy")
    finally:
        for handler_list in handlers:
            handler_list.remove(other_addons_save_handler)
        bpy.data.use_autopack = False
    printed = capfd.readouterr().out

    assert calls == []  # no other add-on's save handlers ran
    assert "Saved" not in printed  # no "Saved copy as …" report
    assert tone.packed_file is None  # auto-pack did not pack the live file's sound
    assert bpy.data.is_dirty  # the live file still has its unsaved change...
    assert bpy.data.filepath.endswith("edit.blend")  # ...and is still the user's file


def test_main_thread_time_for_a_large_edit(extension: Any, footage: Path, tmp_path: Path) -> None:
    """Not a timed assert (the machine is shared): the figure goes to the report."""
    scene = bpy.context.scene
    for index in range(200):
        compat.new_movie_strip(scene, f"shot{index}", str(footage), 1 + index % 100, 1 + 30 * (index // 100))
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "large.blend"))
    clip = module("blender.clip")
    started = time.perf_counter()
    scene_name = scene.name
    copy = clip.prepare_clip_source(scene_name, tmp_path / "copy")
    elapsed = time.perf_counter() - started
    started = time.perf_counter()
    key = clip.clip_source_key(scene)
    keyed = time.perf_counter() - started
    print(f"200 strips: prepare_clip_source {elapsed * 1000:.1f} ms, clip_source_key {keyed * 1000:.1f} ms")
    assert key is not None
    assert Path(copy).stat().st_size > 0
    bpy.ops.wm.open_mainfile(filepath=copy)
    assert len(strips_of(bpy.data.scenes[scene_name])) == 200
