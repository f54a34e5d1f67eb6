"""foley.generate: make sound for the selection (or a range) and lay it under the picture.

The class is all that loads at registration; the work is in ``blender.generation``.
"""

from typing import TYPE_CHECKING, Any

import bpy

from .. import compat, preferences
from ..compat import OperatorResult

if TYPE_CHECKING:
    from ..blender.selection import ChosenRange


class FOLEY_OT_generate(bpy.types.Operator):
    """Generate sound for the selected strips (else the preview or scene range) to lay under the picture"""

    bl_idname = "foley.generate"
    bl_label = "Generate Sound"
    bl_options = {"REGISTER"}  # noqa: RUF012 - Blender reads this class attribute

    frame_start: bpy.props.IntProperty(  # type: ignore[valid-type]
        name="Start", description="First frame; 0 with End 0 uses the selection rule", default=0)
    frame_end: bpy.props.IntProperty(  # type: ignore[valid-type]
        name="End", description="Last frame, inclusive like the scene's", default=0)
    providers: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Providers", description="Comma-separated provider ids (empty: the scene's provider)",
        default="", options={"SKIP_SAVE"})
    show_dialog: bpy.props.BoolProperty(  # type: ignore[valid-type]
        name="Ask", default=False, options={"SKIP_SAVE", "HIDDEN"})
    # Set by invoke once the editor has seen the request count and price (the question, or the
    # dialog that shows them). Without it, execute is a script's call: held to scene.foley.max_requests.
    confirmed: bpy.props.BoolProperty(  # type: ignore[valid-type]
        name="Confirmed", default=False, options={"SKIP_SAVE", "HIDDEN"})
    # One sound per strip: strips that break a provider's limit refuse the batch unless the editor
    # chose to go on without them (the dialog that lists them sets this; a script sets it itself).
    skip_unfit: bpy.props.BoolProperty(  # type: ignore[valid-type]
        name="Skip Strips That Do Not Fit",
        description="With One sound per strip: go on without the strips that break a provider's limit "
                    "(too short...) instead of refusing the batch",
        default=False, options={"SKIP_SAVE"})

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        if not bpy.app.online_access:
            cls.poll_message_set(preferences.offline_sentence())
            return False
        scene = compat.sequencer_scene(context)
        if scene is None or not hasattr(scene, "foley"):
            cls.poll_message_set(compat.sequencer_scene_problem(context))
            return False
        return True

    def invoke(self, context: bpy.types.Context, event: Any) -> OperatorResult:
        """Every interactive path (button, Generate With…, shortcut and right-click dialog) comes here."""
        from ..blender.generation import confirmation_question, generation_plan_for

        window_manager = context.window_manager
        self.confirmed = True
        scene = compat.sequencer_scene(context)
        plan = generation_plan_for(context, scene, self.providers, self.frame_start, self.frame_end)
        unfit = plan is not None and bool(plan.unfit)
        # Whatever the editor is asked below names the strips that do not fit; yes goes on without them.
        self.skip_unfit = True
        if (self.show_dialog or unfit) and window_manager is not None:
            # The dialog draws the request count and price next to its button (see draw), and lists
            # the strips left out: it is the question.
            return window_manager.invoke_props_dialog(self, width=420)
        question = confirmation_question(context, scene, self.providers, self.frame_start, self.frame_end)
        if question and window_manager is not None:
            # On confirm Blender calls execute on this same operator (wm_operator_confirm ->
            # WM_operator_call_ex in wm_operators.cc), so ``confirmed`` is still set there.
            return window_manager.invoke_confirm(self, event, title="Generate Sound?", message=question,
                                                 confirm_text="Generate")
        return self.execute(context)

    def draw(self, context: bpy.types.Context) -> None:
        from ..blender.selection import choose_range
        from ..panels.fields import draw_provider_fields

        scene = compat.sequencer_scene(context)
        settings = scene.foley
        layout = self.layout
        if layout is None:  # Blender sets the layout before it calls draw()
            return
        layout.prop(settings, "provider")
        from ..panels.any_host import draw_any_host

        draw_any_host(layout, context, settings)
        layout.prop(settings, "each_strip")
        try:
            chosen: ChosenRange | None = choose_range(scene, compat.selected_strips(context),
                                                      self.frame_start, self.frame_end)
        except ValueError:
            chosen = None
        # one sound per strip: the strips are listed below (left-out ones), not the union of their spans
        draw_provider_fields(layout, settings, settings.provider, None if settings.each_strip else chosen)
        from ..blender.generation import confirmation_question, generation_plan_for
        from ..panels.wrapping import draw_wrapped

        plan = generation_plan_for(context, scene, self.providers, self.frame_start, self.frame_end)
        if plan is not None and plan.unfit:  # listed one by one: OK goes on without them
            box = layout.box()
            box.label(text=f"Left out ({len(plan.unfit)} of {len(plan.unfit) + len(plan.ranges)} strips):",
                      icon="ERROR")
            for name, why in plan.unfit:
                draw_wrapped(box, f"{name}: {why}", width=60, alert=True)
            draw_wrapped(layout, "Generate goes on without them; Cancel sends nothing.", icon="INFO",
                         width=60)
        question = confirmation_question(context, scene, self.providers, self.frame_start, self.frame_end)
        if question:  # the dialog's OK button is the answer to this question
            draw_wrapped(layout, question.rpartition("Go on without them? ")[2], icon="ERROR", width=60,
                         alert=True)

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        from ..blender.generation import (
            choose_ranges,
            enqueue_ranges,
            requested_providers,
            wait_in_background,
        )
        from ..providers.errors import FoleyError

        scene = compat.sequencer_scene(context)
        if not bpy.app.online_access:
            self.report({"ERROR"}, preferences.offline_sentence())
            return {"CANCELLED"}
        try:
            provider_ids = requested_providers(self.providers, scene.foley.provider)
            ranges = choose_ranges(context, scene, self.frame_start, self.frame_end)
            each_strip = ranges[0].source == "strip"
            jobs = enqueue_ranges(context, scene, ranges, provider_ids, confirmed=self.confirmed,
                                  each_strip=each_strip, skip_unfit=self.skip_unfit)
        except (FoleyError, ValueError) as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        if not bpy.data.filepath:
            self.report({"WARNING"}, "The file is not saved, so the audio goes to the VSE Foley library "
                                     "folder; save the .blend to keep it next to your edit.")
        if not bpy.app.background:
            if each_strip:
                made = len({tuple(job.extra.get("source_strips", ())) for job in jobs})
                self.report({"INFO"}, f"Foley: generating {len(jobs)} sound{'s' if len(jobs) != 1 else ''} "
                                      f"for {made} strip{'s' if made != 1 else ''}, one batch.")
            else:
                names = ", ".join(job.label for job in jobs)
                self.report({"INFO"}, f"Foley: generating {names} for frames {ranges[0].describe()}.")
            return {"FINISHED"}
        from ..blender import runtime

        reports, succeeded = wait_in_background(jobs)
        for level, text in reports:
            self.report({level}, text)  # type: ignore[arg-type]  # one of INFO / WARNING / ERROR
        # FINISHED only when every sound is on the timeline; ready-but-not-inserted was a WARNING.
        inserted = succeeded and runtime.all_inserted([job.id for job in jobs])
        return {"FINISHED"} if inserted else {"CANCELLED"}


classes = (FOLEY_OT_generate,)
