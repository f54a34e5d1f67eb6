"""foley.test_connection: one cheap authenticated call to a vendor, off the main thread.

The vendor choices come from the registered vendor specs (``providers/vendor_spec.py``).
"""

import threading
from typing import Any

import bpy

from .. import preferences
from ..blender import runtime
from ..compat import OperatorResult

#: The last enum items handed to Blender: it keeps pointers to these strings, so Python must too
#: (bpy.props.EnumProperty: "a reference to the strings returned by the callback" must be kept).
_items: list[tuple[str, str, str]] = []


def vendor_items(_self: Any = None, _context: Any = None) -> list[tuple[str, str, str]]:
    """(id, label, "") for every vendor Test Connection can check, in registry order."""
    from ..providers.connection_test import vendors_to_probe  # not at registration: Blender asks when drawing

    items = [(spec.id, spec.label, "") for spec in vendors_to_probe()]
    if items != _items:
        _items[:] = items
    return _items


def _check_in_background(vendor: str, prefs: dict[str, str]) -> None:
    from ..providers.connection_test import check_connection
    from ..providers.errors import FoleyError

    try:
        runtime.post_message("INFO", f"Foley: {check_connection(vendor, prefs)}")
    except FoleyError as error:
        runtime.post_message("ERROR", f"Foley: {error}")
    except Exception as error:  # anything else still becomes a sentence for the user
        runtime.post_message("ERROR",
                             f"Foley: testing the {vendor} connection failed ({type(error).__name__}).")


class FOLEY_OT_test_connection(bpy.types.Operator):
    """Make one cheap authenticated request to check the key and the address (nothing is generated)"""

    bl_idname = "foley.test_connection"
    bl_label = "Test Connection"
    bl_options = {"INTERNAL"}  # noqa: RUF012 - Blender reads this class attribute

    vendor: bpy.props.EnumProperty(name="Vendor", items=vendor_items)  # type: ignore[valid-type]

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        if not bpy.app.online_access:
            cls.poll_message_set(preferences.offline_sentence())
            return False
        return True

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        runtime.refresh_preferences(context)
        prefs = runtime.preference_snapshot()
        # The answer arrives in the status bar through the pump; Blender never waits on the network.
        threading.Thread(target=_check_in_background, args=(self.vendor, prefs), daemon=True,
                         name=f"foley-test-{self.vendor}").start()
        self.report({"INFO"}, f"Foley: testing the {self.vendor} connection…")
        return {"FINISHED"}


classes = (FOLEY_OT_test_connection,)
