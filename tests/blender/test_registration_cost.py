"""What the first enable loads (bench figure ``register_ms``): the classes it registers and the
capability catalog, never the vendor clients, pydantic, requests or the job engine (those load
on the warm-up thread, after registration). Asserted on ``sys.modules``, not on time."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from typing import Any

import bpy
import pytest
from blender_harness import MODULE

#: A fresh Blender enables the installed extension. Threads started during the enable (the
#: warm-up thread, started at registration) start only once it has returned, so what is loaded
#: then is what the main thread's enable loaded. (Holding their imports instead would hold
#: Python's import lock, which ``find_spec`` runs under, and with it the main thread.)
FRESH_ENABLE = """
import json, os, sys, threading

held = []
start_now = threading.Thread.start


def start_after_the_enable(thread):
    held.append(thread)


threading.Thread.start = start_after_the_enable
import bpy

module = sys.argv[-1]
loaded_before = module in sys.modules
before = sorted(sys.modules)
bpy.ops.preferences.addon_enable(module=module)
at_enable = sorted(sys.modules)
threading.Thread.start = start_now
for thread in held:
    thread.start()
warmed_up = sys.modules[module + ".blender.runtime"].current().warm_up_finished.wait(120)
print("RESULT", json.dumps({"loaded_before": loaded_before, "before": before, "at_enable": at_enable,
                            "held": len(held),
                            "warmed_up": warmed_up, "after_warm_up": sorted(sys.modules)}))
sys.stdout.flush()
os._exit(0)  # the bpy module's teardown is not part of this test (and can hang)
"""

#: Libraries the vendor clients use; none is needed to register.
HEAVY_LIBRARIES = ("pydantic", "pydantic_core", "requests", "urllib3", "jwt", "aws_request_signer")


def _fresh_enable() -> dict[str, object]:
    result = subprocess.run([sys.executable, "-c", FRESH_ENABLE, MODULE], capture_output=True, text=True,
                            check=False, timeout=300, env={**os.environ})
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"the fresh enable failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    found: dict[str, object] = json.loads(lines[-1].removeprefix("RESULT "))
    return found


def _deferred_modules() -> set[str]:
    """Our modules registration must leave to the warm-up thread or to first use."""
    catalog = importlib.import_module(MODULE + ".providers.catalog")
    vendors = {f"{MODULE}.providers.{name}" for name in catalog.implementation_modules()}
    return vendors | {f"{MODULE}.{name}" for name in (
        "providers.base", "providers.settings", "providers.vendor_client", "providers.http",
        "core.engine", "core.jobs", "core.ledger", "blender.clip_cache", "blender.generation",
        "panels.sidebar_draw", "panels.preferences_ui")}


def test_a_fresh_enable_loads_no_vendor_client_library_or_engine(installed_extension: str) -> None:
    found = _fresh_enable()
    assert found["loaded_before"] is False  # the enable below is the first one in that process
    # what the enable loaded (Blender 5.x itself loads requests at start-up, before any add-on)
    at_enable = set(found["at_enable"]) - set(found["before"])  # type: ignore[arg-type]
    assert f"{MODULE}.properties" in at_enable and f"{MODULE}.providers.catalog" in at_enable
    heavy = sorted(name for name in at_enable if name.split(".")[0] in HEAVY_LIBRARIES)
    assert heavy == []
    assert sorted(_deferred_modules() & at_enable) == []
    assert not any(name.startswith(f"{MODULE}.core") for name in at_enable)  # the whole job engine waits
    # ... and the warm-up thread loads them right after: the list above could have caught them
    assert found["held"] == 1  # the warm-up thread, and no other thread, was started by the enable
    assert found["warmed_up"] is True
    after = set(found["after_warm_up"])  # type: ignore[arg-type]
    assert {"pydantic", "requests", f"{MODULE}.core.engine", f"{MODULE}.providers.wavespeed"} <= after


def test_the_upload_host_choices_are_the_settings_ones(installed_extension: str) -> None:
    """Registration builds the choices from the vendor specs without the settings module; both agree."""
    settings = importlib.import_module(MODULE + ".providers.settings")
    prefs = bpy.context.preferences.addons[MODULE].preferences
    items = prefs.bl_rna.properties["upload_host"].enum_items
    assert [item.identifier for item in items] == list(settings.upload_host_choices())


def test_every_installed_module_ships_checked_bytecode_for_both_pythons(installed_extension: str) -> None:
    """Blender runs with ``dont_write_bytecode``: a module without shipped bytecode is compiled at
    every start. The zip holds checked-hash ``.pyc`` files for Python 3.11 (Blender 4.2-5.0) and
    3.13 (5.1+), for every module, including every module at the top of the checkout."""
    from pathlib import Path

    installed = Path(sys.modules[installed_extension].__file__ or "").parent
    checkout = Path(__file__).resolve().parents[2]
    sources = sorted(path.relative_to(installed) for path in installed.rglob("*.py"))
    assert {path.name for path in checkout.glob("*.py")} <= {str(path) for path in sources}
    assert len(sources) > 100
    missing = []
    for source in sources:
        for tag in ("cpython-311", "cpython-313"):
            compiled = installed / source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"
            # PEP 552 flags: 0b11 = hash-based, checked against the source
            if not compiled.is_file() or int.from_bytes(compiled.read_bytes()[4:8], "little") != 0b11:
                missing.append(f"{source} ({tag})")
    assert missing == []


def _runtime() -> Any:
    return importlib.import_module(MODULE + ".blender.runtime")


def test_the_registration_warm_up_begins_at_the_pump_s_first_tick(extension: object,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Its imports hold the GIL for a while: they wait until Blender's event loop runs (the first
    pump tick) instead of slowing the rest of the enable. Without timers (the bpy module) a bound
    (``WARM_UP_AFTER_S``) starts them; here the bound is an hour, so only the tick can."""
    rt = _runtime()
    rt.shutdown()  # a fresh session without a warm-up
    monkeypatch.setattr(rt, "WARM_UP_AFTER_S", 3600.0)
    session = rt.current()
    session.warm_up_in_background(after_first_tick=True)
    assert session.threads() and not session.warm_up_finished.is_set()
    rt.tick()
    assert session.warm_up_finished.wait(60)
    assert session.ledger_loaded.is_set()
    rt.shutdown()


def test_closing_the_session_ends_a_warm_up_still_waiting_for_the_first_tick(
        extension: object, monkeypatch: pytest.MonkeyPatch) -> None:
    rt = _runtime()
    rt.shutdown()
    monkeypatch.setattr(rt, "WARM_UP_AFTER_S", 3600.0)
    session = rt.current()
    session.warm_up_in_background(after_first_tick=True)
    [waiting] = session.threads()
    rt.shutdown()  # joins it (5 s at most): it must have noticed at once
    assert not waiting.is_alive()
    assert not session.warm_up_finished.is_set()  # it stopped before importing anything
