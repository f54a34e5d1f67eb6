"""The "Foley" tab of the Sequencer sidebar: the panel classes.

They are registered at start-up, so they stay thin; the drawing code (and the
engine, cost and range modules it reads) loads on first draw, or earlier on the
warm-up thread.
"""

from __future__ import annotations

from typing import Any

import bpy

from ..blender import runtime
from ..blender.strip_metadata import foley_strip


class _FoleyPanel(bpy.types.Panel):
    """Where every VSE Foley panel lives: the Sequencer sidebar, tab "Foley"."""

    bl_space_type = "SEQUENCE_EDITOR"
    bl_region_type = "UI"
    bl_category = "Foley"


class FOLEY_PT_generate(_FoleyPanel):
    """Generate sound for the selection, drawn from the chosen provider's capabilities"""

    bl_idname = "FOLEY_PT_generate"
    bl_label = "Generate Sound"

    def draw(self, context: bpy.types.Context) -> None:
        from .sidebar_draw import draw_generate_panel

        draw_generate_panel(self.layout, context)


class FOLEY_PT_strip(_FoleyPanel):
    """The active VSE Foley strip: regenerate it, or choose between its takes"""

    bl_idname = "FOLEY_PT_strip"
    bl_label = "Active Sound Strip"
    bl_parent_id = "FOLEY_PT_generate"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return foley_strip(context) is not None

    def draw(self, context: bpy.types.Context) -> None:
        from .sidebar_draw import draw_strip_panel

        draw_strip_panel(self.layout, context)


class FOLEY_PT_jobs(_FoleyPanel):
    """Jobs of this session with their progress"""

    bl_idname = "FOLEY_PT_jobs"
    bl_label = "Jobs"
    bl_parent_id = "FOLEY_PT_generate"

    def draw_header(self, context: bpy.types.Context) -> None:
        running = runtime.active_job_count()
        layout: Any = self.layout
        if running:
            layout.label(text=f"({running} running)")

    def draw(self, context: bpy.types.Context) -> None:
        from .sidebar_draw import draw_jobs_panel

        draw_jobs_panel(self.layout, context)


class FOLEY_PT_history(_FoleyPanel):
    """Recent results, ready to insert again"""

    bl_idname = "FOLEY_PT_history"
    bl_label = "Recent Results"
    bl_parent_id = "FOLEY_PT_generate"
    bl_options = {"DEFAULT_CLOSED"}  # noqa: RUF012 - Blender reads this class attribute

    def draw(self, context: bpy.types.Context) -> None:
        from .sidebar_draw import draw_history_panel

        draw_history_panel(self.layout, context)


class FOLEY_MT_generate_with(bpy.types.Menu):
    """Generate with another provider, or compare several side by side"""

    bl_idname = "FOLEY_MT_generate_with"
    bl_label = "Generate With"

    def draw(self, context: bpy.types.Context) -> None:
        from .sidebar_draw import draw_generate_with_menu

        draw_generate_with_menu(self.layout, context)


classes = (FOLEY_MT_generate_with, FOLEY_PT_generate, FOLEY_PT_strip, FOLEY_PT_jobs, FOLEY_PT_history)
