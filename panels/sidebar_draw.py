"""What the "Foley" tab of the Sequencer sidebar draws (the panel classes are in
``sidebar``, which loads this module on first draw).

Everything here reads state and draws it; the operators act. Panels never create
the job engine (that reads the ledger and starts threads): without one there
simply are no jobs to show. They redraw when the pump tags sequencer areas after
a job changes, not by polling.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .. import compat, preferences
from ..blender import runtime
from ..blender.selection import ChosenRange, choose_range
from ..blender.strip_metadata import METADATA_KEY, foley_strip
from ..core.cost import CostEstimate, estimate_cost
from ..core.jobs import Job, JobState
from ..core.request_plan import DEFAULT_ASK_ABOVE_REQUESTS, RequestPlan, needs_question, plan_requests
from ..providers import PROVIDER_IDS, provider_info
from ..providers.base import ProviderInfo
from ..providers.errors import ConfigError
from .fields import draw_provider_fields, range_problems, requested_seconds
from .jobs_list import draw_job, provider_label
from .readiness import (
    ONLINE_ACCESS_PATH,
    online_access,
    preference_values,
    provider_problem,
    ready_providers,
)
from .wrapping import chars_for, draw_wrapped

ROOT_PACKAGE = __package__.rpartition(".")[0] if __package__ else "vse_foley"
MAX_JOBS_SHOWN = 12
MAX_RESULTS_SHOWN = 10


# -- what the panels read -----------------------------------------------------------------

@dataclass(frozen=True)
class Blocker:
    """One reason Generate cannot run. ``kind``: offline, scene, key, input or requests."""

    kind: str
    text: str


def foley_settings(context: Any) -> tuple[Any, Any]:
    """(sequencer scene, its ``scene.foley``); either may be None."""
    scene = compat.sequencer_scene(context)
    return scene, getattr(scene, "foley", None) if scene is not None else None


def chosen_range(context: Any, scene: Any) -> ChosenRange | None:
    """The range Generate will use now (selection, else preview range, else scene range)."""
    if scene is None:
        return None
    try:
        return choose_range(scene, compat.selected_strips(context), 0, 0)
    except (ValueError, AttributeError):
        return None


def generate_blockers(context: Any, scene: Any, settings: Any, chosen: ChosenRange | None) -> list[Blocker]:
    """Every reason Generate is unavailable, most fundamental first (empty: it can run)."""
    blockers: list[Blocker] = []
    if not online_access():
        blockers.append(Blocker("offline", f"Online access is off. Turn on {ONLINE_ACCESS_PATH}."))
    if scene is None or settings is None:
        problem = compat.sequencer_scene_problem(context) or "Open a scene in the Video Sequencer first."
        blockers.append(Blocker("scene", problem))
        return blockers
    try:
        info = provider_info(settings.provider)
    except ConfigError as error:
        blockers.append(Blocker("input", str(error)))
        return blockers
    missing = provider_problem(info.id, preference_values(context))
    if missing:
        blockers.append(Blocker("key", missing))
    blockers += [Blocker("input", problem) for problem in range_problems(info, chosen, settings)]
    plan = request_plan(info, chosen, settings)
    if plan is not None and plan.too_long():
        blockers.append(Blocker("requests", plan.too_long()))
    return blockers


def session_jobs() -> list[Job]:
    """Jobs the engine knows (this session's and resumed ones); none until it exists."""
    return runtime.engine().jobs() if runtime.has_engine() else []


def job_list(jobs: list[Job]) -> tuple[list[tuple[Job, list[Job]]], int]:
    """Top-level jobs still worth showing (not yet inserted), newest first, each with its chunks;
    plus how many more were left out."""
    by_id = {job.id: job for job in jobs}
    shown = [job for job in jobs if not job.parent_id and job.state is not JobState.INSERTED]
    shown.sort(key=lambda job: job.created_at, reverse=True)
    rows = [(job, [by_id[cid] for cid in job.chunk_ids if cid in by_id]) for job in shown[:MAX_JOBS_SHOWN]]
    return rows, max(0, len(shown) - MAX_JOBS_SHOWN)


def recent_results(jobs: list[Job], limit: int = MAX_RESULTS_SHOWN) -> list[Job]:
    """Results on disk that can be inserted again: inserted jobs and kept paid results, newest first."""
    results = [job for job in jobs if not job.parent_id and job.audio_path
               and job.state in (JobState.INSERTED, JobState.CANCELLED)]
    results.sort(key=lambda job: job.updated_at, reverse=True)
    return results[:limit]


def cost_estimate(info: ProviderInfo, chosen: ChosenRange | None, settings: Any) -> CostEstimate | None:
    if chosen is None:
        return None
    variations = max(1, int(getattr(settings, "variations", 1)))
    return estimate_cost([info], requested_seconds(info, chosen, settings), variations=variations,
                         fill_short=preferences.fill_short_results())


# -- drawing ------------------------------------------------------------------------------

def draw_generate_panel(layout: Any, context: Any) -> None:
    """Provider, its fields, the range, takes, cost, and the Generate button with its reasons."""
    width = chars_for(context)
    scene, settings = foley_settings(context)
    if settings is None:  # the blocker says why (5.x: no sequencer scene chosen)
        _draw_blockers(layout, generate_blockers(context, scene, settings, None), width)
        return
    layout.prop(settings, "provider", text="")
    try:
        info = provider_info(settings.provider)
    except ConfigError as error:
        draw_wrapped(layout, str(error), icon="ERROR", width=width, alert=True)
        return
    draw_wrapped(layout.column(), info.description, width=width)

    chosen = chosen_range(context, scene)
    draw_provider_fields(layout, settings, info.id, chosen, width=width)

    takes = layout.column(align=True)
    takes.prop(settings, "variations", text="Takes (1–4)")
    takes.prop(settings, "fade_frames", text="Fade Frames")
    if settings.variations > 1:
        sentence = (f"{settings.variations} takes land stacked at the same frame, all muted but one; "
                    "cycle them from the strip's right-click menu.")
        draw_wrapped(layout, sentence, icon="INFO", width=width)

    _draw_cost(layout, context, info, chosen, settings, width)
    blockers = generate_blockers(context, scene, settings, chosen)
    _draw_blockers(layout, blockers, width)

    row = layout.row(align=True)
    row.scale_y = 1.4
    button = row.row(align=True)
    button.enabled = not blockers
    text = "Generate" if settings.variations <= 1 else f"Generate {settings.variations} Takes"
    button.operator("foley.generate", text=text, icon="PLAY")
    # other providers may be ready even when this one lacks a key
    others = row.row(align=True)
    others.enabled = online_access()
    others.menu("FOLEY_MT_generate_with", text="", icon="DOWNARROW_HLT")


def request_plan(info: ProviderInfo, chosen: ChosenRange | None, settings: Any) -> RequestPlan | None:
    """The paid calls Generate would make now (the same count the question and scripts use)."""
    if chosen is None:
        return None
    variations = max(1, int(getattr(settings, "variations", 1)))
    return plan_requests([info], chosen.frames, chosen.fps, takes=variations)


def _draw_cost(layout: Any, context: Any, info: ProviderInfo, chosen: ChosenRange | None, settings: Any,
               width: int) -> None:
    estimate = cost_estimate(info, chosen, settings)
    plan = request_plan(info, chosen, settings)
    if estimate is None or plan is None:
        return
    draw_wrapped(layout, f"Estimated cost: {estimate.text}", icon="FUND", width=width)
    if plan.too_long():
        return  # a blocker says why, next to the button
    prefs = preferences.addon_preferences(context)
    threshold = float(getattr(prefs, "confirm_cost_above", 0.0) or 0.0)
    ask_above = int(getattr(prefs, "ask_above_requests", DEFAULT_ASK_ABOVE_REQUESTS))
    if needs_question(plan, ask_above):
        sentence = f"{plan.describe()} is above your limit of {ask_above}: you will be asked first."
        draw_wrapped(layout, sentence, icon="INFO", width=width)
    elif estimate.total is not None and threshold > 0 and estimate.total > threshold:
        draw_wrapped(layout, f"Above your confirmation limit (${threshold:.2f}): you will be asked first.",
                     icon="INFO", width=width)


def _draw_blockers(layout: Any, blockers: list[Blocker], width: int) -> None:
    """Why the button below is greyed out, with the way to fix each reason."""
    if not blockers:
        return
    box = layout.box()
    kinds = {blocker.kind for blocker in blockers}
    if "offline" in kinds:
        box.label(text="Online access is off", icon="INTERNET")
        draw_wrapped(box, f"Turn on {ONLINE_ACCESS_PATH}.", width=width)
        box.operator("screen.userpref_show", text="Open Preferences", icon="PREFERENCES").section = "SYSTEM"
    for blocker in blockers:
        if blocker.kind in ("scene", "key", "requests"):
            draw_wrapped(box, blocker.text, icon="ERROR", width=width, alert=True)
    if "key" in kinds:
        box.operator("preferences.addon_show", text="Set Up Keys", icon="PREFERENCES").module = ROOT_PACKAGE
    inputs = [blocker for blocker in blockers if blocker.kind == "input"]
    if inputs:
        # field and range problems are drawn in red where they are; here only the count
        count = len(inputs)
        draw_wrapped(box, f"Fix the {count} problem{'s' if count != 1 else ''} marked above first.",
                     icon="ERROR", width=width, alert=True)


def draw_strip_panel(layout: Any, context: Any) -> None:
    """What made the active sound strip, and the ways to make it again or pick a take."""
    width = chars_for(context)
    strip = foley_strip(context)
    if strip is None:
        layout.label(text="The active strip was not made by VSE Foley.", icon="INFO")
        return
    meta = strip[METADATA_KEY]
    column = layout.column(align=True)
    column.label(text=provider_label(str(meta.get("provider", ""))), icon="SOUND")
    prompt = str(meta.get("prompt", "")) or "(no prompt)"
    draw_wrapped(column, prompt, width=width)
    seed = int(meta.get("seed", -1))
    column.label(text=f"Seed: {'random' if seed < 0 else seed}")
    column.label(text=f"Frames {meta.get('frame_start', '?')}–{meta.get('frame_end', '?')}")
    if meta.get("vendor_task_id"):
        column.label(text=f"Task: {meta.get('vendor_task_id')}")

    row = layout.row(align=True)
    row.operator("foley.regenerate", text="Regenerate", icon="FILE_REFRESH").new_seed = True
    row.operator("foley.regenerate", text="Same Seed").new_seed = False

    group_id = str(meta.get("group_id", ""))
    if group_id:
        from ..blender.takes import audible_take, group_strips

        takes = group_strips(strip.id_data, group_id)
        names = [take.name for take in takes]
        index = names.index(strip.name) + 1 if strip.name in names else 0
        audible = audible_take(takes)
        hearing = f", hearing take {audible + 1}" if audible >= 0 else ", all muted"
        layout.label(text=f"Take {index} of {len(takes)}{hearing}", icon="SEQ_STRIP_DUPLICATE")
        takes_row = layout.row(align=True)
        takes_row.operator("foley.cycle_take", text="Previous", icon="TRIA_LEFT").step = -1
        takes_row.operator("foley.cycle_take", text="Next", icon="TRIA_RIGHT").step = 1
        layout.operator("foley.keep_take", text="Keep This Take", icon="CHECKMARK")


def draw_jobs_panel(layout: Any, context: Any, jobs: list[Job] | None = None, *,
                    now: float | None = None) -> None:
    """Every job still of interest with its progress and actions; ``jobs`` defaults to the engine's."""
    width = chars_for(context)
    rows, hidden = job_list(session_jobs() if jobs is None else jobs)
    if not rows:
        layout.label(text="No jobs yet.", icon="INFO")
        return
    moment = time.time() if now is None else now
    for job, chunks in rows:
        draw_job(layout, job, chunks, now=moment, width=width)
    if hidden:
        layout.label(text=f"…and {hidden} older job{'s' if hidden != 1 else ''}.")


def draw_history_panel(layout: Any, context: Any, jobs: list[Job] | None = None) -> None:
    """Recent results on disk, each insertable again."""
    width = chars_for(context)
    # Every session's results, parsed once and again only when the job file changed (core/history.py).
    results = recent_results(runtime.history() if jobs is None else jobs)
    if not results:
        layout.label(text="No results yet.", icon="INFO")
        return
    for job in results:
        draw_job(layout, job, width=width, history=True)
    layout.operator("foley.clear_history", text="Clear History", icon="TRASH")


def draw_generate_with_menu(layout: Any, context: Any) -> None:
    """One entry per provider (greyed out without its key), then "compare" entries."""
    ready = set(ready_providers(context, list(PROVIDER_IDS)))
    for provider_id in PROVIDER_IDS:
        column = layout.column()
        column.enabled = provider_id in ready
        column.operator("foley.generate", text=provider_info(provider_id).label).providers = provider_id
    layout.separator()
    video = [pid for pid in PROVIDER_IDS if pid in ready and provider_info(pid).needs_video]
    column = layout.column()
    column.enabled = len(video) > 1
    text = f"Compare All Ready Video Providers ({len(video)})"
    column.operator("foley.generate", text=text, icon="SEQ_STRIP_DUPLICATE").providers = ",".join(video)


