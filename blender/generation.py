"""From the scene's settings and the chosen ranges to queued jobs: validate every
request before anything is sent, then queue one job per range, take and provider.

One Generate makes sound for one range (the selection rule), or with "One sound
per strip" for each selected picture strip: a *batch*, validated, counted, priced
and confirmed as a whole, its jobs sharing a ``batch_id`` and one copy of the edit.
A long range's chunks are chosen here (at the edit's cuts where they fit,
``core.shots``) and handed to the engine, so what is counted is what is sent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import bpy

from .. import preferences
from ..core.cost import CostEstimate, estimate_cost
from ..core.host_fallback import job_hosts
from ..core.jobs import Job, new_job_id
from ..core.request_plan import (
    DEFAULT_ASK_ABOVE_REQUESTS,
    BatchPlan,
    PlanLike,
    RequestPlan,
    chunk_ranges,
    needs_question,
    plan_requests,
    script_limit,
    script_refusal,
)
from ..core.request_plan import question as request_question
from ..core.timeline import FrameRange
from ..providers import PROVIDER_IDS, provider_info
from ..providers.errors import ConfigError, FoleyError, InputError
from . import runtime
from .clip import shared_clip_source
from .clip_cache import DEFAULT_CLIP_COLOUR, DEFAULT_SHORT_SIDE
from .edit_identity import edit_id_for
from .insert import source_channel
from .request_builder import build_request
from .selection import ChosenRange, choose_range, choose_shots


def requested_providers(text: str, default: str) -> list[str]:
    """Comma-separated provider ids (empty: ``default``); a sentence for unknown ones."""
    ids = [part.strip() for part in text.split(",") if part.strip()] or [default]
    unknown = [pid for pid in ids if pid not in PROVIDER_IDS]
    if unknown:
        raise FoleyError(f"Unknown provider {', '.join(unknown)}; choose from {', '.join(PROVIDER_IDS)}.")
    return ids


def request_plan(scene: Any, chosen: ChosenRange, provider_ids: list[str]) -> RequestPlan:
    """The paid calls this Generate makes: chunks × takes × providers (the chunks sent)."""
    infos = [provider_info(pid) for pid in provider_ids]
    return plan_requests(infos, chosen.frames, chosen.fps, takes=max(1, int(scene.foley.variations)),
                         cuts=chosen.cuts)


def ask_above_requests(context: Any) -> int:
    prefs = preferences.addon_preferences(context)
    return int(prefs.ask_above_requests) if prefs is not None else DEFAULT_ASK_ABOVE_REQUESTS


def check_request_count(context: Any, scene: Any, plan: PlanLike, *, confirmed: bool) -> None:
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


def choose_ranges(context: Any, scene: Any, frame_start: int = 0, frame_end: int = 0) -> list[ChosenRange]:
    """The ranges one Generate makes sound for: one per selected picture strip with "One sound per
    strip" on (explicit frames win over it), else the one range of the selection rule."""
    from .. import compat

    selected = compat.selected_strips(context)
    if scene.foley.each_strip and not (frame_start or frame_end):
        return choose_shots(scene, selected)
    return [choose_range(scene, selected, frame_start, frame_end)]


@dataclass(frozen=True)
class GenerationPlan:
    """Everything one Generate will send, decided before anything is: the ranges that can be made,
    the chunks of each for each provider, and the strips left out because they break a limit."""

    ranges: tuple[ChosenRange, ...]
    provider_ids: tuple[str, ...]
    takes: int
    chunks: Mapping[tuple[int, str], Sequence[FrameRange]]  # (range index, provider) → chunks
    unfit: tuple[tuple[str, str], ...]  # (strip name, why) of strips that cannot be made
    each_strip: bool

    @property
    def requests(self) -> PlanLike:
        shots = tuple(plan_requests([provider_info(pid) for pid in self.provider_ids], r.frames, r.fps,
                                    takes=self.takes, cuts=r.cuts) for r in self.ranges)
        return BatchPlan(shots) if self.each_strip else shots[0]

    def cost(self, fill_short: bool) -> CostEstimate:
        planned = {pid: [[float(c.seconds(r.fps)) for c in self.chunks[(i, pid)]]
                         for i, r in enumerate(self.ranges)] for pid in self.provider_ids}
        return estimate_cost([provider_info(pid) for pid in self.provider_ids],
                             sum(r.seconds for r in self.ranges), variations=self.takes,
                             fill_short=fill_short, planned=planned)

    def unfit_sentence(self) -> str:
        """"2 of 6 strips cannot be made: Shot 3 (1.2 s): …" ("" when every strip fits)."""
        if not self.unfit:
            return ""
        total = len(self.unfit) + len(self.ranges)
        listed = "; ".join(f"{name}: {why}" for name, why in self.unfit)
        return f"{len(self.unfit)} of {total} strips cannot be made: {listed}"


