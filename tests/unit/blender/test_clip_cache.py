"""The clip cache renders a job's clip as the job recorded it at Generate (size, colours), renders
once per distinct clip, and gives jobs recorded before the colour preference existed what they
were promised then (the scene's own view transform). The render itself is injected: these tests
are about what is asked for, ``tests/blender/test_clip_picture.py`` about what Blender makes of it."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from vse_foley.blender.clip_cache import (
    CLIP_COLOURS,
    DEFAULT_CLIP_COLOUR,
    UNRECORDED_CLIP_COLOUR,
    ClipCache,
    ClipSpec,
    spec_arguments,
)
from vse_foley.core.jobs import Job
from vse_foley.core.timeline import FrameRange
from vse_foley.providers.base import GenerationRequest

VIDEO_PROVIDER = "wavespeed.think-sound"


class Renders:
    """The render function: records each spec and writes a file where the clip would be."""

    def __init__(self) -> None:
        self.specs: list[ClipSpec] = []

    def __call__(self, spec: ClipSpec, cancel: threading.Event) -> dict[str, object]:
        self.specs.append(spec)
        path = Path(spec.output_dir) / f"{spec.stem}0001-0050.mp4"
        path.write_bytes(b"a clip")
        return {"path": str(path)}


def cache(tmp_path: Path, renders: Renders, jobs: dict[str, Job] | None = None) -> ClipCache:
    def user_dir(*parts: str) -> Path:
        folder = tmp_path.joinpath("user", *parts)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    known = jobs or {}
    return ClipCache(user_dir, "", find_job=known.get, render=renders)


def video_job(tmp_path: Path, **extra: Any) -> Job:
    source = tmp_path / "source.blend"
    source.write_bytes(b"BLENDER")
    request = GenerationRequest(VIDEO_PROVIDER, 2.0, prompt="steps")
    return Job.create(request, FrameRange(1, 50), 25, scene_name="Scene",
                      extra={"clip_source": str(source), "clip_short_side": 360, **extra})


def test_the_default_colour_is_one_a_clip_knows() -> None:
    assert DEFAULT_CLIP_COLOUR in CLIP_COLOURS and UNRECORDED_CLIP_COLOUR in CLIP_COLOURS
    assert DEFAULT_CLIP_COLOUR != UNRECORDED_CLIP_COLOUR  # else the old-jobs rule below proves nothing


@pytest.mark.parametrize("colour", CLIP_COLOURS)
def test_a_job_is_rendered_in_the_colours_it_recorded(tmp_path: Path, colour: str) -> None:
    renders = Renders()
    clips = cache(tmp_path, renders)

    clips(video_job(tmp_path, clip_colour=colour), threading.Event())

    [spec] = renders.specs
    assert spec.colour == colour and spec_arguments(spec)["colour"] == colour  # what the process is told


def test_a_job_from_before_the_preference_keeps_the_scenes_view(tmp_path: Path) -> None:
    renders = Renders()
    cache(tmp_path, renders)(video_job(tmp_path), threading.Event())
    assert [spec.colour for spec in renders.specs] == [UNRECORDED_CLIP_COLOUR]


def test_the_same_frames_in_other_colours_are_another_clip_and_the_same_colours_share_one(
        tmp_path: Path) -> None:
    renders = Renders()
    clips = cache(tmp_path, renders)
    standard = video_job(tmp_path, clip_colour="STANDARD")
    as_preview = replace(standard, id="other", extra={**standard.extra, "clip_colour": "SCENE"})
    another_take = replace(standard, id="take-2")

    paths = [clips(job, threading.Event()) for job in (standard, as_preview, another_take)]

    assert [spec.colour for spec in renders.specs] == ["STANDARD", "SCENE"]  # the take reused the first
    assert paths[0] == paths[2] != paths[1]


def test_a_chunk_renders_in_its_parents_colours(tmp_path: Path) -> None:
    renders = Renders()
    parent = video_job(tmp_path, clip_colour="SCENE")
    chunk = replace(video_job(tmp_path), id="chunk", parent_id=parent.id, extra={})
    cache(tmp_path, renders, {parent.id: parent})(chunk, threading.Event())
    assert [spec.colour for spec in renders.specs] == ["SCENE"]
