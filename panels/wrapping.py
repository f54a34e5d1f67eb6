"""Sentences in narrow panels: Blender labels never wrap, so we split them ourselves."""

from __future__ import annotations

import textwrap
from typing import Any

#: Characters per line in the sidebar at its default width (about 300 px at UI scale 1).
DEFAULT_WIDTH = 40
#: Rough width of one character in pixels at UI scale 1 (Blender's default font).
CHAR_PIXELS = 7.0


def chars_for(context: Any, fallback: int = DEFAULT_WIDTH) -> int:
    """How many characters fit on one label line in the current region."""
    region = getattr(context, "region", None)
    width = getattr(region, "width", 0) or 0
    if width <= 0:
        return fallback
    preferences = getattr(context, "preferences", None)
    scale = getattr(getattr(preferences, "view", None), "ui_scale", 1.0) or 1.0
    # the margins and an icon take roughly 40 px
    return max(16, int((width - 40) / (CHAR_PIXELS * scale)))


def draw_wrapped(layout: Any, text: str, *, icon: str = "NONE", width: int = DEFAULT_WIDTH,
                 alert: bool = False) -> None:
    """A sentence as consecutive labels; the icon sits on the first line, later lines are indented."""
    lines = textwrap.wrap(text, width=max(8, width)) or [""]
    column = layout.column(align=True)
    column.alert = alert
    for index, line in enumerate(lines):
        if index == 0:
            column.label(text=line, icon=icon)
        else:
            # BLANK1 keeps continuation lines aligned with the text after the icon
            column.label(text=line, icon="BLANK1" if icon != "NONE" else "NONE")
