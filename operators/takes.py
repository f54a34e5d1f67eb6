"""Audition and choose between takes of one range."""

import bpy

from .. import compat
from ..blender.strip_metadata import METADATA_KEY, foley_strip, is_take
from ..compat import OperatorResult


class FOLEY_OT_cycle_take(bpy.types.Operator):
    """Make the next take of the active strip's group audible and mute the others"""

    bl_idname = "foley.cycle_take"
    bl_label = "Cycle Take"
    bl_options = {"REGISTER", "UNDO"}  # noqa: RUF012 - Blender reads this class attribute

    step: bpy.props.IntProperty(name="Step", default=1)  # type: ignore[valid-type]

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        strip = foley_strip(context)
        if strip is None or not strip[METADATA_KEY].get("group_id"):
            cls.poll_message_set("Make a take of a VSE Foley group the active strip.")
            return False
        if not is_take(compat.sequencer_scene(context), strip):
            cls.poll_message_set("This strip is a copy of a take (Shift+D or paste), not one of the group's "
                                 "takes; make a take the active strip.")
            return False
        return True

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        from ..blender.takes import cycle_takes  # loaded on use: registration stays light

        scene = compat.sequencer_scene(context)
        chosen = cycle_takes(scene, foley_strip(context)[METADATA_KEY]["group_id"], self.step)
        compat.set_active_strip(scene, chosen)
        self.report({"INFO"}, f"Foley: now hearing {chosen.name}.")
        return {"FINISHED"}


class FOLEY_OT_keep_take(bpy.types.Operator):
    """Keep the active take and remove the group's other takes from the timeline (files stay)"""

    bl_idname = "foley.keep_take"
    bl_label = "Keep This Take"
    bl_options = {"REGISTER", "UNDO"}  # noqa: RUF012 - Blender reads this class attribute

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return FOLEY_OT_cycle_take.poll(context)

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        from ..blender.takes import keep_take

        removed = keep_take(compat.sequencer_scene(context), foley_strip(context))
        self.report({"INFO"}, f"Foley: kept the take, removed {len(removed)} other take(s).")
        return {"FINISHED"}


classes = (FOLEY_OT_cycle_take, FOLEY_OT_keep_take)
