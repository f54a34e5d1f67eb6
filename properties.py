"""``scene.foley``: the generation settings, saved with the .blend (never keys).

The option properties are made from the providers' capability descriptions, so
a new provider's fields appear here (and in the panel) without UI code. Names
are the capability field names and are part of the scripting API:
``scene.foley.provider``, ``.prompt``, ``.seed`` (-1 = random), ``.top_k``...
"""

from __future__ import annotations

from typing import Any

import bpy

from .providers import PROVIDER_IDS, all_provider_infos
from .providers.base import FieldKind, FieldSpec
from .providers.catalog import SEED_MAX
from .providers.model_hosts import menu_groups

# Properties whose meaning is shared by every provider, drawn specially by the panel.
COMMON_FIELDS = ("prompt", "bgm_prompt", "negative_prompt", "seed", "duration")



def _provider_items() -> list[tuple[str, str, str, int] | None]:
    """The provider menu, hosts of one model together under the model's name (issue 14 item 6).

    Blender's EnumProperty items: ``None`` is a separator, and "a regular item tuple with an empty
    identifier string, in which case the name, if non-empty, will be displayed in the UI above the
    separator line" is a heading (bpy.props.EnumProperty's docstring, source/blender/python/intern/
    bpy_props.cc; the same text in the API docs of 4.2 to 5.1). Each provider keeps its identifier
    AND the number it had when the list was flat (its place in ``PROVIDER_IDS``): a saved .blend
    stores the number, so inserting headings must not shift it; headings get numbers no provider has.
    """
    infos = {info.id: info for info in all_provider_infos()}
    items: list[tuple[str, str, str, int] | None] = []
    previous_named = False
    for index, (model, hosts) in enumerate(menu_groups()):
        if model:
            items.append(("", model, "", _HEADING_NUMBERS + index))
        elif previous_named:
            items.append(None)  # the models after a group are not its hosts
        previous_named = bool(model)
        for provider_id in hosts:
            info = infos[provider_id]
            items.append((info.id, info.label, info.description, PROVIDER_IDS.index(provider_id)))
    return items


#: headings' numbers start here: far above any provider's (a stored number is always a provider's)
_HEADING_NUMBERS = 10_000


def _random_seed_get(self: Any) -> bool:
    return bool(self.seed < 0)


def _random_seed_set(self: Any, value: bool) -> None:
    if value:
        self.seed = -1
    elif self.seed < 0:
        self.seed = 1


def _merged_specs() -> dict[str, list[FieldSpec]]:
    """Every option name with all providers' specs for it (ranges differ per vendor)."""
    merged: dict[str, list[FieldSpec]] = {}
    for info in all_provider_infos():
        for spec in info.fields:
            merged.setdefault(spec.name, []).append(spec)
    return merged


def _option_property(name: str, specs: list[FieldSpec]) -> Any:
    """One Blender property wide enough for every provider that takes ``name``.

    Each provider's own limit is checked (and shown) per provider, before sending.
    """
    first = specs[0]
    description = first.description
    if first.kind is FieldKind.BOOL:
        return bpy.props.BoolProperty(name=first.label, description=description, default=bool(first.default))
    if first.kind is FieldKind.CHOICE:
        items = [(value, label, "") for value, label in first.choices]
        return bpy.props.EnumProperty(name=first.label, description=description, items=items,
                                      default=str(first.default or items[0][0]))
    lows = [spec.minimum for spec in specs if spec.minimum is not None]
    highs = [spec.maximum for spec in specs if spec.maximum is not None]
    limits: dict[str, Any] = {}
    if first.kind is FieldKind.INT:
        if lows:
            limits["min"] = int(min(lows))
        if highs:
            limits["max"] = int(max(highs))
        return bpy.props.IntProperty(name=first.label, description=description,
                                     default=int(first.default or 0), **limits)
    if first.kind is FieldKind.FLOAT:
        if lows:
            limits["min"] = float(min(lows))
        if highs:
            limits["max"] = float(max(highs))
        return bpy.props.FloatProperty(name=first.label, description=description,
                                       default=float(first.default or 0.0), **limits)
    return bpy.props.StringProperty(name=first.label, description=description,
                                    default=str(first.default or ""))


