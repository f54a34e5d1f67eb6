"""Actions on one job of the list: cancel, retry, insert (and retry insert), dismiss, reveal, copy task id."""

from pathlib import Path
from typing import TYPE_CHECKING, Any

import bpy

from .. import preferences
from ..blender import runtime
from ..compat import OperatorResult

if TYPE_CHECKING:
    from ..core.jobs import Job


def _job(operator: Any) -> "Job | None":
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


def second_charge_question(job_id: str) -> str:
    """The question to ask before a Retry that may pay twice ("" when Retry costs nothing new)."""
    if not runtime.engine().retry_may_charge_twice(job_id):
        return ""
    return ("The first request's answer was lost, so the vendor may already have made and charged that "
            "task. Retry sends a new, paid request. Check the task list in your vendor account first.")


class FOLEY_OT_retry(_JobOperator, bpy.types.Operator):
    """Run a failed job again (a failed chunk is retried alone)"""

    bl_idname = "foley.retry"
    bl_label = "Retry Job"
    bl_options = {"INTERNAL"}  # noqa: RUF012 - Blender reads this class attribute

    allow_new_charge: bpy.props.BoolProperty(  # type: ignore[valid-type]
        name="Allow a New Charge",
        description="Send a new paid request although the first may have been charged (its answer was "
                    "lost); the dialog sets this when you confirm, a script must set it itself",
        options={"HIDDEN", "SKIP_SAVE"})

    def invoke(self, context: bpy.types.Context, event: Any) -> OperatorResult:
        """A Retry that may pay twice asks first; every other Retry runs at once."""
        question = second_charge_question(self.job_id) if runtime.find_job(self.job_id) else ""
        window_manager = context.window_manager
        if question and window_manager is not None:
            self.allow_new_charge = True  # execute runs only if the user confirms
            return window_manager.invoke_confirm(self, event, title="Send a New Paid Request?",
                                                 message=question, confirm_text="Send Again")
        return self.execute(context)

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        job = _job(self)
        if job is None:
            return {"CANCELLED"}
        if not bpy.app.online_access:
            self.report({"ERROR"}, preferences.offline_sentence())
            return {"CANCELLED"}
        question = second_charge_question(job.id)
        if question and not self.allow_new_charge:  # never a second charge without a yes
            self.report({"ERROR"}, f"{question} In a script, pass allow_new_charge=True.")
            return {"CANCELLED"}
        runtime.refresh_preferences(context)
        try:
            again = runtime.engine().retry(self.job_id)
        except (ValueError, KeyError) as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        runtime.note_jobs([again])  # counted as running before its first event
        self.report({"INFO"}, f"Foley: retrying as job {again.id}.")
        return {"FINISHED"}


def _insertion_target(context: bpy.types.Context, job: "Job") -> tuple[Any, str]:
    """The scene to insert ``job`` into, or None and the sentence that says why not."""
    from .. import compat
    from ..blender.edit_identity import scene_of_job
    from ..core.engine import OwnedElsewhereError
    from ..core.jobs import JobState

    if job.state not in (JobState.READY, JobState.INSERTED, JobState.CANCELLED) or not job.audio_path:
        return None, f"Job {job.id} has no audio yet ({job.state.value})."
    scene = scene_of_job(job)
    if scene is None and job.blend_path and job.blend_path != bpy.data.filepath \
            and Path(job.blend_path).is_file():
        where = f"{job.blend_path} (scene '{job.scene_name}')"
        return None, f"Open {where} to insert this sound where it belongs."
    if scene is None:  # its file was never saved, or its scene is gone: the user places it here
        scene = compat.sequencer_scene(context)
    if scene is None:
        return None, "Open a scene in the Video Sequencer to insert this sound into."
    if job.state is JobState.READY:  # only the window that owns a ready job inserts it (issue 11)
        try:
            runtime.engine().adopt(job.id)
        except OwnedElsewhereError as error:
            return None, str(error)
    return scene, ""


