"""How a sound strip made by VSE Foley is recognised: its metadata lives under
one custom property. Kept tiny because menus and panel polls need it at once."""

from __future__ import annotations

from typing import Any

from .. import compat

METADATA_KEY = "vse_foley"


def foley_strip(context: Any) -> Any:
    """The active strip when it is a sound strip made by VSE Foley, else None."""
    strip = compat.active_strip(context)
    if strip is None or strip.type != "SOUND" or METADATA_KEY not in strip:
        return None
    return strip
