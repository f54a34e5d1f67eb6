"""foley.wait: block a script until every known job has ended (background mode)."""

import bpy

from ..blender import runtime
from ..compat import OperatorResult


class FOLEY_OT_wait(bpy.types.Operator):
    """Wait until every VSE Foley job of this session (resumed ones included) has ended"""

    bl_idname = "foley.wait"
    bl_label = "Wait for Foley Jobs"
    bl_options = {"REGISTER"}  # noqa: RUF012 - Blender reads this class attribute

    timeout: bpy.props.FloatProperty(  # type: ignore[valid-type]
        name="Timeout", description="Seconds to wait at most (0 = no limit)", default=0.0, min=0.0)

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        if not bpy.app.background:
            self.report({"WARNING"},
                        "foley.wait blocks Blender; it only runs in background mode (blender -b).")
            return {"CANCELLED"}
        runtime.resume_if_online(wait_for_ledger=True)  # a script may wait: read the ledger here if need be
        if not runtime.has_engine():
            return {"FINISHED"}
        finished = runtime.engine().wait(None, self.timeout or None, pump=runtime.pump_once)
        runtime.pump()
        runtime.take_messages()
        if not finished:
            self.report({"ERROR"}, f"Foley: jobs still running after {self.timeout:g} s; they stay in the "
                                   "ledger and resume next time.")
            return {"CANCELLED"}
        for job in runtime.engine().ready_to_insert():  # ended, but not on the timeline: say why
            self.report({"WARNING"}, f"Foley: job {job.id} is ready but not inserted: "
                                     f"{runtime.not_inserted_reason(job)}")
        return {"FINISHED"}


classes = (FOLEY_OT_wait,)
