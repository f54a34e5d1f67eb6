"""One Generate may not silently become dozens of paid calls: the interactive
paths ask first (even at an unknown price), scripts are refused above
``scene.foley.max_requests`` (0: the preference) and a range beyond the hard cap
of chunks is refused with a sentence — all before anything is sent."""

from __future__ import annotations

import importlib
from types import SimpleNamespace
from typing import Any

import bpy
import pytest
from blender_harness import MODULE, foley_strips, requires_audaspace

from devtools.emulator import VendorEmulator


def module(name: str) -> Any:
    return importlib.import_module(f"{MODULE}.{name}")


def text_scene(minutes: float, provider: str = "vidu.text2audio") -> Any:
    """A scene range of ``minutes`` at 25 fps with nothing selected (no strips: a text provider)."""
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 25, 1.0
    scene.frame_start, scene.frame_end = 1, round(minutes * 60 * 25)
    scene.use_preview_range = False
    scene.foley.provider = provider
    scene.foley.prompt = "rain on a tin roof"
    scene.foley.variations = 1
    return scene


def jobs_known() -> int:
    runtime = module("blender.runtime")
    return len(runtime.engine().jobs()) if runtime.has_engine() else 0


def test_six_minutes_ask_first_even_at_an_unknown_price(extension: Any) -> None:
    generation = module("blender.generation")
    scene = text_scene(6)

    question = generation.confirmation_question(bpy.context, scene, "", 0, 0)

    assert "39 paid calls" in question and "price unknown" in question
    scene.frame_end = 25 * 8  # one call
    assert generation.confirmation_question(bpy.context, scene, "", 0, 0) == ""
    # Regenerate asks for the strip's own provider and range, whatever the panel shows
    scene.foley.provider = "flexstack.audiogen"
    assert "39 paid calls" in generation.confirmation_question(bpy.context, scene, "vidu.text2audio", 1, 9000)


def test_the_preference_sets_where_the_question_starts(extension: Any) -> None:
    generation = module("blender.generation")
    prefs = bpy.context.preferences.addons[MODULE].preferences
    assert prefs.ask_above_requests == 12
    scene = text_scene(1)  # 7 chunks
    scene.foley.variations = 2
    question = generation.confirmation_question(bpy.context, scene, "", 0, 0)
    assert "14 paid calls (7 chunks × 2 takes)" in question
    prefs.ask_above_requests = 14
    try:
        assert generation.confirmation_question(bpy.context, scene, "", 0, 0) == ""
    finally:
        prefs.ask_above_requests = 12


def test_sidebar_shows_the_request_count_and_the_question(extension: Any) -> None:
    draw = module("panels.sidebar_draw")
    scene = text_scene(6)
    info = module("providers").provider_info(scene.foley.provider)
    chosen = draw.chosen_range(bpy.context, scene)
    plan = draw.request_plan(info, chosen, scene.foley)
    assert plan.calls == 39
    kinds = [blocker.kind for blocker in draw.generate_blockers(bpy.context, scene, scene.foley, chosen)]
    assert "requests" not in kinds  # 39 chunks is within the hard cap: asked, not refused


def test_a_script_is_refused_above_the_limit_before_anything_is_sent(extension: Any, online: None,
                                                                     emulator: VendorEmulator) -> None:
    text_scene(6)
    emulator.reset()
    before = jobs_known()

    with pytest.raises(RuntimeError, match=r"39 paid calls.*scene\.foley\.max_requests = 39"):
        bpy.ops.foley.generate()

    assert emulator.requests == []
    assert jobs_known() == before


def test_a_range_beyond_the_hard_cap_of_chunks_is_refused(extension: Any, online: None,
                                                          emulator: VendorEmulator) -> None:
    scene = text_scene(120)
    scene.foley.max_requests = 100000  # even a script that allows everything
    emulator.reset()
    with pytest.raises(RuntimeError, match="at most 60 per request"):
        bpy.ops.foley.generate()
    assert emulator.requests == []
    draw = module("panels.sidebar_draw")
    chosen = draw.chosen_range(bpy.context, scene)
    kinds = [blocker.kind for blocker in draw.generate_blockers(bpy.context, scene, scene.foley, chosen)]
    assert "requests" in kinds  # the sidebar greys Generate out with the sentence


@requires_audaspace
def test_a_script_that_raises_max_requests_runs(extension: Any, online: None, emulator: VendorEmulator,
                                                tmp_path: Any) -> None:
    scene = text_scene(25 / 60)  # 25 s: 3 chunks of Vidu's 10 s
    scene.foley.variations = 2  # 6 paid calls
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    scene.foley.max_requests = 5
    emulator.reset()
    with pytest.raises(RuntimeError, match="6 paid calls"):
        bpy.ops.foley.generate()
    assert emulator.submit_count("vidu") == 0

    scene.foley.max_requests = 6
    assert bpy.ops.foley.generate() == {"FINISHED"}
    assert emulator.submit_count("vidu") == 6
    assert len(foley_strips(scene)) == 2


