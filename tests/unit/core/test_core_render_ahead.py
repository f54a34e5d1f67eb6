"""Render-ahead policy (issue 13 item 3): which clips to render while slots are full, within the machine."""

from pathlib import Path

from vse_foley.core import render_ahead
from vse_foley.core.render_ahead import Waiting, clips_to_render, machine_render_budget, start_order

GIB = 1024**3


def waiting(*ids: str, account: str = "ws", needs_clip: bool = True) -> list[Waiting]:
    return [Waiting(job_id, account, needs_clip) for job_id in ids]


def test_budget_is_half_the_processors_and_at_least_one() -> None:
    assert machine_render_budget(cpu_count=8, free_memory=64 * GIB) == 4
    assert machine_render_budget(cpu_count=2, free_memory=64 * GIB) == 1
    assert machine_render_budget(cpu_count=1, free_memory=64 * GIB) == 1
    assert machine_render_budget(cpu_count=16, free_memory=None) == 8  # no /proc: processors alone


def test_budget_follows_free_memory() -> None:
    per = render_ahead.RENDER_MEMORY_BYTES
    assert machine_render_budget(cpu_count=16, free_memory=3 * per + 1) == 3
    assert machine_render_budget(cpu_count=16, free_memory=per // 2) == 1  # a running job still renders


def test_available_memory_is_read_from_meminfo(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       32000000 kB\nMemFree:  100 kB\nMemAvailable:   2048 kB\n")
    assert render_ahead.available_memory_bytes(meminfo) == 2048 * 1024
    meminfo.write_text("MemTotal: 5 kB\n")  # an old kernel without MemAvailable
    assert render_ahead.available_memory_bytes(meminfo) is None
    assert render_ahead.available_memory_bytes(tmp_path / "missing") is None


def test_renders_ahead_in_queue_order_up_to_the_machine() -> None:
    chosen = clips_to_render(waiting("a", "b", "c", "d"), rendering=(), ready_ahead={}, renders_running=1,
                             budget=3, slots={"ws": 3})
    assert chosen == ["a", "b"]  # one render already runs (inside a job): two more fit


def test_no_more_clips_lined_up_than_the_account_has_slots() -> None:
    jobs = waiting("a", "b", "c", "d", "e")
    chosen = clips_to_render(jobs, rendering=("a",), ready_ahead={"ws": 1}, renders_running=1,
                             budget=8, slots={"ws": 3})
    assert chosen == ["b"]  # one ready, one on the way, one more makes three: one per slot
    assert clips_to_render(jobs, rendering=(), ready_ahead={"ws": 3}, renders_running=0,
                           budget=8, slots={"ws": 3}) == []


def test_each_account_lines_up_its_own_clips() -> None:
    jobs = [*waiting("k1", "k2", account="kling"), *waiting("w1", "w2", account="ws")]
    chosen = clips_to_render(jobs, rendering=(), ready_ahead={"kling": 1}, renders_running=0,
                             budget=8, slots={"kling": 2, "ws": 1})
    assert chosen == ["k1", "w1"]


def test_jobs_without_a_clip_to_make_are_skipped() -> None:
    jobs = [*waiting("text", needs_clip=False), Waiting("held", "ws", True, may_start_later=False),
            *waiting("video")]
    chosen = clips_to_render(jobs, rendering=(), ready_ahead={}, renders_running=0, budget=4, slots={"ws": 3})
    assert chosen == ["video"]


def test_a_freed_slot_takes_a_job_whose_clip_is_ready_first() -> None:
    order = start_order(["a", "b", "c", "d"], {"a": False, "b": True, "c": False, "d": True})
    assert order == ["b", "d", "a", "c"]
    assert start_order(["x", "y"], {}) == ["x", "y"]  # nothing to render: the queue's order
