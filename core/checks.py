"""Why Generate cannot run right now, as sentences: pure checks on plain values (no bpy).

The panels gather the values (preferences, ``scene.foley``'s fields, the chosen
range's length, the events found) and draw what these functions return; the
tests call them directly. Credentials are judged by the same code the providers
use (``providers.settings``: preference first, then the environment variable),
so the panel and the request never disagree, and every vendor's sentences come
from its ``VendorSpec``. Nothing here touches the network.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..providers import provider_info
from ..providers.base import FieldKind, FieldSpec, ProviderInfo
from ..providers.errors import ConfigError
from ..providers.host_choice import chosen_host_problem
from ..providers.settings import FoleySettings, resolve_settings
from ..providers.vendor_spec import ONLINE_ACCESS_PATH, VENDOR_SPECS, VendorSpec, upload_host_specs
from .chunks import chunk_limits, plan_chunk_seconds

__all__ = ["ONLINE_ACCESS_PATH", "Blocker", "credential_problem", "field_problems", "generate_blockers",
           "provider_problem", "range_notes", "range_problems", "upload_problem"]


@dataclass(frozen=True)
class Blocker:
    """One reason Generate cannot run. ``kind``: offline, scene, key, input or requests."""

    kind: str
    text: str


def env_is_set(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether an environment variable holds a value (the value itself is never shown)."""
    environ = os.environ if environ is None else environ
    return bool(str(environ.get(name, "") or "").strip())


# -- credentials --------------------------------------------------------------------------

def _resolve(prefs: Mapping[str, str], environ: Mapping[str, str] | None) -> FoleySettings | str:
    try:
        return resolve_settings(prefs, os.environ if environ is None else environ)
    except ConfigError as error:  # an unusable base URL or region: the sentence says which
        return str(error)


def credential_problem(vendor: str, prefs: Mapping[str, str],
                       environ: Mapping[str, str] | None = None) -> str:
    """The sentence saying which key ``vendor`` lacks; "" when its credentials are set."""
    settings = _resolve(prefs, environ)
    if isinstance(settings, str):
        return settings
    if vendor not in VENDOR_SPECS:
        return f"Unknown vendor '{vendor}'; known vendors: {', '.join(s.id for s in VENDOR_SPECS)}."
    try:
        settings.vendor(vendor).require_credentials()
    except ConfigError as error:
        return str(error)
    return ""


def upload_problem(vendor: str, prefs: Mapping[str, str], environ: Mapping[str, str] | None = None) -> str:
    """A vendor that fetches the clip by URL needs a usable upload host; "" when one is.

    Mirrors ``providers.upload_hosts.select_upload_host`` without creating an HTTP session.
    """
    settings = _resolve(prefs, environ)
    if isinstance(settings, str):
        return settings
    spec = VENDOR_SPECS.get(vendor)
    if spec is None or not spec.needs_upload:
        return ""
    alternative = f", {spec.upload_alternative}" if spec.upload_alternative else ""
    if settings.upload_host == "none":
        return (f"Direct {spec.label} needs the clip at a public URL, but the clip upload host is 'None'. "
                f"Choose 'Automatic' in the add-on preferences{alternative}.")
    hosts = [host for host in upload_host_specs() if settings.upload_host in ("auto", host.upload_host)]
    ready = [host for host in hosts if settings.vendor(host.id).ready]
    if ready:  # the host's own checks (an S3 endpoint must be https...), as select_upload_host makes them
        return chosen_host_problem(settings)
    if not hosts:
        return (f"Direct {spec.label} needs the clip at a public URL, and no upload host is "
                f"available{alternative}.")
    return _no_host_sentence(spec, hosts)


def _no_host_sentence(spec: VendorSpec, hosts: list[VendorSpec]) -> str:
    sets = hosts[0].requirement_sets()
    if len(hosts) == 1 and len(sets) == 1 and len(sets[0]) == 1:
        host, credential = hosts[0], hosts[0].credential(sets[0][0])
        return (f"Direct {spec.label} uploads the clip through {host.label}, and no {credential.label} "
                f"is set. Set {credential.env} or the {credential.label} in the add-on preferences.")
    labels = [host.label for host in hosts]
    names = labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} or {labels[-1]}"
    needs = "; or ".join(host.needs_text() for host in hosts)
    return (f"Direct {spec.label} uploads the clip through {names}, and none is set up. Set {needs} "
            "(or fill them in the add-on preferences).")


