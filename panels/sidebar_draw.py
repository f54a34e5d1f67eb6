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
from ..blender.selection import ChosenRange, choose_range, choose_shots
from ..blender.strip_metadata import METADATA_KEY, foley_strip
from ..core import checks
from ..core.checks import Blocker
from ..core.chunks import chunk_limits
from ..core.cost import CostEstimate, estimate_cost
from ..core.jobs import Job, JobState
from ..core.request_plan import (
    DEFAULT_ASK_ABOVE_REQUESTS,
    BatchPlan,
    PlanLike,
    RequestPlan,
    chunk_ranges,
    needs_question,
    plan_requests,
)
from ..providers import PROVIDER_IDS, provider_info
from ..providers.base import ProviderInfo
from ..providers.errors import ConfigError
from ..providers.model_hosts import menu_groups
from .any_host import draw_any_host
from .fields import draw_provider_fields, event_count_in, field_values, requested_seconds
from .jobs_list import draw_batch, draw_job, provider_label
from .readiness import ONLINE_ACCESS_PATH, online_access, preference_values, ready_providers
from .wrapping import chars_for, draw_wrapped

ROOT_PACKAGE = __package__.rpartition(".")[0] if __package__ else "vse_foley"
MAX_JOBS_SHOWN = 12
MAX_RESULTS_SHOWN = 10


# -- what the panels read -----------------------------------------------------------------

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


def chosen_shots(context: Any, scene: Any) -> tuple[list[ChosenRange], str]:
    """One sound per strip: the selected picture strips' ranges, or the sentence why there are none."""
    try:
        return choose_shots(scene, compat.selected_strips(context)), ""
    except ValueError as error:
        return [], str(error)
    except AttributeError:
        return [], ""


def too_short_shots(info: ProviderInfo, shots: list[ChosenRange], settings: Any) -> list[ChosenRange]:
    """Strips shorter than the provider's minimum: left out of the batch unless fixed (Generate asks)."""
    return [shot for shot in shots if requested_seconds(info, shot, settings) < info.min_seconds]


def batch_plan(info: ProviderInfo, shots: list[ChosenRange], settings: Any) -> BatchPlan | None:
    """The calls one sound per strip makes for the strips that fit (the count the question uses)."""
    fitting = [shot for shot in shots if shot not in too_short_shots(info, shots, settings)]
    if not fitting:
        return None
    takes = max(1, int(getattr(settings, "variations", 1)))
    return BatchPlan(tuple(plan_requests([info], shot.frames, shot.fps, takes=takes, cuts=shot.cuts)
                           for shot in fitting))


def batch_cost(info: ProviderInfo, shots: list[ChosenRange], settings: Any) -> CostEstimate | None:
    fitting = [shot for shot in shots if shot not in too_short_shots(info, shots, settings)]
    if not fitting:
        return None
    planned = {info.id: [[float(c.seconds(s.fps)) for c in chunk_ranges(info, s.frames, s.fps, s.cuts)]
                         for s in fitting]}
    return estimate_cost([info], sum(shot.seconds for shot in fitting),
                         variations=max(1, int(getattr(settings, "variations", 1))),
                         fill_short=preferences.fill_short_results(), planned=planned)