def _annotations() -> dict[str, Any]:
    # The stubs say bpy.props.* return None; they return deferred definitions, hence the ignores.
    annotations: dict[str, Any] = {
        "provider": bpy.props.EnumProperty(  # type: ignore[func-returns-value]
            name="Provider", description="The service and model that makes the sound",
            items=_provider_items(), default=PROVIDER_IDS[0]),
        # issue 14 item 6: may a job use another host of the chosen model (a key for it is set) when
        # the chosen host proves it made nothing? Off: the editor's choice of host is respected
        "any_host": bpy.props.BoolProperty(  # type: ignore[func-returns-value]
            name="Any host", description="When the chosen host is unavailable and made nothing, send the job "
            "to another host of the same model that you have a key for (never after an uncertain answer)",
            default=False),
        "prompt": bpy.props.StringProperty(  # type: ignore[func-returns-value]
            name="Prompt", description="What should be heard"),
        "bgm_prompt": bpy.props.StringProperty(  # type: ignore[func-returns-value]
            name="Music prompt", description="Background music (the providers that take a music prompt)"),
        "negative_prompt": bpy.props.StringProperty(  # type: ignore[func-returns-value]
            name="Negative prompt", description="Sounds to avoid"),
        "seed": bpy.props.IntProperty(  # type: ignore[func-returns-value]
            name="Seed", description="Same seed and input give the same sound; -1 picks one at random",
            default=-1, min=-1, max=SEED_MAX),
        "random_seed": bpy.props.BoolProperty(  # type: ignore[func-returns-value]
            name="Random", description="Pick a new seed for every generation",
            get=_random_seed_get, set=_random_seed_set),
        "duration": bpy.props.FloatProperty(  # type: ignore[func-returns-value]
            name="Duration", description="Seconds of audio for text providers; 0 uses the range length",
            default=0.0, min=0.0, max=600.0, unit="TIME_ABSOLUTE"),
        "variations": bpy.props.IntProperty(  # type: ignore[func-returns-value]
            name="Variations", description="Takes to generate; each lands on its own channel, muted but one",
            default=1, min=1, max=4),
        "max_requests": bpy.props.IntProperty(  # type: ignore[func-returns-value]
            name="Max requests (scripts)",
            description="The most paid calls (chunks × takes × providers) a script's Generate may make; "
                        "0 uses the Ask above requests preference. Interactive Generate asks instead",
            default=0, min=0, max=100000),
        "each_strip": bpy.props.BoolProperty(  # type: ignore[func-returns-value]
            name="One sound per strip",
            description="Make one sound for each selected picture strip, over its own span, instead of "
                        "one sound over the whole selection (sound strips are ignored)",
            default=False),
        "fade_frames": bpy.props.IntProperty(  # type: ignore[func-returns-value]
            name="Fade frames", description="Volume fade in and out on inserted strips (0 = none)",
            default=2, min=0, max=48),
        # Unset, the preference "Loudness" applies; once set (sidebar or script) the scene's own wins.
        "loudness": bpy.props.EnumProperty(  # type: ignore[func-returns-value]
            name="Loudness", description="How loud new results play in this scene (strip volume only); "
            "unset, the preference applies",
            items=[("OFF", "Off", "As the vendor made them"),
                   ("MATCH_TAKES", "Match takes", "Takes of a group sit at the first take's level"),
                   ("TARGET", "Target", "Every result at the target loudness")], default="OFF"),
        "loudness_target": bpy.props.FloatProperty(  # type: ignore[func-returns-value]
            name="Loudness target", description="LUFS for Target (-23 broadcast, -16 web)",
            default=-23.0, min=-60.0, max=0.0, precision=1),
    }
    for name, specs in _merged_specs().items():
        if name not in annotations:
            annotations[name] = _option_property(name, specs)
    return annotations


_settings_class: type | None = None


def settings_class() -> type:
    """The PropertyGroup class (made once, at registration)."""
    global _settings_class  # noqa: PLW0603 - built once from the catalog at register time
    if _settings_class is None:
        # Named like Blender's own (``FOLEY_PG_…``): ``providers.settings.FoleySettings`` is the
        # resolved vendor configuration, a different thing. Only ``scene.foley`` is stored in files.
        _settings_class = type("FOLEY_PG_scene_settings", (bpy.types.PropertyGroup,),
                               {"__annotations__": _annotations()})
    return _settings_class


def option_names(provider_id: str) -> list[str]:
    """Names of the provider-specific options (stored in ``request.options``)."""
    from .providers import provider_info

    return [spec.name for spec in provider_info(provider_id).fields if spec.name not in COMMON_FIELDS]


def register() -> None:
    bpy.utils.register_class(settings_class())
    # Scene.foley is ours (unknown to the stubs), and the stubs say PointerProperty returns None.
    bpy.types.Scene.foley = bpy.props.PointerProperty(  # type: ignore[attr-defined,func-returns-value]
        type=settings_class())


def unregister() -> None:
    del bpy.types.Scene.foley  # type: ignore[attr-defined]
    bpy.utils.unregister_class(settings_class())
