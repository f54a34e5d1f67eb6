"""Register and unregister everything, leaving Blender exactly as it was."""

from __future__ import annotations

import bpy

from .. import preferences, properties
from ..operators import classes as operator_classes
from ..panels import classes as panel_classes
from ..panels import menus, preferences_ui
from . import handlers, keymaps, previews, runtime


def register() -> None:
    properties.register()
    # the vendor preferences come from the registered vendor specs; preferences.py imports no UI
    preferences.prepare(draw=preferences_ui.draw_preferences, limits_changed=runtime.apply_account_limits,
                        fill_changed=runtime.apply_fill_short)
    for cls in (*preferences.classes, *operator_classes, *panel_classes):
        bpy.utils.register_class(cls)
    menus.register()
    keymaps.register()
    handlers.register()
    runtime.warm_up_in_background()


def unregister() -> None:
    handlers.unregister()
    runtime.shutdown()
    keymaps.unregister()
    menus.unregister()
    for cls in (*preferences.classes, *operator_classes, *panel_classes)[::-1]:
        bpy.utils.unregister_class(cls)
    properties.unregister()
    previews.unregister()