class FOLEY_OT_insert(_JobOperator, bpy.types.Operator):
    """Insert this job's sound strip into the scene it was made for (or the open scene, for a job of a
file that was never saved)"""

    bl_idname = "foley.insert"
    bl_label = "Insert Sound"
    bl_options = {"REGISTER", "UNDO"}  # noqa: RUF012 - Blender reads this class attribute

    channel: bpy.props.IntProperty(  # type: ignore[valid-type]
        name="Channel", description="Channel for the sound (0 = the lowest free one above the picture)",
        default=0, min=0, max=128)

    def invoke(self, context: bpy.types.Context, event: Any) -> OperatorResult:
        """Retry Insert after a failure asks for the channel (0 keeps the automatic choice)."""
        job = runtime.find_job(self.job_id)
        window_manager = context.window_manager
        if job is not None and job.insert_error and window_manager is not None:
            return window_manager.invoke_props_dialog(self, width=360, title="Retry Insert")
        return self.execute(context)

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        if layout is None:  # Blender sets the layout before it calls draw()
            return
        job = runtime.find_job(self.job_id)
        if job is not None and job.insert_error:
            layout.label(text=job.insert_error[:90], icon="ERROR")
        layout.prop(self, "channel")

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        job = _job(self)
        if job is None:
            return {"CANCELLED"}
        from ..blender.pump import InsertFailedError, insert_and_record

        scene, refusal = _insertion_target(context, job)
        if scene is None:
            self.report({"ERROR"}, refusal)
            return {"CANCELLED"}
        if job.insert_error:
            runtime.engine().annotate(job.id, insert_error="")  # the user acted: try again
        try:
            # the pump's own insertion: the engine loads a job of an older session from the ledger
            inserted = insert_and_record(runtime.current(), scene, job, channel=self.channel)
        except InsertFailedError as failure:  # the half-made strip is gone; the job keeps the sentence
            self.report({"ERROR"}, str(failure))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Foley: inserted '{inserted.strip_name}' on channel {inserted.channel}.")
        return {"FINISHED"}


class FOLEY_OT_dismiss(_JobOperator, bpy.types.Operator):
    """Stop waiting to insert this sound; its file stays in the library (Recent Results can insert it)"""

    bl_idname = "foley.dismiss"
    bl_label = "Dismiss"
    bl_options = {"INTERNAL"}  # noqa: RUF012 - Blender reads this class attribute

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        job = _job(self)
        if job is None:
            return {"CANCELLED"}
        from ..core.jobs import JobState

        if job.state is not JobState.READY:
            self.report({"INFO"}, f"The job is {job.state.value}; there is nothing to dismiss.")
            return {"CANCELLED"}
        runtime.engine().cancel(job.id)  # READY → CANCELLED: nothing is charged, the audio stays
        self.report({"INFO"}, f"Foley: dismissed; the audio stays at {job.audio_path}.")
        return {"FINISHED"}


class FOLEY_OT_reveal(_JobOperator, bpy.types.Operator):
    """Show this job's audio file (or the folder it should be in) in the system file browser"""

    bl_idname = "foley.reveal"
    bl_label = "Reveal File"
    bl_options = {"INTERNAL"}  # noqa: RUF012 - Blender reads this class attribute

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        job = _job(self)
        if job is None:
            return {"CANCELLED"}
        path = Path(job.audio_path) if job.audio_path else None
        if path is None or not path.parent.is_dir():
            self.report({"ERROR"}, "This job has no audio file yet.")
            return {"CANCELLED"}
        if not path.exists():
            self.report({"WARNING"}, f"The audio file is missing; showing its folder {path.parent}.")
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


classes = (FOLEY_OT_cancel, FOLEY_OT_retry, FOLEY_OT_insert, FOLEY_OT_dismiss, FOLEY_OT_reveal,
           FOLEY_OT_copy_task_id, FOLEY_OT_clear_history)
