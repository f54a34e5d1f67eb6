"""Issue 14 item 4: the newer WaveSpeed models send only the fields their pages confirm."""

from __future__ import annotations

from pathlib import Path

import pytest
from providers_testkit import generate, request_for

from vse_foley.providers.errors import InputError


def submits(emu):
    return [r for r in emu.requests if r.vendor == "wavespeed" and r.kind == "submit"]


def test_sonilo_sends_the_clip_prompt_and_asks_for_wav(provider, clip, emu, tmp_path):
    pid = "wavespeed.sonilo-video-to-sfx"
    audio = generate(provider(pid), request_for(pid, clip(6.0), 6.0), tmp_path / "out" / "s")
    assert audio.format == "wav" and audio.duration == pytest.approx(6.0, abs=0.05)  # follows the clip
    (sent,) = submits(emu)
    assert sent.path == "/api/v3/sonilo/v1/video-to-sfx"
    assert set(sent.json) == {"video", "prompt", "audio_format"} and sent.json["audio_format"] == "wav"


def test_sonilo_limits_are_checked_before_anything_is_sent(provider, clip, emu):
    pid = "wavespeed.sonilo-video-to-sfx"
    with pytest.raises(InputError, match="2000"):
        provider(pid).validate(request_for(pid, clip(5.0), 5.0, prompt="x" * 2001))
    with pytest.raises(InputError, match="1–180 s"):
        provider(pid).validate(request_for(pid, clip(181.0), 181.0))
    assert submits(emu) == []


def test_kling_text_to_audio_sends_no_video(provider, emu, tmp_path):
    pid = "wavespeed.kling-text-to-audio"
    audio = generate(provider(pid), request_for(pid, None, 4.5), tmp_path / "out" / "k")
    assert audio.duration == pytest.approx(4.5, abs=0.05)
    (sent,) = submits(emu)
    assert sent.path == "/api/v3/kwaivgi/kling-text-to-audio"
    assert sent.json == {"prompt": "footsteps on gravel", "duration": 4.5}
    assert not [r for r in emu.requests if r.kind == "upload"]


def test_kling_text_to_audio_refuses_what_kling_does_not_take(provider, emu):
    pid = "wavespeed.kling-text-to-audio"
    with pytest.raises(InputError, match="3–10 s"):
        provider(pid).validate(request_for(pid, None, 12.0))
    with pytest.raises(InputError, match="200"):
        provider(pid).validate(request_for(pid, None, 5.0, prompt="y" * 201))
    with pytest.raises(InputError, match="must not be empty"):
        provider(pid).validate(request_for(pid, None, 5.0, prompt=" "))
    assert emu.requests == []


# -- Mirelo SFX 1.6: several variations from one request land as takes --------------------------


class _Run:
    def __init__(self, emu, tmp):
        from fractions import Fraction

        from providers_testkit import FAST, EngineClock, make_mp4

        from vse_foley.core.engine import JobEngine, PollSchedule
        from vse_foley.core.ledger import JobLedger
        from vse_foley.providers import create_provider, provider_info

        self.fps = Fraction(25)
        self.clock = EngineClock()
        self.ledger = JobLedger(tmp / "jobs.jsonl")
        self.folder = tmp / "foley"
        self.engine = JobEngine(
            self.ledger,
            lambda pid: create_provider(pid, {}, emu.environ(), tuning=FAST),
            lambda job, abort: str(make_mp4(tmp / f"clip-{job.id}.mp4", float(job.seconds))),
            lambda job: self.folder,
            provider_info=provider_info,
            poll_schedule=PollSchedule(initial=0.5, factor=1.5, maximum=2.0, deadline=600.0),
            clock=self.clock.time, monotonic=self.clock.time, sleep=self.clock.sleep,
        )

    def run(self, frames, samples):
        from vse_foley.core.jobs import Job
        from vse_foley.providers.base import GenerationRequest

        request = GenerationRequest("wavespeed.mirelo-sfx-1.6", float(frames.seconds(self.fps)),
                                    prompt="rain on a tin roof", options={"num_samples": samples})
        job = self.engine.enqueue(Job.create(request, frames, self.fps, blend_path="/p/e.blend",
                                             scene_name="S", take_label="take 1"))
        assert self.engine.wait([job.id], timeout=60)
        return self.engine.get(job.id)

    def close(self):
        self.engine.shutdown(timeout=5)
        self.ledger.close()


@pytest.fixture
def mirelo(emu, tmp_path):
    made = _Run(emu, tmp_path)
    yield made
    made.close()


def test_mirelo_variations_of_one_request_land_as_ready_takes(mirelo, emu):
    from vse_foley.core.jobs import JobState
    from vse_foley.core.timeline import FrameRange

    final = mirelo.run(FrameRange(1, 150), 3)  # 6 s, 3 variations
    assert final.state == JobState.READY, final.error
    (sent,) = submits(emu)
    assert sent.path == "/api/v3/mirelo-ai/sfx-1.6/video-to-video"
    assert set(sent.json) == {"video", "prompt", "num_samples", "seed"} and sent.json["num_samples"] == 3
    assert emu.tasks_created("wavespeed") == 1  # one paid request ...
    group = [job for job in mirelo.engine.jobs() if job.group_id == final.group_id]
    assert final.group_id and len(group) == 3  # ... three takes
    files = {job.audio_path for job in group}
    assert len(files) == 3 and all(Path(path).is_file() for path in files)
    extra = [job for job in group if job.id != final.id]
    assert all(job.state == JobState.READY and job.extra["variation_of"] == final.id for job in extra)
    assert sorted(job.extra["variation"] for job in extra) == [2, 3]
    assert sorted(mirelo.ledger.get(job.id).state for job in extra) == [JobState.READY] * 2  # on disk
    assert sum(emu.download_counts().values()) == 3


def test_mirelo_sends_at_least_two_variations(provider, clip, emu):
    pid = "wavespeed.mirelo-sfx-1.6"
    with pytest.raises(InputError, match="at least 2"):
        provider(pid).validate(request_for(pid, clip(5.0), 5.0, options={"num_samples": 1}))
    assert submits(emu) == []


def test_a_chunk_keeps_one_variation_and_says_so(mirelo, emu):
    from vse_foley.core.jobs import JobState
    from vse_foley.core.timeline import FrameRange

    final = mirelo.run(FrameRange(1, 2000), 2)  # 80 s: parts of at most 60 s
    chunks = [job for job in mirelo.engine.jobs() if job.parent_id == final.id]
    assert len(chunks) == len(submits(emu)) >= 2
    assert all(job.state == JobState.READY for job in chunks)
    assert all(any("2 variations" in warning for warning in job.warnings) for job in chunks)
    assert not [job for job in mirelo.engine.jobs() if job.extra.get("variation_of")]