def plan_generation(scene: Any, ranges: list[ChosenRange], provider_ids: list[str], *,
                    each_strip: bool = False, validate: bool = True) -> GenerationPlan:
    """Validate every request (nothing is sent): a sentence for input no strip can use; with one sound
    per strip, the strips that break a provider's limit (``InputError``) are set aside in ``unfit``,
    named. ``validate`` False only counts (a question shown before keys are set up)."""
    takes = max(1, int(scene.foley.variations))
    kept: list[ChosenRange] = []
    chunks: dict[tuple[int, str], Sequence[FrameRange]] = {}
    unfit: list[tuple[str, str]] = []
    first_error: InputError | None = None
    for chosen in ranges:
        planned: dict[str, Sequence[FrameRange]] = {}
        try:
            for provider_id in provider_ids:
                info = provider_info(provider_id)
                planned[provider_id] = chunk_ranges(info, chosen.frames, chosen.fps, chosen.cuts)
                asked = build_request(scene, provider_id, chosen, 0).duration
                if each_strip and asked < info.min_seconds:  # said the same way with or without a key
                    raise InputError(f"{info.label} needs at least {info.min_seconds:g} s.")
                # A long range is split into chunks, so it is the longest chunk that must fit the limits.
                longest = max(float(c.seconds(chosen.fps)) for c in planned[provider_id])
                for take in range(takes if validate else 0):
                    request = build_request(scene, provider_id, chosen, take)
                    duration = longest if len(planned[provider_id]) > 1 else request.duration
                    runtime.make_provider(provider_id).validate(replace(request, duration=duration))
        except InputError as error:
            if not each_strip:
                raise
            first_error = first_error or error
            unfit.append((f"{', '.join(chosen.strip_names)} ({chosen.seconds:.1f} s)", str(error)))
            continue
        chunks.update({(len(kept), pid): planned[pid] for pid in provider_ids})
        kept.append(chosen)
    if not kept:
        if first_error is not None and len({why for _name, why in unfit}) == 1:
            raise first_error  # the same sentence for every strip: it is about the input, not a strip
        raise FoleyError("No selected strip can be made: " + "; ".join(f"{n}: {w}" for n, w in unfit))
    return GenerationPlan(tuple(kept), tuple(provider_ids), takes, chunks, tuple(unfit), each_strip)


def enqueue_generation(context: Any, scene: Any, chosen: ChosenRange, provider_ids: list[str], *,
                       confirmed: bool = False) -> list[Job]:
    """Validate every request (nothing is sent yet), then queue one job per take.

    ``confirmed``: the editor saw the request count and price and said yes (the
    interactive paths); otherwise it is a script, held to ``scene.foley.max_requests``.
    """
    return enqueue_ranges(context, scene, [chosen], provider_ids, confirmed=confirmed)


def enqueue_ranges(context: Any, scene: Any, ranges: list[ChosenRange], provider_ids: list[str], *,
                   confirmed: bool = False, each_strip: bool = False, skip_unfit: bool = False) -> list[Job]:
    """Queue the jobs of one Generate: for each range, one job per take and provider.

    ``each_strip``: the ranges are the selected strips (one sound per strip), queued as one batch
    (``Job.batch_id``); strips that break a limit refuse the whole batch unless ``skip_unfit``
    (the user chose to go on without them).
    """
    runtime.refresh_preferences(context)
    plan = plan_generation(scene, ranges, provider_ids, each_strip=each_strip)
    if plan.unfit and not skip_unfit:
        raise FoleyError(f"{plan.unfit_sentence()}. Nothing was sent. Fix or deselect them, or go on "
                         "without them (Generate's dialog, or skip_unfit=True in a script).")
    check_request_count(context, scene, plan.requests, confirmed=confirmed)
    runtime.check_ledger_writable()  # a job that cannot be recorded is refused before spending
    variations = plan.takes
    pairs = [(pid, take) for pid in provider_ids for take in range(variations)]
    batch_id = new_job_id() if each_strip else ""
    blend_copy = ""
    if any(provider_info(pid).needs_video for pid in provider_ids):
        # One copy per state of the edit, shared by every job of the batch: jobs over the same
        # frames render one clip (the clip's key is the copy and the frames, runtime._render_clip).
        blend_copy = shared_clip_source(scene, runtime.user_dir("sources"), new_job_id())
    prefs = preferences.addon_preferences(context)
    short_side = int(prefs.clip_short_side) if prefs is not None else DEFAULT_SHORT_SIDE
    colour = str(prefs.clip_colour) if prefs is not None else DEFAULT_CLIP_COLOUR
    hosts = _hosts_of_jobs(context, scene, provider_ids)
    engine = runtime.engine()
    if blend_copy:
        runtime.warm_clip_renders()  # its Blender starts while the jobs are queued
    jobs: list[Job] = []
    for index, chosen in enumerate(plan.ranges):
        above = source_channel(scene, chosen.frames, list(chosen.strip_names))
        group_id = new_job_id() if len(pairs) > 1 else ""
        takes_before = len(jobs)
        for provider_id, take in pairs:
            request = build_request(scene, provider_id, chosen, take)
            label = f"{provider_info(provider_id).label}" + (f" take {take + 1}" if variations > 1 else "")
            if each_strip:
                label = f"{chosen.strip_names[0]} · {label}"
            job = Job.create(
                request, chosen.frames, chosen.fps, blend_path=bpy.data.filepath, scene_name=scene.name,
                edit_id=edit_id_for(scene),  # the job follows this edit through Save As (edit_identity)
                channel=above, label=label, group_id=group_id, take_index=len(jobs) - takes_before,
                take_label=provider_info(provider_id).label if len(provider_ids) > 1 else f"take {take + 1}",
                batch_id=batch_id, hosts=list(hosts[provider_id]),
                # Kept in the ledger, so a job resumed after a restart can still render its clip.
                extra={"source_strips": list(chosen.strip_names), "clip_source": blend_copy,
                       "clip_short_side": short_side, "clip_colour": colour},
            )
            jobs.append(engine.enqueue(job, chunk_ranges=plan.chunks[(index, provider_id)]))
    runtime.note_jobs(jobs)  # the job list counts them before their first event
    return jobs