class RecordingWindowManager:
    """Stands in for the window manager's popups (the bpy module runs execute for INVOKE_DEFAULT
    and has no window to answer a question): records what would be asked."""

    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []
        self.dialogs = 0

    def invoke_confirm(self, operator: Any, event: Any, **kwargs: Any) -> set[str]:
        self.asked.append(kwargs)
        return {"RUNNING_MODAL"}

    def invoke_props_dialog(self, operator: Any, **kwargs: Any) -> set[str]:
        self.dialogs += 1
        return {"RUNNING_MODAL"}


class InvokedOperator(SimpleNamespace):
    """The operator's properties as invoke sees them, and whether execute ran."""

    def execute(self, context: Any) -> set[str]:
        self.executed = True
        return {"FINISHED"}


def invoke_context(scene: Any, **extra: Any) -> SimpleNamespace:
    values = {"scene": scene, "sequencer_scene": scene, "window_manager": RecordingWindowManager(),
              "preferences": bpy.context.preferences, "selected_strips": [], "active_strip": None}
    return SimpleNamespace(**{**values, **extra})


def test_every_interactive_path_asks_before_a_large_request(extension: Any) -> None:
    scene = text_scene(6)
    generate = bpy.types.FOLEY_OT_generate
    # the panel button and Generate With… (providers set) invoke the operator
    for providers in ("", "vidu.text2audio"):
        context = invoke_context(scene)
        operator = InvokedOperator(providers=providers, frame_start=0, frame_end=0, show_dialog=False,
                                   confirmed=False, executed=False)
        assert generate.invoke(operator, context, None) == {"RUNNING_MODAL"}
        [asked] = context.window_manager.asked
        assert "39 paid calls" in asked["message"] and "price unknown" in asked["message"]
        assert not operator.executed and operator.confirmed  # execute runs only once the editor says yes
    # the shortcut and the right-click entry open the dialog, which shows the question by its button
    context = invoke_context(scene)
    operator = InvokedOperator(providers="", frame_start=0, frame_end=0, show_dialog=True, confirmed=False,
                               executed=False)
    assert generate.invoke(operator, context, None) == {"RUNNING_MODAL"}
    assert context.window_manager.dialogs == 1 and not operator.executed
    # a small request runs straight away
    scene.frame_end = 25 * 8
    context = invoke_context(scene)
    operator = InvokedOperator(providers="", frame_start=0, frame_end=0, show_dialog=False, confirmed=False,
                               executed=False)
    assert generate.invoke(operator, context, None) == {"FINISHED"}
    assert operator.executed and context.window_manager.asked == []


def test_regenerate_asks_for_the_strips_own_range(extension: Any) -> None:
    scene = text_scene(0.2)  # the panel's range is short...
    meta = {"provider": "vidu.text2audio", "frame_start": 1, "frame_end": 9000}  # ...the strip's is 6 min
    holder = type("FoleyStrip", (dict,), {"type": "SOUND"})({"vse_foley": meta})
    context = invoke_context(scene, active_strip=holder)
    operator = InvokedOperator(new_seed=True, confirmed=False, executed=False)
    assert bpy.types.FOLEY_OT_regenerate.invoke(operator, context, None) == {"RUNNING_MODAL"}
    [asked] = context.window_manager.asked
    assert "39 paid calls" in asked["message"] and not operator.executed


def test_the_dialog_shows_the_question_above_its_button(extension: Any) -> None:
    """The shortcut and right-click dialog: its OK button is the answer, so it must show the count."""
    from test_ui import Recorder, assert_valid

    scene = text_scene(6)
    recorder = Recorder()
    operator = SimpleNamespace(layout=recorder, providers="", frame_start=0, frame_end=0)
    bpy.types.FOLEY_OT_generate.draw(operator, invoke_context(scene))
    assert_valid(recorder)
    text = recorder.all_text()
    assert "39 paid calls" in text and "price unknown" in text
    scene.frame_end = 25 * 8
    small = Recorder()
    bpy.types.FOLEY_OT_generate.draw(SimpleNamespace(layout=small, providers="", frame_start=0, frame_end=0),
                                     invoke_context(scene))
    assert "paid calls" not in small.all_text()


def test_the_sidebar_says_a_large_request_will_ask_first(extension: Any) -> None:
    from test_ui import Recorder, assert_valid

    scene = text_scene(6)
    recorder = Recorder()
    module("panels.sidebar_draw").draw_generate_panel(recorder, invoke_context(scene,
                                                                               region=SimpleNamespace(width=320)))
    assert_valid(recorder)
    text = recorder.all_text()
    assert "39 paid calls (39 chunks × 1 take) is above your limit of 12: you will be asked first." in text


def test_the_request_preference_is_drawn(extension: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import rna_keymap_ui
    from test_ui import Recorder

    monkeypatch.setattr(rna_keymap_ui, "_indented_layout", lambda layout, level: layout.column())
    prefs = bpy.context.preferences.addons[MODULE].preferences
    recorder = Recorder()
    module("panels.preferences_ui").draw_preferences(prefs, bpy.context, recorder)
    assert "ask_above_requests" in {call.args[1] for call in recorder.props()}
