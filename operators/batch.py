"""Actions on a batch of the job list (one sound per strip): open it, cancel all, retry the failed."""

from typing import TYPE_CHECKING, Any

import bpy

from ..blender import runtime
from ..compat import OperatorResult

if TYPE_CHECKING:
    from ..core.jobs import Job


def batch_jobs(batch_id: str) -> "list[Job]":
    """The batch's top-level jobs, newest attempts only (a long strip's chunks are run by their parent)."""
    from ..panels.jobs_list import current_attempts

    if not batch_id or not runtime.has_engine():
        return []
    return current_attempts([job for job in runtime.engine().jobs()
                             if job.batch_id == batch_id and not job.parent_id])


class _BatchOperator:
    batch_id: bpy.props.StringProperty(name="Batch", options={"SKIP_SAVE"})  # type: ignore[valid-type]


class FOLEY_OT_toggle_batch(_BatchOperator, bpy.types.Operator):
    """Show or hide the jobs of this batch"""

    bl_idname = "foley.toggle_batch"
    bl_label = "Show Batch Jobs"
    bl_options = {"INTERNAL"}  # noqa: RUF012 - Blender reads this class attribute

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        from ..panels.jobs_list import OPEN_BATCHES

        if self.batch_id in OPEN_BATCHES:
            OPEN_BATCHES.discard(self.batch_id)
        else:
            OPEN_BATCHES.add(self.batch_id)
        for area in getattr(context.screen, "areas", ()):
            if area.type == "SEQUENCE_EDITOR":
                area.tag_redraw()
        return {"FINISHED"}


class FOLEY_OT_cancel_batch(_BatchOperator, bpy.types.Operator):
    """Cancel every unfinished job of this batch (tasks already sent cannot be recalled; results are kept)"""

    bl_idname = "foley.cancel_batch"
    bl_label = "Cancel All"
    bl_options = {"INTERNAL"}  # noqa: RUF012 - Blender reads this class attribute

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        from ..core.jobs import FINISHED_STATES

        open_jobs = [job for job in batch_jobs(self.batch_id) if job.state not in FINISHED_STATES]
        if not open_jobs:
            self.report({"INFO"}, "Every job of the batch has already ended; there is nothing to cancel.")
            return {"CANCELLED"}
        sentences = [runtime.engine().cancel(job.id) for job in open_jobs]
        text = f"Cancelled {len(open_jobs)} job{'s' if len(open_jobs) != 1 else ''} of the batch."
        if any("charged" in sentence for sentence in sentences):
            text += (" Requests already sent cannot be recalled and may be charged; their results are still "
                     "downloaded into the library.")
        self.report({"INFO"}, text)
        return {"FINISHED"}


class FOLEY_OT_retry_batch(_BatchOperator, bpy.types.Operator):
    """Run every failed job of this batch again (asks first when one may be charged twice)"""

    bl_idname = "foley.retry_batch"
    bl_label = "Retry Failed"
    bl_options = {"INTERNAL"}  # noqa: RUF012 - Blender reads this class attribute

    allow_new_charge: bpy.props.BoolProperty(  # type: ignore[valid-type]
        name="Allow a New Charge",
        description="Also retry the jobs whose first request may have been charged (its answer was lost); "
                    "the dialog sets this when you confirm, a script must set it itself",
        options={"HIDDEN", "SKIP_SAVE"})

    def failed(self) -> "list[Job]":
        from ..core.jobs import JobState

        return [job for job in batch_jobs(self.batch_id) if job.state is JobState.FAILED]

    def invoke(self, context: bpy.types.Context, event: Any) -> OperatorResult:
        twice = [job for job in self.failed() if runtime.engine().retry_may_charge_twice(job.id)]
        window_manager = context.window_manager
        if twice and window_manager is not None:
            self.allow_new_charge = True  # execute runs only if the user confirms
            message = (f"{len(twice)} of the failed jobs lost the answer to their first request, so the "
                       "vendor may already have made and charged them. Retry sends new, paid requests. "
                       "Check the task list in your vendor account first.")
            return window_manager.invoke_confirm(self, event, title="Send New Paid Requests?",
                                                 message=message, confirm_text="Retry All")
        return self.execute(context)

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        failed = self.failed()
        if not failed:
            self.report({"INFO"}, "No job of the batch has failed; there is nothing to retry.")
            return {"CANCELLED"}
        retried, skipped, refused = 0, 0, []
        for job in failed:
            if runtime.engine().retry_may_charge_twice(job.id) and not self.allow_new_charge:
                skipped += 1
                continue
            try:
                runtime.engine().retry(job.id)
            except ValueError as error:  # another window runs it, or it can no longer be retried
                refused.append(str(error))
                continue
            retried += 1
        text = f"Retrying {retried} failed job{'s' if retried != 1 else ''} of the batch."
        if skipped:
            text += (f" {skipped} may already have been charged and were not sent again; "
                     "pass allow_new_charge=True to send them.")
        if refused:
            text += " " + " ".join(refused)
        self.report({"INFO"} if retried else {"WARNING"}, text)
        return {"FINISHED"} if retried else {"CANCELLED"}


classes = (FOLEY_OT_toggle_batch, FOLEY_OT_cancel_batch, FOLEY_OT_retry_batch)
