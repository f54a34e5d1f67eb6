"""The bench's batch figures (issue 13 item 6), used by ``devtools/bench.py``.

- ``batch_efficiency``: 24 four-second shots through ONE vendor account with 3 slots and a
  vendor latency of ``LATENCY_S``; makespan (first enqueue to last strip inserted) divided by
  the ideal, ``ceil(24 / 3) × latency + one clip render`` (the render measured in this run).
- ``batch_peak_in_flight``: most slots of that account held at once (the engine's count).
- ``batch_main_thread_max_ms``: the slowest main-thread call of the whole batch: each shot's
  enqueue and every pump tick, the 24 insertions included.
- ``tick_ms_at_100_jobs``: the pump's median idle tick with at least 100 settled jobs in the session.

The account is WaveSpeed with its documented 3 tasks at once; its submits-a-minute preference
is raised (a higher tier) so that the figure measures how well the slots are kept busy, not
the documented 5 submits a minute, which would rightly hold 24 shots back for minutes.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from pathlib import Path
from typing import Any

SHOTS = 24
SHOT_FRAMES = 100  # 4 s at 25 fps
SLOTS = 3
LATENCY_S = 3.0
PROVIDER = "wavespeed.think-sound"
TICKS = 300
SETTLED_JOBS = 100


def _batch_scene(bench: Any) -> Any:
    """A 640x360, 25 fps timeline of 10 movie strips of the same 10 s footage (100 s in all)."""
    import bpy

    from devtools.sample_edit import render_footage, set_fps
    from vse_foley import compat

    footage = render_footage(bench.work / "batch_footage.mp4", seconds=10.0, fps=25, width=640, height=360)
    scene = bpy.data.scenes.new("batch")
    set_fps(scene, 25)
    scene.render.resolution_x, scene.render.resolution_y = 640, 360
    scene.render.resolution_percentage = 100
    scene.sequence_editor_create()
    start = 1
    for index in range(10):
        movie = compat.new_movie_strip(scene, f"shot {index + 1}", str(footage), 1, start)
        start = compat.strip_end(movie)
    scene.frame_start, scene.frame_end = 1, start - 1
    bpy.ops.wm.save_as_mainfile(filepath=str(bench.work / "batch.blend"))
    return scene


def _clip_render_s(bench: Any, scene: Any) -> float:
    """One clip render of one shot, as the product renders it (its subprocess, its size)."""
    clip = bench.clip
    short_side = int(bench.prefs.clip_short_side)
    spec = clip.ClipSpec(str(bench.work / "batch.blend"), scene.name, 1, SHOT_FRAMES, short_side,
                         str(bench.work / "batch_clip"), "clip", colour=str(bench.prefs.clip_colour))
    started = time.perf_counter()
    clip.render_clip_in_subprocess(clip.render_command(spec))
    return time.perf_counter() - started


def run(bench: Any) -> None:
    import bpy

    from devtools.emulator.process import EmulatorProcess

    print(f"batch: {SHOTS} shots of 4 s, one account with {SLOTS} slots, {LATENCY_S:g} s vendor latency…",
          flush=True)
    runtime = bench.runtime
    scene = _batch_scene(bench)
    settings = scene.foley
    settings.provider = PROVIDER
    settings.prompt = "footsteps"
    settings.variations = 1
    bench.prefs.wavespeed_tasks_at_once = SLOTS
    bench.prefs.wavespeed_submits_per_minute = 600  # a higher tier: the submit rate never binds here
    render_s = _clip_render_s(bench, scene)
    engine = runtime.engine()
    with EmulatorProcess(task_seconds=LATENCY_S, account_limits={"wavespeed": SLOTS}) as vendor:
        os.environ.update(vendor.environ())
        try:
            enqueue_costs: list[float] = []
            tick_costs: list[float] = []
            jobs = []
            started = time.perf_counter()
            for shot in range(SHOTS):
                first = 1 + shot * SHOT_FRAMES
                chosen = bench.selection.choose_range(scene, [], first, first + SHOT_FRAMES - 1)
                at = time.perf_counter()
                jobs += bench.generate.enqueue_generation(bpy.context, scene, chosen, [PROVIDER])
                enqueue_costs.append(time.perf_counter() - at)
            ids = [job.id for job in jobs]
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                at = time.perf_counter()
                runtime.pump()
                tick_costs.append(time.perf_counter() - at)
                states = [engine.get(job_id).state.value for job_id in ids]
                if all(state in ("inserted", "failed", "cancelled") for state in states):
                    break
                time.sleep(0.1)  # the timer's interval while jobs run
            makespan = time.perf_counter() - started
        finally:
            os.environ.update(bench.emulator.environ())
    finals = [engine.get(job_id) for job_id in ids]
    not_inserted = [job for job in finals if job.state.value != "inserted"]
    if not_inserted:
        raise RuntimeError(f"{len(not_inserted)} batch job(s) did not land: {not_inserted[0].error}")
    ideal = math.ceil(SHOTS / SLOTS) * LATENCY_S + render_s
    bench.figures["batch_efficiency"] = makespan / ideal
    bench.figures["batch_peak_in_flight"] = float(engine.peak_in_account("wavespeed"))
    bench.figures["batch_main_thread_max_ms"] = max(enqueue_costs + tick_costs) * 1000
    first_enqueue = min(job.created_at for job in finals)
    pool = runtime.current().render_pool
    peak_renders, render_processes = pool.counts() if pool is not None else (0, 0)
    bench.notes["batch"] = {
        "renders_at_once_max": peak_renders, "render_processes_started": render_processes,
        "render_budget": pool.size if pool is not None else 0,
        "makespan_s": makespan, "ideal_s": ideal, "clip_render_s": render_s, "latency_s": LATENCY_S,
        "enqueue_ms_max": max(enqueue_costs) * 1000,
        "enqueue_ms_median": statistics.median(enqueue_costs) * 1000,
        "tick_ms_max": max(tick_costs) * 1000, "ticks": len(tick_costs),
        "slowest_main_thread_ms": sorted((c * 1000 for c in enqueue_costs + tick_costs), reverse=True)[:5],
        # seconds from the first enqueue at which each shot was submitted and inserted
        "submitted_s": sorted(round(j.timings.get("submitted", 0) - first_enqueue, 2) for j in finals),
        "inserted_s": sorted(round(j.timings.get("inserted", 0) - first_enqueue, 2) for j in finals),
        # every shot's states, seconds from the first enqueue: where a gap between two waves comes from
        "jobs_s": [{state: round(at - first_enqueue, 2) for state, at in j.timings.items()} for j in finals],
    }


def tick_at_100_jobs(bench: Any) -> None:
    """Median idle pump tick once the session holds at least ``SETTLED_JOBS`` settled jobs."""
    import bpy

    from devtools.emulator.process import EmulatorProcess

    runtime = bench.runtime
    engine = runtime.engine()
    missing = SETTLED_JOBS - sum(1 for job in engine.jobs() if job.settled)
    print(f"tick: the pump with {SETTLED_JOBS} settled jobs ({max(0, missing)} more to run first)…",
          flush=True)
    if missing > 0:
        scene, first_frame = bench.text_scene()
        settings = scene.foley
        settings.provider = "vidu.text2audio"
        settings.prompt = "rain"
        settings.variations = 1
        bench.prefs.vidu_tasks_at_once = 8
        bench.prefs.vidu_submits_per_minute = 600
        short = bench.selection.choose_range(scene, [], first_frame, first_frame + 99)
        with EmulatorProcess(task_seconds=0.0, account_limits={"vidu": 8}) as vendor:
            os.environ.update(vendor.environ())
            try:
                jobs = [job for _ in range(missing)
                        for job in bench.generate.enqueue_generation(bpy.context, scene, short,
                                                                     ["vidu.text2audio"])]
                engine.wait([job.id for job in jobs], timeout=600, pump=runtime.pump_once)
            finally:
                os.environ.update(bench.emulator.environ())
    tick = tick_function(runtime)
    tick()  # anything left over is applied before the idle ticks are timed
    costs = []
    for _ in range(TICKS):
        at = time.perf_counter()
        tick()
        costs.append(time.perf_counter() - at)
    settled = sum(1 for job in engine.jobs() if job.settled)
    bench.figures["tick_ms_at_100_jobs"] = statistics.median(costs) * 1000
    bench.notes["tick"] = {"settled_jobs": settled, "ticks": TICKS, "entry_point": tick.__qualname__,
                           "max_ms": max(costs) * 1000,
                           "ledger_lines": _lines(Path(engine_ledger_path(runtime)))}


def tick_function(runtime: Any) -> Any:
    """The pump timer's per-tick entry point: ``runtime.tick`` (the session's: resume check, pump,
    status-bar messages) where it exists, else the pump alone."""
    return getattr(runtime, "tick", runtime.pump)


def engine_ledger_path(runtime: Any) -> str:
    return str(runtime.job_ledger().path)


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except OSError:
        return -1