def provider_problem(provider_id: str, prefs: Mapping[str, str],
                     environ: Mapping[str, str] | None = None) -> str:
    """What ``provider_id`` is missing before it can run; "" when it is ready."""
    info = provider_info(provider_id)
    problem = credential_problem(info.vendor, prefs, environ)
    if not problem and info.needs_video:
        problem = upload_problem(info.vendor, prefs, environ)
    return problem


# -- the provider's fields ----------------------------------------------------------------

def number_text(value: float, kind: FieldKind) -> str:
    return str(int(value)) if kind is FieldKind.INT else f"{value:g}"


def limit_text(spec: FieldSpec) -> str:
    """The allowed range of a number field ("4–50", "≥ 1", "≤ 10"); "" when unbounded."""
    low = spec.minimum
    if spec.name == "seed" and low is not None and low < 0:
        low = 0  # -1 is the Random toggle, not a seed the user types
    high = spec.maximum
    if low is not None and high is not None:
        return f"{number_text(low, spec.kind)}–{number_text(high, spec.kind)}"
    if low is not None:
        return f"≥ {number_text(low, spec.kind)}"
    if high is not None:
        return f"≤ {number_text(high, spec.kind)}"
    return ""


def characters_left(spec: FieldSpec, value: str) -> int | None:
    """Characters still allowed (negative when over); None when the vendor sets no limit."""
    if spec.max_length is None:
        return None
    return spec.max_length - len(value)


def number_problem(info: ProviderInfo, spec: FieldSpec, value: float) -> str:
    """The sentence for a number outside the provider's range; "" when it is allowed."""
    if spec.name == "seed" and value < 0:
        return ""  # random
    if spec.name == "duration" and value == 0:
        return ""  # 0: the range length, checked with the range
    too_low = spec.minimum is not None and value < spec.minimum
    too_high = spec.maximum is not None and value > spec.maximum
    if not (too_low or too_high):
        return ""
    unit = " s" if spec.name == "duration" else ""
    return (f"{spec.label} is {number_text(value, spec.kind)}{unit}; {info.label} allows "
            f"{limit_text(spec)}{unit}.")


def field_problems(info: ProviderInfo, values: Mapping[str, Any] | None) -> list[str]:
    """Values the provider would refuse: text over its limit, numbers out of its range, a missing prompt.

    ``values``: field name -> value (``scene.foley``'s); None or a missing name: nothing to check.
    """
    problems: list[str] = []
    if values is None:
        return problems
    for spec in info.fields:
        value = values.get(spec.name)
        if value is None:
            continue
        if spec.kind is FieldKind.TEXT:
            text = str(value)
            left = characters_left(spec, text)
            if left is not None and left < 0:
                problems.append(f"{spec.label} is {len(text)} characters; {info.label} allows "
                                f"{spec.max_length}. Shorten it by {-left}.")
            if spec.required and not text.strip():
                problems.append(f"{info.label} needs a {spec.label.lower()}: describe what should be heard.")
        elif spec.kind in (FieldKind.INT, FieldKind.FLOAT):
            problem = number_problem(info, spec, float(value))
            if problem:
                problems.append(problem)
    return problems


# -- the range ----------------------------------------------------------------------------

def _seconds(value: float) -> str:
    return f"{value:g} s"


def requested_seconds(info: ProviderInfo, range_seconds: float, values: Mapping[str, Any] | None) -> float:
    """Seconds the vendor is asked for: the Duration field when the provider has one and it is set
    (the same rule as ``blender.request_builder.build_request``), else the range length."""
    duration = (values or {}).get("duration") if info.field("duration") is not None else None
    if duration:
        return float(duration)
    return range_seconds


