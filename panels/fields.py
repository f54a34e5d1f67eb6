"""A provider's inputs, drawn only from its FieldSpecs, so a new provider needs no UI code.

Used by the sidebar and by the right-click dialog (``foley.generate`` with
``show_dialog``). Limits are shown where the user types: characters left for
text with a maximum, the allowed range for numbers. The scene properties are
as wide as the widest provider (see properties.py), so the per-provider limit
is checked here, live, before anything is sent.
"""

from __future__ import annotations

from typing import Any

from ..blender.selection import ChosenRange
from ..core.chunks import chunk_limits, plan_chunk_seconds
from ..providers import provider_info
from ..providers.base import FieldKind, FieldSpec, ProviderInfo
from ..providers.errors import ConfigError
from .wrapping import DEFAULT_WIDTH, draw_wrapped

_SOURCE_HINTS = {
    "selection": "the selected strips",
    "preview": "the preview range (select strips to use them instead)",
    "scene": "the scene range (select strips or set a preview range to narrow it)",
    "frames": "the frames given to the operator",
}


# -- limits as text -----------------------------------------------------------------------

def _number(value: float, kind: FieldKind) -> str:
    return str(int(value)) if kind is FieldKind.INT else f"{value:g}"


def limit_text(spec: FieldSpec) -> str:
    """The allowed range of a number field ("4–50", "≥ 1", "≤ 10"); "" when unbounded."""
    low = spec.minimum
    if spec.name == "seed" and low is not None and low < 0:
        low = 0  # -1 is the Random toggle, not a seed the user types
    high = spec.maximum
    if low is not None and high is not None:
        return f"{_number(low, spec.kind)}–{_number(high, spec.kind)}"
    if low is not None:
        return f"≥ {_number(low, spec.kind)}"
    if high is not None:
        return f"≤ {_number(high, spec.kind)}"
    return ""


def characters_left(spec: FieldSpec, value: str) -> int | None:
    """Characters still allowed (negative when over); None when the vendor sets no limit."""
    if spec.max_length is None:
        return None
    return spec.max_length - len(value)


def characters_text(left: int, max_length: int) -> str:
    if left >= 0:
        return f"{left} of {max_length} characters left"
    return f"{-left} characters over the {max_length} limit"


def _seconds(value: float) -> str:
    return f"{value:g} s"


# -- live checks --------------------------------------------------------------------------

def _field_value(settings: Any, name: str) -> Any:
    return getattr(settings, name, None) if settings is not None else None


def field_problems(info: ProviderInfo, settings: Any) -> list[str]:
    """Values the provider would refuse: text over its limit, numbers out of its range, a missing prompt."""
    problems: list[str] = []
    if settings is None:
        return problems
    for spec in info.fields:
        value = _field_value(settings, spec.name)
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
            problem = _number_problem(info, spec, float(value))
            if problem:
                problems.append(problem)
    return problems


def _number_problem(info: ProviderInfo, spec: FieldSpec, value: float) -> str:
    if spec.name == "seed" and value < 0:
        return ""  # random
    if spec.name == "duration" and value == 0:
        return ""  # 0: the range length, checked with the range
    too_low = spec.minimum is not None and value < spec.minimum
    too_high = spec.maximum is not None and value > spec.maximum
    if not (too_low or too_high):
        return ""
    unit = " s" if spec.name == "duration" else ""
    return (f"{spec.label} is {_number(value, spec.kind)}{unit}; {info.label} allows "
            f"{limit_text(spec)}{unit}.")


def requested_seconds(info: ProviderInfo, chosen: ChosenRange, settings: Any) -> float:
    """Seconds the vendor is asked for: the Duration field when the provider has one and it is set
    (the same rule as ``blender.request_builder.build_request``), else the range length."""
    duration = _field_value(settings, "duration") if info.field("duration") is not None else None
    if duration:
        return float(duration)
    return chosen.seconds


def range_problems(info: ProviderInfo, chosen: ChosenRange | None, settings: Any = None) -> list[str]:
    """Why Generate would fail for this range (and these settings): shown live, before the click.

    A range longer than the provider's maximum is NOT a problem (the engine
    splits it into chunks); see ``range_notes``.
    """
    problems: list[str] = []
    if chosen is not None:
        seconds = requested_seconds(info, chosen, settings)
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
        if info.input == "timeline":
            count = _event_count(settings, chosen)
            if count == 0:
                problems.append("There are no sound events in the range: add text strips (their text is "
                                "what is heard, their span is when) or markers.")
    problems += field_problems(info, settings)
    return problems


def range_notes(info: ProviderInfo, chosen: ChosenRange | None, settings: Any = None) -> list[str]:
    """Things worth knowing that do not stop Generate (chunking, no picture, events found)."""
    notes: list[str] = []
    if chosen is None:
        return notes
    seconds = requested_seconds(info, chosen, settings)
    low, high = chunk_limits(info)
    at_cuts = _cut_chunks(info, chosen) if seconds == chosen.seconds and chosen.cuts else None
    if seconds > high and seconds >= info.min_seconds and at_cuts:
        notes.append(at_cuts)
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
    elif info.input == "timeline":
        count = _event_count(settings, chosen)
        if count:
            notes.append(f"{count} sound event{'s' if count != 1 else ''} from text strips and markers.")
    return notes


