"""Blender handlers and the pump timer: resume after a file load, keep inserts
out of renders and saves, apply job events on the main thread."""

from __future__ import annotations

import contextlib
from typing import Any

import bpy

from . import runtime

ACTIVE_INTERVAL_S = 0.1
IDLE_INTERVAL_S = 1.0


def pump_timer() -> float:
    """Drain job events within the time budget; fast while jobs run, slow when idle."""
    try:
        runtime.resume_if_online()
        runtime.pump()
        for level, text in runtime.take_messages():
            # bpy.ops raises RuntimeError for an ERROR report: it was shown, that is all we want.
            with contextlib.suppress(RuntimeError):
                bpy.ops.foley.report(level=level, message=text)  # type: ignore[attr-defined]  # ours, not in the stubs
    except Exception as error:  # a failing timer would be unregistered by Blender
        print(f"VSE Foley: pump failed: {error}")
    return ACTIVE_INTERVAL_S if runtime.active_job_count() else IDLE_INTERVAL_S


@bpy.app.handlers.persistent
def on_load_post(*_args: Any) -> None:
    runtime.resume_if_online()
    runtime.insert_waiting_jobs()


@bpy.app.handlers.persistent
def on_save_pre(*_args: Any) -> None:
    runtime.set_busy("save", True)


@bpy.app.handlers.persistent
def on_save_post(*_args: Any) -> None:
    runtime.set_busy("save", False)


@bpy.app.handlers.persistent
def on_render_start(*_args: Any) -> None:
    runtime.set_busy("render", True)


@bpy.app.handlers.persistent
def on_render_end(*_args: Any) -> None:
    runtime.set_busy("render", False)


_HANDLERS = (
    ("load_post", on_load_post),
    ("save_pre", on_save_pre),
    ("save_post", on_save_post),
    ("render_init", on_render_start),
    ("render_complete", on_render_end),
    ("render_cancel", on_render_end),
)


def register() -> None:
    for name, function in _HANDLERS:
        getattr(bpy.app.handlers, name).append(function)
    bpy.app.timers.register(pump_timer, first_interval=IDLE_INTERVAL_S, persistent=True)


def unregister() -> None:
    if bpy.app.timers.is_registered(pump_timer):
        bpy.app.timers.unregister(pump_timer)
    for name, function in _HANDLERS:
        handlers = getattr(bpy.app.handlers, name)
        if function in handlers:
            handlers.remove(function)
