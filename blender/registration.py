"""Register and unregister everything, leaving Blender exactly as it was."""

from __future__ import annotations

from typing import Any

import bpy

from .. import preferences, properties
from ..operators import classes as operator_classes
from ..panels import classes as panel_classes
from ..panels import menus
from . import handlers, keymaps, runtime


def register() -> None:
    properties.register()
    # the vendor preferences come from the registered vendor specs; preferences.py imports no UI
    preferences.prepare(draw=_draw_preferences, limits_changed=runtime.apply_account_limits,
                        fill_changed=runtime.apply_fill_short)
    for cls in (*preferences.classes, *operator_classes, *panel_classes):
        bpy.utils.register_class(cls)
    menus.register()
    keymaps.register()
    runtime.start()  # the session (before the handlers that use it): warm-up thread now, engine on first use
    handlers.register()


def _draw_preferences(prefs: Any, context: Any, layout: Any) -> None:
    from ..panels.preferences_ui import draw_preferences  # loaded on first draw, not at registration

    draw_preferences(prefs, context, layout)


def unregister() -> None:
    handlers.unregister()
    runtime.end()  # workers stopped, ledger closed, nothing kept
    keymaps.unregister()
    menus.unregister()
    for cls in (*preferences.classes, *operator_classes, *panel_classes)[::-1]:
        bpy.utils.unregister_class(cls)
    properties.unregister()
    from . import previews  # loaded by the first job row drawn, not at registration

    previews.unregister()
