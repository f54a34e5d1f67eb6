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
from ..core import checks
from ..core.checks import characters_left, limit_text
from ..providers import provider_info
from ..providers.base import FieldKind, FieldSpec, ProviderInfo

__all__ = ["characters_left", "draw_provider_fields", "field_problems", "limit_text", "range_notes",
           "range_problems", "requested_seconds"]
from ..providers.errors import ConfigError
from .wrapping import DEFAULT_WIDTH, draw_wrapped

_SOURCE_HINTS = {
    "selection": "the selected strips",
    "preview": "the preview range (select strips to use them instead)",
    "scene": "the scene range (select strips or set a preview range to narrow it)",
    "frames": "the frames given to the operator",
}


# -- the checks (pure, in core/checks.py), fed from ``scene.foley`` -------------------------

def characters_text(left: int, max_length: int) -> str:
    if left >= 0:
        return f"{left} of {max_length} characters left"
    return f"{-left} characters over the {max_length} limit"


def field_values(info: ProviderInfo, settings: Any) -> dict[str, Any] | None:
    """The provider's field values from ``settings`` (``scene.foley``); None without settings."""
    if settings is None:
        return None
    names = {spec.name for spec in info.fields} | {"duration"}
    return {name: getattr(settings, name, None) for name in names}


def field_problems(info: ProviderInfo, settings: Any) -> list[str]:
    """Values the provider would refuse (``checks.field_problems`` on ``settings``' values)."""
    return checks.field_problems(info, field_values(info, settings))


def requested_seconds(info: ProviderInfo, chosen: ChosenRange, settings: Any) -> float:
    """Seconds the vendor is asked for (``checks.requested_seconds``)."""
    return checks.requested_seconds(info, chosen.seconds, field_values(info, settings))


def range_problems(info: ProviderInfo, chosen: ChosenRange | None, settings: Any = None) -> list[str]:
    """Why Generate would fail for this range and these settings (``checks.range_problems``)."""
    count = event_count_in(settings, chosen) if chosen is not None and info.input == "timeline" else None
    return checks.range_problems(info, chosen.seconds if chosen is not None else None,
                                 field_values(info, settings), count)


def range_notes(info: ProviderInfo, chosen: ChosenRange | None, settings: Any = None) -> list[str]:
    """Things worth knowing that do not stop Generate (``checks.range_notes``)."""
    count = event_count_in(settings, chosen) if chosen is not None and info.input == "timeline" else None
    return checks.range_notes(info, chosen.seconds if chosen is not None else None,
                              field_values(info, settings), count)


def event_count_in(settings: Any, chosen: ChosenRange) -> int | None:
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
    out_of_range = bool(checks.number_problem(info, spec, float(getattr(settings, spec.name))))
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
