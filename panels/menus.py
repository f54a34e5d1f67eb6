"""The strip right-click menu (``SEQUENCER_MT_context_menu``): generate for the
selection, and regenerate or audition takes when a VSE Foley strip is active."""

from __future__ import annotations

from typing import Any

import bpy

from .. import compat
from ..blender.strip_metadata import METADATA_KEY, foley_strip


def draw_context_menu(self: Any, context: Any) -> None:
    """Appended to Blender's menu; ``self.layout`` is the menu's layout."""
    layout = self.layout
    layout.separator()
    # show_dialog: the operator opens a small dialog with the provider's fields prefilled from the panel
    scene = compat.sequencer_scene(context)
    each_strip = bool(getattr(getattr(scene, "foley", None), "each_strip", False))
    text = "Generate One Sound per Strip…" if each_strip else "Generate Sound for Selection…"
    layout.operator("foley.generate", text=text, icon="SOUND").show_dialog = True
    strip = foley_strip(context)
    if strip is None:
        return
    regenerate = layout.operator("foley.regenerate", text="Regenerate Sound (New Seed)", icon="FILE_REFRESH")
    regenerate.new_seed = True
    layout.operator("foley.regenerate", text="Regenerate Sound (Same Seed)").new_seed = False
    if strip[METADATA_KEY].get("group_id"):
        layout.operator("foley.cycle_take", text="Next Take", icon="TRIA_RIGHT").step = 1
        layout.operator("foley.keep_take", text="Keep This Take", icon="CHECKMARK")


def register() -> None:
    bpy.types.SEQUENCER_MT_context_menu.append(draw_context_menu)


def unregister() -> None:
    bpy.types.SEQUENCER_MT_context_menu.remove(draw_context_menu)
