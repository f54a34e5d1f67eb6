"""Blender handlers and the pump timer: note a file load, let jobs follow their file
through Save As, apply job events on the main thread (the pump)."""

from __future__ import annotations

from typing import Any

import bpy

from . import runtime
from .logs import log

#: The pump timer's first interval: the pump's idle interval (``pump.IDLE_INTERVAL_S``, a test holds
#: them equal), written here so registration does not load the pump; its first tick does (~1 ms).
FIRST_TICK_S = 1.0


def pump_timer() -> float:
    """Drain job events within the time budget; fast while jobs run, slow when idle."""
    try:
        return runtime.tick()
    except Exception:  # a failing timer would be unregistered by Blender
        log.exception("The pump failed")
    from .pump import ACTIVE_INTERVAL_S, IDLE_INTERVAL_S

    return ACTIVE_INTERVAL_S if runtime.active_job_count() else IDLE_INTERVAL_S


@bpy.app.handlers.persistent
def on_load_post(*_args: Any) -> None:
    """Never insert here: ``load_post`` runs before Blender resets the undo stack and
    marks the file as saved (``wm_files.cc``, ``wm_file_read_post``), so a strip added
    now could not be undone and the file would not look modified — quitting would lose
    it while the ledger says "inserted". The pump's next tick (a timer, which runs only
    after the whole file read has returned) resumes and inserts instead."""
    try:
        runtime.request_insert_check()
        from .edit_identity import forget_inherited_ids

        forget_inherited_ids()  # a new file must not be taken for the start-up file's edit
    except Exception:  # a failing handler must not leave anything half-done behind
        log.exception("The load handler failed")


@bpy.app.handlers.persistent
def on_save_pre(*_args: Any) -> None:
    runtime.current().path_before_save = bpy.data.filepath  # no flag: nothing to clear


@bpy.app.handlers.persistent
def on_save_post(*_args: Any) -> None:
    """Jobs of the saved edit follow it to its new path (Save As, or an unsaved file's first save).

    A failed save fires ``save_post_fail`` instead (``wm_files.cc``, ``wm_file_write``):
    nothing happened to the file, so there is nothing to do and nothing to undo.
    """
    try:
        runtime.file_saved(runtime.current().path_before_save, bpy.data.filepath)
    except Exception:
        log.exception("The save handler failed")


_HANDLERS = (
    ("load_post", on_load_post),
    ("save_pre", on_save_pre),
    ("save_post", on_save_post),
)


def register() -> None:
    for name, function in _HANDLERS:
        getattr(bpy.app.handlers, name).append(function)
    bpy.app.timers.register(pump_timer, first_interval=FIRST_TICK_S, persistent=True)


def unregister() -> None:
    if bpy.app.timers.is_registered(pump_timer):
        bpy.app.timers.unregister(pump_timer)
    for name, function in _HANDLERS:
        handlers = getattr(bpy.app.handlers, name)
        if function in handlers:
            handlers.remove(function)
