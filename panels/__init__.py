"""The extension's UI: the Sequencer sidebar tab, the strip right-click menu and
the preferences drawing. Panels read state and draw it; operators act.

``classes`` is the registration order (a parent panel before its sub-panels);
``menus`` appends to Blender's own menu separately.
"""

from __future__ import annotations

from .sidebar import classes

__all__ = ["classes"]
