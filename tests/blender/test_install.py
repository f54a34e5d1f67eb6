"""The extension installs, registers and unregisters cleanly in real Blender."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import bpy
import pytest
from blender_harness import enabled_modules


def _foley_type_names() -> set[str]:
    return {name for name in dir(bpy.types) if name.startswith("FOLEY_")}


def _leftovers() -> dict[str, object]:
    """Everything the extension could leave behind in Blender."""
    keyconfig = bpy.context.window_manager.keyconfigs.addon
    keymap_items = []
    if keyconfig is not None:
        for keymap in keyconfig.keymaps:
            keymap_items += [item.idname for item in keymap.keymap_items if item.idname.startswith("foley.")]
    handlers = [
        f"{name}:{getattr(fn, '__module__', '')}"
        for name in dir(bpy.app.handlers)
        if not name.startswith("_") and isinstance(getattr(bpy.app.handlers, name), list)
        for fn in getattr(bpy.app.handlers, name)
        if "vse_foley" in getattr(fn, "__module__", "")
    ]
    menu = bpy.types.SEQUENCER_MT_context_menu
    menu_funcs = [fn for fn in getattr(menu.draw, "_draw_funcs", [])
                  if "vse_foley" in getattr(fn, "__module__", "")]
    return {
        "types": _foley_type_names(),
        "keymap_items": keymap_items,
        "handlers": handlers,
        "menu_funcs": menu_funcs,
        "scene_property": hasattr(bpy.types.Scene, "foley"),
    }


def test_installed_from_zip_and_enabled(installed_extension: str) -> None:
    assert installed_extension in enabled_modules()
    package = sys.modules[installed_extension]
    assert package.__file__ and "/extensions/user_default/vse_foley/" in package.__file__
    assert hasattr(bpy.types, "FOLEY_OT_generate")
    assert hasattr(bpy.types.Scene, "foley")


def test_bundled_wheels_install_for_this_python_only(installed_extension: str) -> None:
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    local = Path(bpy.utils.user_resource("EXTENSIONS", path=".local"))
    site = local / "lib" / f"python{version}" / "site-packages"
    assert (site / "pydantic").is_dir() and (site / "jwt").is_dir()
    core = site / "pydantic_core"
    binaries = list(core.glob("_pydantic_core*.so")) + list(core.glob("_pydantic_core*.pyd"))
    tag = f"cpython-{sys.version_info.major}{sys.version_info.minor}"
    assert binaries and all(tag in path.name for path in binaries), binaries
    # Import from Blender's extension site-packages with the venv hidden (-S): the bundled wheels suffice.
    code = (f"import sys; sys.path.insert(0, {str(site)!r}); import pydantic, pydantic_core, jwt; "
            "from pydantic import BaseModel, Field\n"
            "class M(BaseModel):\n    x: int = Field(le=3)\n"
            "assert M(x=2).x == 2; print(pydantic.__file__)")
    result = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith(str(site))


def test_providers_load_pydantic_inside_the_extension(installed_extension: str) -> None:
    kling = importlib.import_module(installed_extension + ".providers.kling")
    assert kling.__name__.startswith("bl_ext.user_default.vse_foley.")


def test_preferences_live_under_the_package(installed_extension: str) -> None:
    addon = bpy.context.preferences.addons[installed_extension]
    prefs = addon.preferences
    assert prefs.bl_rna.identifier == "FOLEY_AddonPreferences"
    assert type(prefs).bl_idname == installed_extension


def test_register_unregister_twice_leaves_nothing(installed_extension: str) -> None:
    enabled = _leftovers()
    assert enabled["types"] and enabled["scene_property"]
    if bpy.context.window_manager.keyconfigs.addon is not None:
        assert enabled["keymap_items"] == ["foley.generate"]
    for _ in range(2):
        bpy.ops.preferences.addon_disable(module=installed_extension)
        gone = _leftovers()
        assert gone == {"types": set(), "keymap_items": [], "handlers": [], "menu_funcs": [],
                        "scene_property": False}
        bpy.ops.preferences.addon_enable(module=installed_extension)
        assert _leftovers() == enabled


@pytest.mark.parametrize("attempt", [1, 2])
def test_timers_are_unregistered(installed_extension: str, attempt: int) -> None:
    runtime = importlib.import_module(installed_extension + ".blender.handlers")
    assert bpy.app.timers.is_registered(runtime.pump_timer)
    bpy.ops.preferences.addon_disable(module=installed_extension)
    assert not bpy.app.timers.is_registered(runtime.pump_timer)
    bpy.ops.preferences.addon_enable(module=installed_extension)
    runtime = importlib.import_module(installed_extension + ".blender.handlers")
    assert bpy.app.timers.is_registered(runtime.pump_timer)
