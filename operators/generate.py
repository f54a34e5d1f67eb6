"""foley.generate: make sound for the selection (or a range) and lay it under the picture."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import bpy

from .. import compat, preferences
from ..blender import runtime
from ..blender.clip import prepare_clip_source
from ..blender.insert import source_channel
from ..blender.render_settings import DEFAULT_SHORT_SIDE
from ..blender.request_builder import build_request
from ..blender.selection import ChosenRange, choose_range
from ..compat import OperatorResult
from ..core.chunks import chunk_limits, needs_chunks, plan_chunks
from ..core.cost import estimate_cost
from ..core.jobs import Job, JobState, new_job_id
from ..providers import PROVIDER_IDS, provider_info
from ..providers.errors import FoleyError

ONLINE_ACCESS_PATH = "Edit ▸ Preferences ▸ System ▸ Network ▸ Allow Online Access"


def offline_sentence() -> str:
    return f"Online access is off, so nothing can be sent. Turn on {ONLINE_ACCESS_PATH}."


def requested_providers(text: str, default: str) -> list[str]:
    ids = [part.strip() for part in text.split(",") if part.strip()] or [default]
    unknown = [pid for pid in ids if pid not in PROVIDER_IDS]
    if unknown:
        raise FoleyError(f"Unknown provider {', '.join(unknown)}; choose from {', '.join(PROVIDER_IDS)}.")
    return ids


def enqueue_generation(context: Any, scene: Any, chosen: ChosenRange, provider_ids: list[str]) -> list[Job]:
    """Validate every request (nothing is sent yet), then queue one job per take."""
    settings = scene.foley
    runtime.refresh_preferences(context)
    variations = max(1, int(settings.variations))
    plans = [(pid, take) for pid in provider_ids for take in range(variations)]
    requests = []
    for provider_id, take in plans:
        request = build_request(scene, provider_id, chosen, take)
        # A sentence before any money is spent. A long range is split into chunks by the
        # engine, so it is the longest chunk that must fit the vendor's limits.
        low, high = chunk_limits(provider_info(provider_id))
        if needs_chunks(chosen.seconds, high):
            chunks = plan_chunks(chosen.frames, chosen.fps, low, high)
            longest = max(float(chunk.seconds(chosen.fps)) for chunk in chunks)
        else:
            longest = request.duration
        runtime.make_provider(provider_id).validate(replace(request, duration=longest))
        requests.append(request)
    above = source_channel(scene, chosen.frames, list(chosen.strip_names))
    group_id = new_job_id() if len(plans) > 1 else ""
    blend_copy = ""
    if any(provider_info(pid).needs_video for pid in provider_ids):
        blend_copy = prepare_clip_source(scene.name, runtime.user_dir("sources", group_id or new_job_id()))
    prefs = preferences.addon_preferences(context)
    short_side = int(prefs.clip_short_side) if prefs is not None else DEFAULT_SHORT_SIDE
    engine = runtime.engine()
    jobs: list[Job] = []
    for (provider_id, take), request in zip(plans, requests, strict=True):
        label = f"{provider_info(provider_id).label}" + (f" take {take + 1}" if variations > 1 else "")
        job = Job.create(
            request, chosen.frames, chosen.fps, blend_path=bpy.data.filepath, scene_name=scene.name,
            channel=above, label=label, group_id=group_id, take_index=len(jobs),
            take_label=provider_info(provider_id).label if len(provider_ids) > 1 else f"take {take + 1}",
            # Kept in the ledger, so a job resumed after a restart can still render its clip.
            extra={"source_strips": list(chosen.strip_names), "clip_source": blend_copy,
                   "clip_short_side": short_side},
        )
        jobs.append(engine.enqueue(job))
    return jobs


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

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        if not bpy.app.online_access:
            cls.poll_message_set(offline_sentence())
            return False
        scene = compat.sequencer_scene(context)
        if scene is None or not hasattr(scene, "foley"):
            cls.poll_message_set("Open a scene in the Video Sequencer first.")
            return False
        return True

    def invoke(self, context: bpy.types.Context, event: Any) -> OperatorResult:
        window_manager = context.window_manager
        if self.show_dialog and window_manager is not None:
            return window_manager.invoke_props_dialog(self, width=420)
        expensive = self._cost_above_threshold(context)
        if expensive and window_manager is not None:
            return window_manager.invoke_confirm(
                self, event, title="Generate Sound?", message=f"{expensive} (above your confirmation limit).",
                confirm_text="Generate")
        return self.execute(context)

    def _cost_above_threshold(self, context: bpy.types.Context) -> str:
        """The estimate's text when it is known and above the preference's threshold, else ""."""
        prefs = preferences.addon_preferences(context)
        scene = compat.sequencer_scene(context)
        if prefs is None or prefs.confirm_cost_above <= 0 or scene is None:
            return ""
        try:
            ids = requested_providers(self.providers, scene.foley.provider)
            chosen = choose_range(scene, compat.selected_strips(context), self.frame_start, self.frame_end)
        except (FoleyError, ValueError):
            return ""  # execute reports it
        estimate = estimate_cost([provider_info(pid) for pid in ids], chosen.seconds,
                                 variations=scene.foley.variations)
        if estimate.total is None or estimate.total <= prefs.confirm_cost_above:
            return ""
        return estimate.text

    def draw(self, context: bpy.types.Context) -> None:
        from ..panels.fields import draw_provider_fields

        scene = compat.sequencer_scene(context)
        settings = scene.foley
        layout = self.layout
        if layout is None:  # Blender sets the layout before it calls draw()
            return
        layout.prop(settings, "provider")
        try:
            chosen: ChosenRange | None = choose_range(scene, compat.selected_strips(context),
                                                      self.frame_start, self.frame_end)
        except ValueError:
            chosen = None
        draw_provider_fields(layout, settings, settings.provider, chosen)

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        scene = compat.sequencer_scene(context)
        if not bpy.app.online_access:
            self.report({"ERROR"}, offline_sentence())
            return {"CANCELLED"}
        try:
            provider_ids = requested_providers(self.providers, scene.foley.provider)
            chosen = choose_range(scene, compat.selected_strips(context), self.frame_start, self.frame_end)
            jobs = enqueue_generation(context, scene, chosen, provider_ids)
        except (FoleyError, ValueError) as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        if not bpy.data.filepath:
            self.report({"WARNING"}, "The file is not saved, so the audio goes to the VSE Foley library "
                                     "folder; save the .blend to keep it next to your edit.")
        if not bpy.app.background:
            names = ", ".join(job.label for job in jobs)
            self.report({"INFO"}, f"Foley: generating {names} for frames {chosen.describe()}.")
            return {"FINISHED"}
        return self._wait_in_background(jobs)

    def _wait_in_background(self, jobs: list[Job]) -> OperatorResult:
        """Scripts and farms: block until the jobs end, pumping the same machinery."""
        engine = runtime.engine()
        ids = [job.id for job in jobs]
        engine.wait(ids, pump=runtime.pump_once)
        runtime.pump()
        finals = [engine.get(job_id) for job_id in ids]
        failed = [job for job in finals if job is None or job.state in (JobState.FAILED, JobState.CANCELLED)]
        for job in finals:
            if job is not None and job.state is JobState.INSERTED:
                self.report({"INFO"}, f"Foley: inserted '{job.strip_name}'.")
            elif job is not None and job.state is JobState.READY:
                self.report({"WARNING"}, f"Foley: job {job.id} is ready but its file or scene is not open; "
                                         "it waits in the job list.")
        runtime.take_messages()
        if failed:
            reasons = "; ".join((job.error or job.state.value) if job else "lost" for job in failed)
            self.report({"ERROR"}, f"Foley: {reasons}")
            return {"CANCELLED"}
        return {"FINISHED"}


classes = (FOLEY_OT_generate,)
