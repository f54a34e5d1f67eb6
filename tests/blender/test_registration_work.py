"""What the first enable does besides loading modules (bench figure ``register_ms``), beside the
guard test of what it loads (``test_registration_cost.py``). Asserted on structure, not on time."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterator

from blender_harness import MODULE
from test_registration_cost import _fresh_enable


def _registered_classes() -> list[type]:
    registration = importlib.import_module(MODULE + ".blender.registration")
    properties = importlib.import_module(MODULE + ".properties")
    return [*registration.preferences.classes, *registration.operator_classes, *registration.panel_classes,
            properties.settings_class()]


def _own_annotations(cls: type) -> Iterator[tuple[str, str, object]]:
    """(class, name, annotation) of ``cls`` and of its bases from this extension."""
    for klass in cls.__mro__:
        if klass.__module__.startswith(MODULE):
            for name, annotation in vars(klass).get("__annotations__", {}).items():
                yield klass.__qualname__, name, annotation


def test_registered_classes_annotate_with_property_objects_not_strings(installed_extension: str) -> None:
    """Blender reads a registered class's properties through ``typing.get_type_hints`` (bpy_rna.cc,
    ``USE_POSTPONED_ANNOTATIONS``), which compiles and evaluates every string annotation: modules
    defining registered classes do not use ``from __future__ import annotations``."""
    classes = _registered_classes()
    assert len(classes) > 20
    annotations = [entry for cls in classes for entry in _own_annotations(cls)]
    assert len(annotations) > 20  # the operators' and the preferences' properties are all looked at
    assert [entry for entry in annotations if isinstance(entry[2], str)] == []


def test_the_pump_timer_s_first_interval_is_the_pump_s_idle_interval(installed_extension: str) -> None:
    handlers = importlib.import_module(MODULE + ".blender.handlers")
    pump = importlib.import_module(MODULE + ".blender.pump")
    assert handlers.FIRST_TICK_S == pump.IDLE_INTERVAL_S


#: Modules the first use loads, not the enable: the pump (its first tick), the error classes
#: (the first error), the waveform previews (the first job row drawn).
LATER = ("blender.pump", "providers.errors", "blender.previews")


def test_a_fresh_enable_leaves_the_pump_the_errors_and_the_previews_to_first_use(
        installed_extension: str) -> None:
    for name in LATER:  # real module names: the assertion below could fail
        assert importlib.util.find_spec(f"{MODULE}.{name}") is not None
    found = _fresh_enable()
    at_enable = set(found["at_enable"]) - set(found["before"])  # type: ignore[arg-type]
    assert f"{MODULE}.blender.handlers" in at_enable and f"{MODULE}.operators.test_connection" in at_enable
    assert sorted(f"{MODULE}.{name}" for name in LATER if f"{MODULE}.{name}" in at_enable) == []
