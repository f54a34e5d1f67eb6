"""From the scene's settings and a chosen range to queued jobs: validate every
request before anything is sent, then queue one job per take and provider."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import bpy

from .. import preferences
from ..core.chunks import chunk_limits, needs_chunks, plan_chunks
from ..core.cost import estimate_cost
from ..core.jobs import Job, new_job_id
from ..core.request_plan import (
    DEFAULT_ASK_ABOVE_REQUESTS,
    RequestPlan,
    needs_question,
    plan_requests,
    script_limit,
    script_refusal,
)
from ..core.request_plan import question as request_question
from ..providers import PROVIDER_IDS, provider_info
from ..providers.errors import FoleyError
from . import runtime
from .clip import shared_clip_source
from .clip_cache import DEFAULT_SHORT_SIDE
from .edit_identity import edit_id_for
from .insert import source_channel
from .request_builder import build_request
from .selection import ChosenRange, choose_range


def requested_providers(text: str, default: str) -> list[str]:
    """Comma-separated provider ids (empty: ``default``); a sentence for unknown ones."""
    ids = [part.strip() for part in text.split(",") if part.strip()] or [default]
    unknown = [pid for pid in ids if pid not in PROVIDER_IDS]
    if unknown:
        raise FoleyError(f"Unknown provider {', '.join(unknown)}; choose from {', '.join(PROVIDER_IDS)}.")
    return ids


def request_plan(scene: Any, chosen: ChosenRange, provider_ids: list[str]) -> RequestPlan:
    """The paid calls this Generate makes: chunks × takes × providers (the engine's chunking)."""
    infos = [provider_info(pid) for pid in provider_ids]
    return plan_requests(infos, chosen.frames, chosen.fps, takes=max(1, int(scene.foley.variations)))


def ask_above_requests(context: Any) -> int:
    prefs = preferences.addon_preferences(context)
    return int(prefs.ask_above_requests) if prefs is not None else DEFAULT_ASK_ABOVE_REQUESTS


def check_request_count(context: Any, scene: Any, plan: RequestPlan, *, confirmed: bool) -> None:
    """Raise a sentence before anything is spent: a range beyond the hard cap of chunks always; for a
    script (``confirmed`` False), more calls than ``scene.foley.max_requests`` (0: the preference)."""
    too_long = plan.too_long()
    if too_long:
        raise FoleyError(too_long)
    if not confirmed:
        limit = script_limit(int(scene.foley.max_requests), ask_above_requests(context))
        refusal = script_refusal(plan, limit)
        if refusal:
            raise FoleyError(refusal)


def enqueue_generation(context: Any, scene: Any, chosen: ChosenRange, provider_ids: list[str], *,
                       confirmed: bool = False) -> list[Job]:
    """Validate every request (nothing is sent yet), then queue one job per take.

    ``confirmed``: the editor saw the request count and price and said yes (the
    interactive paths); otherwise it is a script, held to ``scene.foley.max_requests``.
    """
    settings = scene.foley
    runtime.refresh_preferences(context)
    check_request_count(context, scene, request_plan(scene, chosen, provider_ids), confirmed=confirmed)
    runtime.check_ledger_writable()  # a job that cannot be recorded is refused before spending
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
        # One copy per state of the edit: later Generates reuse it until the edit changes (11.8).
        blend_copy = shared_clip_source(scene, runtime.user_dir("sources"), group_id or new_job_id())
    prefs = preferences.addon_preferences(context)
    short_side = int(prefs.clip_short_side) if prefs is not None else DEFAULT_SHORT_SIDE
    engine = runtime.engine()
    jobs: list[Job] = []
    for (provider_id, take), request in zip(plans, requests, strict=True):
        label = f"{provider_info(provider_id).label}" + (f" take {take + 1}" if variations > 1 else "")
        job = Job.create(
            request, chosen.frames, chosen.fps, blend_path=bpy.data.filepath, scene_name=scene.name,
            edit_id=edit_id_for(scene),  # the job follows this edit through Save As (edit_identity)
            channel=above, label=label, group_id=group_id, take_index=len(jobs),
            take_label=provider_info(provider_id).label if len(provider_ids) > 1 else f"take {take + 1}",
            # Kept in the ledger, so a job resumed after a restart can still render its clip.
            extra={"source_strips": list(chosen.strip_names), "clip_source": blend_copy,
                   "clip_short_side": short_side},
        )
        jobs.append(engine.enqueue(job))
    runtime.note_jobs(jobs)  # the job list counts them before their first event
    return jobs


def cost_above_threshold(context: Any, scene: Any, providers: str, frame_start: int, frame_end: int) -> str:
    """The estimate's text when it is known and above the preference's limit, else ""."""
    prefs = preferences.addon_preferences(context)
    if prefs is None or prefs.confirm_cost_above <= 0 or scene is None:
        return ""
    from .. import compat

    try:
        ids = requested_providers(providers, scene.foley.provider)
        chosen = choose_range(scene, compat.selected_strips(context), frame_start, frame_end)
    except (FoleyError, ValueError):
        return ""  # execute reports it
    estimate = estimate_cost([provider_info(pid) for pid in ids], chosen.seconds,
                             variations=scene.foley.variations, fill_short=preferences.fill_short_results())
    if estimate.total is None or estimate.total <= prefs.confirm_cost_above:
        return ""
    return estimate.text


def confirmation_question(context: Any, scene: Any, providers: str, frame_start: int, frame_end: int) -> str:
    """What an interactive Generate must ask before it spends ("" when it may just run).

    Asked when the request makes more calls than the *Ask above requests*
    preference (even at an unknown price) or costs more than *Confirm above*.
    Invalid input gives "" too: execute reports it as a sentence.
    """
    if scene is None:
        return ""
    from .. import compat

    try:
        ids = requested_providers(providers, scene.foley.provider)
        chosen = choose_range(scene, compat.selected_strips(context), frame_start, frame_end)
    except (FoleyError, ValueError):
        return ""
    plan = request_plan(scene, chosen, ids)
    if plan.too_long():
        return ""  # refused by execute with its sentence, nothing to confirm
    estimate = estimate_cost([provider_info(pid) for pid in ids], chosen.seconds,
                             variations=scene.foley.variations, fill_short=preferences.fill_short_results())
    prefs = preferences.addon_preferences(context)
    cost_limit = float(prefs.confirm_cost_above) if prefs is not None else 0.0
    too_costly = estimate.total is not None and cost_limit > 0 and estimate.total > cost_limit
    if not too_costly and not needs_question(plan, ask_above_requests(context)):
        return ""
    return request_question(plan, estimate.price_text, estimate.possible_extra_calls)


def wait_in_background(jobs: list[Job]) -> tuple[list[tuple[str, str]], bool]:
    """Scripts and farms: block until the jobs end, pumping the same machinery.

    Returns the reports to show (level, sentence) and whether every job succeeded.
    """
    from ..core.jobs import JobState

    engine = runtime.engine()
    ids = [job.id for job in jobs]
    engine.wait(ids, pump=runtime.pump_once)
    runtime.pump()
    runtime.take_messages()  # the operator reports these itself
    reports: list[tuple[str, str]] = []
    finals = [engine.get(job_id) for job_id in ids]
    for job in finals:
        if job is not None and job.state is JobState.INSERTED:
            reports.append(("INFO", f"Foley: inserted '{job.strip_name}'."))
        elif job is not None and job.state is JobState.READY:
            reports.append(("WARNING", f"Foley: job {job.id} is ready but not inserted: "
                                       f"{runtime.not_inserted_reason(job)} It waits in the job list."))
    failed = [job for job in finals if job is None or job.state in (JobState.FAILED, JobState.CANCELLED)]
    if failed:
        reasons = "; ".join((job.error or job.state.value) if job else "lost" for job in failed)
        reports.append(("ERROR", f"Foley: {reasons}"))
    return reports, not failed