def _hosts_of_jobs(context: Any, scene: Any, provider_ids: Sequence[str]) -> dict[str, list[str]]:
    """"Any host" (issue 14 item 6): each provider's jobs carry the hosts of its model usable now,
    chosen first. A host compared in the same Generate is never another's fallback: a comparison
    of hosts must not end up made by one of them."""
    if not getattr(scene.foley, "any_host", False):
        return {pid: [] for pid in provider_ids}
    values = preferences.provider_prefs(context)
    hosts: dict[str, list[str]] = {}
    for pid in provider_ids:
        usable = [host for host in job_hosts(pid, values) if host == pid or host not in provider_ids]
        hosts[pid] = usable if len(usable) > 1 else []
    return hosts


def generation_plan_for(context: Any, scene: Any, providers: str, frame_start: int,
                        frame_end: int) -> GenerationPlan | None:
    """The plan an interactive Generate would make now; None when the input is wrong (execute says so)."""
    if scene is None:
        return None
    try:
        ids = requested_providers(providers, scene.foley.provider)
        ranges = choose_ranges(context, scene, frame_start, frame_end)
        each_strip = ranges[0].source == "strip"
        try:
            return plan_generation(scene, ranges, ids, each_strip=each_strip)
        except InputError:
            if each_strip:
                raise
        except ConfigError:  # no key yet, say: the count and price are still worth showing
            pass
        return plan_generation(scene, ranges, ids, each_strip=each_strip, validate=False)
    except (FoleyError, ValueError):
        return None


def cost_above_threshold(context: Any, scene: Any, providers: str, frame_start: int, frame_end: int) -> str:
    """The estimate's text when it is known and above the preference's limit, else ""."""
    prefs = preferences.addon_preferences(context)
    if prefs is None or prefs.confirm_cost_above <= 0 or scene is None:
        return ""
    plan = generation_plan_for(context, scene, providers, frame_start, frame_end)
    if plan is None:
        return ""  # execute reports it
    estimate = plan.cost(preferences.fill_short_results())
    if estimate.total is None or estimate.total <= prefs.confirm_cost_above:
        return ""
    return estimate.text


def confirmation_question(context: Any, scene: Any, providers: str, frame_start: int, frame_end: int) -> str:
    """What an interactive Generate must ask before it spends ("" when it may just run).

    Asked when the request makes more calls than the *Ask above requests*
    preference (even at an unknown price) or costs more than *Confirm above*, and
    (one sound per strip) when some strips break a limit: the question names them
    and its confirmation goes on without them. Invalid input gives "" too: execute
    reports it as a sentence.
    """
    plan = generation_plan_for(context, scene, providers, frame_start, frame_end)
    if plan is None:
        return ""
    requests = plan.requests
    if requests.too_long():
        return ""  # refused by execute with its sentence, nothing to confirm
    estimate = plan.cost(preferences.fill_short_results())
    prefs = preferences.addon_preferences(context)
    cost_limit = float(prefs.confirm_cost_above) if prefs is not None else 0.0
    too_costly = estimate.total is not None and cost_limit > 0 and estimate.total > cost_limit
    if not too_costly and not needs_question(requests, ask_above_requests(context)) and not plan.unfit:
        return ""
    text = request_question(requests, estimate.price_text, estimate.possible_extra_calls)
    if plan.unfit:
        text = f"{plan.unfit_sentence()}. Go on without them? {text}"
    return text


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
