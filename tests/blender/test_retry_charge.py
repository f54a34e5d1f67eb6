"""Retry never pays twice without a yes: a job whose submit answer was lost at a vendor
that cannot look a task up (Vidu, WaveSpeed, FlexStack) may already be charged, so its
Retry asks first in the UI and is refused in a script unless ``allow_new_charge``."""

from __future__ import annotations

import importlib
from types import SimpleNamespace
from typing import Any

import bpy
import pytest
from blender_harness import MODULE

from devtools.emulator import VendorEmulator


class RecordingWindowManager:
    """Stands in for the confirmation popup (the bpy module has no window to answer it)."""

    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []

    def invoke_confirm(self, operator: Any, event: Any, **kwargs: Any) -> set[str]:
        self.asked.append(kwargs)
        return {"RUNNING_MODAL"}


class InvokedRetry(SimpleNamespace):
    """The operator's properties as invoke sees them, and whether execute ran."""

    executed = False

    def execute(self, context: Any) -> set[str]:
        self.executed = True
        return {"FINISHED"}


def runtime() -> Any:
    return importlib.import_module(f"{MODULE}.blender.runtime")


def lost_vidu_job(emulator: VendorEmulator, prompt: str) -> Any:
    """Generate with Vidu whose submit answer is lost after the task was made."""
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 25, 1.0
    scene.frame_start, scene.frame_end = 1, 100
    scene.foley.provider = "vidu.text2audio"
    scene.foley.prompt = prompt
    scene.foley.variations = 1
    emulator.reset()
    emulator.inject("vidu", "lose_submit_answer", status=500)
    with pytest.raises(RuntimeError, match="may have been charged|may be charged"):
        bpy.ops.foley.generate()
    [job] = [j for j in runtime().engine().jobs() if j.prompt == prompt]
    assert emulator.tasks_created("vidu") == 1
    return job


def test_a_script_retry_that_may_pay_twice_is_refused_until_it_allows_a_new_charge(
        extension: Any, online: None, emulator: VendorEmulator) -> None:
    job = lost_vidu_job(emulator, "retry charge: rain on a tin roof")
    assert job.state.value == "failed" and runtime().engine().retry_may_charge_twice(job.id)

    with pytest.raises(RuntimeError, match="may already have made and charged"):
        bpy.ops.foley.retry(job_id=job.id)
    assert emulator.submit_count("vidu") == 1  # nothing was sent again

    assert bpy.ops.foley.retry(job_id=job.id, allow_new_charge=True) == {"FINISHED"}
    assert runtime().engine().wait(timeout=30, pump=runtime().pump_once)
    assert emulator.submit_count("vidu") == 2  # the one new paid request the user allowed


def test_the_retry_button_asks_before_it_may_pay_twice(
        extension: Any, online: None, emulator: VendorEmulator) -> None:
    job = lost_vidu_job(emulator, "retry charge: hail on a car roof")
    window_manager = RecordingWindowManager()
    operator = InvokedRetry(job_id=job.id, allow_new_charge=False)
    context = SimpleNamespace(window_manager=window_manager)

    assert bpy.types.FOLEY_OT_retry.invoke(operator, context, None) == {"RUNNING_MODAL"}

    [asked] = window_manager.asked
    assert asked["title"] == "Send a New Paid Request?"
    assert "may already have made and charged" in asked["message"]
    assert operator.allow_new_charge and not operator.executed  # runs only after the user's yes
    assert emulator.submit_count("vidu") == 1


def test_a_free_retry_does_not_ask(extension: Any, online: None, emulator: VendorEmulator) -> None:
    job = lost_vidu_job(emulator, "retry charge: drizzle on leaves")
    engine = runtime().engine()
    engine.annotate(job.id, submit_attempted=False)  # as if refused before anything was made
    assert not engine.retry_may_charge_twice(job.id)
    window_manager = RecordingWindowManager()
    operator = InvokedRetry(job_id=job.id, allow_new_charge=False)

    assert bpy.types.FOLEY_OT_retry.invoke(operator, SimpleNamespace(window_manager=window_manager),
                                           None) == {"FINISHED"}
    assert window_manager.asked == [] and operator.executed