def _cut_chunks(info: ProviderInfo, chosen: ChosenRange) -> str:
    """The chunking note when the range's chunks follow its cuts (``core.shots``); "" otherwise."""
    from ..core.request_plan import chunk_ranges
    from ..core.shots import cut_joins

    chunks = chunk_ranges(info, chosen.frames, chosen.fps, chosen.cuts)
    on_cuts = sum(cut_joins(chunks))
    if len(chunks) < 2 or not on_cuts:
        return ""
    return (f"Longer than {info.label}'s {_seconds(chunk_limits(info)[1])}: made as {len(chunks)} chunks, "
            f"{on_cuts} of them split at the picture's cuts, joined into one strip.")


def _event_count(settings: Any, chosen: ChosenRange) -> int | None:
    """Text strips and markers in the range (None when the scene is not reachable)."""
    scene = getattr(settings, "id_data", None)  # a PropertyGroup's owner: the scene
    if scene is None or not hasattr(scene, "timeline_markers"):
        return None
    from ..blender.selection import timed_events

    try:
        return len(timed_events(scene, chosen))
    except (AttributeError, ValueError):
        return None


# -- drawing ------------------------------------------------------------------------------

def draw_provider_fields(layout: Any, settings: Any, provider_id: str, chosen: ChosenRange | None, *,
                         width: int = DEFAULT_WIDTH) -> None:
    """Draw ``provider_id``'s inputs from ``settings`` (``scene.foley``), then the range and its checks."""
    try:
        info = provider_info(provider_id)
    except ConfigError as error:
        draw_wrapped(layout, str(error), icon="ERROR", width=width, alert=True)
        return
    column = layout.column()
    for spec in info.fields:
        if not hasattr(settings, spec.name):
            # a provider newer than the scene properties: say so instead of failing the whole panel
            column.label(text=f"{spec.label}: not available in this version", icon="ERROR")
        elif spec.name == "seed":
            _draw_seed(column, settings, spec)
        elif spec.kind is FieldKind.TEXT:
            _draw_text(column, settings, spec, info)
        elif spec.kind in (FieldKind.INT, FieldKind.FLOAT):
            _draw_number(column, settings, spec, info, chosen)
        else:  # BOOL, CHOICE
            column.prop(settings, spec.name, text=spec.label)
    if chosen is not None:
        draw_range(layout, info, chosen, settings, width=width)


def _draw_text(layout: Any, settings: Any, spec: FieldSpec, info: ProviderInfo) -> None:
    value = str(getattr(settings, spec.name))
    header = layout.row()
    header.label(text=spec.label)
    left = characters_left(spec, value)
    hints = header.row()
    hints.alignment = "RIGHT"
    if spec.required and not value.strip():
        hints.label(text="Required")
    if left is not None and spec.max_length is not None:
        counter = hints.row()
        counter.alert = left < 0
        counter.label(text=characters_text(left, spec.max_length))
    field = layout.row()
    field.alert = left is not None and left < 0
    field.prop(settings, spec.name, text="")


def _draw_seed(layout: Any, settings: Any, spec: FieldSpec) -> None:
    row = layout.row(align=True)
    value = row.row(align=True)
    random = bool(getattr(settings, "random_seed", False))
    value.enabled = not random  # the seed is ignored while Random is on
    limits = limit_text(spec)
    value.prop(settings, spec.name, text=f"{spec.label} ({limits})" if limits else spec.label)
    if hasattr(settings, "random_seed"):
        row.prop(settings, "random_seed", text="Random", toggle=True)


def _draw_number(layout: Any, settings: Any, spec: FieldSpec, info: ProviderInfo,
                 chosen: ChosenRange | None) -> None:
    limits = limit_text(spec)
    unit = " s" if spec.name == "duration" else ""
    label = f"{spec.label} ({limits}{unit})" if limits else spec.label
    out_of_range = bool(_number_problem(info, spec, float(getattr(settings, spec.name))))
    row = layout.row()
    row.alert = out_of_range
    row.prop(settings, spec.name, text=label)
    if out_of_range:
        layout.label(text=f"{info.label} allows {limits}{unit}", icon="ERROR")
    if spec.name == "duration" and not getattr(settings, spec.name):
        hint = f" ({chosen.seconds:.2f} s)" if chosen is not None else ""
        layout.label(text=f"0 uses the range length{hint}", icon="INFO")


def draw_range(layout: Any, info: ProviderInfo, chosen: ChosenRange, settings: Any = None, *,
               width: int = DEFAULT_WIDTH) -> None:
    """The frames that will be used, where they came from, and live warnings about them."""
    box = layout.box()
    box.label(text=f"Frames {chosen.frames.start}–{chosen.frames.end} ({chosen.seconds:.2f} s)", icon="TIME")
    source = _SOURCE_HINTS.get(chosen.source, chosen.source)
    if chosen.source == "selection" and chosen.strip_names:
        count = len(chosen.strip_names)
        source = f"{count} selected strip{'s' if count != 1 else ''}"
    draw_wrapped(box, f"From {source}", width=width)
    for note in range_notes(info, chosen, settings):
        draw_wrapped(box, note, icon="INFO", width=width)
    field_sentences = set(field_problems(info, settings))
    for problem in range_problems(info, chosen, settings):
        if problem not in field_sentences:  # field problems are shown at their field
            draw_wrapped(box, problem, icon="ERROR", width=width, alert=True)