def generate_blockers(context: Any, scene: Any, settings: Any, chosen: ChosenRange | None) -> list[Blocker]:
    """Every reason Generate is unavailable, most fundamental first (empty: it can run).

    Gathers this Blender's values for the pure ``checks.generate_blockers``.
    """
    scene_problem = ""
    if scene is None or settings is None:
        scene_problem = (compat.sequencer_scene_problem(context)
                         or "Open a scene in the Video Sequencer first.")
    provider_id = str(getattr(settings, "provider", "")) if settings is not None else ""
    values: dict[str, Any] | None = None
    event_count: int | None = None
    requests_problem = ""
    shots_problem = ""
    each_strip = bool(getattr(settings, "each_strip", False)) if settings is not None else False
    if not scene_problem:
        try:
            info = provider_info(provider_id)
        except ConfigError:
            info = None  # checks.generate_blockers says why
        if info is not None:
            values = field_values(info, settings)
            plan: PlanLike | None
            if each_strip:  # one sound per strip: the strips are checked, not the whole range
                shots, why_none = chosen_shots(context, scene)
                plan = batch_plan(info, shots, settings)
                if why_none or (shots and plan is None):
                    shots_problem = why_none or (f"Every selected strip is too short for {info.label} "
                                                 f"(at least {info.min_seconds:g} s).")
            else:
                if chosen is not None and info.input == "timeline":
                    event_count = event_count_in(settings, chosen)
                plan = request_plan(info, chosen, settings)
            requests_problem = plan.too_long() if plan is not None else ""
    return checks.generate_blockers(
        online=online_access(), scene_problem=scene_problem, provider_id=provider_id,
        prefs=preference_values(context) if not scene_problem else {}, values=values,
        range_seconds=chosen.seconds if chosen is not None and not each_strip else None,
        event_count=event_count, requests_problem=requests_problem, shots_problem=shots_problem)


def session_jobs() -> list[Job]:
    """Jobs the engine knows (this session's and resumed ones); none until it exists."""
    return runtime.engine().jobs() if runtime.has_engine() else []


@dataclass(frozen=True)
class ListEntry:
    """One entry of the job list: a job with its chunks, or a batch (``batch_id``) of such rows."""

    rows: tuple[tuple[Job, list[Job]], ...]
    batch_id: str = ""


def job_list(jobs: list[Job]) -> tuple[list[ListEntry], int]:
    """Entries still worth showing, newest first: each top-level job not yet inserted with its chunks,
    and each batch with a job not yet inserted as ONE entry holding all its jobs; plus how many more
    entries were left out."""
    by_id = {job.id: job for job in jobs}
    top = [job for job in jobs if not job.parent_id]
    batches: dict[str, list[Job]] = {}
    for job in top:
        if job.batch_id:
            batches.setdefault(job.batch_id, []).append(job)
    entries: list[tuple[float, ListEntry]] = []

    def row(job: Job) -> tuple[Job, list[Job]]:
        return job, [by_id[cid] for cid in job.chunk_ids if cid in by_id]

    for job in top:
        if not job.batch_id and job.state is not JobState.INSERTED:
            entries.append((job.created_at, ListEntry((row(job),))))
    for batch_id, members in batches.items():
        if any(job.state is not JobState.INSERTED for job in members):
            members.sort(key=lambda job: (job.frame_start, job.take_index))
            entries.append((max(job.created_at for job in members),
                            ListEntry(tuple(row(job) for job in members), batch_id)))
    entries.sort(key=lambda entry: entry[0], reverse=True)
    shown = [entry for _created, entry in entries]
    return shown[:MAX_JOBS_SHOWN], max(0, len(shown) - MAX_JOBS_SHOWN)


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
    seconds = requested_seconds(info, chosen, settings)
    planned = None
    if seconds == chosen.seconds and chosen.cuts:  # the chunks sent: at the cuts (core.shots)
        chunks = chunk_ranges(info, chosen.frames, chosen.fps, chosen.cuts)
        planned = {info.id: [[float(chunk.seconds(chosen.fps)) for chunk in chunks]]}
    return estimate_cost([info], seconds, variations=variations, fill_short=preferences.fill_short_results(),
                         planned=planned)


# -- drawing ------------------------------------------------------------------------------

def draw_generate_panel(layout: Any, context: Any) -> None:
    """Provider, its fields, the range, takes, cost, and the Generate button with its reasons."""
    width = chars_for(context)
    scene, settings = foley_settings(context)
    if settings is None:  # the blocker says why (5.x: no sequencer scene chosen)
        _draw_blockers(layout, generate_blockers(context, scene, settings, None), width)
        return
    layout.prop(settings, "provider", text="")
    draw_any_host(layout, context, settings)
    try:
        info = provider_info(settings.provider)
    except ConfigError as error:
        draw_wrapped(layout, str(error), icon="ERROR", width=width, alert=True)
        return
    draw_wrapped(layout.column(), info.description, width=width)

    chosen = chosen_range(context, scene)
    each_strip = bool(getattr(settings, "each_strip", False))
    # one sound per strip: the fields only; the strips are drawn below instead of the union range
    draw_provider_fields(layout, settings, info.id, None if each_strip else chosen, width=width)
    layout.prop(settings, "each_strip", text="One sound per strip")
    if each_strip:
        _draw_shots(layout, context, scene, info, settings, width)

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
    if each_strip:
        count = len(chosen_shots(context, scene)[0])
        text = f"Generate for {count} Strip{'s' if count != 1 else ''}"
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
    return plan_requests([info], chosen.frames, chosen.fps, takes=variations, cuts=chosen.cuts)


