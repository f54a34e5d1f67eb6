"""Issue 13 item 3 in the engine: while the account's slots are full, queued jobs' clips render ahead,
and a freed slot takes a job whose clip is ready; never a second render of one clip."""

import threading
from pathlib import Path

from core_fakes import FakeVendor, Harness, make_info
from test_core_engine import gate_hook, new_job, state_of

from vse_foley.core.jobs import JobState
from vse_foley.providers.base import AccountLimits

VIDEO = make_info("fake.video", input="video", min_seconds=3, max_seconds=20, account="acct")
INFOS = {VIDEO.id: VIDEO}


def harness(tmp_path: Path, vendor: FakeVendor, *, slots: int, budget: int) -> Harness:
    return Harness(tmp_path, vendor, INFOS, account_limits={"acct": AccountLimits("Acct", slots)},
                   render_ahead=budget)


def held_at_submit(tmp_path: Path, *, budget: int) -> tuple[Harness, threading.Event, threading.Event]:
    """One slot, and a vendor that holds each submit until ``gate`` is set (``reached``: one came)."""
    vendor = FakeVendor(polls_until_done=1)
    gate, reached = threading.Event(), threading.Event()
    vendor.hooks["submit"] = gate_hook(gate, reached)
    return harness(tmp_path, vendor, slots=1, budget=budget), gate, reached


def test_a_queued_jobs_clip_is_ready_when_the_slot_frees(tmp_path: Path):
    h, gate, reached = held_at_submit(tmp_path, budget=2)
    rendered: list[str] = []
    h.renderer.on_render = lambda job: rendered.append(job.id)
    first, second, third = (h.engine.enqueue(new_job("fake.video", frames=(1 + 100 * i, 100 + 100 * i)))
                            for i in range(3))
    assert reached.wait(5)  # the first holds the one slot, at its submit
    h.wait_for(lambda: h.engine.get(second.id).files.get("clip"))
    assert state_of(h, second.id) is JobState.QUEUED  # rendered ahead, still waiting for the slot
    assert not h.engine.get(third.id).files.get("clip")  # one slot: one clip lined up, not more
    assert sorted(rendered) == sorted([first.id, second.id])
    gate.set()
    assert h.wait(timeout=10)
    assert [state_of(h, job.id) for job in (first, second, third)] == [JobState.INSERTED] * 3
    assert sorted(rendered) == sorted([first.id, second.id, third.id])  # each clip rendered once
    assert h.engine.peak_in_account("acct") == 1
    assert h.engine.peak_renders() <= 2
    assert "rendering" not in h.states(second.id)  # it never rendered inside its slot


def test_the_next_clip_renders_as_soon_as_a_slots_own_render_ends(tmp_path: Path):
    """A budget of one render (a 2-core machine): the first job renders in its slot, then waits on
    the vendor. Nothing else happens in the engine, yet the second job's clip must render now, not
    when the slot frees: the renderer would otherwise sit idle for a whole vendor latency (seen
    in the batch bench: 1.75 s idle after the first wave's renders)."""
    h, gate, reached = held_at_submit(tmp_path, budget=1)
    order: list[str] = []
    h.renderer.on_render = lambda job: order.append(job.id)
    first = h.engine.enqueue(new_job("fake.video"))
    second = h.engine.enqueue(new_job("fake.video", frames=(201, 300)))
    assert reached.wait(5)  # the first rendered in its slot and holds it at the submit
    h.wait_for(lambda: h.engine.get(second.id).files.get("clip"))  # with no event but the render's end
    assert state_of(h, second.id) is JobState.QUEUED
    # the budget held, and the job holding the slot rendered first: the second was chosen ahead only
    # once the first's render had ended (enqueued right after it, before its worker had begun)
    assert h.engine.peak_renders() == 1
    assert order == [first.id, second.id]
    gate.set()
    assert h.wait(timeout=10)
    assert "rendering" not in h.states(second.id)


