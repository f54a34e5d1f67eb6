"""Host fallback (issue 14 item 6): a job with "any host" moves to the next host of its model when
the one it is on PROVES that its submit created nothing.

Proof is only (``falls_back``): the host's own "unavailable" refusal after the retries
(``ServiceUnavailableError``: WaveSpeed 5003, Kling 5001) or a connection that never sent the
request (``NetworkError`` from ``VendorHttp.submit``: refused, or the connect timed out). An
uncertain answer - 500/502/504, a bare 503, a timeout or reset after sending - is a
``SubmitUncertainError`` and never moves the job: it stays *may have been charged* (issue 9).
A busy refusal (429, ``VendorBusyError``) keeps its wait-and-resubmit on the same host.

The move is recorded (ledger first, through the engine's ``_update``) before anything is sent
again: the job's ``provider_id`` becomes the next host (so a resumed job polls the host it
reached), ``host_note`` says why, and the job is queued again on the next host's account, so
that account's slots and submit pacing apply and the old account's slot is given back by the
worker that stops. The clip is already rendered; the next host's provider uploads it to its own
upload host. A host that cannot take the request's values is skipped with a sentence.
Stdlib only, no bpy; ``move_to_next_host`` is called from ``core/job_steps.py``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..providers.base import ANSWER_STEM_OPTION, FieldKind, GenerationRequest, ProviderInfo
from ..providers.errors import FoleyError, NetworkError, ServiceUnavailableError, SubmitUncertainError
from ..providers.model_hosts import host_label, usable_hosts
from .checks import field_problems, provider_problem
from .jobs import Job, JobState

if TYPE_CHECKING:
    from .engine_parts import EngineParts

#: request options that belong to one submit, not to the user's request
_SUBMIT_OPTIONS = frozenset({ANSWER_STEM_OPTION, "external_task_id"})


def falls_back(error: BaseException) -> bool:
    """True when ``error`` from a submit proves the host created nothing AND another host may be
    tried: its own "unavailable" refusal, or a request that never left. Never an uncertain answer."""
    if isinstance(error, SubmitUncertainError):
        return False
    return isinstance(error, ServiceUnavailableError | NetworkError)


def why_unavailable(error: BaseException) -> str:
    """"HTTP 503: it refused the request" / "it could not be reached: the request never left"."""
    if isinstance(error, ServiceUnavailableError):
        return "HTTP 503: it refused the request"
    return "it could not be reached: the request never left"


def job_hosts(
    provider_id: str, prefs: Mapping[str, str], environ: Mapping[str, str] | None = None
) -> list[str]:
    """The hosts a new "any host" job may use, decided at enqueue: the chosen one first, then each
    other host of its model whose key (and upload host) is set; [] when there is no other."""
    hosts = usable_hosts(provider_id, lambda pid: not provider_problem(pid, prefs, environ))
    return list(hosts) if len(hosts) > 1 else []


def next_hosts(job: Job) -> list[str]:
    """The hosts after the one the job is on, in the order chosen at enqueue."""
    if job.provider_id not in job.hosts:
        return []
    return job.hosts[job.hosts.index(job.provider_id) + 1:]


def _default(info: ProviderInfo, name: str) -> Any:
    spec = info.field(name)
    return None if spec is None else spec.default


def unfit_reason(request: GenerationRequest, chosen: ProviderInfo, host: ProviderInfo) -> str:
    """Why ``host`` cannot take ``request`` (made for ``chosen``) as the editor asked; "" when it can.

    A value the host has no field for counts only when the editor set it (it differs from the
    chosen provider's default): dropping it silently would make another sound than asked for.
    """
    if not host.min_seconds <= request.duration <= host.max_seconds:
        return (f"{host.label} takes {host.min_seconds:g}–{host.max_seconds:g} s and this request is "
                f"{request.duration:.2f} s")
    if request.seed >= 0 and host.field("seed") is None:
        return f"{host.label} takes no seed (this request asks for seed {request.seed})"
    for name in ("bgm_prompt", "negative_prompt"):
        if getattr(request, name) and host.field(name) is None:
            spec = chosen.field(name)
            return f"{host.label} takes no {(spec.label if spec is not None else name).lower()}"
    for name, value in request.options.items():
        if name in _SUBMIT_OPTIONS or host.field(name) is not None:
            continue
        if value != _default(chosen, name) and name not in host.extra_options:
            spec = chosen.field(name)
            return f"{host.label} has no {spec.label if spec is not None else name} setting"
    values: dict[str, Any] = {"prompt": request.prompt, "bgm_prompt": request.bgm_prompt,
                              "negative_prompt": request.negative_prompt, "seed": request.seed}
    values.update({k: v for k, v in request.options.items() if k not in _SUBMIT_OPTIONS})
    for spec in host.fields:  # a choice the host does not offer
        value = values.get(spec.name)
        if spec.kind is FieldKind.CHOICE and value is not None and spec.choices and \
                value not in {choice for choice, _label in spec.choices}:
            return f"{host.label} does not offer {spec.label} '{value}'"
    problems = field_problems(host, values)
    return problems[0].rstrip(".") if problems else ""


def host_sentence(job: Job) -> str:
    """What the job row, the history and the strip say about the host: "" when it is the one chosen.

    "Made by fal.ai; WaveSpeed was unavailable (…), so nothing was charged there." once the
    result is in, "Sent to fal.ai instead: …" while it runs.
    """
    if not job.host_note:
        return ""
    if job.state in (JobState.READY, JobState.INSERTED) or job.audio_path:
        return f"Made by {_host_of(job.provider_id)}; {job.host_note}."
    return moved_note(job)


def moved_note(job: Job) -> str:
    """The note a job gets when it moves ("Sent to fal.ai instead: …"); "" for a job that never moved."""
    return f"Sent to {_host_of(job.provider_id)} instead: {job.host_note}." if job.host_note else ""


def _host_of(provider_id: str) -> str:
    try:
        return host_label(provider_id)
    except KeyError:
        return provider_id


def move_to_next_host(
    engine: EngineParts, job_id: str, chosen: ProviderInfo, request: GenerationRequest, error: BaseException
) -> bool:
    """After a submit refusal: queue the job on the next host that can take it (True), or say which
    hosts were skipped and return False (the caller ends the job with ``error``, as without any host).

    ``request`` is the one sent (with the clip); called on the worker, before the refusal is recorded.
    """
    job = engine._snapshot(job_id)
    if not falls_back(error) or not job.hosts:
        return False
    here = host_label(job.provider_id)
    notes = [n for n in [job.host_note] if n]
    notes.append(f"{here} was unavailable ({why_unavailable(error)}), so nothing was charged there")
    asked = replace(request, options={k: v for k, v in request.options.items() if k not in _SUBMIT_OPTIONS})
    for host in next_hosts(job):
        info = engine._provider_info(host) if engine._provider_info is not None else None
        if info is None:
            continue
        moved = replace(asked, provider_id=host)
        reason = unfit_reason(moved, chosen, info)
        if not reason:
            reason = _refused_by(engine, host, moved)
        if reason:
            notes.append(f"{host_label(host)} was skipped: {reason}")
            continue
        return _move(engine, job_id, job.provider_id, host, "; ".join(notes))
    if len(notes) > len([n for n in [job.host_note] if n]) + 1:  # some host was skipped: say which
        engine._update(job_id, host_note="; ".join(notes))
    return False


def _refused_by(engine: EngineParts, host: str, request: GenerationRequest) -> str:
    """The next host's own checks of the request (its key, the clip, its fields); sends nothing."""
    try:
        provider = engine._provider_factory(host)
    except FoleyError as exc:
        return str(exc).rstrip(".")
    try:
        provider.validate(request)
    except FoleyError as exc:
        return str(exc).rstrip(".")
    finally:
        with contextlib.suppress(Exception):
            provider.close()
    return ""


def _move(engine: EngineParts, job_id: str, old: str, host: str, note: str) -> bool:
    """Record the move, then queue the job on ``host``'s account (its slots and pacing apply)."""
    with engine._lock:
        job = engine._jobs[job_id]
        if job.state is JobState.CANCELLED or engine._stop.is_set():
            return False
        # the worker that stops counts itself off the NEW provider (core/job_steps.py ``_work``)
        engine._in_flight[old] = max(0, engine._in_flight.get(old, 1) - 1)
        engine._in_flight[host] = engine._in_flight.get(host, 0) + 1
        engine._update(  # the note (moved_note's sentence) is what the status bar says
            job_id, JobState.QUEUED, provider_id=host, request={**job.request, "provider_id": host},
            submit_attempted=False, submit_key="", keep_result=False, progress=None, retry_at=0.0,
            waiting_since=0.0, host_note=note, note=f"Sent to {_host_of(host)} instead: {note}.",
        )
        engine._schedule(job_id)  # starts once the worker on the old host has given its slot back
    return True