def _draw_shots(layout: Any, context: Any, scene: Any, info: ProviderInfo, settings: Any, width: int) -> None:
    """One sound per strip: how many strips, how long, and which ones the provider cannot take."""
    shots, why_none = chosen_shots(context, scene)
    box = layout.box()
    if why_none or not shots:
        draw_wrapped(box, why_none or "Select the picture strips to make sound for.", icon="ERROR",
                     width=width, alert=True)
        return
    lengths = [shot.seconds for shot in shots]
    low_s, high_s = min(lengths), max(lengths)
    span = f"{low_s:.1f} s" if low_s == high_s else f"{low_s:.1f}–{high_s:.1f} s"
    count = len(shots)
    box.label(text=f"{count} strip{'s' if count != 1 else ''} ({span}), one sound each",
              icon="SEQ_STRIP_META")
    low, high = chunk_limits(info)
    long_ones = sum(1 for length in lengths if length > high)
    if long_ones:
        draw_wrapped(box, f"{long_ones} longer than {high:g} s: made as chunks split at the picture's cuts "
                          "where they fit, joined into one strip each.", icon="INFO", width=width)
    short = too_short_shots(info, shots, settings)
    if short:
        names = ", ".join(f"{shot.strip_names[0]} ({shot.seconds:.1f} s)" for shot in short)
        draw_wrapped(box, f"Too short for {info.label} (at least {low:g} s): {names}. Generate asks whether "
                          "to go on without them.", icon="ERROR", width=width, alert=True)


def _draw_cost(layout: Any, context: Any, info: ProviderInfo, chosen: ChosenRange | None, settings: Any,
               width: int) -> None:
    estimate: CostEstimate | None
    plan: PlanLike | None
    if getattr(settings, "each_strip", False):
        shots, _why = chosen_shots(context, foley_settings(context)[0])
        estimate, plan = batch_cost(info, shots, settings), batch_plan(info, shots, settings)
    else:
        estimate, plan = cost_estimate(info, chosen, settings), request_plan(info, chosen, settings)
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
    if meta.get("made_by"):  # another host of the model made it (issue 14 item 6)
        draw_wrapped(column, str(meta.get("made_by")), icon="INFO", width=width)

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
    entries, hidden = job_list(session_jobs() if jobs is None else jobs)
    if not entries:
        layout.label(text="No jobs yet.", icon="INFO")
        return
    moment = time.time() if now is None else now
    for entry in entries:
        if entry.batch_id:
            draw_batch(layout, entry.rows, now=moment, width=width)
        else:
            [(job, chunks)] = entry.rows
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
    previous_named = False
    for model, hosts in menu_groups():  # hosts of one model together under its name (issue 14 item 6)
        if model:
            layout.separator()
            layout.label(text=model)
        elif previous_named:
            layout.separator()
        previous_named = bool(model)
        for provider_id in hosts:
            column = layout.column()
            column.enabled = provider_id in ready
            column.operator("foley.generate", text=provider_info(provider_id).label).providers = provider_id
    layout.separator()
    video = [pid for pid in PROVIDER_IDS if pid in ready and provider_info(pid).needs_video]
    column = layout.column()
    column.enabled = len(video) > 1
    text = f"Compare All Ready Video Providers ({len(video)})"
    column.operator("foley.generate", text=text, icon="SEQ_STRIP_DUPLICATE").providers = ",".join(video)


