"""Show a sentence in the status bar from a timer (reports need an operator)."""

import bpy

from ..compat import OperatorResult


class FOLEY_OT_report(bpy.types.Operator):
    """Show a VSE Foley message in the status bar"""

    bl_idname = "foley.report"
    bl_label = "VSE Foley Message"
    bl_options = {"INTERNAL"}  # noqa: RUF012 - Blender reads this class attribute

    level: bpy.props.EnumProperty(  # type: ignore[valid-type]
        items=[("INFO", "Info", ""), ("WARNING", "Warning", ""), ("ERROR", "Error", "")], default="INFO")
    message: bpy.props.StringProperty()  # type: ignore[valid-type]

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        self.report({self.level}, self.message)
        return {"FINISHED"}


classes = (FOLEY_OT_report,)
