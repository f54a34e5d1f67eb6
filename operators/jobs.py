"""Actions on one job of the list: cancel, retry, insert, reveal, copy task id."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import bpy

from .. import preferences
from ..blender import runtime
from ..compat import OperatorResult

if TYPE_CHECKING:
    from ..core.jobs import Job


def _job(operator: Any) -> Job | None:
    job = runtime.find_job(operator.job_id)
    if job is None:
        operator.report({"ERROR"}, f"No job {operator.job_id} in this session; it may have been cleared.")
    return job


class _JobOperator:
    job_id: bpy.props.StringProperty(name="Job", options={"SKIP_SAVE"})  # type: ignore[valid-type]


class FOLEY_OT_cancel(_JobOperator, bpy.types.Operator):
    """Cancel this job (a task already sent to the vendor cannot be recalled; its result is still kept)"""

    bl_idname = "foley.cancel"
    bl_label = "Cancel Job"
    bl_options = {"INTERNAL"}  # noqa: RUF012 - Blender reads this class attribute

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        job = _job(self)
        if job is None:
            return {"CANCELLED"}
        from ..core.jobs import JobState

        held_chunks = job.is_chunked and job.state is JobState.FAILED  # cancel drops its held chunks
        if job.settled and not held_chunks:
            self.report({"INFO"}, f"The job is already {job.state.value}; there is nothing to cancel.")
            return {"CANCELLED"}
        self.report({"INFO"}, runtime.engine().cancel(self.job_id))
        return {"FINISHED"}


class FOLEY_OT_retry(_JobOperator, bpy.types.Operator):
    """Run a failed job again (a failed chunk is retried alone)"""

    bl_idname = "foley.retry"
    bl_label = "Retry Job"
    bl_options = {"INTERNAL"}  # noqa: RUF012 - Blender reads this class attribute

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        job = _job(self)
        if job is None:
            return {"CANCELLED"}
        if not bpy.app.online_access:
            self.report({"ERROR"}, preferences.offline_sentence())
            return {"CANCELLED"}
        runtime.refresh_preferences(context)
        try:
            again = runtime.engine().retry(self.job_id)
        except (ValueError, KeyError) as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Foley: retrying as job {again.id}.")
        return {"FINISHED"}


class FOLEY_OT_insert(_JobOperator, bpy.types.Operator):
    """Insert this job's sound strip into the open scene it was made for"""

    bl_idname = "foley.insert"
    bl_label = "Insert Sound"
    bl_options = {"REGISTER", "UNDO"}  # noqa: RUF012 - Blender reads this class attribute

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        job = _job(self)
        if job is None:
            return {"CANCELLED"}
        from ..core.jobs import JobState

        if job.state not in (JobState.READY, JobState.INSERTED, JobState.CANCELLED) or not job.audio_path:
            self.report({"ERROR"}, f"Job {job.id} has no audio yet ({job.state.value}).")
            return {"CANCELLED"}
        if job.blend_path != bpy.data.filepath or bpy.data.scenes.get(job.scene_name) is None:
            self.report({"ERROR"}, f"Open {job.blend_path or 'the unsaved file'} (scene '{job.scene_name}') "
                                   "to insert this sound where it belongs.")
            return {"CANCELLED"}
        from ..blender.takes import insert_job

        inserted = insert_job(bpy.data.scenes[job.scene_name], job)
        if job.state is JobState.READY and runtime.has_engine():
            runtime.engine().mark_inserted(job.id, inserted.strip_name)
        self.report({"INFO"}, f"Foley: inserted '{inserted.strip_name}' on channel {inserted.channel}.")
        return {"FINISHED"}


class FOLEY_OT_reveal(_JobOperator, bpy.types.Operator):
    """Show this job's audio file in the system file browser"""

    bl_idname = "foley.reveal"
    bl_label = "Reveal File"
    bl_options = {"INTERNAL"}  # noqa: RUF012 - Blender reads this class attribute

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        job = _job(self)
        if job is None:
            return {"CANCELLED"}
        path = Path(job.audio_path) if job.audio_path else None
        if path is None or not path.exists():
            self.report({"ERROR"}, "This job has no audio file yet.")
            return {"CANCELLED"}
        bpy.ops.wm.path_open(filepath=str(path.parent))
        return {"FINISHED"}


class FOLEY_OT_copy_task_id(_JobOperator, bpy.types.Operator):
    """Copy the vendor's task id (for the vendor's support or dashboard)"""

    bl_idname = "foley.copy_task_id"
    bl_label = "Copy Vendor Task ID"
    bl_options = {"INTERNAL"}  # noqa: RUF012 - Blender reads this class attribute

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        job = _job(self)
        task_id = str((job.vendor_task or {}).get("task_id", "")) if job else ""
        if not task_id:
            self.report({"ERROR"}, "This job has no vendor task id (it was never submitted).")
            return {"CANCELLED"}
        window_manager = context.window_manager
        if window_manager is None:  # no window manager: a script without a UI
            self.report({"ERROR"}, "There is no clipboard here (Blender has no window manager).")
            return {"CANCELLED"}
        window_manager.clipboard = task_id
        self.report({"INFO"}, f"Copied task id {task_id}.")
        return {"FINISHED"}


class FOLEY_OT_clear_history(bpy.types.Operator):
    """Forget finished jobs in the list of recent results (their audio files stay on disk)"""

    bl_idname = "foley.clear_history"
    bl_label = "Clear History"
    bl_options = {"INTERNAL"}  # noqa: RUF012 - Blender reads this class attribute

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        count = runtime.clear_history()
        self.report({"INFO"}, f"Foley: forgot {count} finished job(s); their audio files are still on disk.")
        return {"FINISHED"}


classes = (FOLEY_OT_cancel, FOLEY_OT_retry, FOLEY_OT_insert, FOLEY_OT_reveal, FOLEY_OT_copy_task_id,
           FOLEY_OT_clear_history)
