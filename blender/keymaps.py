"""The shortcut: one keymap item in the add-on keyconfig, removed on unregister.

Ctrl+Shift+F in the Sequencer is free in Blender's default keymap on 4.2-5.2
(F alone is "fades", Shift+F the fit operators, Ctrl+F find/filter in other
editors), so it does not shadow anything an editor uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import bpy

from .. import compat

if TYPE_CHECKING:  # a TypedDict class costs ~0.3 ms to make: registration needs only the dict
    from typing import Literal, TypedDict

    class Shortcut(TypedDict):
        type: Literal["F"]
        value: Literal["PRESS"]
        ctrl: bool
        shift: bool


DEFAULT_SHORTCUT: Shortcut = {"type": "F", "value": "PRESS", "ctrl": True, "shift": True}

_items: list[tuple[Any, Any]] = []


def register() -> None:
    window_manager = bpy.context.window_manager
    keyconfig = window_manager.keyconfigs.addon if window_manager is not None else None
    if keyconfig is None:  # real Blender started with -b has no add-on keyconfig
        return
    name, space_type = compat.SEQUENCER_KEYMAP
    keymap = keyconfig.keymaps.new(name=name, space_type=space_type)
    item = keymap.keymap_items.new("foley.generate", **DEFAULT_SHORTCUT)
    if item.properties is not None:  # None only for an operator that is not registered
        item.properties.show_dialog = True
    _items.append((keymap, item))


def unregister() -> None:
    for keymap, item in _items:
        keymap.keymap_items.remove(item)
    _items.clear()


def registered_items() -> list[tuple[Any, Any]]:
    return list(_items)