def range_problems(info: ProviderInfo, range_seconds: float | None, values: Mapping[str, Any] | None = None,
                   event_count: int | None = None) -> list[str]:
    """Why Generate would fail for this range (``range_seconds``; None: no range) and these values.

    A range longer than the provider's maximum is NOT a problem (the engine
    splits it into chunks); see ``range_notes``. ``event_count``: the timed
    events in the range (None: unknown).
    """
    problems: list[str] = []
    if range_seconds is not None:
        seconds = requested_seconds(info, range_seconds, values)
        if seconds < info.min_seconds:
            problems.append(
                f"The range is {seconds:.2f} s; {info.label} needs at least {_seconds(info.min_seconds)}. "
                "Select longer strips or set a longer preview range.")
        elif seconds > info.max_seconds or seconds > chunk_limits(info)[1]:
            low, high = chunk_limits(info)
            try:
                plan_chunk_seconds(seconds, low, high)
            except ValueError as error:
                problems.append(str(error))
        if info.input == "timeline" and event_count == 0:
            problems.append("There are no sound events in the range: add text strips (their text is "
                            "what is heard, their span is when) or markers.")
    problems += field_problems(info, values)
    return problems


def seconds_text(seconds: float) -> str:
    """"20 s", "8.5 s": a limit as the sentences say it."""
    return _seconds(seconds)


def range_notes(info: ProviderInfo, range_seconds: float | None, values: Mapping[str, Any] | None = None,
                event_count: int | None = None, *, cut_note: str = "") -> list[str]:
    """Things worth knowing that do not stop Generate (chunking, no picture, events found).

    ``cut_note``: how a long range is split at the picture's cuts (``core.shots``), said
    instead of the even split when the chunks follow the cuts.
    """
    notes: list[str] = []
    if range_seconds is None:
        return notes
    seconds = requested_seconds(info, range_seconds, values)
    low, high = chunk_limits(info)
    if seconds > high and seconds >= info.min_seconds and cut_note:
        notes.append(cut_note)
    elif seconds > high and seconds >= info.min_seconds:
        try:
            chunks = plan_chunk_seconds(seconds, low, high)
        except ValueError:
            chunks = []
        if len(chunks) > 1:
            limit = (f"best length ({_seconds(high)})" if high < info.max_seconds
                     else f"maximum ({_seconds(high)})")
            average = sum(chunks) / len(chunks)
            notes.append(f"Longer than {info.label}'s {limit}: made as {len(chunks)} overlapping chunks of "
                         f"about {average:.1f} s each, joined into one strip.")
    if info.input == "text":
        notes.append("Made from the prompt alone (no picture), placed at the range start.")
    elif info.input == "timeline" and event_count:
        plural = "s" if event_count != 1 else ""
        notes.append(f"{event_count} sound event{plural} from text strips and markers.")
    return notes


# -- Generate -----------------------------------------------------------------------------

def generate_blockers(*, online: bool, scene_problem: str, provider_id: str, prefs: Mapping[str, str],
                      values: Mapping[str, Any] | None, range_seconds: float | None,
                      event_count: int | None = None, requests_problem: str = "",
                      environ: Mapping[str, str] | None = None, shots_problem: str = "") -> list[Blocker]:
    """Every reason Generate is unavailable, most fundamental first (empty: it can run).

    ``scene_problem``: why there is no scene to work on ("" when there is one);
    ``requests_problem``: the request plan's "too many paid calls" sentence ("" when fine);
    ``shots_problem``: with One sound per strip, why no selected strip can be sent ("" when fine;
    ``range_seconds`` is then None: each strip is checked on its own).
    """
    blockers: list[Blocker] = []
    if not online:
        blockers.append(Blocker("offline", f"Online access is off. Turn on {ONLINE_ACCESS_PATH}."))
    if scene_problem:
        blockers.append(Blocker("scene", scene_problem))
        return blockers
    try:
        info = provider_info(provider_id)
    except ConfigError as error:
        blockers.append(Blocker("input", str(error)))
        return blockers
    missing = provider_problem(info.id, prefs, environ)
    if missing:
        blockers.append(Blocker("key", missing))
    if shots_problem:
        blockers.append(Blocker("input", shots_problem))
    blockers += [Blocker("input", problem)
                 for problem in range_problems(info, range_seconds, values, event_count)]
    if requests_problem:
        blockers.append(Blocker("requests", requests_problem))
    return blockers
