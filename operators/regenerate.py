"""foley.regenerate: make a strip's sound again from its stored metadata."""

from typing import Any

import bpy

from .. import compat
from ..blender.strip_metadata import METADATA_KEY, foley_strip
from ..compat import OperatorResult


class FOLEY_OT_regenerate(bpy.types.Operator):
    """Generate the active VSE Foley strip's sound again: same prompt and range, new or same seed"""

    bl_idname = "foley.regenerate"
    bl_label = "Regenerate Sound"
    # UNDO: it changes scene.foley (provider, prompts, seed, options); Ctrl+Z gives them back.
    bl_options = {"REGISTER", "UNDO"}  # noqa: RUF012 - Blender reads this class attribute

    new_seed: bpy.props.BoolProperty(  # type: ignore[valid-type]
        name="New seed", description="Pick a new random seed (off: the stored seed again)", default=True)
    confirmed: bpy.props.BoolProperty(  # type: ignore[valid-type]  # set by invoke, as foley.generate's
        name="Confirmed", default=False, options={"SKIP_SAVE", "HIDDEN"})

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        if foley_strip(context) is None:
            cls.poll_message_set("Make a sound strip made by VSE Foley the active strip.")
            return False
        return bool(bpy.types.FOLEY_OT_generate.poll(context))  # type: ignore[attr-defined]

    def invoke(self, context: bpy.types.Context, event: Any) -> OperatorResult:
        """The panel button and the right-click entries: ask first, like Generate, when the request is
        large or costly (computed from the strip's metadata, before any setting is changed)."""
        from ..blender.generation import confirmation_question

        meta = foley_strip(context)[METADATA_KEY]
        scene = compat.sequencer_scene(context)
        self.confirmed = True
        question = confirmation_question(context, scene, str(meta["provider"]), int(meta["frame_start"]),
                                         int(meta["frame_end"]))
        if question and context.window_manager is not None:
            return context.window_manager.invoke_confirm(self, event, title="Regenerate Sound?",
                                                         message=question, confirm_text="Regenerate")
        return self.execute(context)

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        import json

        meta = dict(foley_strip(context)[METADATA_KEY])
        settings = compat.sequencer_scene(context).foley
        settings.provider = meta["provider"]
        settings.prompt = meta.get("prompt", "")
        settings.bgm_prompt = meta.get("bgm_prompt", "")
        settings.negative_prompt = meta.get("negative_prompt", "")
        settings.seed = -1 if self.new_seed else int(meta.get("seed", -1))
        for name, value in json.loads(meta.get("options", "{}")).items():
            if hasattr(settings, name):
                setattr(settings, name, value)
        # bpy.ops.foley exists only once our operators are registered; the stubs know Blender's own.
        return bpy.ops.foley.generate(  # type: ignore[attr-defined]
            frame_start=int(meta["frame_start"]), frame_end=int(meta["frame_end"]), confirmed=self.confirmed)


classes = (FOLEY_OT_regenerate,)