def test_a_job_that_starts_during_its_render_ahead_waits_for_it(tmp_path: Path):
    h, submit_gate, reached = held_at_submit(tmp_path, budget=2)
    render_gate = threading.Event()
    second_started = threading.Event()
    first = h.engine.enqueue(new_job("fake.video"))
    assert reached.wait(5)

    def hold_second(job):
        if job.id != first.id:
            second_started.set()
            assert render_gate.wait(5)

    h.renderer.on_render = hold_second
    second = h.engine.enqueue(new_job("fake.video", frames=(201, 300)))
    assert second_started.wait(5)  # its clip is rendering ahead, held
    submit_gate.set()  # the slot frees while that render runs: the second starts and must wait
    h.wait_for(lambda: h.pump() or state_of(h, first.id) is JobState.INSERTED)
    render_gate.set()
    assert h.wait(timeout=10)
    assert state_of(h, second.id) is JobState.INSERTED
    assert h.renderer.calls == 2  # one render per clip


def test_without_a_budget_clips_render_inside_their_slot_as_before(tmp_path: Path):
    h, gate, reached = held_at_submit(tmp_path, budget=0)
    first = h.engine.enqueue(new_job("fake.video"))
    second = h.engine.enqueue(new_job("fake.video", frames=(201, 300)))
    assert reached.wait(5)
    assert not h.engine.get(second.id).files.get("clip")
    gate.set()
    assert h.wait(timeout=10)
    assert "rendering" in h.states(second.id) and state_of(h, first.id) is JobState.INSERTED


def test_a_render_ahead_still_stops_at_cancel_after_its_job_was_scheduled_again(tmp_path: Path):
    """A held chunk that is released is scheduled again while its clip may be rendering ahead;
    that render must keep the job's abort event, or a Cancel would not reach it."""
    h, gate, reached = held_at_submit(tmp_path, budget=2)
    first = h.engine.enqueue(new_job("fake.video"))
    assert reached.wait(5)  # the first holds the one slot
    h.renderer.gate = threading.Event()  # renders from now on are held until released or aborted
    h.renderer.started.clear()
    second = h.engine.enqueue(new_job("fake.video", frames=(201, 300)))
    assert h.renderer.started.wait(5)  # its clip is rendering ahead
    with h.engine._lock:
        render_ended = h.engine._ahead[second.id]  # set when that render ahead returns
        h.engine._schedule(second.id)  # what releasing a held chunk does (scheduling._hold_or_release)
    h.engine.cancel(second.id)
    assert render_ended.wait(3)  # the render saw the abort (the renderer's own bound is 10 s)
    assert not h.renderer.gate.is_set() and state_of(h, second.id) is JobState.CANCELLED
    gate.set()
    assert h.wait(timeout=10)
    assert state_of(h, first.id) is JobState.INSERTED


def test_a_job_whose_render_ahead_failed_keeps_its_place_in_the_queue(tmp_path: Path):
    """Its render ahead failed (e.g. the machine was out of memory): it is not tried ahead again,
    and it must not wait behind every later job whose clip is ready; it starts in queue order and
    renders in its slot."""
    h, gate, reached = held_at_submit(tmp_path, budget=2)
    failed_once: set[str] = set()
    first = h.engine.enqueue(new_job("fake.video"))
    assert reached.wait(5)  # the first holds the one slot

    def fail_the_first_ahead(job):
        if job.id == unlucky.id and job.id not in failed_once:
            failed_once.add(job.id)
            raise RuntimeError("out of memory")

    h.renderer.on_render = fail_the_first_ahead
    unlucky = h.engine.enqueue(new_job("fake.video", frames=(201, 300)))
    later = h.engine.enqueue(new_job("fake.video", frames=(301, 400)))
    h.wait_for(lambda: h.engine.get(later.id).files.get("clip"))  # the later one is ready ahead
    assert failed_once == {unlucky.id} and not h.engine.get(unlucky.id).files.get("clip")
    gate.set()
    assert h.wait(timeout=10)
    assert [state_of(h, job.id) for job in (first, unlucky, later)] == [JobState.INSERTED] * 3
    started = {job.id: h.engine.get(job.id).timings["submitted"] for job in (unlucky, later)}
    assert started[unlucky.id] < started[later.id]  # queue order, not behind the ready one
    assert "rendering" in h.states(unlucky.id)  # it rendered in its slot
