"""How a sound strip made by VSE Foley is recognised: its metadata lives under
one custom property. Kept tiny because menus and panel polls need it at once."""

from __future__ import annotations

from typing import Any

from .. import compat

METADATA_KEY = "vse_foley"
#: the strip's name when it was inserted; a copy (Shift+D, copy/paste) keeps the metadata, not the name
INSERTED_NAME_KEY = "strip_name"
#: the scene's edit id (``blender.edit_identity``), duplicated here to keep this module light
EDIT_ID_KEY = "vse_foley_edit_id"


def foley_strip(context: Any) -> Any:
    """The active strip when it is a sound strip made by VSE Foley, else None."""
    strip = compat.active_strip(context)
    if strip is None or strip.type != "SOUND" or METADATA_KEY not in strip:
        return None
    return strip


def is_take(scene: Any, strip: Any) -> bool:
    """True for the strip that was inserted as a take, False for a copy of it.

    Shift+D and copy/paste keep every custom property, so the metadata alone cannot
    tell them apart: the inserted strip is the one still carrying the name it was
    inserted under, in a scene of the edit it was made for (a copy pasted into
    another scene, or into another file, may keep the name but not the scene's id).
    Strips from older versions recorded neither and count as takes.
    """
    meta = strip.get(METADATA_KEY) if strip is not None else None
    if meta is None:
        return False
    recorded = meta.get(INSERTED_NAME_KEY, "")
    if recorded and recorded != strip.name:
        return False
    edit_id = meta.get("edit_id", "")
    return not edit_id or scene.get(EDIT_ID_KEY, "") == edit_id
